//! Talos versions: parsing tags such as `v1.13.9` or `v1.14.0-rc.1`, comparing them, and reading
//! the version an installer image reference carries.

use std::cmp::Ordering;
use std::fmt;

/// A Talos release version (`vMAJOR.MINOR.PATCH[-PRE]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TalosVersion {
    /// Major version.
    pub major: u64,
    /// Minor version.
    pub minor: u64,
    /// Patch version.
    pub patch: u64,
    /// Pre-release suffix (`alpha.1`, `rc.1`), if any.
    pub pre: Option<String>,
}

impl TalosVersion {
    /// Parses `v1.13.9`, `1.13.9` or `v1.14.0-rc.1`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) if !p.is_empty() => (c, Some(p.to_owned())),
            Some(_) => return None,
            None => (s, None),
        };
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self { major, minor, patch, pre })
    }

    /// The version carried by an installer image reference
    /// (`ghcr.io/siderolabs/installer:v1.14.0`, optionally with an `@sha256:` digest).
    pub fn from_image(image: &str) -> Option<Self> {
        let without_digest = image.split('@').next()?;
        let last = without_digest.rsplit('/').next()?;
        let (_, tag) = last.rsplit_once(':')?;
        Self::parse(tag)
    }

    /// Whether this release has the Talos 1.14 apply semantics (REBOOT mode removed, AUTO
    /// always applied without a reboot).
    pub fn has_v114_apply_semantics(&self) -> bool {
        (self.major, self.minor) >= (1, 14)
    }

    /// Whether this release serves `machine.LifecycleService` (Talos 1.13 and later).
    pub fn has_lifecycle_service(&self) -> bool {
        (self.major, self.minor) >= (1, 13)
    }
}

impl fmt::Display for TalosVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

impl PartialOrd for TalosVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TalosVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch)).then_with(
            || match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                // A release sorts after its pre-releases.
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_and_images() {
        let v = TalosVersion::parse("v1.14.0-rc.1").expect("parses");
        assert_eq!(v.to_string(), "v1.14.0-rc.1");
        assert!(v.has_v114_apply_semantics());
        assert!(TalosVersion::parse("v1.13").is_none());
        assert!(TalosVersion::parse("v1.13.x").is_none());
        assert!(TalosVersion::parse("v1.13.1-").is_none());
        let img = TalosVersion::from_image("ghcr.io/siderolabs/installer:v1.13.9@sha256:abcd");
        assert_eq!(img.map(|v| v.to_string()).as_deref(), Some("v1.13.9"));
        assert!(TalosVersion::from_image("localhost:5000/installer").is_none());
        let rc = TalosVersion::parse("v1.14.0-rc.1").expect("rc");
        let ga = TalosVersion::parse("v1.14.0").expect("ga");
        assert!(rc < ga && TalosVersion::parse("v1.13.9").expect("old") < rc);
    }
}
