//! Shared helpers of the provider acceptance suites: running a case once per terraform binary with
//! resources of its own (a store directory, a log file), and reading the example provider's store.
//!
//! Cases are built per binary rather than once per case so that each run has a fresh store: a run on
//! terraform 1.11 must not see the objects (or the leftovers of a failure) of the run on 1.0.3.

// Each test file is its own crate and uses a different part of these helpers.
#![allow(dead_code, reason = "each test crate uses only some of the shared helpers")]

use std::path::{Path, PathBuf};

use acceptance::terraform::{Terraform, discover};
use acceptance::{CheckError, RunFailure, RunReport, State};
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
pub(crate) struct LocalRegion {
    rt: tokio::runtime::Runtime,
    running: Option<ct_emulator::RunningRegion>,
}

impl LocalRegion {
    /// Starts `n` machines at `127.a.b.1..=n` (`prefix` = `[127, a, b]`).
    ///
    /// # Panics
    /// When the region cannot start (an address already in use).
    pub(crate) fn start(prefix: [u8; 3], n: u8) -> Self {
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
            ..ct_emulator::RegionConfig::default()
        };
        let running = rt
            .block_on(ct_emulator::start(ct_emulator::RegionOptions { region, machines, admin: None }))
            .unwrap_or_else(|e| panic!("the region starts: {e}"));
        Self { rt, running: Some(running) }
    }

    /// The phase of every machine (`maintenance`, `running`, ...).
    pub(crate) fn phases(&self) -> Vec<&'static str> {
        self.running
            .as_ref()
            .map(|r| r.region().machines().into_iter().map(|m| m.phase).collect())
            .unwrap_or_default()
    }
}

impl Drop for LocalRegion {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.shutdown());
        }
    }
}
