//! Attribute validators: small named values that check one configuration value and describe
//! themselves, so the same sentence reaches the docs and the diagnostic.
//!
//! Validators only ever see known, non-null values: unknown values are checked again at apply
//! time by Terraform calling validation with the final configuration, and null means "unset".

use crate::diag::Diagnostics;
use crate::path::AttributePath;
use crate::value::Value;
use std::fmt;
use std::net::IpAddr;

/// A check on one attribute value.
pub trait Validator: Send + Sync {
    /// Markdown sentence for the docs, e.g. "One of `reset`, `keep`."
    fn description(&self) -> String;
    /// Checks a known, non-null value; reports problems at `path`.
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics);
}

impl fmt::Debug for dyn Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Validator({})", self.description())
    }
}

/// The value must be one of the given strings.
#[derive(Clone, Debug)]
pub struct OneOf(Vec<String>);

/// The value must be one of `choices`.
pub fn one_of(choices: &[&str]) -> OneOf {
    OneOf(choices.iter().map(|s| (*s).to_string()).collect())
}

impl OneOf {
    fn listed(&self) -> String {
        self.0.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    }
}

impl Validator for OneOf {
    fn description(&self) -> String {
        format!("One of {}.", self.listed())
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str()
            && !self.0.iter().any(|c| c == s)
        {
            diags.error_at(
                path.clone(),
                "Invalid value",
                format!("{s:?} is not allowed here; expected one of {}.", self.listed()),
            );
        }
    }
}

/// The string must not be empty or blank.
#[derive(Clone, Copy, Debug)]
pub struct NonEmpty;

/// The string must not be empty or only whitespace.
pub fn non_empty() -> NonEmpty {
    NonEmpty
}

impl Validator for NonEmpty {
    fn description(&self) -> String {
        "Must not be empty.".into()
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if value.as_str().is_some_and(|s| s.trim().is_empty()) {
            diags.error_at(path.clone(), "Empty value", "This attribute must not be empty.");
        }
    }
}

/// The number must be an integer within bounds.
#[derive(Clone, Copy, Debug)]
pub struct IntBetween(i64, i64);

/// The number must be an integer in `min..=max`.
pub fn int_between(min: i64, max: i64) -> IntBetween {
    IntBetween(min, max)
}

impl Validator for IntBetween {
    fn description(&self) -> String {
        format!("An integer from {} to {}.", self.0, self.1)
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        let Some(n) = value.as_number() else { return };
        match n.to_i64() {
            Some(i) if n.is_integer() && (self.0..=self.1).contains(&i) => {}
            _ => diags.error_at(
                path.clone(),
                "Value out of range",
                format!("{n} is not an integer from {} to {}.", self.0, self.1),
            ),
        }
    }
}

/// A Go-style duration such as `90s`, `10m` or `1h30m`.
#[derive(Clone, Copy, Debug)]
pub struct Duration;

/// The string must be a duration such as `30s`, `10m` or `1h30m`.
pub fn duration() -> Duration {
    Duration
}

/// Parses a Go-style duration (`h`, `m`, `s`, `ms` units, summed).
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = std::time::Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (std::time::Duration::from_millis(1), 2)
        } else if rest.starts_with('h') {
            (std::time::Duration::from_secs(3600), 1)
        } else if rest.starts_with('m') {
            (std::time::Duration::from_secs(60), 1)
        } else if rest.starts_with('s') {
            (std::time::Duration::from_secs(1), 1)
        } else {
            return None;
        };
        total = total.checked_add(unit.checked_mul(u32::try_from(n).ok()?)?)?;
        rest = &rest[len..];
    }
    Some(total)
}

impl Validator for Duration {
    fn description(&self) -> String {
        "A duration such as `30s`, `10m` or `1h30m`.".into()
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str()
            && parse_duration(s).is_none()
        {
            diags.error_at(
                path.clone(),
                "Invalid duration",
                format!("{s:?} is not a duration; write it like `30s`, `10m` or `1h30m`."),
            );
        }
    }
}

