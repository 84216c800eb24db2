//! The provider's share of a large `terraform plan`: N `tfexample_thing` resources are applied
//! once, then planned again and again with and without refresh, beside a configuration with no
//! resource (the fixed cost of starting Terraform and the provider). Terraform reaches the
//! provider through the wrapper in [`crate::wrap`], which records each provider process's CPU.

use crate::binaries::Terraform;
use crate::error::BenchError;
use crate::rusage::ChildCpu;
use crate::wrap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The example provider's source address.
const TFEXAMPLE: &str = "registry.terraform.io/tfplugin/tfexample";

/// One terraform command.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CommandSample {
    /// Wall time, seconds.
    pub(crate) wall: f64,
    /// CPU time of terraform and everything it started, seconds.
    pub(crate) cpu: f64,
    /// CPU time of the provider processes, seconds.
    pub(crate) provider_cpu: f64,
    /// How many provider processes terraform started.
    pub(crate) providers: usize,
    /// Largest peak RSS of a provider process, KiB.
    pub(crate) provider_rss_kib: i64,
}

/// Everything measured with one terraform version.
#[derive(Clone, Debug, Default)]
pub(crate) struct PlanResult {
    /// The terraform version.
    pub(crate) version: String,
    /// The one `apply` that creates the resources.
    pub(crate) apply: CommandSample,
    /// `plan -refresh=true` of the N resources.
    pub(crate) refresh: Vec<CommandSample>,
    /// `plan -refresh=false` of the N resources.
    pub(crate) no_refresh: Vec<CommandSample>,
    /// `plan -refresh=true` with the provider on a unix socket instead of TCP (a control:
    /// Terraform never asks for one, but passes `PLUGIN_UNIX_SOCKET_DIR` through).
    pub(crate) refresh_unix: Vec<CommandSample>,
    /// `plan` of a configuration with the provider and no resource.
    pub(crate) empty: Vec<CommandSample>,
}

/// The configuration: the provider block and `n` things using most attribute kinds.
pub(crate) fn config(store: &Path, n: usize) -> String {
    let mut text = format!(
        "terraform {{\n  required_providers {{\n    tfexample = {{ source = \"tfplugin/tfexample\" }}\n  }}\n}}\n\n\
         provider \"tfexample\" {{\n  store_dir = \"{}\"\n}}\n",
        store.display()
    );
    for i in 0..n {
        let _ = write!(
            text,
            "\nresource \"tfexample_thing\" \"t{i}\" {{\n  \
               name     = \"thing-{i}\"\n  \
               size     = {size}\n  \
               mode     = \"standard\"\n  \
               tags     = {{ env = \"bench\", index = \"{i}\" }}\n  \
               settings = jsonencode({{ replicas = {i}, zone = \"az05\" }})\n  \
               nodes    = [{{ address = \"10.{a}.{b}.1\" }}, {{ address = \"10.{a}.{b}.2\" }}]\n\
             }}\n",
            size = i % 100 + 1,
            a = i / 250,
            b = i % 250,
        );
    }
    text
}

/// A scratch directory per terraform version, laid out for one benchmark run.
struct Workspace {
    root: PathBuf,
    many: PathBuf,
    empty: PathBuf,
    logs: PathBuf,
    home: PathBuf,
    sockets: PathBuf,
    cli_config: PathBuf,
    provider: PathBuf,
}

fn create_dir(path: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(path).map_err(BenchError::io(format!("creating {}", path.display())))
}

fn write(path: &Path, text: &str) -> Result<(), BenchError> {
    std::fs::write(path, text).map_err(BenchError::io(format!("writing {}", path.display())))
}

