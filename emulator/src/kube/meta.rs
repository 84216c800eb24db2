//! Object metadata helpers: timestamps in the API's second-precision RFC 3339 form, uids, and
//! accessors over objects kept as JSON.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::macros::format_description;

/// Now as the API writes timestamps (`2024-05-01T10:00:00Z`).
pub fn now_rfc3339() -> String {
    format_time(OffsetDateTime::now_utc())
}

/// Formats a time like the API does.
pub(crate) fn format_time(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

/// Parses the API's timestamp form (second precision, `Z`, optional fraction).
pub(crate) fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::try_from(num(0..4)?).ok()?,
        month,
        u8::try_from(num(8..10)?).ok()?,
    )
    .ok()?;
    let t = time::Time::from_hms(
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(14..16)?).ok()?,
        u8::try_from(num(17..19)?).ok()?,
    )
    .ok()?;
    Some(time::PrimitiveDateTime::new(date, t).assume_utc())
}

/// Human age like kubectl's printers: `45s`, `3m12s`, `5h`, `2d`.
pub(crate) fn human_age(since: &str) -> String {
    let Some(t) = parse_time(since) else { return "<unknown>".to_owned() };
    let secs = (OffsetDateTime::now_utc() - t).whole_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s if s < 8 * 86_400 => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// A random u64 from the standard library's per-process keyed hasher (no RNG crate needed).
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// A version-4 style UUID, as the API assigns to `metadata.uid`.
pub fn new_uid() -> String {
    let (a, b) = (random_u64(), random_u64());
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        ["8", "9", "a", "b"][usize::try_from(b % 4).unwrap_or(0)],
        &hex[17..20],
        &hex[20..32]
    )
}

/// A 5-character suffix for `generateName`, from the alphabet the API uses.
pub(crate) fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = random_u64();
    (0..5)
        .map(|_| {
            let c = ALPHABET[usize::try_from(n % 27).unwrap_or(0)];
            n /= 27;
            char::from(c)
        })
        .collect()
}

/// `metadata` of an object, created if absent.
pub(crate) fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(Map::new());
    }
    obj.get_mut("metadata").and_then(Value::as_object_mut).expect("metadata was just made an object")
}

/// A string field of `metadata`.
pub(crate) fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// `metadata.labels` as string pairs.
pub(crate) fn labels(obj: &Value) -> Map<String, Value> {
    obj.pointer("/metadata/labels").and_then(Value::as_object).cloned().unwrap_or_default()
}

/// Whether the object carries any finalizer.
pub(crate) fn has_finalizers(obj: &Value) -> bool {
    obj.pointer("/metadata/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty())
}

/// The object's resourceVersion as a number (0 if absent or garbled).
pub(crate) fn resource_version(obj: &Value) -> u64 {
    meta_str(obj, "resourceVersion").and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// `apiVersion` for a group and version (`v1` for the core group).
pub(crate) fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") }
}

/// Splits an `apiVersion` into group and version.
pub(crate) fn split_api_version(av: &str) -> (&str, &str) {
    av.rsplit_once('/').unwrap_or(("", av))
}

/// Whether `name` is a lowercase RFC 1123 subdomain (the rule for most object names).
pub(crate) fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

/// Whether `name` is a lowercase RFC 1123 label (namespaces, services).
pub(crate) fn is_dns_label(name: &str) -> bool {
    name.len() <= 63 && !name.contains('.') && is_dns_subdomain(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_age_reads_like_kubectl() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        let t = parse_time(&now).expect("parses");
        assert_eq!(format_time(t), now);
        assert!(human_age(&now).ends_with('s'));
        assert_eq!(human_age("2000-01-01T00:00:00Z").chars().last(), Some('d'));
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn uids_and_names_have_the_api_shapes() {
        let a = new_uid();
        assert_eq!(a.len(), 36);
        assert_ne!(a, new_uid());
        assert_eq!(name_suffix().len(), 5);
        assert!(is_dns_subdomain("web.example-1"));
        assert!(!is_dns_subdomain("Web"));
        assert!(!is_dns_label("a.b"));
        assert_eq!(split_api_version("apps/v1"), ("apps", "v1"));
        assert_eq!(split_api_version("v1"), ("", "v1"));
    }
}
