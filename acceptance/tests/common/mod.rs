//! Shared helpers of the provider acceptance suites: running a case once per terraform binary with
//! resources of its own (a store directory, a log file, a subnet), reading the example provider's
//! store, and a local region to create clusters in. The cluster suites also share the HCL of
//! clusters and pools ([`hcl`]), `kubectl` against a cluster of the state ([`kubectl`]) and the
//! imports that name the cluster's access ([`access`]).
//!
//! Cases are built per binary rather than once per case so that each run has a fresh store: a run on
//! terraform 1.11 must not see the objects (or the leftovers of a failure) of the run on 1.0.3.

// Each test file is its own crate and uses a different part of these helpers.
#![allow(dead_code, reason = "each test crate uses only some of the shared helpers")]

pub(crate) mod access;
pub(crate) mod hcl;
pub(crate) mod kubectl;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use acceptance::terraform::{Terraform, discover};
use acceptance::{CheckError, CheckResult, RunFailure, RunReport, State};
use serde_json::Value;

/// Source address of the example provider built from `tfplugin/examples/tfexample`.
pub(crate) const TFEXAMPLE: &str = "registry.terraform.io/tfplugin/tfexample";

/// Source address of the cloudtemple provider.
pub(crate) const CLOUDTEMPLE: &str = "registry.terraform.io/cloud-temple/cloudtemple";

/// The `terraform` block every tfexample configuration starts with (without it, `tfexample_*`
/// would resolve to `hashicorp/tfexample`, which no dev override covers).
pub(crate) const TFEXAMPLE_REQUIRED: &str = r#"
terraform {
  required_providers {
    tfexample = { source = "tfplugin/tfexample" }
  }
}
"#;

/// Runs `run` once per terraform binary found, then panics with every failure report.
///
/// # Panics
/// When no terraform is found, or when any run fails: this is the assertion of a `#[test]`.
pub(crate) fn on_each_terraform(mut run: impl FnMut(&Terraform) -> Result<RunReport, Box<RunFailure>>) {
    let binaries = discover().unwrap_or_else(|err| panic!("no terraform to test with: {err}"));
    let failures: Vec<String> =
        binaries.iter().filter_map(|terraform| run(terraform).err()).map(|f| f.to_string()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Like [`on_each_terraform`], each run with a subnet of its own (the next of `subnets`), so
/// that each run has a region, and a Kubernetes API on the cluster endpoint, of its own.
///
/// # Panics
/// As [`on_each_terraform`], and when there are more terraform binaries than subnets.
pub(crate) fn on_each_terraform_in(
    subnets: &[u8],
    mut run: impl FnMut(&Terraform, u8) -> Result<RunReport, Box<RunFailure>>,
) {
    let mut subnets = subnets.iter().copied();
    on_each_terraform(|terraform| run(terraform, subnets.next().expect("a subnet per terraform binary")));
}

/// The example provider's backend: a temporary directory of `thing-<id>.json` and `link-<id>.json`.
#[derive(Debug)]
pub(crate) struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    /// A fresh, empty store.
    ///
    /// # Panics
    /// When no temporary directory can be created.
    pub(crate) fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tfexample-store-")
            .tempdir()
            .unwrap_or_else(|err| panic!("cannot create a store directory: {err}"));
        Self { dir }
    }

    /// The directory, as the string `TFEXAMPLE_STORE_DIR` or `store_dir` takes.
    pub(crate) fn dir(&self) -> &str {
        self.dir.path().to_str().unwrap_or_else(|| panic!("{} is not UTF-8", self.dir.path().display()))
    }

    /// The file of the object of `kind` (`thing`, `link`) with this ID.
    pub(crate) fn file(&self, kind: &str, id: &str) -> PathBuf {
        self.dir.path().join(format!("{kind}-{id}.json"))
    }

    /// The IDs of the stored objects of `kind`, sorted.
    pub(crate) fn ids(&self, kind: &str) -> Result<Vec<String>, CheckError> {
        let prefix = format!("{kind}-");
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(self.dir.path())? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".json")) {
                ids.push(id.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// The stored document of an object.
    pub(crate) fn read(&self, kind: &str, id: &str) -> Result<Value, CheckError> {
        let path = self.file(kind, id);
        let text =
            std::fs::read_to_string(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }

    /// Replaces the stored document of an object, behind terraform's back.
    pub(crate) fn write(&self, kind: &str, id: &str, doc: &Value) -> Result<(), CheckError> {
        std::fs::write(self.file(kind, id), doc.to_string())?;
        Ok(())
    }

    /// Fails unless the store holds exactly `count` objects of `kind`.
    pub(crate) fn expect_count(&self, kind: &str, count: usize) -> Result<(), CheckError> {
        let ids = self.ids(kind)?;
        if ids.len() == count {
            Ok(())
        } else {
            Err(format!("expected {count} {kind} file(s) in {}, found {ids:?}", self.dir()).into())
        }
    }
}

/// The string attribute `path` of resource `address`.
pub(crate) fn attr_string(state: &State, address: &str, path: &str) -> Result<String, CheckError> {
    let resource = state
        .resource(address)
        .ok_or_else(|| format!("{address} is not in the state; it has {:?}", state.addresses()))?;
    match resource.attr(path)? {
        Some(Value::String(text)) => Ok(text.clone()),
        other => Err(format!("{address}.{path}: expected a string, got {other:?}").into()),
    }
}

/// The `nodes` attribute of the cluster resource at `cluster`: one object per control plane
/// (`hostname`, `ready`, `etcd_member`, versions).
pub(crate) fn cluster_nodes(state: &State, cluster: &str) -> Result<Vec<Value>, CheckError> {
    let resource = state.resource(cluster).ok_or_else(|| format!("{cluster} is not in the state"))?;
    match resource.values.get("nodes") {
        Some(Value::Array(nodes)) => Ok(nodes.clone()),
        other => Err(format!("{cluster}.nodes: expected a list, got {other:?}").into()),
    }
}

/// A terraform log file for one run, in a temporary directory that lives as long as the value.
#[derive(Debug)]
pub(crate) struct LogFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl LogFile {
    /// A log path that does not exist yet.
    ///
    /// # Panics
    /// When no temporary directory can be created.
    pub(crate) fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tf-acc-log-")
            .tempdir()
            .unwrap_or_else(|err| panic!("cannot create a log directory: {err}"));
        let path = dir.path().join("terraform.log");
        Self { _dir: dir, path }
    }

    /// The path, for `TF_LOG_PATH`.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The path as a string, for [`acceptance::TestCase::env`].
    pub(crate) fn path_str(&self) -> &str {
        self.path.to_str().unwrap_or_else(|| panic!("{} is not UTF-8", self.path.display()))
    }

    /// What terraform (and the providers through it) logged so far.
    pub(crate) fn read(&self) -> Result<String, CheckError> {
        std::fs::read_to_string(&self.path)
            .map_err(|err| format!("cannot read the terraform log {}: {err}", self.path.display()).into())
    }
}

/// The lines of `text` that contain `needle`, shortened, for a failure message.
pub(crate) fn lines_with(text: &str, needle: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.contains(needle))
        .take(5)
        .map(|line| line.chars().take(300).collect())
        .collect()
}

