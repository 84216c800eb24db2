//! A terraform working directory: its configuration files, and every command run in it.
//!
//! Each command gets the same isolated environment (CLI config with the dev overrides, a private
//! HOME, no inherited `TF_*` settings), is scanned for forbidden output and timed. JSON commands
//! are scanned on stderr only: their stdout is data (state values, configuration expressions) that
//! may legitimately contain any word.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::command::{self, CommandOutput, Outcome};
use crate::error::Error;
use crate::forbidden::find_forbidden;
use crate::plan::Plan;
use crate::state::State;
use crate::terraform::Terraform;

/// The default limit for one terraform command; `TF_ACC_COMMAND_TIMEOUT` (seconds) overrides it.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// Environment variable: when set, terraform runs with `TF_LOG` at that level.
pub const LOG_ENV: &str = "TF_ACC_LOG";

/// The environment terraform runs with.
#[derive(Clone, Debug, Default)]
pub struct TerraformEnv {
    vars: Vec<(OsString, OsString)>,
}

impl TerraformEnv {
    /// The standard environment: `TF_CLI_CONFIG_FILE`, `HOME`, `CHECKPOINT_DISABLE=1`,
    /// `TF_IN_AUTOMATION=1`, and `TF_LOG` (to `log_file`) only when `TF_ACC_LOG` is set.
    pub fn new(cli_config: &Path, home: &Path, log_file: &Path) -> Self {
        let mut env = Self::default();
        env.set("TF_CLI_CONFIG_FILE", cli_config);
        env.set("HOME", home);
        env.set("CHECKPOINT_DISABLE", "1");
        env.set("TF_IN_AUTOMATION", "1");
        if let Some(level) = std::env::var_os(LOG_ENV).filter(|level| !level.is_empty()) {
            env.set("TF_LOG", level);
            // Logs go to a file: mixed into the output, their text would trip the scanner.
            env.set("TF_LOG_PATH", log_file);
        }
        env
    }

    /// Sets (or replaces) a variable.
    pub fn set(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) {
        let key = key.into();
        let value = value.into();
        match self.vars.iter_mut().find(|(existing, _)| *existing == key) {
            Some(entry) => entry.1 = value,
            None => self.vars.push((key, value)),
        }
    }

    /// The value set for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&OsString> {
        self.vars.iter().find(|(existing, _)| existing == key).map(|(_, value)| value)
    }

    fn apply(&self, cmd: &mut Command) {
        // Inherited TF_* settings (TF_CLI_ARGS, TF_DATA_DIR, TF_LOG, TF_REATTACH_PROVIDERS, ...)
        // would change what terraform does behind the test's back. TF_ACC* are ours, not its.
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if name.starts_with("TF_") && !name.starts_with("TF_ACC") {
                cmd.env_remove(&key);
            }
        }
        cmd.envs(self.vars.iter().map(|(key, value)| (key, value)));
    }
}

/// The record of one command, for the duration summary.
#[derive(Clone, Debug)]
pub struct CommandRecord {
    /// The terraform subcommand (`plan`, `apply`, `show`, ...).
    pub subcommand: String,
    /// The full command line.
    pub command: String,
    /// How long it took.
    pub duration: Duration,
    /// Its exit code, `None` after a signal.
    pub code: Option<i32>,
}

/// A directory in which terraform commands run.
#[derive(Debug)]
pub struct WorkDir {
    dir: PathBuf,
    terraform: Terraform,
    env: TerraformEnv,
    timeout: Duration,
    history: Vec<CommandRecord>,
    last: Option<CommandOutput>,
}

/// The saved plan file name inside a working directory.
pub const PLAN_FILE: &str = "tfplan";

