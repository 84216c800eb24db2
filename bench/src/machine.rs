//! Facts that make figures comparable: the machine, its load, the date, and the exact versions
//! of what was measured (Go versions are read from the peer binary's embedded build info).

use std::path::Path;
use std::process::Command;

/// The machine and the moment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub(crate) cpu: String,
    /// Logical CPUs available to this process.
    pub(crate) cpus: usize,
    /// `MemTotal`, GiB.
    pub(crate) memory_gib: f64,
    /// OS name and kernel release.
    pub(crate) os: String,
    /// `rustc --version`.
    pub(crate) rustc: String,
    /// The repository's commit, `+dirty` when the tree has changes.
    pub(crate) commit: String,
    /// UTC date and time the run started.
    pub(crate) date: String,
    /// 1-minute load average when the run started.
    pub(crate) load_start: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn first_line_of(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_string)
}

/// The 1-minute load average now.
pub(crate) fn load_average() -> String {
    read("/proc/loadavg").split_whitespace().next().unwrap_or("?").to_string()
}

impl Machine {
    /// Reads the facts now.
    pub(crate) fn now(repo: &Path) -> Self {
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim()))
            .unwrap_or("unknown")
            .to_string();
        let memory_kib: f64 = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let os_name = read("/etc/os-release")
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string()))
            .unwrap_or_else(|| "Linux".to_string());
        let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
        let commit =
            first_line_of(Command::new("git").arg("-C").arg(repo).args(["rev-parse", "--short", "HEAD"]))
                .map_or_else(
                    || "unknown".to_string(),
                    |c| {
                        let dirty = Command::new("git")
                            .arg("-C")
                            .arg(repo)
                            .args(["status", "--porcelain", "--untracked-files=no"])
                            .output()
                            .is_ok_and(|o| !o.stdout.is_empty());
                        if dirty { format!("{c}+dirty") } else { c }
                    },
                );
        let date = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
            .unwrap_or_default();
        Self {
            cpu,
            cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            memory_gib: memory_kib / (1024.0 * 1024.0),
            os: format!("{os_name}, Linux {kernel}"),
            rustc: first_line_of(Command::new("rustc").arg("--version")).unwrap_or_else(|| "unknown".into()),
            commit,
            date,
            load_start: load_average(),
        }
    }
}

/// What a Go binary says about how it was built.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct GoBuildInfo {
    /// `go1.x.y`.
    pub(crate) go: String,
    /// `path version` of each dependency, in the binary's order.
    pub(crate) deps: Vec<(String, String)>,
}

impl GoBuildInfo {
    /// The version of dependency `path`, if the binary has it.
    pub(crate) fn dep(&self, path: &str) -> Option<&str> {
        self.deps.iter().find(|(p, _)| p == path).map(|(_, v)| v.as_str())
    }
}

fn uvarint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, b) in bytes.iter().take(9).enumerate() {
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Parses the build info Go 1.18+ embeds (the `\xff Go buildinf:` header followed, when its
/// flags say the strings are inline, by the varint-prefixed Go version and module list).
pub(crate) fn go_build_info(binary: &[u8]) -> Option<GoBuildInfo> {
    const MAGIC: &[u8] = b"\xff Go buildinf:";
    let start = binary.windows(MAGIC.len()).position(|w| w == MAGIC)?;
    let header = binary.get(start..start + 32)?;
    if header[15] & 0x2 == 0 {
        return None;
    }
    let mut rest = &binary[start + 32..];
    let mut next = || {
        let (len, used) = uvarint(rest)?;
        let s = rest.get(used..used + len)?;
        rest = &rest[used + len..];
        Some(String::from_utf8_lossy(s).into_owned())
    };
    let go = next()?;
    let modinfo = next().unwrap_or_default();
    let deps = modinfo
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            (f.next()? == "dep").then_some(())?;
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect();
    Some(GoBuildInfo { go, deps })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inline_go_build_info() {
        let mut binary = b"junk".to_vec();
        binary.extend_from_slice(b"\xff Go buildinf:");
        binary.extend_from_slice(&[8, 2]);
        binary.extend_from_slice(&[0; 16]);
        binary.push(9);
        binary.extend_from_slice(b"go1.26.10");
        let modinfo = "path\tx\nmod\tx\tv1\t\ndep\tgithub.com/hashicorp/go-plugin\tv1.7.0\th1:abc\n";
        binary.push(u8::try_from(modinfo.len()).unwrap_or_default());
        binary.extend_from_slice(modinfo.as_bytes());
        let info = go_build_info(&binary);
        assert_eq!(info.as_ref().map(|i| i.go.as_str()), Some("go1.26.10"));
        assert_eq!(info.as_ref().and_then(|i| i.dep("github.com/hashicorp/go-plugin")), Some("v1.7.0"));
        assert_eq!(go_build_info(b"no header here"), None);
    }

    #[test]
    fn varints_span_bytes() {
        assert_eq!(uvarint(&[0x05]), Some((5, 1)));
        assert_eq!(uvarint(&[0x96, 0x01]), Some((150, 2)));
        assert_eq!(uvarint(&[0x80]), None);
    }
}
