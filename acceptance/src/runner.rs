//! Executing the steps of one test case against one terraform binary.
//!
//! The runner owns the main working directory (where configuration steps plan and apply), creates
//! a fresh directory for each import and validate step, and remembers the last configuration that
//! planned successfully: the final destroy needs a configuration terraform accepts, and the last one
//! written may be an intentionally broken one from an `expect_error` step.

use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;

use crate::checks::{CheckError, compare_imported, output_matches, output_mentions_attribute};
use crate::command::CommandOutput;
use crate::error::Error;
use crate::plan::Plan;
use crate::state::State;
use crate::step::{
    Config, ConfigStep, DestroyStep, ImportId, ImportStep, RunContext, RunStep, StateCheck, Step,
    ValidateStep,
};
use crate::terraform::Terraform;
use crate::workdir::{CommandRecord, PLAN_FILE, TerraformEnv, WorkDir};

/// Why a step (or the final destroy) failed: a message, and the command output that explains it.
#[derive(Debug)]
pub(crate) struct StepError {
    pub(crate) message: String,
    pub(crate) command: Option<String>,
    pub(crate) output: Option<String>,
}

impl StepError {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), command: None, output: None }
    }

    fn with_output(mut self, output: &CommandOutput) -> Self {
        self.command = Some(output.command.clone());
        self.output = Some(output.combined.clone());
        self
    }

    /// An error of the harness machinery. Errors that carry a command's output already say it
    /// all; for the others the last command of `workdir` gives the context.
    fn from_error(err: &Error, workdir: &WorkDir) -> Self {
        match err {
            Error::ForbiddenOutput { command, .. }
            | Error::CommandFailed { command, .. }
            | Error::Timeout { command, .. } => {
                Self { command: Some(command.clone()), message: err.to_string(), output: None }
            }
            _ => {
                let step = Self::new(err.to_string());
                match workdir.last_output() {
                    Some(output) => step.with_output(output),
                    None => step,
                }
            }
        }
    }

    /// An error before any step ran: no command output to show.
    pub(crate) fn from_setup(err: &Error) -> Self {
        Self::new(err.to_string())
    }

    /// The message followed by the command and its output, for the cleanup note of a failure.
    pub(crate) fn render(&self) -> String {
        let mut text = self.message.clone();
        if let Some(command) = &self.command {
            text.push_str("\ncommand: ");
            text.push_str(command);
        }
        if let Some(output) = &self.output {
            text.push_str("\noutput:");
            for line in output.lines() {
                text.push_str("\n  | ");
                text.push_str(line);
            }
        }
        text
    }

    fn unexpected_exit(what: &str, output: &CommandOutput) -> Self {
        Self::new(format!("{what} exited with {}", output.status_text())).with_output(output)
    }
}

/// Runs the steps of one case in the directories under `root`.
pub(crate) struct Runner {
    terraform: Terraform,
    env: TerraformEnv,
    root: PathBuf,
    main: WorkDir,
    written: Option<Config>,
    last_config: Option<Config>,
    good_config: Option<Config>,
    other_history: Vec<CommandRecord>,
    timeout: Option<Duration>,
}

impl Runner {
    pub(crate) fn new(terraform: Terraform, env: TerraformEnv, root: PathBuf) -> Result<Self, Error> {
        let main = WorkDir::new(root.join("work"), terraform.clone(), env.clone())?;
        Ok(Self {
            terraform,
            env,
            root,
            main,
            written: None,
            last_config: None,
            good_config: None,
            other_history: Vec::new(),
            timeout: None,
        })
    }

