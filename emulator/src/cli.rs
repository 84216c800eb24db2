//! The `ct-emulator` command line: `region` starts a region of N machines and its admin
//! endpoint, and tells where each cluster's Kubernetes API comes up; `fault`, `machines`,
//! `clusters` and `power-on` talk to a running region's admin endpoint. Kept in the library so
//! the binary stays a thin `main`.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::faults::{FaultSpec, KubeFaultSpec};
use crate::launch::{RegionOptions, start};
use crate::region::{Region, RegionConfig, RegionEvent};
use crate::timing::Latencies;

/// Usage text.
pub const USAGE: &str = "\
usage:
  ct-emulator region [--machines N] [--state-dir DIR] [--base-ip 127.0.1.1] [--port 50000]
                     [--admin 127.0.0.1:50999] [--talos-version v1.13.9] [--time-scale F]
                     [--config FILE.json] [--fault machine=m1,api=Version,kind=error-rate,rate=0.5]...
                     [--fault cluster=demo,kind=throttle,rate=0.5,retry_after_secs=2]...
  ct-emulator fault add   --admin ADDR --machine ID|* [--api METHOD] --kind KIND [--ms N] [--rate F]
  ct-emulator fault add   --admin ADDR --cluster ID|NAME|* --kind delay|error-rate|throttle [--ms N]
                          [--rate F] [--retry-after SECONDS]
  ct-emulator fault list  --admin ADDR
  ct-emulator fault clear --admin ADDR [--id N]
  ct-emulator machines|clusters --admin ADDR
  ct-emulator power-on --admin ADDR --machine ID
machine fault kinds: delay (--ms), error-rate (--rate), down, partitioned, reboot-hang, etcd-member-lost
Kubernetes API fault kinds (--cluster): delay (--ms), error-rate (--rate, 500s),
  throttle (--rate, 429s with Retry-After: --retry-after, default 1)";

/// A region file (`--config`): the same settings as the flags, plus latencies and faults.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RegionFile {
    machines: Option<usize>,
    state_dir: Option<PathBuf>,
    base_ip: Option<Ipv4Addr>,
    port: Option<u16>,
    admin: Option<SocketAddr>,
    talos_version: Option<String>,
    latencies: Option<Latencies>,
    faults: Vec<FaultSpec>,
    kube_faults: Vec<KubeFaultSpec>,
}

struct Flags {
    args: Vec<String>,
}

impl Flags {
    fn take(&mut self, name: &str) -> Result<Option<String>> {
        let Some(pos) = self.args.iter().position(|a| a == name) else { return Ok(None) };
        if pos + 1 >= self.args.len() {
            return Err(Error::InvalidOption(format!("{name} needs a value")));
        }
        let value = self.args.remove(pos + 1);
        self.args.remove(pos);
        Ok(Some(value))
    }

    fn take_all(&mut self, name: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        while let Some(v) = self.take(name)? {
            out.push(v);
        }
        Ok(out)
    }

    fn parse<T: std::str::FromStr>(&mut self, name: &str) -> Result<Option<T>> {
        match self.take(name)? {
            Some(v) => {
                v.parse().map(Some).map_err(|_| Error::InvalidOption(format!("{name} {v:?} is not valid")))
            }
            None => Ok(None),
        }
    }

    fn finish(self) -> Result<()> {
        match self.args.first() {
            Some(a) => Err(Error::InvalidOption(format!("unexpected argument {a:?}"))),
            None => Ok(()),
        }
    }
}