/// The string must be a JSON document.
#[derive(Clone, Copy, Debug)]
pub struct Json;

/// The string must be valid JSON.
pub fn json() -> Json {
    Json
}

impl Validator for Json {
    fn description(&self) -> String {
        "A JSON document (use `jsonencode`).".into()
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str()
            && let Err(e) = serde_json::from_str::<serde_json::Value>(s)
        {
            diags.error_at(path.clone(), "Invalid JSON", format!("This is not valid JSON: {e}."));
        }
    }
}

/// The string must be one or more YAML documents.
#[derive(Clone, Copy, Debug)]
pub struct Yaml;

/// The string must be valid YAML (multi-document allowed).
pub fn yaml() -> Yaml {
    Yaml
}

impl Validator for Yaml {
    fn description(&self) -> String {
        "A YAML document (use `yamlencode`).".into()
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str()
            && let Err(e) = crate::plan::normalize::yaml_documents(s)
        {
            diags.error_at(path.clone(), "Invalid YAML", format!("This is not valid YAML: {e}."));
        }
    }
}

/// The string must be an IP address.
#[derive(Clone, Copy, Debug)]
pub struct IpAddress;

/// The string must be an IPv4 or IPv6 address.
pub fn ip_address() -> IpAddress {
    IpAddress
}

impl Validator for IpAddress {
    fn description(&self) -> String {
        "An IPv4 or IPv6 address.".into()
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str()
            && s.parse::<IpAddr>().is_err()
        {
            diags.error_at(path.clone(), "Invalid IP address", format!("{s:?} is not an IP address."));
        }
    }
}

/// A CIDR prefix, `address/length`, with no host bits set.
#[derive(Clone, Copy, Debug)]
pub struct Cidr;

/// The string must be a CIDR prefix such as `10.20.0.0/22`.
pub fn cidr() -> Cidr {
    Cidr
}

/// Parses `address/length`; rejects host bits set beyond the prefix.
pub fn parse_cidr(text: &str) -> Result<(IpAddr, u8), String> {
    let (addr, len) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} has no prefix length (expected address/length)"))?;
    let addr: IpAddr = addr.parse().map_err(|_| format!("{addr:?} is not an IP address"))?;
    let len: u8 = len.parse().map_err(|_| format!("{len:?} is not a prefix length"))?;
    let bits = if addr.is_ipv4() { 32 } else { 128 };
    if len > bits {
        return Err(format!("prefix length {len} is longer than {bits}"));
    }
    let host_bits_set = match addr {
        IpAddr::V4(v4) => u32::from(v4).checked_shl(u32::from(len)).unwrap_or(0) != 0,
        IpAddr::V6(v6) => u128::from(v6).checked_shl(u32::from(len)).unwrap_or(0) != 0,
    };
    if host_bits_set {
        return Err(format!("{text:?} has host bits set; did you mean the network address?"));
    }
    Ok((addr, len))
}

impl Validator for Cidr {
    fn description(&self) -> String {
        "A CIDR prefix such as `10.20.0.0/22`.".into()
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str()
            && let Err(e) = parse_cidr(s)
        {
            diags.error_at(path.clone(), "Invalid CIDR", format!("{e}."));
        }
    }
}

/// An RFC 1123 DNS label: lowercase letters, digits and `-`, 1 to 63 characters, starting and
/// ending with a letter or digit.
#[derive(Clone, Copy, Debug)]
pub struct DnsLabel;

/// The string must be a DNS label (usable as a host or cluster name).
pub fn dns_label() -> DnsLabel {
    DnsLabel
}

/// Whether `s` is an RFC 1123 DNS label.
pub fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

impl Validator for DnsLabel {
    fn description(&self) -> String {
        "A DNS label: lowercase letters, digits and `-`, at most 63 characters.".into()
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str()
            && !is_dns_label(s)
        {
            diags.error_at(
                path.clone(),
                "Invalid name",
                format!(
                    "{s:?} is not a DNS label: use 1 to 63 lowercase letters, digits and `-`, starting and ending \
                     with a letter or digit."
                ),
            );
        }
    }
}

