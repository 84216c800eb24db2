//! The steps of a test case and their options, mirroring HashiCorp's acceptance framework.
//!
//! Each `Step::...` constructor returns a builder for that kind of step; a builder converts into a
//! [`Step`] when given to [`crate::TestCase::step`]. Closures may borrow from the test function
//! (an emulator handle, a counter), hence the lifetime `'a`.

use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::checks::{CheckError, CheckResult, compile};
use crate::command::CommandOutput;
use crate::error::Error;
use crate::plan::Plan;
use crate::state::State;
use crate::terraform::Terraform;
use crate::workdir::WorkDir;

/// A boxed state check.
pub type StateCheck<'a> = Box<dyn Fn(&State) -> CheckResult + 'a>;
/// A boxed plan check.
pub type PlanCheck<'a> = Box<dyn Fn(&Plan) -> CheckResult + 'a>;
/// A boxed out-of-band action.
pub type RunFn<'a> = Box<dyn Fn(&mut RunContext<'_>) -> CheckResult + 'a>;
/// A boxed import ID computation from the state of the earlier steps.
pub type IdFn<'a> = Box<dyn Fn(&State) -> Result<String, CheckError> + 'a>;

/// Terraform configuration files: name and contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    files: Vec<(String, String)>,
}

impl Config {
    /// A single `main.tf`.
    pub fn hcl(text: impl Into<String>) -> Self {
        Self { files: vec![("main.tf".to_owned(), text.into())] }
    }

    /// Several files, e.g. `[("main.tf", ...), ("outputs.tf", ...)]`.
    pub fn files<N: Into<String>, T: Into<String>>(files: impl IntoIterator<Item = (N, T)>) -> Self {
        Self { files: files.into_iter().map(|(name, text)| (name.into(), text.into())).collect() }
    }

    /// Every `*.tf` and `*.tf.json` file of a directory, such as an `examples/` folder.
    pub fn from_dir(dir: &Path) -> Result<Self, Error> {
        let entries =
            std::fs::read_dir(dir).map_err(|err| Error::io(format!("cannot list {}", dir.display()), err))?;
        let mut files = Vec::new();
        for entry in entries {
            let path: PathBuf =
                entry.map_err(|err| Error::io(format!("cannot list {}", dir.display()), err))?.path();
            let name = path.file_name().map(|name| name.to_string_lossy().into_owned());
            if let Some(name) = name.filter(|name| name.ends_with(".tf") || name.ends_with(".tf.json")) {
                let text = std::fs::read_to_string(&path)
                    .map_err(|err| Error::io(format!("cannot read {}", path.display()), err))?;
                files.push((name, text));
            }
        }
        files.sort();
        Ok(Self { files })
    }

    /// The files.
    pub fn file_list(&self) -> &[(String, String)] {
        &self.files
    }
}

impl From<&str> for Config {
    fn from(text: &str) -> Self {
        Self::hcl(text)
    }
}

impl From<String> for Config {
    fn from(text: String) -> Self {
        Self::hcl(text)
    }
}

impl From<&String> for Config {
    fn from(text: &String) -> Self {
        Self::hcl(text.as_str())
    }
}

/// One step of a [`crate::TestCase`].
#[derive(Debug)]
pub enum Step<'a> {
    /// Plan and apply a configuration, then check state and empty plans.
    Config(ConfigStep<'a>),
    /// Import into a fresh working directory and compare with the original.
    Import(ImportStep<'a>),
    /// Do something out of band (drift), with access to the working directory.
    Run(RunStep<'a>),
    /// Destroy everything, then prove it is gone.
    Destroy(DestroyStep<'a>),
    /// `terraform validate` a configuration in its own directory.
    Validate(ValidateStep),
}

impl<'a> Step<'a> {
    /// A configuration step (see [`ConfigStep`] for the options).
    pub fn config(config: impl Into<Config>) -> ConfigStep<'a> {
        ConfigStep {
            config: config.into(),
            expected_actions: Vec::new(),
            plan_checks: Vec::new(),
            state_checks: Vec::new(),
            expect_non_empty_plan: false,
            expect_error: None,
            expect_error_paths: Vec::new(),
            plan_only: false,
        }
    }

    /// An import step for the resource at `address` (see [`ImportStep`]).
    pub fn import(address: &str) -> ImportStep<'a> {
        ImportStep {
            address: address.to_owned(),
            id: ImportId::FromAttribute("id".to_owned()),
            config: None,
            ignore: Vec::new(),
            keep_other_resources: false,
            expect_error: None,
            checks: Vec::new(),
        }
    }

    /// An out-of-band action; an `Err` fails the step.
    pub fn run(action: impl Fn(&mut RunContext<'_>) -> CheckResult + 'a) -> RunStep<'a> {
        RunStep { action: Box::new(action) }
    }

    /// A destroy step (see [`DestroyStep`]).
    pub fn destroy() -> DestroyStep<'a> {
        DestroyStep { check: None }
    }

    /// A validate step (see [`ValidateStep`]).
    pub fn validate(config: impl Into<Config>) -> ValidateStep {
        ValidateStep { config: config.into(), expect_error: None, expect_error_paths: Vec::new() }
    }

    /// The step kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(step) if step.plan_only => "config (plan only)",
            Self::Config(_) => "config",
            Self::Import(_) => "import",
            Self::Run(_) => "run",
            Self::Destroy(_) => "destroy",
            Self::Validate(_) => "validate",
        }
    }
}