impl WorkDir {
    /// Uses `dir` (created if missing) with `terraform` and `env`.
    pub fn new(dir: impl Into<PathBuf>, terraform: Terraform, env: TerraformEnv) -> Result<Self, Error> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|err| Error::io(format!("cannot create {}", dir.display()), err))?;
        Ok(Self { dir, terraform, env, timeout: command_timeout_from_env(), history: Vec::new(), last: None })
    }

    /// Changes the per-command timeout.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The terraform binary used here.
    pub fn terraform(&self) -> &Terraform {
        &self.terraform
    }

    /// Every command run so far, in order.
    pub fn history(&self) -> &[CommandRecord] {
        &self.history
    }

    /// The output of the last command run, for failure reports.
    pub fn last_output(&self) -> Option<&CommandOutput> {
        self.last.as_ref()
    }

    /// Replaces the configuration: removes every `*.tf` and `*.tf.json`, then writes `files`.
    pub fn write_config(&self, files: &[(String, String)]) -> Result<(), Error> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|err| Error::io(format!("cannot list {}", self.dir.display()), err))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".tf") || name.ends_with(".tf.json") {
                std::fs::remove_file(entry.path())
                    .map_err(|err| Error::io(format!("cannot remove {}", entry.path().display()), err))?;
            }
        }
        for (name, contents) in files {
            let path = self.dir.join(name);
            std::fs::write(&path, contents)
                .map_err(|err| Error::io(format!("cannot write {}", path.display()), err))?;
        }
        Ok(())
    }

    /// Runs `terraform <args>` here. A non-zero exit is *not* an error (see [`Self::run_ok`]);
    /// forbidden output, a timeout or a failure to start are.
    pub fn run(&mut self, args: &[&str]) -> Result<CommandOutput, Error> {
        let mut cmd = Command::new(self.terraform.path());
        cmd.args(args).current_dir(&self.dir);
        self.env.apply(&mut cmd);
        let command_line = format!("terraform {}", args.join(" "));
        let version = self.terraform.version().to_string();
        let outcome = command::run(&mut cmd, &command_line, self.timeout)?;
        let (output, timed_out) = match outcome {
            Outcome::Finished(output) => (output, false),
            Outcome::TimedOut(output) => (output, true),
        };
        self.history.push(CommandRecord {
            subcommand: args.first().copied().unwrap_or_default().to_owned(),
            command: command_line.clone(),
            duration: output.duration,
            code: output.code,
        });
        self.last = Some(output.clone());
        let scanned = if args.contains(&"-json") { &output.stderr } else { &output.combined };
        if let Some(found) = find_forbidden(scanned) {
            return Err(Error::ForbiddenOutput {
                pattern: found.pattern,
                line: found.line,
                command: command_line,
                version,
                output: output.combined,
            });
        }
        if timed_out {
            return Err(Error::Timeout {
                command: command_line,
                version,
                timeout: self.timeout,
                output: output.combined,
            });
        }
        Ok(output)
    }

    /// Like [`Self::run`], and a non-zero exit is an [`Error::CommandFailed`].
    pub fn run_ok(&mut self, args: &[&str]) -> Result<CommandOutput, Error> {
        let output = self.run(args)?;
        if output.success() { Ok(output) } else { Err(self.failed(&output)) }
    }

    /// The error for an unexpected exit status of `output`.
    pub fn failed(&self, output: &CommandOutput) -> Error {
        Error::CommandFailed {
            command: output.command.clone(),
            version: self.terraform.version().to_string(),
            status: output.status_text(),
            output: output.combined.clone(),
        }
    }

    /// `terraform plan -no-color -input=false -detailed-exitcode <extra>`: exit 0 means no changes,
    /// 2 means changes, 1 an error. The caller judges the code.
    pub fn plan(&mut self, extra: &[&str]) -> Result<CommandOutput, Error> {
        let mut args = vec!["plan", "-no-color", "-input=false", "-detailed-exitcode"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// `terraform plan` saving the plan to [`PLAN_FILE`].
    pub fn plan_to_file(&mut self) -> Result<CommandOutput, Error> {
        let out = format!("-out={PLAN_FILE}");
        self.plan(&[&out])
    }

    /// `terraform apply` of the saved plan (no approval needed for a saved plan).
    pub fn apply_plan_file(&mut self) -> Result<CommandOutput, Error> {
        self.run(&["apply", "-no-color", "-input=false", PLAN_FILE])
    }

    /// `terraform destroy -auto-approve`.
    pub fn destroy(&mut self) -> Result<CommandOutput, Error> {
        self.run(&["destroy", "-no-color", "-input=false", "-auto-approve"])
    }

    /// `terraform import ADDRESS ID`.
    pub fn import(&mut self, address: &str, id: &str) -> Result<CommandOutput, Error> {
        self.run(&["import", "-no-color", "-input=false", address, id])
    }

    /// `terraform validate`.
    pub fn validate(&mut self) -> Result<CommandOutput, Error> {
        self.run(&["validate", "-no-color"])
    }

    /// `terraform show -json` of the saved plan, parsed.
    pub fn show_plan(&mut self) -> Result<Plan, Error> {
        let output = self.run_ok(&["show", "-no-color", "-json", PLAN_FILE])?;
        Plan::from_json(&output.stdout).map_err(|source| Error::Json { command: output.command, source })
    }

    /// `terraform show -json` of the current state, parsed.
    pub fn show_state(&mut self) -> Result<State, Error> {
        let output = self.run_ok(&["show", "-no-color", "-json"])?;
        State::from_json(&output.stdout).map_err(|source| Error::Json { command: output.command, source })
    }
}

fn command_timeout_from_env() -> Duration {
    std::env::var("TF_ACC_COMMAND_TIMEOUT")
        .ok()
        .and_then(|secs| secs.trim().parse::<u64>().ok())
        .map_or(DEFAULT_COMMAND_TIMEOUT, Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in terraform: answers `version -json`, echoes its arguments and environment, and
    /// prints whatever `FAKE_TF_SAY` holds.
    fn fake_terraform(dir: &Path) -> Terraform {
        let path = dir.join("terraform");
        fs::write(
            &path,
            "#!/bin/sh\n\
             if [ \"$1\" = version ]; then echo '{\"terraform_version\":\"1.0.3\"}'; exit 0; fi\n\
             echo \"args: $*\"\n\
             echo \"cfg=$TF_CLI_CONFIG_FILE home=$HOME cp=$CHECKPOINT_DISABLE auto=$TF_IN_AUTOMATION data=${TF_DATA_DIR:-unset}\"\n\
             if [ \"$1\" = show ]; then echo '{\"format_version\":\"0.2\"}' >&2; fi\n\
             printf '%s\\n' \"$FAKE_TF_SAY\" >&2\n\
             exit \"${FAKE_TF_EXIT:-0}\"\n",
        )
        .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        Terraform::probe(&path).unwrap()
    }

    fn workdir(tmp: &Path, say: &str, exit: &str) -> WorkDir {
        let terraform = fake_terraform(tmp);
        let mut env = TerraformEnv::new(&tmp.join("rc"), &tmp.join("home"), &tmp.join("log"));
        env.set("FAKE_TF_SAY", say);
        env.set("FAKE_TF_EXIT", exit);
        WorkDir::new(tmp.join("work"), terraform, env).unwrap()
    }

    #[test]
    fn commands_get_the_isolated_environment_and_are_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let mut wd = workdir(tmp.path(), "fine", "0");
        let output = wd.plan_to_file().unwrap();
        assert!(output.stdout.contains("args: plan -no-color -input=false -detailed-exitcode -out=tfplan"));
        let rc = tmp.path().join("rc");
        let home = tmp.path().join("home");
        assert!(
            output.stdout.contains(&format!(
                "cfg={} home={} cp=1 auto=1 data=unset",
                rc.display(),
                home.display()
            )),
            "{}",
            output.stdout
        );
        assert_eq!(wd.history().len(), 1);
        assert_eq!(wd.history()[0].subcommand, "plan");
        assert_eq!(wd.last_output().unwrap().stderr, "fine\n");
    }

    #[test]
    fn forbidden_output_fails_even_a_successful_command() {
        let tmp = tempfile::tempdir().unwrap();
        let mut wd = workdir(tmp.path(), "Error: Provider produced inconsistent final plan", "0");
        let err = wd.run(&["apply", "tfplan"]).unwrap_err();
        let Error::ForbiddenOutput { pattern, command, version, output, .. } = err else {
            panic!("unexpected {err}");
        };
        assert_eq!(pattern, "Provider produced");
        assert_eq!(command, "terraform apply tfplan");
        assert_eq!(version, "1.0.3");
        assert!(output.contains("args: apply tfplan"));
    }

    #[test]
    fn json_commands_are_scanned_on_stderr_only() {
        let tmp = tempfile::tempdir().unwrap();
        // The word is on stdout (the argument echo), which is data for a JSON command.
        let mut wd = workdir(tmp.path(), "", "0");
        let output = wd.run(&["show", "-json", "panic"]).unwrap();
        assert!(output.stdout.contains("panic"));
        assert!(wd.run(&["plan", "panic"]).is_err());
    }

    #[test]
    fn run_ok_turns_a_non_zero_exit_into_an_error_with_the_output() {
        let tmp = tempfile::tempdir().unwrap();
        let mut wd = workdir(tmp.path(), "Error: bad thing", "1");
        let output = wd.run(&["validate"]).unwrap();
        assert_eq!(output.code, Some(1));
        let err = wd.run_ok(&["validate"]).unwrap_err().to_string();
        assert!(err.contains("terraform validate"), "{err}");
        assert!(err.contains("code 1"), "{err}");
        assert!(err.contains("Error: bad thing"), "{err}");
    }

    #[test]
    fn writing_a_config_replaces_the_previous_one() {
        let tmp = tempfile::tempdir().unwrap();
        let wd = workdir(tmp.path(), "", "0");
        let file = |name: &str, text: &str| (name.to_owned(), text.to_owned());
        wd.write_config(&[file("main.tf", "a"), file("extra.tf.json", "{}")]).unwrap();
        fs::write(wd.path().join("terraform.tfstate"), "{}").unwrap();
        wd.write_config(&[file("main.tf", "b")]).unwrap();
        let mut names: Vec<String> = fs::read_dir(wd.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["main.tf", "terraform.tfstate"]);
        assert_eq!(fs::read_to_string(wd.path().join("main.tf")).unwrap(), "b");
    }
}