/// Applies a validator to every element of a list, set or map.
#[derive(Clone, Copy, Debug)]
pub struct Each<V>(V);

/// Every element must pass `inner`; problems point at the element.
pub fn each<V: Validator>(inner: V) -> Each<V> {
    Each(inner)
}

impl<V: Validator> Validator for Each<V> {
    fn description(&self) -> String {
        format!("Each element: {}", self.0.description())
    }
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        let check = |p: AttributePath, v: &Value, diags: &mut Diagnostics| {
            if v.is_known() && !v.is_null() {
                self.0.validate(&p, v, diags);
            }
        };
        match value {
            Value::List(items) | Value::Tuple(items) => {
                for (i, v) in items.iter().enumerate() {
                    check(path.clone().index(i as i64), v, diags);
                }
            }
            Value::Set(items) => {
                for v in items {
                    check(path.clone(), v, diags);
                }
            }
            Value::Map(items) => {
                for (k, v) in items {
                    check(path.clone().key(k.clone()), v, diags);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::needless_pass_by_value)] // owned test inputs read better
    fn check(v: &dyn Validator, value: Value) -> Option<String> {
        let mut d = Diagnostics::new();
        v.validate(&AttributePath::root().attr("a"), &value, &mut d);
        d.iter().next().map(|d| d.detail.clone())
    }

    #[test]
    fn one_of_names_the_choices() {
        let v = one_of(&["reset", "keep"]);
        assert_eq!(check(&v, Value::from("keep")), None);
        let err = check(&v, Value::from("wipe")).unwrap();
        assert!(err.contains("`reset`, `keep`"), "{err}");
        assert_eq!(v.description(), "One of `reset`, `keep`.");
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("1h30m"), Some(std::time::Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(std::time::Duration::from_millis(250)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration(""), None);
        assert!(check(&duration(), Value::from("ten minutes")).is_some());
    }

    #[test]
    fn cidr_rejects_host_bits_and_bad_lengths() {
        assert!(parse_cidr("10.20.0.0/22").is_ok());
        assert!(parse_cidr("10.20.0.1/22").unwrap_err().contains("host bits"));
        assert!(parse_cidr("10.20.0.0/33").is_err());
        assert!(parse_cidr("10.20.0.0").is_err());
        assert!(parse_cidr("fd00::/8").is_ok());
        assert!(check(&cidr(), Value::from("nonsense/8")).is_some());
    }

    #[test]
    fn int_between_rejects_fractions_and_out_of_range() {
        let v = int_between(1, 10);
        assert_eq!(check(&v, Value::from(5i64)), None);
        assert!(check(&v, Value::from(11i64)).is_some());
    }

    #[test]
    fn json_and_yaml_and_ip() {
        assert!(check(&json(), Value::from("{\"a\":1}")).is_none());
        assert!(check(&json(), Value::from("{a:1}")).is_some());
        assert!(check(&yaml(), Value::from("a: 1\n---\nb: 2\n")).is_none());
        assert!(check(&yaml(), Value::from("a: [1\n")).is_some());
        assert!(check(&ip_address(), Value::from("10.0.0.1")).is_none());
        assert!(check(&ip_address(), Value::from("10.0.0.300")).is_some());
        assert!(check(&non_empty(), Value::from("  ")).is_some());
        assert!(check(&dns_label(), Value::from("ctodev")).is_none());
        let mut d = Diagnostics::new();
        let list = Value::List(vec![Value::from("a: 1"), Value::Unknown, Value::from("a: [")]);
        each(yaml()).validate(&AttributePath::root().attr("patches"), &list, &mut d);
        let paths: Vec<String> = d.iter().map(|d| d.attribute.as_ref().unwrap().to_string()).collect();
        assert_eq!(paths, vec!["patches[2]"]);
        for bad in ["CtoDev", "-a", "a-", "", "a_b", &"a".repeat(64)] {
            assert!(check(&dns_label(), Value::from(bad)).is_some(), "{bad:?}");
        }
    }
}
