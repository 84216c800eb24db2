//! `kubectl` against a cluster of the state, as an operator would run it: the kubeconfig is the
//! cluster resource's `kubeconfig` attribute, written to the run's directory before each call.

use std::io::Write;
use std::process::{Command, Stdio};

use acceptance::{CheckError, CheckResult, RunContext, State};

/// The `kubeconfig` attribute of the cluster resource at `cluster` in `state`.
pub(crate) fn kubeconfig(state: &State, cluster: &str) -> Result<String, CheckError> {
    state
        .resource(cluster)
        .and_then(|r| r.values.get("kubeconfig").and_then(|k| k.as_str().map(str::to_string)))
        .ok_or_else(|| format!("{cluster} has no kubeconfig in state").into())
}

/// What one kubectl run printed.
#[derive(Debug)]
pub(crate) struct Output {
    /// Whether kubectl exited with 0.
    pub(crate) success: bool,
    /// Its standard output.
    pub(crate) stdout: String,
    /// Its standard error.
    pub(crate) stderr: String,
}

impl Output {
    /// Standard output then standard error, for messages and for looking for `NotFound`.
    pub(crate) fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// kubectl for the cluster resource at one address (`cloudtemple_kubernetes_cluster.dev`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kubectl {
    cluster: &'static str,
}

impl Kubectl {
    /// kubectl with the kubeconfig of the cluster resource at `cluster`.
    pub(crate) const fn of(cluster: &'static str) -> Self {
        Self { cluster }
    }

    /// Runs `kubectl <args>` with a 20 s request timeout, `stdin` (if any) on its input.
    pub(crate) fn run(
        self,
        ctx: &mut RunContext<'_>,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<Output, CheckError> {
        let kubeconfig = kubeconfig(&ctx.state()?, self.cluster)?;
        let path = ctx.dir().join("kubeconfig.yaml");
        std::fs::write(&path, kubeconfig)?;
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&path)
            .arg("--request-timeout=20s")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(text) = stdin {
            child.stdin.take().ok_or("kubectl has no stdin")?.write_all(text.as_bytes())?;
        }
        drop(child.stdin.take());
        let out = child.wait_with_output()?;
        Ok(Output {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// The standard output of `kubectl <args>`, which must succeed.
    pub(crate) fn stdout(self, ctx: &mut RunContext<'_>, args: &[&str]) -> Result<String, CheckError> {
        let out = self.run(ctx, args, None)?;
        if out.success {
            Ok(out.stdout)
        } else {
            Err(format!("kubectl {}: {}", args.join(" "), out.combined()).into())
        }
    }

    /// `kubectl <args>` must succeed.
    pub(crate) fn succeeds(self, ctx: &mut RunContext<'_>, args: &[&str]) -> CheckResult {
        self.stdout(ctx, args).map(drop)
    }

    /// `kubectl <args>` with `manifest` on its input (`apply ... -f -`) must succeed.
    pub(crate) fn apply(self, ctx: &mut RunContext<'_>, args: &[&str], manifest: &str) -> CheckResult {
        let out = self.run(ctx, args, Some(manifest))?;
        if out.success {
            Ok(())
        } else {
            Err(format!("kubectl {}: {}", args.join(" "), out.combined()).into())
        }
    }

    /// `kubectl <args>` (a `get ... -o jsonpath=...`) must succeed and print `expected`.
    pub(crate) fn prints(self, ctx: &mut RunContext<'_>, args: &[&str], expected: &str) -> CheckResult {
        let run = self.run(ctx, args, None)?;
        let out = run.combined();
        if run.success && out.trim() == expected {
            Ok(())
        } else {
            Err(format!("kubectl {}: expected {expected:?}, got: {out}", args.join(" ")).into())
        }
    }

    /// `kubectl get <object>` finds the object when `present`, and says NotFound otherwise.
    pub(crate) fn finds(self, ctx: &mut RunContext<'_>, args: &[&str], present: bool) -> CheckResult {
        let out = self.run(ctx, args, None)?;
        let text = out.combined();
        match (out.success, present) {
            (true, true) => Ok(()),
            (false, false) if text.contains("NotFound") || text.contains("not found") => Ok(()),
            _ => Err(format!(
                "kubectl {}: expected {}: {text}",
                args.join(" "),
                if present { "found" } else { "NotFound" }
            )
            .into()),
        }
    }
}
