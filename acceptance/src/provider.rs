//! The providers under test and the terraform CLI configuration that points terraform at them.
//!
//! Terraform finds a provider under development through `dev_overrides` in its CLI configuration:
//! the source address maps to a directory holding `terraform-provider-<type>`, and `terraform init`
//! must then be skipped. That is how every test case runs the freshly built binary, without lock
//! file hashes that would break on each rebuild (protocol reference, §4).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Environment variable naming the directory that holds the provider binaries (overrides `target/`).
pub const PROVIDER_DIR_ENV: &str = "TF_ACC_PROVIDER_DIR";

/// The registry host that a two-part source address (`namespace/type`) implies.
const DEFAULT_HOST: &str = "registry.terraform.io";

/// A provider binary that terraform must load instead of downloading one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderUnderTest {
    /// Full source address, `registry.terraform.io/<namespace>/<type>`.
    pub source: String,
    /// The directory containing `terraform-provider-<type>`.
    pub bin_dir: PathBuf,
}

impl ProviderUnderTest {
    /// A provider whose binary is in `bin_dir`; fails if `terraform-provider-<type>` is not there.
    ///
    /// `source` may be `host/namespace/type` or `namespace/type` (host `registry.terraform.io`).
    pub fn new(source: &str, bin_dir: impl Into<PathBuf>) -> Result<Self, Error> {
        Self::locate_in(source, &[bin_dir.into()])
    }

    /// Finds the binary where the task runner's `cargo build --bins --examples` puts it.
    ///
    /// With `TF_ACC_PROVIDER_DIR` set, only that directory is searched. Otherwise the search covers
    /// the profile directory of the running test binary and `<workspace>/target/debug`, each with
    /// its `examples/` subdirectory.
    pub fn locate(source: &str) -> Result<Self, Error> {
        Self::locate_in(source, &default_search_dirs())
    }

    /// Finds the binary in the first of `dirs` that has it.
    pub fn locate_in(source: &str, dirs: &[PathBuf]) -> Result<Self, Error> {
        let source = normalize_source(source)?;
        let name = binary_name(&source);
        dirs.iter()
            .find(|dir| dir.join(&name).is_file())
            .map(|dir| Self { source: source.clone(), bin_dir: dir.clone() })
            .ok_or_else(|| Error::ProviderBinaryMissing {
                name,
                searched: dirs.iter().map(|dir| dir.display().to_string()).collect::<Vec<_>>().join(", "),
            })
    }

    /// The provider type, the last part of the source address (`cloudtemple`).
    pub fn type_name(&self) -> &str {
        self.source.rsplit('/').next().unwrap_or(&self.source)
    }

    /// The executable's path.
    pub fn binary_path(&self) -> PathBuf {
        self.bin_dir.join(binary_name(&self.source))
    }
}

fn binary_name(source: &str) -> String {
    let type_name = source.rsplit('/').next().unwrap_or(source);
    format!("terraform-provider-{type_name}")
}

/// Checks a source address and expands `namespace/type` to the full form.
pub fn normalize_source(source: &str) -> Result<String, Error> {
    let invalid =
        |reason: &str| Error::InvalidProviderSource { address: source.to_owned(), reason: reason.to_owned() };
    let parts: Vec<&str> = source.split('/').collect();
    let (host, namespace, type_name) = match parts.as_slice() {
        [namespace, type_name] => (DEFAULT_HOST, *namespace, *type_name),
        [host, namespace, type_name] => (*host, *namespace, *type_name),
        _ => return Err(invalid("expected [<host>/]<namespace>/<type>")),
    };
    let is_name = |part: &str| {
        !part.is_empty()
            && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\') {
        return Err(invalid("the host is empty or has a space, quote or backslash"));
    }
    if !is_name(namespace) || !is_name(type_name) {
        return Err(invalid("the namespace and type must be lowercase letters, digits, '-' or '_'"));
    }
    Ok(format!("{host}/{namespace}/{type_name}"))
}

