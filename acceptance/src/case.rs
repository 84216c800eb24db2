//! Test cases: a name, the providers under test, and steps, run once per terraform binary.
//!
//! Each run gets a fresh temporary root holding the CLI configuration, a private HOME and the
//! working directories. Whatever happens in the steps, the run ends with a best-effort destroy
//! that reports anything left behind, then prints a one-line summary with its durations.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::provider::{ProviderUnderTest, write_cli_config};
use crate::runner::{Runner, StepError};
use crate::state::State;
use crate::step::{StateCheck, Step};
use crate::terraform::{Terraform, discover};
use crate::workdir::{CommandRecord, TerraformEnv};

/// Environment variable: keep each run's temporary directory and print where it is.
pub const KEEP_DIR_ENV: &str = "TF_ACC_KEEP_DIR";

enum ProviderSpec {
    Source(String),
    Located(ProviderUnderTest),
}

/// A named sequence of steps against the providers under test.
pub struct TestCase<'a> {
    name: String,
    providers: Vec<ProviderSpec>,
    steps: Vec<Step<'a>>,
    env: Vec<(String, String)>,
    check_destroy: Option<StateCheck<'a>>,
    command_timeout: Option<Duration>,
}

impl<'a> TestCase<'a> {
    /// An empty case; `name` labels its reports.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            providers: Vec::new(),
            steps: Vec::new(),
            env: Vec::new(),
            check_destroy: None,
            command_timeout: None,
        }
    }

    /// Adds the provider with this source address, located at run time by
    /// [`ProviderUnderTest::locate`] (a missing binary fails the case with how to build it).
    pub fn provider(mut self, source: &str) -> Self {
        self.providers.push(ProviderSpec::Source(source.to_owned()));
        self
    }

    /// Adds a provider whose binary directory is already known.
    pub fn provider_under_test(mut self, provider: ProviderUnderTest) -> Self {
        self.providers.push(ProviderSpec::Located(provider));
        self
    }

    /// Appends a step.
    pub fn step(mut self, step: impl Into<Step<'a>>) -> Self {
        self.steps.push(step.into());
        self
    }

    /// Sets an environment variable for terraform and the providers it starts
    /// (e.g. `TF_DISABLE_PLUGIN_TLS=1`, or the provider's endpoint settings).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// After the final destroy, proves the remote objects are gone; given the state before it.
    pub fn check_destroy(mut self, check: impl Fn(&State) -> crate::checks::CheckResult + 'a) -> Self {
        self.check_destroy = Some(Box::new(check));
        self
    }

    /// Overrides the per-command timeout (default 20 minutes, or `TF_ACC_COMMAND_TIMEOUT` seconds).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = Some(timeout);
        self
    }

    /// Runs the case on every terraform binary found, panicking with every failure report.
    ///
    /// # Panics
    /// When no terraform can be found or any run fails: this is the assertion of a `#[test]`.
    pub fn run(&self) {
        if let Err(err) = self.try_run() {
            panic!("{err}");
        }
    }

    /// Runs the case on every terraform binary found by [`crate::terraform::discover`].
    pub fn try_run(&self) -> Result<Vec<RunReport>, CaseError> {
        let binaries = discover().map_err(CaseError::Discovery)?;
        let mut reports = Vec::new();
        let mut failures = Vec::new();
        for terraform in &binaries {
            match self.run_with(terraform) {
                Ok(report) => reports.push(report),
                Err(failure) => failures.push(*failure),
            }
        }
        if failures.is_empty() { Ok(reports) } else { Err(CaseError::Failed(failures)) }
    }

    /// Runs the case once, on `terraform`, and prints its summary line.
    pub fn run_with(&self, terraform: &Terraform) -> Result<RunReport, Box<RunFailure>> {
        let started = Instant::now();
        let failure = |step: Option<usize>, kind: &str, error: StepError| RunFailure {
            case: self.name.clone(),
            terraform_version: terraform.version().to_string(),
            terraform_path: terraform.path().to_owned(),
            step,
            steps: self.steps.len(),
            step_kind: kind.to_owned(),
            message: error.message,
            command: error.command,
            output: error.output,
            cleanup: None,
            kept_dir: None,
            log_file: None,
        };
        let root = match tempfile::Builder::new().prefix("tf-acc-").tempdir() {
            Ok(root) => root,
            Err(err) => {
                let error = StepError::from_setup(&Error::io("cannot create a temporary directory", err));
                return Err(Box::new(failure(None, "setup", error)));
            }
        };
        let mut runner = match self.setup(terraform, root.path().to_owned()) {
            Ok(runner) => runner,
            Err(error) => return Err(Box::new(failure(None, "setup", error))),
        };

        let mut result = Ok(());
        for (position, step) in self.steps.iter().enumerate() {
            let index = position + 1;
            if let Err(error) = runner.run_step(index, step) {
                result = Err(failure(Some(index), step.kind(), error));
                break;
            }
        }
        let cleanup = runner.finish(self.check_destroy.as_ref());
        let result = match (result, cleanup) {
            (Ok(()), Ok(())) => Ok(()),
            (Ok(()), Err(error)) => Err(failure(None, "final destroy", error)),
            (Err(mut failed), Err(error)) => {
                failed.cleanup = Some(error.render());
                Err(failed)
            }
            (Err(failed), Ok(())) => Err(failed),
        };

        let kept_dir = std::env::var_os(KEEP_DIR_ENV).filter(|value| !value.is_empty()).map(|_| root.keep());
        let report = RunReport {
            case: self.name.clone(),
            terraform_version: terraform.version().to_string(),
            steps: self.steps.len(),
            commands: runner.history(),
            duration: started.elapsed(),
        };
        print_summary(&report, result.is_ok(), kept_dir.as_ref());
        match result {
            Ok(()) => Ok(report),
            Err(mut failed) => {
                failed.kept_dir = kept_dir;
                failed.log_file = runner.log_file();
                Err(Box::new(failed))
            }
        }
    }

    fn setup(&self, terraform: &Terraform, root: PathBuf) -> Result<Runner, StepError> {
        let providers = self
            .providers
            .iter()
            .map(|spec| match spec {
                ProviderSpec::Source(source) => ProviderUnderTest::locate(source),
                ProviderSpec::Located(provider) => {
                    ProviderUnderTest::new(&provider.source, &provider.bin_dir)
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| StepError::from_setup(&err))?;
        let home = root.join("home");
        std::fs::create_dir_all(&home)
            .map_err(|err| StepError::from_setup(&Error::io("cannot create HOME", err)))?;
        let cli_config = root.join("terraformrc");
        write_cli_config(&cli_config, &providers).map_err(|err| StepError::from_setup(&err))?;
        let log_file = std::env::temp_dir().join(format!(
            "tf-acc-{}-{}-{}.log",
            sanitize(&self.name),
            terraform.version(),
            std::process::id()
        ));
        let mut env = TerraformEnv::new(&cli_config, &home, &log_file);
        for (key, value) in &self.env {
            env.set(key, value);
        }
        let mut runner =
            Runner::new(terraform.clone(), env, root).map_err(|err| StepError::from_setup(&err))?;
        if let Some(timeout) = self.command_timeout {
            runner.set_timeout(timeout);
        }
        Ok(runner)
    }
}

impl fmt::Debug for TestCase<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let providers: Vec<&str> = self
            .providers
            .iter()
            .map(|spec| match spec {
                ProviderSpec::Source(source) => source.as_str(),
                ProviderSpec::Located(provider) => provider.source.as_str(),
            })
            .collect();
        f.debug_struct("TestCase")
            .field("name", &self.name)
            .field("providers", &providers)
            .field("steps", &self.steps)
            .field("env", &self.env)
            .field("check_destroy", &self.check_destroy.is_some())
            .finish()
    }
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// The record of one successful (or failed) run, for durations.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The case name.
    pub case: String,
    /// The terraform version it ran on.
    pub terraform_version: String,
    /// How many steps the case has.
    pub steps: usize,
    /// Every terraform command, with its duration.
    pub commands: Vec<CommandRecord>,
    /// Wall-clock time of the whole run, final destroy included.
    pub duration: Duration,
}

