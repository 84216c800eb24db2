//! The provider wrapper of the plan benchmark. Terraform starts `terraform-provider-tfexample`
//! from a `dev_overrides` directory where that name links to this executable; with
//! [`TARGET_ENV`] set and no arguments, ct-bench runs the real provider as its child (same
//! stdin, stdout and stderr, so the handshake line goes straight to Terraform), waits for it,
//! and appends the child's CPU time and peak RSS to the file named by [`LOG_ENV`]. Terraform
//! reaps the wrapper, so the wrapper's own (small) cost counts as Terraform's, never the
//! provider's.

use crate::rusage::ChildCpu;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// The provider executable the wrapper runs.
pub(crate) const TARGET_ENV: &str = "CT_BENCH_WRAP_TARGET";
/// The file the wrapper appends one record per provider process to.
pub(crate) const LOG_ENV: &str = "CT_BENCH_WRAP_LOG";

/// One provider process, as seen by its wrapper.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Record {
    /// User plus system CPU time, seconds.
    pub(crate) cpu: f64,
    /// Peak resident set, KiB.
    pub(crate) max_rss_kib: i64,
    /// Lifetime, seconds.
    pub(crate) wall: f64,
}

impl Record {
    fn line(&self) -> String {
        format!("{:.6} {} {:.6}\n", self.cpu, self.max_rss_kib, self.wall)
    }

    fn parse(line: &str) -> Option<Self> {
        let mut f = line.split_whitespace();
        Some(Self {
            cpu: f.next()?.parse().ok()?,
            max_rss_kib: f.next()?.parse().ok()?,
            wall: f.next()?.parse().ok()?,
        })
    }
}

/// The records of a log file (none when it does not exist: the provider never started).
pub(crate) fn read_records(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .map(|text| text.lines().filter_map(Record::parse).collect())
        .unwrap_or_default()
}

/// Runs as the wrapper when this process was started as one; `None` otherwise.
pub(crate) fn run_if_wrapper() -> Option<ExitCode> {
    let target = std::env::var_os(TARGET_ENV)?;
    if std::env::args_os().len() > 1 {
        return None;
    }
    let log = std::env::var_os(LOG_ENV)?;
    let start = Instant::now();
    // stdout belongs to the handshake: errors go to stderr, where Terraform logs plugin output.
    let status = match Command::new(&target).status() {
        Ok(status) => status,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr(),
                "ct-bench wrapper: cannot run {}: {err}",
                target.to_string_lossy()
            );
            return Some(ExitCode::FAILURE);
        }
    };
    let wall = start.elapsed().as_secs_f64();
    let usage = ChildCpu::now().unwrap_or_default();
    let record = Record { cpu: usage.cpu_since(ChildCpu::default()), max_rss_kib: usage.max_rss_kib, wall };
    // One short O_APPEND write per process keeps concurrent wrappers' lines whole.
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(record.line().as_bytes()));
    if let Err(err) = written {
        let _ = writeln!(
            std::io::stderr(),
            "ct-bench wrapper: cannot append to {}: {err}",
            log.to_string_lossy()
        );
    }
    Some(status.code().and_then(|c| u8::try_from(c).ok()).map_or(ExitCode::FAILURE, ExitCode::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_their_line() {
        let record = Record { cpu: 0.012_345, max_rss_kib: 20_480, wall: 1.5 };
        assert_eq!(Record::parse(&record.line()), Some(record));
        assert_eq!(Record::parse("garbage"), None);
    }

    #[test]
    fn a_missing_log_has_no_records() {
        assert!(read_records(Path::new("/nonexistent/ct-bench.log")).is_empty());
    }
}