    /// Overrides the per-command timeout of every working directory.
    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.main.set_timeout(timeout);
        self.timeout = Some(timeout);
    }

    /// A fresh working directory under the root, for an import or validate step.
    fn side_dir(&self, name: String) -> Result<WorkDir, StepError> {
        let mut wd = WorkDir::new(self.root.join(name), self.terraform.clone(), self.env.clone())
            .map_err(|err| StepError::from_error(&err, &self.main))?;
        if let Some(timeout) = self.timeout {
            wd.set_timeout(timeout);
        }
        Ok(wd)
    }

    /// Where terraform writes its log (`TF_ACC_LOG`), if it does.
    pub(crate) fn log_file(&self) -> Option<PathBuf> {
        self.env.get("TF_LOG_PATH").map(PathBuf::from)
    }

    /// Every command run so far, in all directories.
    pub(crate) fn history(&self) -> Vec<CommandRecord> {
        let mut all = self.main.history().to_vec();
        all.extend(self.other_history.iter().cloned());
        all
    }

    pub(crate) fn run_step(&mut self, index: usize, step: &Step<'_>) -> Result<(), StepError> {
        match step {
            Step::Config(step) => self.config_step(step),
            Step::Import(step) => self.import_step(index, step),
            Step::Run(step) => self.run_closure(index, step),
            Step::Destroy(step) => self.destroy_step(step),
            Step::Validate(step) => self.validate_step(index, step),
        }
    }

    fn write_main(&mut self, config: &Config) -> Result<(), StepError> {
        if self.written.as_ref() != Some(config) {
            self.main
                .write_config(config.file_list())
                .map_err(|err| StepError::from_error(&err, &self.main))?;
            self.written = Some(config.clone());
        }
        Ok(())
    }

    fn config_step(&mut self, step: &ConfigStep<'_>) -> Result<(), StepError> {
        self.write_main(&step.config)?;
        self.last_config = Some(step.config.clone());
        let plan_out = self.main_cmd(WorkDir::plan_to_file)?;
        if !matches!(plan_out.code, Some(0 | 2)) {
            return match &step.expect_error {
                Some(pattern) => expected_error(pattern, &step.expect_error_paths, &plan_out),
                None => Err(StepError::unexpected_exit("plan", &plan_out)),
            };
        }
        self.good_config = Some(step.config.clone());
        let plan = self.main_cmd(WorkDir::show_plan)?;
        check_actions(&plan, &step.expected_actions)
            .map_err(|msg| StepError::new(msg).with_output(&plan_out))?;
        for check in &step.plan_checks {
            check(&plan)
                .map_err(|err| StepError::new(format!("plan check failed: {err}")).with_output(&plan_out))?;
        }

        if step.plan_only {
            if let Some(pattern) = &step.expect_error {
                return Err(StepError::new(format!(
                    "expected an error matching /{pattern}/, but the plan succeeded"
                ))
                .with_output(&plan_out));
            }
            return check_emptiness("plan", &plan_out, step.expect_non_empty_plan, Some(&plan));
        }

        let apply_out = self.main_cmd(WorkDir::apply_plan_file)?;
        // A stale plan file would be applied by mistake if a later step failed to write a new one.
        let _ = std::fs::remove_file(self.main.path().join(PLAN_FILE));
        if !apply_out.success() {
            return match &step.expect_error {
                Some(pattern) => expected_error(pattern, &step.expect_error_paths, &apply_out),
                None => Err(StepError::unexpected_exit("apply", &apply_out)),
            };
        }
        if let Some(pattern) = &step.expect_error {
            return Err(StepError::new(format!(
                "expected an error matching /{pattern}/, but plan and apply succeeded"
            ))
            .with_output(&apply_out));
        }

        let state = self.main_cmd(WorkDir::show_state)?;
        run_state_checks(&step.state_checks, &state, "state check")
            .map_err(|err| err.with_output(&apply_out))?;

        // Without refresh: does the state that apply stored plan clean against the configuration?
        let quick = self.main_cmd(|wd| wd.plan(&["-refresh=false"]))?;
        if !step.expect_non_empty_plan {
            check_emptiness("plan -refresh=false after apply", &quick, false, None)?;
        } else if !matches!(quick.code, Some(0 | 2)) {
            return Err(StepError::unexpected_exit("plan -refresh=false", &quick));
        }
        // With refresh: does Read return what apply stored?
        let full = self.main_cmd(|wd| wd.plan(&[]))?;
        check_emptiness("plan after apply", &full, step.expect_non_empty_plan, None)
    }

    fn import_step(&mut self, index: usize, step: &ImportStep<'_>) -> Result<(), StepError> {
        let config = step.config.clone().or_else(|| self.last_config.clone()).ok_or_else(|| {
            StepError::new(
                "an import step needs a configuration: give it .config(...) or put a \
                     config step before it",
            )
        })?;
        let original_state = self.main_cmd(WorkDir::show_state)?;
        let original = original_state.resource(&step.address);
        let id = import_id(step, original, &original_state).map_err(StepError::new)?;

        let mut import_dir = self.side_dir(format!("import-{index}"))?;
        let result = self.import_into(&mut import_dir, step, &config, original, &id);
        self.other_history.extend_from_slice(import_dir.history());
        result
    }

    fn import_into(
        &self,
        wd: &mut WorkDir,
        step: &ImportStep<'_>,
        config: &Config,
        original: Option<&crate::state::Resource>,
        id: &str,
    ) -> Result<(), StepError> {
        let fail = |err: Error, wd: &WorkDir| StepError::from_error(&err, wd);
        wd.write_config(config.file_list()).map_err(|err| fail(err, wd))?;
        if step.keep_other_resources {
            let from = self.main.path().join("terraform.tfstate");
            let to = wd.path().join("terraform.tfstate");
            std::fs::copy(&from, &to)
                .map_err(|err| StepError::new(format!("cannot copy {}: {err}", from.display())))?;
            wd.run_ok(&["state", "rm", &step.address]).map_err(|err| fail(err, wd))?;
        }
        let out = wd.import(&step.address, id).map_err(|err| fail(err, wd))?;
        if let Some(pattern) = &step.expect_error {
            if out.success() {
                return Err(StepError::new(format!(
                    "expected the import of {} {id:?} to fail with /{pattern}/, but it succeeded",
                    step.address
                ))
                .with_output(&out));
            }
            return expected_error(pattern, &[], &out);
        }
        if !out.success() {
            return Err(StepError::unexpected_exit("import", &out));
        }
        let imported_state = wd.show_state().map_err(|err| fail(err, wd))?;
        let imported = imported_state.resource(&step.address).ok_or_else(|| {
            StepError::new(format!(
                "terraform import {} {id:?} succeeded but the state has only {:?}",
                step.address,
                imported_state.addresses()
            ))
            .with_output(&out)
        })?;
        if let Some(original) = original {
            compare_imported(original, imported, &step.ignore)
                .map_err(|err| StepError::new(err.to_string()).with_output(&out))?;
        }
        run_state_checks(&step.checks, &imported_state, "import check")?;
        let plan = wd.plan(&[]).map_err(|err| fail(err, wd))?;
        check_emptiness("plan after import", &plan, false, None)
    }

    fn run_closure(&mut self, index: usize, step: &RunStep<'_>) -> Result<(), StepError> {
        let mut context = RunContext { workdir: &mut self.main, step: index };
        (step.action)(&mut context).map_err(|err| {
            let failure = StepError::new(format!("run step failed: {err}"));
            match self.main.last_output() {
                Some(output) => failure.with_output(output),
                None => failure,
            }
        })
    }

    fn destroy_step(&mut self, step: &DestroyStep<'_>) -> Result<(), StepError> {
        let before = self.destroy_all()?;
        if let Some(check) = &step.check {
            check(&before).map_err(|err| StepError::new(format!("destroy check failed: {err}")))?;
        }
        Ok(())
    }

    fn validate_step(&mut self, index: usize, step: &ValidateStep) -> Result<(), StepError> {
        let mut wd = self.side_dir(format!("validate-{index}"))?;
        let result = validate_in(&mut wd, step);
        self.other_history.extend_from_slice(wd.history());
        result
    }

    /// Destroys everything in the main directory and proves the state is empty; returns the state
    /// before the destroy. Does nothing when no configuration ever planned (nothing was applied).
    pub(crate) fn destroy_all(&mut self) -> Result<State, StepError> {
        let Some(good) = self.good_config.clone() else {
            return Ok(State::default());
        };
        self.write_main(&good)?;
        // Destroy even when the state cannot be shown: removing remote objects matters more.
        let before = self.main_cmd(WorkDir::show_state);
        let out = self.main_cmd(WorkDir::destroy)?;
        if !out.success() {
            return Err(StepError::unexpected_exit("destroy", &out));
        }
        let before = before?;
        let after = self.main_cmd(WorkDir::show_state)?;
        if !after.has_no_managed_resources() {
            return Err(StepError::new(format!(
                "resources left in the state after destroy: {:?}",
                after
                    .managed_resources()
                    .iter()
                    .map(|resource| resource.address.as_str())
                    .collect::<Vec<_>>()
            ))
            .with_output(&out));
        }
        Ok(before)
    }

    /// The final, unconditional destroy, then the case's destroy check on the state before it.
    pub(crate) fn finish(&mut self, check_destroy: Option<&StateCheck<'_>>) -> Result<(), StepError> {
        let before = self.destroy_all()?;
        if let Some(check) = check_destroy {
            check(&before).map_err(|err| StepError::new(format!("destroy check failed: {err}")))?;
        }
        Ok(())
    }

    fn main_cmd<T>(
        &mut self,
        command: impl FnOnce(&mut WorkDir) -> Result<T, Error>,
    ) -> Result<T, StepError> {
        command(&mut self.main).map_err(|err| StepError::from_error(&err, &self.main))
    }
}