/// A local region started in the test process: machines answering the Talos API on port 50000
/// of their own loopback addresses, with modelled latencies scaled down.
///
/// Shared by reference with the threads of fault tests: faults and restarts take `&self`.
pub(crate) struct LocalRegion {
    rt: tokio::runtime::Runtime,
    /// `[127, a, b]` of the machines' addresses.
    prefix: [u8; 3],
    options: ct_emulator::RegionOptions,
    running: std::sync::Mutex<Option<ct_emulator::RunningRegion>>,
    /// Keeps the state directory of a restartable region alive.
    _state: Option<tempfile::TempDir>,
}

impl LocalRegion {
    /// Starts `n` machines at `127.a.b.1..=n` (`prefix` = `[127, a, b]`), state in memory.
    ///
    /// # Panics
    /// When the region cannot start (an address already in use).
    pub(crate) fn start(prefix: [u8; 3], n: u8) -> Self {
        Self::launch(prefix, n, None)
    }

    /// Like [`LocalRegion::start`], with state persisted in a temporary directory so that
    /// [`LocalRegion::restart`] brings the same machines back as they were.
    ///
    /// # Panics
    /// When the region cannot start.
    pub(crate) fn start_persistent(prefix: [u8; 3], n: u8) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ct-region-")
            .tempdir()
            .unwrap_or_else(|err| panic!("cannot create a state directory: {err}"));
        Self::launch(prefix, n, Some(dir))
    }

    fn launch(prefix: [u8; 3], n: u8, state: Option<tempfile::TempDir>) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let machines = (1..=n)
            .map(|i| {
                (format!("m{i}"), std::net::SocketAddr::from(([prefix[0], prefix[1], prefix[2], i], 50000)))
            })
            .collect();
        let region = ct_emulator::RegionConfig {
            latencies: ct_emulator::timing::Latencies { time_scale: 0.005, ..Default::default() },
            talos_version: "v1.14.1".into(),
            state_dir: state.as_ref().map(|d| d.path().to_path_buf()),
            ..ct_emulator::RegionConfig::default()
        };
        let options = ct_emulator::RegionOptions { region, machines, admin: None };
        let running = rt
            .block_on(ct_emulator::start(options.clone()))
            .unwrap_or_else(|e| panic!("the region starts: {e}"));
        Self { rt, prefix, options, running: std::sync::Mutex::new(Some(running)), _state: state }
    }

    fn with_region<T>(&self, f: impl FnOnce(&ct_emulator::Region) -> T) -> T {
        let guard = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(guard.as_ref().expect("the region is running").region())
    }

    /// The phase of every machine (`maintenance`, `running`, ...).
    pub(crate) fn phases(&self) -> Vec<&'static str> {
        self.with_region(|r| r.machines().into_iter().map(|m| m.phase).collect())
    }

    /// Every machine, in the order of their hosts (`m1` at `127.a.b.1` first).
    pub(crate) fn machines(&self) -> Vec<ct_emulator::region::MachineInfo> {
        self.with_region(ct_emulator::Region::machines)
    }

    /// A handle on the region, for a thread that watches it while a case runs.
    pub(crate) fn region(&self) -> ct_emulator::Region {
        self.with_region(Clone::clone)
    }

    /// Fails unless every machine is in maintenance mode (after a destroy: nothing left configured).
    pub(crate) fn all_in_maintenance(&self) -> CheckResult {
        let phases = self.phases();
        if phases.iter().all(|p| *p == "maintenance") {
            Ok(())
        } else {
            Err(format!("every machine must be back in maintenance mode, phases: {phases:?}").into())
        }
    }

    /// Waits until the machine at `index` (0 for `m1`) leaves maintenance mode: a create has
    /// reached it.
    ///
    /// # Errors
    /// When it is still in maintenance mode after `timeout`.
    pub(crate) fn wait_until_configured(&self, index: usize, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while self.phases().get(index) == Some(&"maintenance") {
            if Instant::now() > deadline {
                return Err(format!("m{} never left maintenance mode", index + 1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Resets the machine at `127.a.b.<host>` out of band with the Talos credentials in the
    /// `access` of the cluster resource at `cluster`, as an operator with talosctl would (not
    /// gracefully: an etcd member stays registered), and waits until it is in maintenance mode.
    pub(crate) fn reset_out_of_band(&self, state: &State, cluster: &str, host: u8) -> CheckResult {
        use cloudtemple::talos::Sensitive;
        use cloudtemple::talos::client::{
            Options, TalosClient, TalosCredentials, WipeMode, wait_for_maintenance,
        };
        let access = state
            .resource(cluster)
            .and_then(|r| r.values.get("access").cloned())
            .ok_or("no cluster access")?;
        let field = |k: &str| access[k].as_str().map(str::to_string).ok_or(format!("access.{k} missing"));
        let credentials = TalosCredentials {
            ca_pem: field("talos_ca_certificate")?,
            cert_pem: field("talos_client_certificate")?,
            key_pem: Sensitive::new(field("talos_client_key")?),
        };
        let [a, b, c] = self.prefix;
        let addr = std::net::IpAddr::from([a, b, c, host]);
        let opts = Options::with_timeout(Duration::from_secs(30));
        self.rt
            .block_on(async {
                let client = TalosClient::connect(addr, 50000, &credentials)?;
                client.reset(false, true, WipeMode::All, &opts).await?;
                wait_for_maintenance(addr, 50000, &opts).await.map(drop)
            })
            .map_err(|e| format!("resetting {addr} out of band: {e}").into())
    }

    /// Adds a fault on a machine (`m1`, an address, `*`) and API (`Bootstrap`, `*`), active until
    /// [`LocalRegion::clear_faults`] (and kept across restarts, as the emulator persists faults).
    ///
    /// # Panics
    /// When the emulator refuses the fault.
    pub(crate) fn fault(&self, machine: &str, api: &str, kind: ct_emulator::faults::FaultKind) {
        let spec = ct_emulator::faults::FaultSpec { machine: machine.to_owned(), api: api.to_owned(), kind };
        self.with_region(|r| r.add_fault(spec)).unwrap_or_else(|e| panic!("fault refused: {e}"));
    }

    /// Clears every fault.
    pub(crate) fn clear_faults(&self) {
        self.with_region(|r| r.clear_faults(None));
    }

    /// Stops the whole region (every listener, as a crashed emulator) and starts it again from
    /// its persisted state.
    ///
    /// # Panics
    /// When the region does not come back.
    pub(crate) fn restart(&self) {
        let mut guard = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(r) = guard.take() {
            self.rt.block_on(r.shutdown());
        }
        let running = self
            .rt
            .block_on(ct_emulator::start(self.options.clone()))
            .unwrap_or_else(|e| panic!("the region restarts: {e}"));
        *guard = Some(running);
    }
}

impl Drop for LocalRegion {
    fn drop(&mut self) {
        let taken = self.running.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(r) = taken {
            self.rt.block_on(r.shutdown());
        }
    }
}
