//! The admin endpoint: a small JSON-over-HTTP/1.1 API on 127.0.0.1 to inspect the region and
//! inject or clear faults at run time, and the client the `ct-emulator fault` command uses.
//!
//! Routes: `GET /v1/machines`, `GET /v1/clusters` (with where each Kubernetes API listens),
//! `GET /v1/faults` (machine and Kubernetes API faults), `POST /v1/faults` (a [`FaultSpec`] as
//! JSON, or a [`KubeFaultSpec`] when it names a `cluster`; answers `{"id": N}`),
//! `DELETE /v1/faults`, `DELETE /v1/faults/{id}`, `POST /v1/machines/{id}/power-on`.

use std::future::Future;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::error::{Error, Result};
use crate::faults::{FaultSpec, KubeFaultSpec};
use crate::region::Region;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1024 * 1024;

/// Serves the admin API on `listener` until `shutdown` resolves.
pub async fn serve(region: Region, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => { tokio::spawn(handle(region.clone(), stream)); }
                Err(e) => tracing::debug!(error = %e, "admin accept failed"),
            },
        }
    }
}

struct Req {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn read_request(stream: &mut TcpStream) -> std::result::Result<Req, String> {
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the request ended".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err("request head too large".into());
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "request head is not UTF-8".to_owned())?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let (method, path) = match (first.next(), first.next()) {
        (Some(m), Some(p)) => (m.to_owned(), p.to_owned()),
        _ => return Err("malformed request line".into()),
    };
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.trim().parse::<usize>().map_err(|_| "bad Content-Length".to_owned()))
        .transpose()?
        .unwrap_or(0);
    if length > MAX_BODY {
        return Err("request body too large".into());
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; length - body.len()];
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the body ended".into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Req { method, path, body })
}

async fn handle(region: Region, mut stream: TcpStream) {
    let (status, body) = match read_request(&mut stream).await {
        Ok(req) => route(&region, &req),
        Err(e) => (400, serde_json::json!({ "error": e })),
    };
    let text = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Error",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn route(region: &Region, req: &Req) -> (u16, serde_json::Value) {
    let parts: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let json = |v: serde_json::Result<serde_json::Value>| match v {
        Ok(v) => (200, v),
        Err(e) => (500, serde_json::json!({ "error": e.to_string() })),
    };
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["v1", "machines"]) => json(serde_json::to_value(region.machines())),
        ("GET", ["v1", "clusters"]) => json(serde_json::to_value(region.clusters())),
        ("GET", ["v1", "faults"]) => json(serde_json::to_value(region.faults()).and_then(|machines| {
            let kube = serde_json::to_value(region.kube_faults())?;
            let all: Vec<serde_json::Value> =
                [machines, kube].into_iter().filter_map(|v| v.as_array().cloned()).flatten().collect();
            Ok(serde_json::Value::Array(all))
        })),
        ("POST", ["v1", "faults"]) => match add_fault(region, &req.body) {
            Ok(id) => (200, serde_json::json!({ "id": id })),
            Err(e) => (400, serde_json::json!({ "error": e })),
        },
        ("DELETE", ["v1", "faults"]) => (200, serde_json::json!({ "cleared": region.clear_faults(None) })),
        ("DELETE", ["v1", "faults", id]) => match id.parse::<u64>() {
            Ok(id) => (200, serde_json::json!({ "cleared": region.clear_faults(Some(id)) })),
            Err(_) => (400, serde_json::json!({ "error": format!("fault id {id:?} is not a number") })),
        },
        ("POST", ["v1", "machines", id, "power-on"]) => match region.power_on(id) {
            Ok(()) => (200, serde_json::json!({ "powered_on": id })),
            Err(e) => (404, serde_json::json!({ "error": e.to_string() })),
        },
        _ => (404, serde_json::json!({ "error": format!("no route {} {}", req.method, req.path) })),
    }
}

/// Adds a machine fault, or a Kubernetes API fault when the body names a `cluster`.
fn add_fault(region: &Region, body: &[u8]) -> std::result::Result<u64, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("invalid fault: {e}"))?;
    let result = if value.get("cluster").is_some() {
        let spec: KubeFaultSpec = serde_json::from_value(value).map_err(|e| format!("invalid fault: {e}"))?;
        region.add_kube_fault(spec)
    } else {
        let spec: FaultSpec = serde_json::from_value(value).map_err(|e| format!("invalid fault: {e}"))?;
        region.add_fault(spec)
    };
    result.map_err(|e| e.to_string())
}

/// Sends one request to an admin endpoint and returns the JSON body of a 200 answer.
///
/// # Errors
/// [`Error::Admin`] when the endpoint cannot be reached or answers with an error.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<serde_json::Value> {
    let err = |reason: String| Error::Admin { addr: addr.to_string(), reason };
    let mut stream = TcpStream::connect(addr).await.map_err(|e| err(e.to_string()))?;
    let body = body.unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| err(e.to_string()))?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.map_err(|e| err(e.to_string()))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| err("malformed response".into()))?;
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| err(format!("invalid JSON answer: {e}")))?;
    if status != "200" {
        let message = value.get("error").and_then(|v| v.as_str()).unwrap_or(body).to_owned();
        return Err(err(format!("HTTP {status}: {message}")));
    }
    Ok(value)
}