impl RunReport {
    /// One line: case, terraform version, steps, commands, seconds, and time per subcommand.
    pub fn summary(&self) -> String {
        let mut per_subcommand: BTreeMap<&str, (usize, Duration)> = BTreeMap::new();
        for record in &self.commands {
            let entry = per_subcommand.entry(record.subcommand.as_str()).or_default();
            entry.0 += 1;
            entry.1 += record.duration;
        }
        let breakdown: Vec<String> = per_subcommand
            .iter()
            .map(|(name, (count, total))| format!("{name} {count}x {:.1}s", total.as_secs_f64()))
            .collect();
        format!(
            "case {} on terraform {}: {} steps, {} commands, {:.1}s ({})",
            self.case,
            self.terraform_version,
            self.steps,
            self.commands.len(),
            self.duration.as_secs_f64(),
            breakdown.join(", ")
        )
    }
}

fn print_summary(report: &RunReport, ok: bool, kept_dir: Option<&PathBuf>) {
    let kept = kept_dir.map_or_else(String::new, |dir| format!(" [kept {}]", dir.display()));
    let verdict = if ok { "passed" } else { "failed" };
    // Straight to the process's stderr, not through eprintln!: the test harness captures the
    // latter and would hide the durations of passing cases.
    let _ = writeln!(std::io::stderr(), "acceptance: {verdict}: {}{kept}", report.summary());
}

