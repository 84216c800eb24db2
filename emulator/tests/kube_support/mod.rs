//! Shared fixtures of the Kubernetes API tests: a served API with a fresh CA, admin credentials,
//! a kubeconfig, a `kubectl` runner, and request helpers for router-level tests.

#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use ct_emulator::kube::certs::{self, IssuedCert};
use ct_emulator::kube::{ApiServer, ApiServerConfig, Identity, Store, Timings};
use serde_json::Value;
use tokio::sync::oneshot;
use tower::ServiceExt;

/// An API server with a fresh CA and an admin client certificate.
pub struct Cluster {
    pub server: ApiServer,
    pub ca: IssuedCert,
    pub admin: IssuedCert,
    pub dir: tempfile::TempDir,
    pub addr: Option<std::net::SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn config(ca: &IssuedCert, timings: Timings) -> ApiServerConfig {
    let serving = certs::issue_server_cert(&ca.cert_pem, &ca.key_pem, &["127.0.0.1"]).expect("serving cert");
    ApiServerConfig {
        kubernetes_version: "1.32.3".into(),
        cluster_ca_pem: ca.cert_pem.clone(),
        server_cert_pem: serving.cert_pem,
        server_key_pem: serving.key_pem,
        timings,
        ..ApiServerConfig::default()
    }
}

impl Cluster {
    /// A server over a persisted store, not listening (router tests).
    pub fn new(timings: Timings) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = certs::generate_ca("kubernetes").expect("ca");
        let admin = certs::issue_client_cert(&ca.cert_pem, &ca.key_pem, "admin", Some("system:masters"))
            .expect("admin");
        let store = Store::open(dir.path().join("kube")).expect("store");
        let server = ApiServer::new(config(&ca, timings), store).expect("server");
        Self { server, ca, admin, dir, addr: None, stop: None, task: None }
    }

    /// A server listening on 127.0.0.1 with fast controllers.
    pub async fn serve(timings: Timings) -> Self {
        let mut c = Self::new(timings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        c.addr = Some(listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let server = c.server.clone();
        c.task = Some(tokio::spawn(async move {
            server
                .serve(listener, async move {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
        }));
        c.stop = Some(tx);
        c
    }

    /// Stops serving.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }

    /// The HTTPS URL.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr.expect("served"))
    }

    /// A kubeconfig for `user` (admin credentials unless another certificate is given).
    pub fn kubeconfig_for(&self, cert: &IssuedCert) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: emu\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: emu\n  context:\n    cluster: emu\n    user: admin\n    namespace: default\ncurrent-context: emu\n",
            self.url(),
            b64(&self.ca.cert_pem),
            b64(&cert.cert_pem),
            b64(&cert.key_pem)
        )
    }

    /// Writes the admin kubeconfig and returns its path.
    pub fn kubeconfig_path(&self) -> PathBuf {
        let p = self.dir.path().join("kubeconfig");
        std::fs::write(&p, self.kubeconfig_for(&self.admin)).expect("write kubeconfig");
        p
    }

    /// Runs kubectl with the admin kubeconfig; returns (success, stdout, stderr).
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        kubectl(&self.kubeconfig_path(), &self.dir.path().join("cache"), args, stdin).await
    }

    /// A router request as `identity` (None = anonymous).
    pub async fn call(
        &self,
        identity: Option<Identity>,
        method: Method,
        uri: &str,
        content_type: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        call_with(&self.server, identity, method, uri, &[("content-type", content_type)], body).await
    }

    /// A router request as the admin.
    pub async fn admin(&self, method: Method, uri: &str, body: &str) -> (StatusCode, Value) {
        self.call(Some(Identity::admin()), method, uri, "application/json", body).await
    }

    /// A PATCH as the admin with a patch content type.
    pub async fn patch(&self, uri: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
        self.call(Some(Identity::admin()), Method::PATCH, uri, content_type, body).await
    }

    /// Server-side apply as the admin with a field manager (and force).
    pub async fn apply(&self, uri: &str, manager: &str, force: bool, body: &Value) -> (StatusCode, Value) {
        let sep = if uri.contains('?') { '&' } else { '?' };
        let uri = format!("{uri}{sep}fieldManager={manager}&force={force}");
        self.patch(&uri, "application/apply-patch+yaml", &body.to_string()).await
    }
}

/// A request through the router (no socket).
pub async fn call_with(
    server: &ApiServer,
    identity: Option<Identity>,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, Value) {
    let (status, _, value) = call_full(server, identity, method, uri, headers, body).await;
    (status, value)
}

/// A request through the router, with the response headers.
pub async fn call_full(
    server: &ApiServer,
    identity: Option<Identity>,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body.to_owned())).expect("request");
    if let Some(id) = identity {
        req.extensions_mut().insert(id);
    }
    let resp = server.router().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20).await.expect("body");
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, value)
}

/// Runs kubectl (v1.32 on this machine) with a kubeconfig and its own cache directory.
pub async fn kubectl(
    kubeconfig: &Path,
    cache: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new("kubectl");
    cmd.arg("--kubeconfig").arg(kubeconfig).arg("--cache-dir").arg(cache).args(args);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd.kill_on_drop(true);
    let mut child = cmd.spawn().expect("kubectl is installed");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).await.expect("write stdin");
    }
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("kubectl finished")
        .expect("kubectl ran");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    if !out.status.success() {
        eprintln!("kubectl {args:?} failed:\n{stdout}\n{stderr}");
    }
    (out.status.success(), stdout, stderr)
}
