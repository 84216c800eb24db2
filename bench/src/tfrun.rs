//! Terraform against the cloudtemple provider in a scratch directory: `apply -json`, whose
//! `apply_start` / `apply_complete` messages are timestamped by this process as they arrive (so
//! each resource's apply time is measured on our clock, to the millisecond), and plans.

use crate::binaries::Terraform;
use crate::error::BenchError;
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The cloudtemple provider's source address.
const CLOUDTEMPLE: &str = "registry.terraform.io/cloud-temple/cloudtemple";

/// One `terraform apply`.
#[derive(Clone, Debug, Default)]
pub(crate) struct ApplyTimes {
    /// Wall time of the whole command, seconds.
    pub(crate) wall: f64,
    /// Per resource address: seconds from `apply_start` to `apply_complete`.
    pub(crate) resources: BTreeMap<String, f64>,
}

impl ApplyTimes {
    /// The apply time of one resource (NaN when terraform did not touch it).
    pub(crate) fn of(&self, address: &str) -> f64 {
        self.resources.get(address).copied().unwrap_or(f64::NAN)
    }
}

/// A terraform working directory with the provider through `dev_overrides`.
#[derive(Debug)]
pub(crate) struct Stack {
    tf: Terraform,
    dir: PathBuf,
    home: PathBuf,
    logs: PathBuf,
    cli_config: PathBuf,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> BenchError {
    BenchError::io(context)
}

impl Stack {
    /// A fresh directory `root` (cleared if it exists) for `tf`, with the provider binaries of
    /// `provider_dir`.
    pub(crate) fn create(root: &Path, tf: &Terraform, provider_dir: &Path) -> Result<Self, BenchError> {
        if root.exists() {
            std::fs::remove_dir_all(root).map_err(io(format!("clearing {}", root.display())))?;
        }
        let stack = Self {
            tf: tf.clone(),
            dir: root.join("config"),
            home: root.join("home"),
            logs: root.join("logs"),
            cli_config: root.join("terraformrc"),
        };
        for d in [&stack.dir, &stack.home, &stack.logs] {
            std::fs::create_dir_all(d).map_err(io(format!("creating {}", d.display())))?;
        }
        let rc = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{CLOUDTEMPLE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display()
        );
        std::fs::write(&stack.cli_config, rc)
            .map_err(io(format!("writing {}", stack.cli_config.display())))?;
        Ok(stack)
    }

    /// Replaces the configuration.
    pub(crate) fn configure(&self, text: &str) -> Result<(), BenchError> {
        let path = self.dir.join("main.tf");
        std::fs::write(&path, text).map_err(io(format!("writing {}", path.display())))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.tf.path);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TF_") {
                cmd.env_remove(&key);
            }
        }
        cmd.args(args)
            .current_dir(&self.dir)
            .env("HOME", &self.home)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .stdin(Stdio::null());
        cmd
    }

    fn failed(&self, args: &[&str], status: Option<i32>, output: PathBuf) -> BenchError {
        BenchError::Command {
            command: format!("terraform {} (in {})", args.join(" "), self.dir.display()),
            status: format!("{status:?}"),
            output,
        }
    }

    /// `terraform apply -json`; fails unless terraform exits 0.
    pub(crate) fn apply(&self, label: &str) -> Result<ApplyTimes, BenchError> {
        let args = ["apply", "-input=false", "-auto-approve", "-json"];
        let output = self.logs.join(format!("{label}.jsonl"));
        let mut log = std::fs::File::create(&output).map_err(io(format!("creating {}", output.display())))?;
        let err = log.try_clone().map_err(BenchError::io("duplicating a file handle"))?;
        let start = Instant::now();
        let mut child = self
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(io(format!("running terraform {}", args.join(" "))))?;
        let stdout =
            child.stdout.take().ok_or_else(|| BenchError::Setup("terraform has no stdout".into()))?;
        let mut started: BTreeMap<String, f64> = BTreeMap::new();
        let mut times = ApplyTimes::default();
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(BenchError::io("reading terraform's output"))?;
            let at = start.elapsed().as_secs_f64();
            let _ = writeln!(log, "{line}");
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            let addr = message["hook"]["resource"]["addr"].as_str().unwrap_or_default().to_string();
            match message["type"].as_str() {
                Some("apply_start") => {
                    started.insert(addr, at);
                }
                Some("apply_complete") => {
                    if let Some(t0) = started.get(&addr) {
                        times.resources.insert(addr, at - t0);
                    }
                }
                _ => {}
            }
        }
        let status = child.wait().map_err(BenchError::io("waiting for terraform"))?;
        times.wall = start.elapsed().as_secs_f64();
        if !status.success() {
            return Err(self.failed(&args, status.code(), output));
        }
        Ok(times)
    }

    /// `terraform plan` with or without refresh: wall time and whether the plan was empty.
    pub(crate) fn plan(&self, label: &str, refresh: bool) -> Result<(f64, bool), BenchError> {
        let refresh_arg = if refresh { "-refresh=true" } else { "-refresh=false" };
        let args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", refresh_arg];
        let output = self.logs.join(format!("{label}.out"));
        let out = std::fs::File::create(&output).map_err(io(format!("creating {}", output.display())))?;
        let err = out.try_clone().map_err(BenchError::io("duplicating a file handle"))?;
        let start = Instant::now();
        let status = self
            .command(&args)
            .stdout(out)
            .stderr(err)
            .status()
            .map_err(io(format!("running terraform {}", args.join(" "))))?;
        let wall = start.elapsed().as_secs_f64();
        match status.code() {
            Some(0) => Ok((wall, true)),
            Some(2) => Ok((wall, false)),
            other => Err(self.failed(&args, other, output)),
        }
    }
}