/// The directories [`ProviderUnderTest::locate`] searches.
pub fn default_search_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os(PROVIDER_DIR_ENV).filter(|dir| !dir.is_empty()) {
        return vec![PathBuf::from(dir)];
    }
    let mut profiles = Vec::new();
    // A test binary lives in <target>/<profile>/deps/; its profile directory is where cargo put the
    // provider binaries built by the same build, whatever CARGO_TARGET_DIR was.
    if let Some(profile) =
        std::env::current_exe().ok().and_then(|exe| exe.parent()?.parent().map(Path::to_owned))
    {
        profiles.push(profile);
    }
    profiles.push(crate::terraform::workspace_root().join("target").join("debug"));
    let mut dirs: Vec<PathBuf> = Vec::new();
    for profile in profiles {
        for dir in [profile.clone(), profile.join("examples")] {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// The text of a terraform CLI configuration with a `dev_overrides` entry per provider.
///
/// `direct {}` follows so that any provider *not* under test would still install normally; the
/// harness never runs `terraform init`, so it is never used for the overridden ones.
pub fn cli_config(providers: &[ProviderUnderTest]) -> Result<String, Error> {
    let mut text = String::from("provider_installation {\n  dev_overrides {\n");
    for provider in providers {
        let dir = provider.bin_dir.to_str().ok_or_else(|| Error::CliConfig {
            reason: format!("{} is not valid UTF-8", provider.bin_dir.display()),
        })?;
        // Infallible: writing to a String.
        let _ = writeln!(text, "    {} = {}", hcl_string(&provider.source)?, hcl_string(dir)?);
    }
    text.push_str("  }\n  direct {}\n}\n");
    Ok(text)
}

/// Writes [`cli_config`] to `path`.
pub fn write_cli_config(path: &Path, providers: &[ProviderUnderTest]) -> Result<(), Error> {
    let text = cli_config(providers)?;
    std::fs::write(path, text).map_err(|err| Error::io(format!("cannot write {}", path.display()), err))
}

/// A quoted string for the CLI configuration (HCL 1 syntax: backslash escapes, one line).
fn hcl_string(value: &str) -> Result<String, Error> {
    if value.chars().any(char::is_control) {
        return Err(Error::CliConfig { reason: format!("{value:?} contains a control character") });
    }
    Ok(format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn source_addresses_are_checked_and_expanded() {
        assert_eq!(
            normalize_source("cloudtemple/cloudtemple").unwrap(),
            "registry.terraform.io/cloudtemple/cloudtemple"
        );
        assert_eq!(normalize_source("example.com/test/null").unwrap(), "example.com/test/null");
        for bad in ["cloudtemple", "a/b/c/d", "ns/Type", "ns/", "/t", "ho st/ns/t"] {
            assert!(normalize_source(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_cli_config_has_one_override_per_provider_then_direct() {
        let providers = [
            ProviderUnderTest {
                source: "registry.terraform.io/cloudtemple/cloudtemple".to_owned(),
                bin_dir: PathBuf::from("/work/main/target/debug"),
            },
            ProviderUnderTest {
                source: "example.com/test/tfexample".to_owned(),
                bin_dir: PathBuf::from("/odd \"dir\"\\x/examples"),
            },
        ];
        assert_eq!(
            cli_config(&providers).unwrap(),
            "provider_installation {\n  dev_overrides {\n    \
             \"registry.terraform.io/cloudtemple/cloudtemple\" = \"/work/main/target/debug\"\n    \
             \"example.com/test/tfexample\" = \"/odd \\\"dir\\\"\\\\x/examples\"\n  }\n  direct {}\n}\n"
        );
        assert_eq!(
            cli_config(&[]).unwrap(),
            "provider_installation {\n  dev_overrides {\n  }\n  direct {}\n}\n"
        );
    }

    #[test]
    fn a_newline_in_a_path_is_refused() {
        let providers = [ProviderUnderTest {
            source: "registry.terraform.io/a/b".to_owned(),
            bin_dir: PathBuf::from("/tmp/a\nb"),
        }];
        assert!(matches!(cli_config(&providers), Err(Error::CliConfig { .. })));
    }

    #[test]
    fn locating_finds_the_first_directory_with_the_binary() {
        let tmp = tempfile::tempdir().unwrap();
        let (empty, debug, examples) =
            (tmp.path().join("empty"), tmp.path().join("debug"), tmp.path().join("debug/examples"));
        fs::create_dir_all(&empty).unwrap();
        fs::create_dir_all(&examples).unwrap();
        fs::write(examples.join("terraform-provider-tfexample"), "").unwrap();
        let dirs = [empty, debug.clone(), examples.clone()];

        let found = ProviderUnderTest::locate_in("example.com/test/tfexample", &dirs).unwrap();
        assert_eq!(found.bin_dir, examples);
        assert_eq!(found.type_name(), "tfexample");
        assert_eq!(found.binary_path(), examples.join("terraform-provider-tfexample"));

        let err = ProviderUnderTest::locate_in("cloudtemple/cloudtemple", &dirs).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("terraform-provider-cloudtemple"), "{text}");
        assert!(text.contains(&debug.display().to_string()), "{text}");
        assert!(text.contains("cargo build --bins --examples"), "{text}");
        assert!(text.contains(PROVIDER_DIR_ENV), "{text}");
    }

    #[test]
    fn the_default_search_includes_the_workspace_target() {
        // Only meaningful when the variable is not set in the test environment.
        if std::env::var_os(PROVIDER_DIR_ENV).is_some() {
            return;
        }
        let dirs = default_search_dirs();
        let target = crate::terraform::workspace_root().join("target/debug");
        assert!(dirs.contains(&target), "{dirs:?}");
        assert!(dirs.contains(&target.join("examples")), "{dirs:?}");
    }
}