/// Plan, check the plan, apply the saved plan, check the state, then require empty plans with and
/// without refresh. With `expect_error`, plan or apply must fail with a matching message instead.
pub struct ConfigStep<'a> {
    pub(crate) config: Config,
    pub(crate) expected_actions: Vec<(String, Vec<String>)>,
    pub(crate) plan_checks: Vec<PlanCheck<'a>>,
    pub(crate) state_checks: Vec<StateCheck<'a>>,
    pub(crate) expect_non_empty_plan: bool,
    pub(crate) expect_error: Option<Regex>,
    pub(crate) expect_error_paths: Vec<String>,
    pub(crate) plan_only: bool,
}

impl<'a> ConfigStep<'a> {
    /// The plan must give `address` exactly these actions, e.g. `&["create"]`, `&["update"]`,
    /// `&["delete", "create"]` or `&["no-op"]`.
    pub fn expect_actions(mut self, address: &str, actions: &[&str]) -> Self {
        self.expected_actions
            .push((address.to_owned(), actions.iter().map(|action| (*action).to_owned()).collect()));
        self
    }

    /// A check of the plan, before it is applied (see [`crate::checks`] for ready-made ones).
    pub fn plan_check(mut self, check: impl Fn(&Plan) -> CheckResult + 'a) -> Self {
        self.plan_checks.push(Box::new(check));
        self
    }

    /// A check of the state after apply (see [`crate::checks`] for ready-made ones).
    pub fn check(mut self, check: impl Fn(&State) -> CheckResult + 'a) -> Self {
        self.state_checks.push(Box::new(check));
        self
    }

    /// The plan after apply (with refresh) must *not* be empty; the one without refresh may be
    /// either. In a plan-only step: the plan must not be empty.
    pub fn expect_non_empty_plan(mut self) -> Self {
        self.expect_non_empty_plan = true;
        self
    }

    /// Plan or apply must fail with output matching `pattern` (a regex, also tried against the
    /// output with line wrapping and box drawing removed).
    ///
    /// # Panics
    /// If `pattern` is not a valid regex.
    pub fn expect_error(mut self, pattern: &str) -> Self {
        self.expect_error = Some(compile(pattern));
        self
    }

    /// The expected error must point at this attribute: its configuration snippet shows the
    /// attribute the path ends with (`network.pod_cidr` → a `pod_cidr = ...` line).
    pub fn expect_error_path(mut self, path: &str) -> Self {
        self.expect_error_paths.push(path.to_owned());
        self
    }

    /// Only plan: check the plan, and require it empty unless `expect_non_empty_plan`.
    pub fn plan_only(mut self) -> Self {
        self.plan_only = true;
        self
    }
}

impl fmt::Debug for ConfigStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigStep")
            .field("config", &self.config)
            .field("expected_actions", &self.expected_actions)
            .field("plan_checks", &self.plan_checks.len())
            .field("state_checks", &self.state_checks.len())
            .field("expect_non_empty_plan", &self.expect_non_empty_plan)
            .field("expect_error", &self.expect_error)
            .field("expect_error_paths", &self.expect_error_paths)
            .field("plan_only", &self.plan_only)
            .finish()
    }
}

/// Where an import step gets the ID to import.
pub(crate) enum ImportId<'a> {
    /// This attribute of the original resource (`id` by default).
    FromAttribute(String),
    /// This literal.
    Literal(String),
    /// Computed from the state of the earlier steps.
    Computed(IdFn<'a>),
}

/// `terraform import ADDRESS ID` in a fresh working directory with the same configuration and
/// providers, then a comparison of the imported resource with the original one, and an empty plan.
pub struct ImportStep<'a> {
    pub(crate) address: String,
    pub(crate) id: ImportId<'a>,
    pub(crate) config: Option<Config>,
    pub(crate) ignore: Vec<String>,
    pub(crate) keep_other_resources: bool,
    pub(crate) expect_error: Option<Regex>,
    pub(crate) checks: Vec<StateCheck<'a>>,
}

impl<'a> ImportStep<'a> {
    /// Import this ID (default: the original resource's `id` attribute).
    pub fn id(mut self, id: &str) -> Self {
        self.id = ImportId::Literal(id.to_owned());
        self
    }

    /// Import the value of this attribute of the original resource.
    pub fn id_from_attribute(mut self, path: &str) -> Self {
        self.id = ImportId::FromAttribute(path.to_owned());
        self
    }

    /// Compute the ID from the state of the earlier steps.
    pub fn id_with(mut self, id: impl Fn(&State) -> Result<String, CheckError> + 'a) -> Self {
        self.id = ImportId::Computed(Box::new(id));
        self
    }