/// A failed run: which step, why, and the command output that shows it.
#[derive(Debug)]
pub struct RunFailure {
    /// The case name.
    pub case: String,
    /// The terraform version.
    pub terraform_version: String,
    /// The terraform binary.
    pub terraform_path: PathBuf,
    /// The 1-based failing step; `None` for setup and the final destroy.
    pub step: Option<usize>,
    /// How many steps the case has.
    pub steps: usize,
    /// The failing step's kind (`config`, `import`, ..., `setup`, `final destroy`).
    pub step_kind: String,
    /// What went wrong.
    pub message: String,
    /// The command whose output explains it.
    pub command: Option<String>,
    /// That command's combined output.
    pub output: Option<String>,
    /// A problem of the final destroy after the failure (resources may be left behind).
    pub cleanup: Option<String>,
    /// The run's directory, when kept with `TF_ACC_KEEP_DIR`.
    pub kept_dir: Option<PathBuf>,
    /// terraform's log, when `TF_ACC_LOG` is set.
    pub log_file: Option<PathBuf>,
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "case `{}` failed on terraform {} ({})",
            self.case,
            self.terraform_version,
            self.terraform_path.display()
        )?;
        match self.step {
            Some(step) => write!(f, " at step {step}/{} ({})", self.steps, self.step_kind)?,
            None => write!(f, " in {}", self.step_kind)?,
        }
        writeln!(f, ":\n{}", self.message)?;
        if let Some(command) = &self.command {
            writeln!(f, "command: {command}")?;
        }
        if let Some(output) = &self.output {
            writeln!(f, "output:")?;
            for line in output.lines() {
                writeln!(f, "  | {line}")?;
            }
        }
        if let Some(cleanup) = &self.cleanup {
            writeln!(f, "the final destroy failed too (objects may be left behind):\n{cleanup}")?;
        }
        if let Some(log) = &self.log_file {
            writeln!(f, "terraform log: {}", log.display())?;
        }
        match &self.kept_dir {
            Some(dir) => writeln!(f, "working directories kept in {}", dir.display()),
            None => writeln!(f, "(set {KEEP_DIR_ENV}=1 to keep the working directories)"),
        }
    }
}

impl std::error::Error for RunFailure {}

/// Why [`TestCase::try_run`] failed.
#[derive(Debug)]
pub enum CaseError {
    /// No terraform binary could be found.
    Discovery(Error),
    /// One or more runs failed (one entry per terraform binary that failed).
    Failed(Vec<RunFailure>),
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Discovery(err) => write!(f, "no terraform to test with: {err}"),
            Self::Failed(failures) => {
                for failure in failures {
                    writeln!(f, "{failure}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for CaseError {}