impl Workspace {
    fn create(root: PathBuf, n: usize, wrapper: &Path, provider: &Path) -> Result<Self, BenchError> {
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(BenchError::io(format!("clearing {}", root.display())))?;
        }
        let ws = Self {
            many: root.join("many"),
            empty: root.join("empty"),
            logs: root.join("logs"),
            home: root.join("home"),
            sockets: root.join("sockets"),
            cli_config: root.join("terraformrc"),
            provider: provider.to_path_buf(),
            root,
        };
        let (store, plugins) = (ws.root.join("store"), ws.root.join("plugins"));
        for dir in [&ws.many, &ws.empty, &ws.logs, &ws.home, &ws.sockets, &store, &plugins] {
            create_dir(dir)?;
        }
        let link = plugins.join("terraform-provider-tfexample");
        std::os::unix::fs::symlink(wrapper, &link)
            .map_err(BenchError::io(format!("linking {}", link.display())))?;
        write(
            &ws.cli_config,
            &format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{TFEXAMPLE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                plugins.display()
            ),
        )?;
        write(&ws.many.join("main.tf"), &config(&store, n))?;
        write(&ws.empty.join("main.tf"), &config(&store, 0))?;
        Ok(ws)
    }

    /// Runs one terraform command in `dir`; `label` names its output and wrapper log.
    fn run(
        &self,
        tf: &Terraform,
        dir: &Path,
        label: &str,
        args: &[&str],
        unix_socket: bool,
    ) -> Result<(CommandSample, Option<i32>, PathBuf), BenchError> {
        let output = self.logs.join(format!("{label}.out"));
        let wrap_log = self.logs.join(format!("{label}.providers"));
        let out = std::fs::File::create(&output)
            .map_err(BenchError::io(format!("creating {}", output.display())))?;
        let err = out.try_clone().map_err(BenchError::io("duplicating a file handle"))?;
        let mut cmd = Command::new(&tf.path);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TF_") {
                cmd.env_remove(&key);
            }
        }
        cmd.args(args)
            .current_dir(dir)
            .env("HOME", &self.home)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env(wrap::TARGET_ENV, &self.provider)
            .env(wrap::LOG_ENV, &wrap_log)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        if unix_socket {
            cmd.env("PLUGIN_UNIX_SOCKET_DIR", &self.sockets);
        }
        let before = ChildCpu::now()?;
        let start = Instant::now();
        let status = cmd.status().map_err(BenchError::io(format!("running terraform {}", args.join(" "))))?;
        let wall = start.elapsed().as_secs_f64();
        let cpu = ChildCpu::now()?.cpu_since(before);
        let records = wrap::read_records(&wrap_log);
        let sample = CommandSample {
            wall,
            cpu,
            provider_cpu: records.iter().map(|r| r.cpu).sum(),
            providers: records.len(),
            provider_rss_kib: records.iter().map(|r| r.max_rss_kib).max().unwrap_or_default(),
        };
        Ok((sample, status.code(), output))
    }

    /// A plan that must find nothing to change (`-detailed-exitcode` 0).
    fn empty_plan(
        &self,
        tf: &Terraform,
        dir: &Path,
        label: &str,
        refresh: bool,
        unix_socket: bool,
    ) -> Result<CommandSample, BenchError> {
        let refresh_arg = if refresh { "-refresh=true" } else { "-refresh=false" };
        let args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", refresh_arg];
        let (sample, code, output) = self.run(tf, dir, label, &args, unix_socket)?;
        match code {
            Some(0) => Ok(sample),
            Some(2) => {
                Err(BenchError::NotEmpty { version: tf.version.clone(), what: label.to_string(), output })
            }
            other => Err(BenchError::Command {
                command: format!("terraform {}", args.join(" ")),
                status: format!("{other:?}"),
                output,
            }),
        }
    }
}

/// Applies `n` resources with `tf`, then plans them `reps` times each way.
pub(crate) fn measure(
    tf: &Terraform,
    n: usize,
    reps: usize,
    work: &Path,
    wrapper: &Path,
    provider: &Path,
    progress: &dyn Fn(&str),
) -> Result<PlanResult, BenchError> {
    let ws = Workspace::create(work.join(format!("plan-{}", tf.version)), n, wrapper, provider)?;
    progress(&format!("terraform {}: apply of {n} resources in {}", tf.version, ws.root.display()));
    let args = ["apply", "-input=false", "-no-color", "-auto-approve"];
    let (apply, code, output) = ws.run(tf, &ws.many, "apply", &args, false)?;
    if code != Some(0) {
        return Err(BenchError::Command {
            command: format!("terraform {}", args.join(" ")),
            status: format!("{code:?}"),
            output,
        });
    }
    let mut result = PlanResult { version: tf.version.clone(), apply, ..PlanResult::default() };
    for rep in 0..reps {
        progress(&format!("terraform {}: plans, round {}/{reps}", tf.version, rep + 1));
        // Interleaved, so that a burst of load on the shared machine hits every kind alike.
        result.refresh.push(ws.empty_plan(tf, &ws.many, &format!("plan-refresh-{rep}"), true, false)?);
        result.no_refresh.push(ws.empty_plan(
            tf,
            &ws.many,
            &format!("plan-norefresh-{rep}"),
            false,
            false,
        )?);
        result.empty.push(ws.empty_plan(tf, &ws.empty, &format!("plan-empty-{rep}"), true, false)?);
        result.refresh_unix.push(ws.empty_plan(
            tf,
            &ws.many,
            &format!("plan-refresh-unix-{rep}"),
            true,
            true,
        )?);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_has_one_block_per_resource_and_the_provider() {
        let text = config(Path::new("/tmp/store"), 3);
        assert_eq!(text.matches("resource \"tfexample_thing\"").count(), 3);
        assert!(text.contains("store_dir = \"/tmp/store\""));
        assert!(text.contains("source = \"tfplugin/tfexample\""));
        assert!(text.contains("\"t2\"") && text.contains("name     = \"thing-2\""));
        assert!(!config(Path::new("/s"), 0).contains("resource"));
    }

    #[test]
    fn node_addresses_stay_valid_for_large_n() {
        let text = config(Path::new("/s"), 600);
        assert!(text.contains("10.2.99.1"));
        assert!(!text.contains(".250."));
    }
}