fn validate_in(wd: &mut WorkDir, step: &ValidateStep) -> Result<(), StepError> {
    wd.write_config(step.config.file_list()).map_err(|err| StepError::from_error(&err, wd))?;
    let out = wd.validate().map_err(|err| StepError::from_error(&err, wd))?;
    match (&step.expect_error, out.success()) {
        (None, true) => Ok(()),
        (None, false) => Err(StepError::unexpected_exit("validate", &out)),
        (Some(pattern), false) => expected_error(pattern, &step.expect_error_paths, &out),
        (Some(pattern), true) => {
            Err(StepError::new(format!("expected validate to fail with /{pattern}/, but it succeeded"))
                .with_output(&out))
        }
    }
}

fn import_id(
    step: &ImportStep<'_>,
    original: Option<&crate::state::Resource>,
    state: &State,
) -> Result<String, String> {
    match &step.id {
        ImportId::Literal(id) => Ok(id.clone()),
        ImportId::Computed(compute) => {
            compute(state).map_err(|err: CheckError| format!("cannot compute the import ID: {err}"))
        }
        ImportId::FromAttribute(path) => {
            let resource = original.ok_or_else(|| {
                format!(
                    "{} is not in the state of the earlier steps ({:?}); give the import step an .id(...)",
                    step.address,
                    state.addresses()
                )
            })?;
            match resource.attr(path).map_err(|err| err.to_string())? {
                Some(Value::String(id)) => Ok(id.clone()),
                Some(value @ (Value::Number(_) | Value::Bool(_))) => Ok(value.to_string()),
                other => Err(format!("{}.{path} cannot serve as an import ID: {other:?}", step.address)),
            }
        }
    }
}