fn out(text: &str) {
    // stdout is this command's output (the provider's stdout rule does not apply here).
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn fault_fields(text: &str) -> Result<serde_json::Value> {
    let mut map = serde_json::Map::new();
    for pair in text.split(',').filter(|p| !p.is_empty()) {
        let (k, v) =
            pair.split_once('=').ok_or_else(|| Error::InvalidFault(format!("{pair:?} is not key=value")))?;
        let value = match k {
            "ms" | "retry_after_secs" => serde_json::Value::from(
                v.parse::<u64>().map_err(|_| Error::InvalidFault(format!("{k} {v:?}")))?,
            ),
            "rate" => serde_json::Value::from(
                v.parse::<f64>().map_err(|_| Error::InvalidFault(format!("rate {v:?}")))?,
            ),
            _ => serde_json::Value::from(v),
        };
        map.insert(k.to_owned(), value);
    }
    Ok(serde_json::Value::Object(map))
}

/// Parses `machine=m1,api=Version,kind=error-rate,rate=0.5` into a machine fault.
///
/// # Errors
/// [`Error::InvalidFault`] when a field is malformed or the spec is not valid.
pub fn parse_fault(text: &str) -> Result<FaultSpec> {
    let spec: FaultSpec =
        serde_json::from_value(fault_fields(text)?).map_err(|e| Error::InvalidFault(e.to_string()))?;
    spec.validate()?;
    Ok(spec)
}

/// Parses `cluster=demo,kind=throttle,rate=0.5,retry_after_secs=2` into a Kubernetes API fault.
///
/// # Errors
/// [`Error::InvalidFault`] when a field is malformed or the spec is not valid.
pub fn parse_kube_fault(text: &str) -> Result<KubeFaultSpec> {
    let spec: KubeFaultSpec =
        serde_json::from_value(fault_fields(text)?).map_err(|e| Error::InvalidFault(e.to_string()))?;
    spec.validate()?;
    Ok(spec)
}

/// Whether a `key=value,...` fault names a cluster (a Kubernetes API fault).
fn names_cluster(text: &str) -> bool {
    text.split(',').any(|p| p.starts_with("cluster="))
}

/// Runs the command line (without the program name).
///
/// # Errors
/// Any option, bind, state or admin error, for the binary to print.
pub async fn run(args: Vec<String>) -> Result<()> {
    let mut flags = Flags { args };
    if flags.args.is_empty() {
        return Err(Error::InvalidOption(USAGE.to_owned()));
    }
    let command = flags.args.remove(0);
    match command.as_str() {
        "region" => region(flags).await,
        "fault" => fault(flags).await,
        "machines" | "clusters" => {
            let admin = admin_addr(&mut flags)?;
            flags.finish()?;
            let v = crate::admin::call(admin, "GET", &format!("/v1/{command}"), None).await?;
            out(&serde_json::to_string_pretty(&v).unwrap_or_default());
            Ok(())
        }
        "power-on" => {
            let admin = admin_addr(&mut flags)?;
            let machine = flags
                .take("--machine")?
                .ok_or_else(|| Error::InvalidOption("--machine is required".into()))?;
            flags.finish()?;
            crate::admin::call(admin, "POST", &format!("/v1/machines/{machine}/power-on"), None).await?;
            Ok(())
        }
        "help" | "--help" | "-h" => {
            out(USAGE);
            Ok(())
        }
        other => Err(Error::InvalidOption(format!("unknown command {other:?}\n{USAGE}"))),
    }
}

fn admin_addr(flags: &mut Flags) -> Result<SocketAddr> {
    flags.parse("--admin")?.ok_or_else(|| Error::InvalidOption("--admin ADDR is required".into()))
}

async fn region(mut flags: Flags) -> Result<()> {
    let file: RegionFile = match flags.take("--config")? {
        Some(path) => {
            let bytes =
                std::fs::read(&path).map_err(|source| Error::State { path: path.clone().into(), source })?;
            serde_json::from_slice(&bytes).map_err(|e| Error::InvalidOption(format!("{path}: {e}")))?
        }
        None => RegionFile::default(),
    };
    let count = flags.parse("--machines")?.or(file.machines).unwrap_or(4usize);
    let state_dir: Option<PathBuf> = flags.parse("--state-dir")?.or(file.state_dir);
    let base: Ipv4Addr = flags.parse("--base-ip")?.or(file.base_ip).unwrap_or(Ipv4Addr::new(127, 0, 1, 1));
    let port = flags.parse("--port")?.or(file.port).unwrap_or(50000u16);
    let admin = flags.parse("--admin")?.or(file.admin).unwrap_or(SocketAddr::from(([127, 0, 0, 1], 50999)));
    let mut latencies = file.latencies.unwrap_or_default();
    if let Some(scale) = flags.parse::<f64>("--time-scale")? {
        latencies.time_scale = scale;
    }
    let talos_version = flags
        .take("--talos-version")?
        .or(file.talos_version)
        .unwrap_or_else(|| RegionConfig::default().talos_version);
    let (mut faults, mut kube_faults) = (file.faults, file.kube_faults);
    for f in flags.take_all("--fault")? {
        if names_cluster(&f) {
            kube_faults.push(parse_kube_fault(&f)?);
        } else {
            faults.push(parse_fault(&f)?);
        }
    }
    flags.finish()?;
    if count == 0 || count > 250 {
        return Err(Error::InvalidOption(format!("--machines {count} must be within 1..=250")));
    }
    let machines = (0..count)
        .map(|i| {
            let ip = u32::from(base).checked_add(u32::try_from(i).unwrap_or(0)).map_or(base, Ipv4Addr::from);
            (format!("m{}", i + 1), SocketAddr::new(IpAddr::V4(ip), port))
        })
        .collect();
    let running = start(RegionOptions {
        region: RegionConfig { state_dir: state_dir.clone(), latencies, talos_version, faults, kube_faults },
        machines,
        admin: Some(admin),
    })
    .await?;
    let admin = running.admin_addr().unwrap_or(admin);
    let state = state_dir.map_or("memory only".to_owned(), |d| format!("state in {}", d.display()));
    out(&format!("ct-emulator: {count} Talos machines, {state}, admin http://{admin}"));
    for m in running.region().machines() {
        out(&format!("  {:<4} {:<22} {:<12} {}", m.id, m.addr, m.phase, m.talos_version));
    }
    if let Some((_, first)) = running.machines().first() {
        let ip = first.ip();
        out(&format!(
            "maintenance mode: talosctl apply-config --insecure --nodes {ip} --file controlplane.yaml"
        ));
        out(&format!("configured:       talosctl --talosconfig ./talosconfig -e {ip} -n {ip} version"));
    }
    out(&format!("faults:           ct-emulator fault add --admin {admin} --machine m1 --kind down"));
    out("Kubernetes:       each cluster's API comes up on its endpoint once etcd is bootstrapped");
    let mut events = running.region().subscribe();
    let mut shown = std::collections::BTreeSet::new();
    for (key, endpoint) in running.region().kube_endpoints() {
        let error = endpoint.listening.err();
        show_kube_api(running.region(), &mut shown, &key, &endpoint.url, error.as_deref());
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            signal = &mut ctrl_c => {
                signal.map_err(|e| Error::InvalidOption(format!("cannot wait for Ctrl-C: {e}")))?;
                break;
            }
            event = events.recv() => match event {
                Ok(RegionEvent::KubeApi { key, url, error, .. }) => {
                    show_kube_api(running.region(), &mut shown, &key, &url, error.as_deref());
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    running.shutdown().await;
    Ok(())
}

/// Prints, once per cluster and URL, where its Kubernetes API is and how to get a kubeconfig.
fn show_kube_api(
    region: &Region,
    shown: &mut std::collections::BTreeSet<(String, String)>,
    key: &str,
    url: &str,
    error: Option<&str>,
) {
    let name =
        region.clusters().into_iter().find(|c| c.key == key).map_or_else(|| key.to_owned(), |c| c.name);
    if let Some(e) = error {
        out(&format!("cluster {name}: Kubernetes API cannot listen on {url} ({e}); retrying"));
        return;
    }
    if !shown.insert((key.to_owned(), url.to_owned())) {
        return;
    }
    let cp = region
        .machines()
        .into_iter()
        .find(|m| m.cluster.as_deref() == Some(key) && m.role.as_deref() == Some("controlplane"))
        .map_or_else(|| "CONTROL_PLANE_IP".to_owned(), |m| m.addr.ip().to_string());
    out(&format!("cluster {name}: Kubernetes API at {url}"));
    out(&format!(
        "  kubeconfig: talosctl --talosconfig ./talosconfig -e {cp} -n {cp} kubeconfig ./kubeconfig"
    ));
    out("  then:       kubectl --kubeconfig ./kubeconfig get nodes");
}

async fn fault(mut flags: Flags) -> Result<()> {
    if flags.args.is_empty() {
        return Err(Error::InvalidOption(USAGE.to_owned()));
    }
    let sub = flags.args.remove(0);
    let admin = admin_addr(&mut flags)?;
    let value = match sub.as_str() {
        "add" => {
            let mut fields = Vec::new();
            for (flag, key) in [
                ("--machine", "machine"),
                ("--cluster", "cluster"),
                ("--api", "api"),
                ("--kind", "kind"),
                ("--ms", "ms"),
                ("--rate", "rate"),
                ("--retry-after", "retry_after_secs"),
            ] {
                if let Some(v) = flags.take(flag)? {
                    fields.push(format!("{key}={v}"));
                }
            }
            flags.finish()?;
            let text = fields.join(",");
            let body = if names_cluster(&text) {
                serde_json::to_string(&parse_kube_fault(&text)?)
            } else {
                serde_json::to_string(&parse_fault(&text)?)
            };
            let body = body.map_err(|e| Error::InvalidFault(e.to_string()))?;
            crate::admin::call(admin, "POST", "/v1/faults", Some(&body)).await?
        }
        "list" => {
            flags.finish()?;
            crate::admin::call(admin, "GET", "/v1/faults", None).await?
        }
        "clear" => {
            let id: Option<u64> = flags.parse("--id")?;
            flags.finish()?;
            let path = id.map_or("/v1/faults".to_owned(), |id| format!("/v1/faults/{id}"));
            crate::admin::call(admin, "DELETE", &path, None).await?
        }
        other => return Err(Error::InvalidOption(format!("unknown fault command {other:?}\n{USAGE}"))),
    };
    out(&serde_json::to_string_pretty(&value).unwrap_or_default());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_flags_parse() {
        let f = parse_fault("machine=m1,api=Version,kind=error-rate,rate=0.5").expect("parses");
        assert_eq!(f.api, "Version");
        assert!(parse_fault("machine=m1,kind=delay,ms=x").is_err());
        assert!(parse_fault("machine=m1,kind").is_err());
        assert!(parse_fault("kind=down").is_err());
        let k = parse_kube_fault("cluster=demo,kind=throttle,rate=0.25,retry_after_secs=3").expect("parses");
        assert_eq!(k.kind, crate::faults::FaultKind::Throttle { rate: 0.25, retry_after_secs: 3 });
        assert!(names_cluster("cluster=demo,kind=delay,ms=5") && !names_cluster("machine=m1,kind=down"));
        assert!(parse_kube_fault("cluster=demo,kind=down").is_err());
        assert!(parse_fault("machine=m1,kind=throttle,rate=1").is_err());
    }
}
