//! Release version numbers as the catalog uses them: `x.y.z` for a release and `x.y` for a
//! minor line, each optionally written with a leading `v` (Kubernetes and Talos tags carry one,
//! Helm charts and the catalog files mostly do not).
//!
//! Why our own type and not a semver crate: every version in the catalog is a plain release
//! (no pre-release or build metadata), ordering is numeric per component, and the provider
//! needs minor-line arithmetic ("the next minor", "one minor at a time") that semver crates
//! do not model.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A release version `major.minor.patch`, ordered numerically component by component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major component (`1` in `1.35.2`).
    pub major: u64,
    /// Minor component (`35` in `1.35.2`).
    pub minor: u64,
    /// Patch component (`2` in `1.35.2`).
    pub patch: u64,
}

/// A minor release line `major.minor` (for example Kubernetes `1.35`), ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MinorVersion {
    /// Major component (`1` in `1.35`).
    pub major: u64,
    /// Minor component (`35` in `1.35`).
    pub minor: u64,
}

/// Why a version string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version `{input}`: {reason}")]
pub struct VersionParseError {
    /// The text that failed to parse.
    pub input: String,
    /// What was wrong with it, in words a Terraform user can act on.
    pub reason: &'static str,
}

impl Version {
    /// Builds a version from its three components.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self { major, minor, patch }
    }

    /// Parses `1.35.2` or `v1.35.2`; exactly three numeric components, no pre-release suffix.
    pub fn parse(input: &str) -> Result<Self, VersionParseError> {
        let parts = components(input, 3, "expected MAJOR.MINOR.PATCH such as 1.35.2")?;
        Ok(Self::new(parts[0], parts[1], parts[2]))
    }

    /// The minor line this release belongs to (`1.35.2` → `1.35`).
    pub const fn minor_line(&self) -> MinorVersion {
        MinorVersion::new(self.major, self.minor)
    }

    /// Formats with the `v` prefix used by Kubernetes and Talos tags (`v1.35.2`).
    pub fn to_tag(&self) -> String {
        format!("v{self}")
    }
}

impl MinorVersion {
    /// Builds a minor line from its two components.
    pub const fn new(major: u64, minor: u64) -> Self {
        Self { major, minor }
    }

    /// Parses `1.35` or `v1.35`; exactly two numeric components.
    pub fn parse(input: &str) -> Result<Self, VersionParseError> {
        let parts = components(input, 2, "expected MAJOR.MINOR such as 1.35")?;
        Ok(Self::new(parts[0], parts[1]))
    }

    /// The next minor line within the same major (`1.35` → `1.36`).
    pub const fn next(&self) -> Self {
        Self::new(self.major, self.minor + 1)
    }

    /// The previous minor line within the same major, if any (`1.35` → `1.34`; `1.0` → none).
    pub const fn previous(&self) -> Option<Self> {
        match self.minor.checked_sub(1) {
            Some(minor) => Some(Self::new(self.major, minor)),
            None => None,
        }
    }

    /// How many minor steps lead from `self` up to `later` within one major; `None` when
    /// `later` is older or belongs to another major.
    pub fn steps_to(&self, later: Self) -> Option<u64> {
        if later.major != self.major {
            return None;
        }
        later.minor.checked_sub(self.minor)
    }

    /// The release `major.minor.patch` on this line.
    pub const fn with_patch(&self, patch: u64) -> Version {
        Version::new(self.major, self.minor, patch)
    }

    /// Whether `version` is a release of this line.
    pub fn contains(&self, version: Version) -> bool {
        version.minor_line() == *self
    }
}

/// Splits `input` (optionally `v`-prefixed) into exactly `count` decimal components.
fn components(input: &str, count: usize, expected: &'static str) -> Result<Vec<u64>, VersionParseError> {
    let fail = |reason| VersionParseError { input: input.to_owned(), reason };
    let body = input.strip_prefix('v').unwrap_or(input);
    let parts: Vec<&str> = body.split('.').collect();
    if parts.len() != count {
        return Err(fail(expected));
    }
    parts
        .iter()
        .map(|part| {
            // Leading zeros ("01") and signs are not how any upstream writes versions; reject them
            // so that one version has exactly one spelling and round-trips through Display.
            let well_formed = !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part.len() == 1 || !part.starts_with('0'));
            if !well_formed {
                return Err(fail(expected));
            }
            part.parse::<u64>().map_err(|_| fail("component too large"))
        })
        .collect()
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl fmt::Display for MinorVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Version {
    type Err = VersionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl FromStr for MinorVersion {
    type Err = VersionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for MinorVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_with_and_without_prefix() {
        assert_eq!(Version::parse("1.35.2").unwrap(), Version::new(1, 35, 2));
        assert_eq!(Version::parse("v1.35.2").unwrap(), Version::new(1, 35, 2));
        assert_eq!(MinorVersion::parse("v1.37").unwrap(), MinorVersion::new(1, 37));
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in [
            "",
            "1.35",
            "1.35.2.1",
            "1.35.x",
            "1.35.2-rc.1",
            "V1.35.2",
            "1..2",
            "01.35.2",
            "+1.2.3",
            " 1.2.3",
            "vv1.2.3",
        ] {
            assert!(Version::parse(bad).is_err(), "accepted {bad:?}");
        }
        for bad in ["1", "1.35.2", "1.", ".35", "1.-1"] {
            assert!(MinorVersion::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn orders_numerically_not_lexically() {
        assert!(Version::parse("1.9.0").unwrap() < Version::parse("1.10.0").unwrap());
        assert!(Version::parse("1.35.10").unwrap() > Version::parse("1.35.9").unwrap());
        assert!(Version::parse("2.0.0").unwrap() > Version::parse("1.99.99").unwrap());
        assert!(MinorVersion::parse("1.9").unwrap() < MinorVersion::parse("1.10").unwrap());
    }

    #[test]
    fn minor_line_helpers() {
        let line = MinorVersion::new(1, 35);
        assert_eq!(line.next(), MinorVersion::new(1, 36));
        assert_eq!(line.previous(), Some(MinorVersion::new(1, 34)));
        assert_eq!(MinorVersion::new(1, 0).previous(), None);
        assert_eq!(line.steps_to(MinorVersion::new(1, 37)), Some(2));
        assert_eq!(line.steps_to(MinorVersion::new(1, 34)), None);
        assert_eq!(line.steps_to(MinorVersion::new(2, 35)), None);
        assert!(line.contains(Version::new(1, 35, 9)));
        assert!(!line.contains(Version::new(1, 36, 0)));
        assert_eq!(line.with_patch(4).to_tag(), "v1.35.4");
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(major in 0u64..1000, minor in 0u64..1000, patch in 0u64..100_000) {
            let version = Version::new(major, minor, patch);
            prop_assert_eq!(Version::parse(&version.to_string()).unwrap(), version);
            prop_assert_eq!(Version::parse(&version.to_tag()).unwrap(), version);
            let line = version.minor_line();
            prop_assert_eq!(MinorVersion::parse(&line.to_string()).unwrap(), line);
        }

        #[test]
        fn ordering_matches_component_tuples(a in (0u64..50, 0u64..50, 0u64..50), b in (0u64..50, 0u64..50, 0u64..50)) {
            let va = Version::new(a.0, a.1, a.2);
            let vb = Version::new(b.0, b.1, b.2);
            prop_assert_eq!(va.cmp(&vb), a.cmp(&b));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,20}") {
            let _ = Version::parse(&text);
            let _ = MinorVersion::parse(&text);
        }
    }
}