    /// Use this configuration instead of the last configuration step's.
    pub fn config(mut self, config: impl Into<Config>) -> Self {
        self.config = Some(config.into());
        self
    }

    /// Leave attributes under these path prefixes out of the comparison.
    pub fn ignore(mut self, prefixes: &[&str]) -> Self {
        self.ignore.extend(prefixes.iter().map(|prefix| (*prefix).to_owned()));
        self
    }

    /// Start from the original state minus the imported resource, so that a configuration with
    /// other resources (the cluster an add-on belongs to) still plans empty after the import.
    pub fn keep_other_resources(mut self) -> Self {
        self.keep_other_resources = true;
        self
    }

    /// The import must fail with output matching `pattern`; nothing is compared then.
    ///
    /// # Panics
    /// If `pattern` is not a valid regex.
    pub fn expect_error(mut self, pattern: &str) -> Self {
        self.expect_error = Some(compile(pattern));
        self
    }

    /// A check of the import directory's state after the import.
    pub fn check(mut self, check: impl Fn(&State) -> CheckResult + 'a) -> Self {
        self.checks.push(Box::new(check));
        self
    }
}

impl fmt::Debug for ImportStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = match &self.id {
            ImportId::FromAttribute(path) => format!("from attribute {path}"),
            ImportId::Literal(id) => format!("{id:?}"),
            ImportId::Computed(_) => "computed".to_owned(),
        };
        f.debug_struct("ImportStep")
            .field("address", &self.address)
            .field("id", &id)
            .field("config", &self.config)
            .field("ignore", &self.ignore)
            .field("keep_other_resources", &self.keep_other_resources)
            .field("expect_error", &self.expect_error)
            .field("checks", &self.checks.len())
            .finish()
    }
}

/// An out-of-band action between steps, e.g. changing the remote object to cause drift.
pub struct RunStep<'a> {
    pub(crate) action: RunFn<'a>,
}

impl fmt::Debug for RunStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RunStep")
    }
}

/// `terraform destroy`, then the state must hold no managed resource, then the optional check
/// (given the state *before* the destroy) proves the remote objects are gone.
pub struct DestroyStep<'a> {
    pub(crate) check: Option<StateCheck<'a>>,
}

impl<'a> DestroyStep<'a> {
    /// Proves the remote objects of `state_before_destroy` are gone.
    pub fn check(mut self, check: impl Fn(&State) -> CheckResult + 'a) -> Self {
        self.check = Some(Box::new(check));
        self
    }
}

impl fmt::Debug for DestroyStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DestroyStep").field("check", &self.check.is_some()).finish()
    }
}

/// `terraform validate` of a configuration, in a directory of its own; it must succeed, or fail
/// with a matching error.
#[derive(Debug)]
pub struct ValidateStep {
    pub(crate) config: Config,
    pub(crate) expect_error: Option<Regex>,
    pub(crate) expect_error_paths: Vec<String>,
}

impl ValidateStep {
    /// Validation must fail with output matching `pattern`.
    ///
    /// # Panics
    /// If `pattern` is not a valid regex.
    pub fn expect_error(mut self, pattern: &str) -> Self {
        self.expect_error = Some(compile(pattern));
        self
    }

    /// The expected error must point at this attribute (see [`ConfigStep::expect_error_path`]).
    pub fn expect_error_path(mut self, path: &str) -> Self {
        self.expect_error_paths.push(path.to_owned());
        self
    }
}

macro_rules! into_step {
    ($builder:ident, $variant:ident) => {
        impl<'a> From<$builder<'a>> for Step<'a> {
            fn from(step: $builder<'a>) -> Self {
                Self::$variant(step)
            }
        }
    };
}
into_step!(ConfigStep, Config);
into_step!(ImportStep, Import);
into_step!(RunStep, Run);
into_step!(DestroyStep, Destroy);

impl From<ValidateStep> for Step<'_> {
    fn from(step: ValidateStep) -> Self {
        Self::Validate(step)
    }
}

/// What a [`Step::run`] action can reach: the main working directory and its terraform.
#[derive(Debug)]
pub struct RunContext<'w> {
    pub(crate) workdir: &'w mut WorkDir,
    pub(crate) step: usize,
}

impl RunContext<'_> {
    /// The working directory (holding `terraform.tfstate`).
    pub fn dir(&self) -> &Path {
        self.workdir.path()
    }

    /// The terraform this run uses (to adapt to its version).
    pub fn terraform(&self) -> &Terraform {
        self.workdir.terraform()
    }

    /// The 1-based index of this step.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The current state, from `terraform show -json`.
    pub fn state(&mut self) -> Result<State, Error> {
        self.workdir.show_state()
    }

    /// Runs any terraform command in the working directory (scanned for forbidden output like all
    /// others); a non-zero exit is returned, not an error.
    pub fn terraform_command(&mut self, args: &[&str]) -> Result<CommandOutput, Error> {
        self.workdir.run(args)
    }

    /// The working directory itself, for anything else.
    pub fn workdir(&mut self) -> &mut WorkDir {
        self.workdir
    }
}