fn run_state_checks(checks: &[StateCheck<'_>], state: &State, what: &str) -> Result<(), StepError> {
    for (position, check) in checks.iter().enumerate() {
        check(state).map_err(|err| StepError::new(format!("{what} #{} failed: {err}", position + 1)))?;
    }
    Ok(())
}

fn check_actions(plan: &Plan, expected: &[(String, Vec<String>)]) -> Result<(), String> {
    for (address, actions) in expected {
        let Some(change) = plan.change(address) else {
            return Err(format!(
                "expected actions {actions:?} for {address}, but it is not in the plan \
                 (planned changes: {:?})",
                plan.summary()
            ));
        };
        let got = change.change.action_names();
        if got != *actions {
            return Err(format!(
                "expected actions {actions:?} for {address}, got {got:?}{}",
                change.action_reason.as_ref().map(|reason| format!(" ({reason})")).unwrap_or_default()
            ));
        }
    }
    Ok(())
}

/// Judges a `-detailed-exitcode` plan: 0 = empty, 2 = changes, anything else = failure.
fn check_emptiness(
    what: &str,
    output: &CommandOutput,
    expect_non_empty: bool,
    plan: Option<&Plan>,
) -> Result<(), StepError> {
    let changes = plan.map(Plan::summary).unwrap_or_default();
    match (output.code, expect_non_empty) {
        (Some(0), false) | (Some(2), true) => Ok(()),
        (Some(2), false) => Err(StepError::new(if changes.is_empty() {
            format!("{what}: expected an empty plan, but terraform reports changes")
        } else {
            format!("{what}: expected an empty plan, but it changes {changes:?}")
        })
        .with_output(output)),
        (Some(0), true) => {
            Err(StepError::new(format!("{what}: expected a non-empty plan, but it is empty"))
                .with_output(output))
        }
        _ => Err(StepError::unexpected_exit(what, output)),
    }
}

fn expected_error(pattern: &Regex, paths: &[String], output: &CommandOutput) -> Result<(), StepError> {
    if !output_matches(pattern, &output.combined) {
        return Err(StepError::new(format!(
            "`{}` failed as expected, but its output does not match /{pattern}/",
            output.command
        ))
        .with_output(output));
    }
    for path in paths {
        match output_mentions_attribute(&output.combined, path) {
            Ok(true) => {}
            Ok(false) => {
                return Err(StepError::new(format!(
                    "the error matches /{pattern}/ but does not point at attribute {path} \
                     (no configuration snippet shows it)"
                ))
                .with_output(output));
            }
            Err(err) => return Err(StepError::new(err.to_string())),
        }
    }
    Ok(())
}
