//! The JSON Schema subset used for add-on `configuration_schema`s, and a validator for
//! `configuration_values` against it.
//!
//! Subset (draft 2020-12 keywords): `type` (one of object, array, string, integer, number,
//! boolean), `properties`, `additionalProperties` (must be `false` on objects so typos are
//! caught at plan time), `required`, `items`, `enum`, `minimum`, `maximum`, `minItems`,
//! `maxItems`, `minLength`, `maxLength`, `default`, `description`, `title`, and `format` with the
//! formats below; `$schema` at the root. `pattern` is not in the subset: checking it needs a
//! regular-expression engine, and every value the add-ons take is covered by `enum` or one of
//! these formats, each checked exactly in code:
//!
//! - `cidr`: an IPv4 or IPv6 prefix such as `10.20.1.0/25`;
//! - `ip-pool`: a `cidr` or an address range `10.20.1.1-10.20.1.127` of one family, low to high;
//! - `ipv4`: an IPv4 address;
//! - `dns-name`: an RFC 1123 host name such as `grafana.external-secured.ctodev.mk.ms-cloud-temple.com`;
//! - `dns-label`: one RFC 1123 label (namespace or object name);
//! - `email`: `local@domain` with a dotted domain;
//! - `duration`: a Prometheus-style duration such as `15d` or `12h`;
//! - `https-url`: an `https://` URL with a host.

use std::net::IpAddr;

use serde_json::{Map, Value};

const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];
const FORMATS: &[&str] =
    &["cidr", "ip-pool", "ipv4", "dns-name", "dns-label", "email", "duration", "https-url"];
const KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "additionalProperties",
    "required",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "default",
    "description",
    "title",
    "format",
];

/// One place where a value breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where in the value, as `a.b[2].c` (empty for the root).
    pub path: String,
    /// What is wrong, in words a Terraform user can act on.
    pub message: String,
}

/// Checks that `schema` is an object schema within the subset. Returns the keyword path and
/// message of the first problem.
pub(crate) fn check_schema(schema: &Value) -> Result<(), (String, String)> {
    let Some(root) = schema.as_object() else {
        return Err((String::new(), "the schema must be a mapping".into()));
    };
    if root.get("type").and_then(Value::as_str) != Some("object") {
        return Err(("type".into(), "the root schema must have `type: object`".into()));
    }
    if let Some(dialect) = root.get("$schema")
        && dialect.as_str() != Some("https://json-schema.org/draft/2020-12/schema")
    {
        return Err(("$schema".into(), "only draft 2020-12 is supported".into()));
    }
    check_node(root, "", true)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn check_node(node: &Map<String, Value>, path: &str, root: bool) -> Result<(), (String, String)> {
    let fail = |key: &str, message: String| Err((join(path, key), message));
    for key in node.keys() {
        let allowed = KEYWORDS.contains(&key.as_str()) || (root && key == "$schema");
        if !allowed {
            return fail(key, format!("keyword `{key}` is not in the supported schema subset"));
        }
    }
    let Some(kind) = node.get("type").and_then(Value::as_str) else {
        return fail("type", "every schema node needs a single `type`".into());
    };
    if !TYPES.contains(&kind) {
        return fail("type", format!("unsupported type `{kind}`"));
    }
    if node.get("description").is_some_and(|d| !d.is_string()) {
        return fail("description", "must be a string".into());
    }
    match kind {
        "object" => check_object(node, path)?,
        "array" => {
            let Some(items) = node.get("items").and_then(Value::as_object) else {
                return fail("items", "an array schema needs an `items` schema".into());
            };
            check_node(items, &join(path, "items"), false)?;
            check_bounds(node, path, "minItems", "maxItems")?;
        }
        "string" => {
            check_bounds(node, path, "minLength", "maxLength")?;
            if let Some(format) = node.get("format")
                && !format.as_str().is_some_and(|f| FORMATS.contains(&f))
            {
                return fail("format", format!("unsupported format {format}"));
            }
        }
        "integer" | "number" => {
            let min = node.get("minimum").map(Value::as_f64);
            let max = node.get("maximum").map(Value::as_f64);
            if matches!(min, Some(None)) || matches!(max, Some(None)) {
                return fail("minimum", "minimum and maximum must be numbers".into());
            }
            if let (Some(Some(min)), Some(Some(max))) = (min, max)
                && min > max
            {
                return fail("minimum", format!("minimum {min} exceeds maximum {max}"));
            }
        }
        _ => {}
    }
    for key in ["minimum", "maximum"] {
        if node.contains_key(key) && !matches!(kind, "integer" | "number") {
            return fail(key, format!("`{key}` applies to numbers, not to `{kind}`"));
        }
    }
    if node.contains_key("format") && kind != "string" {
        return fail("format", format!("`format` applies to strings, not to `{kind}`"));
    }
    if let Some(options) = node.get("enum") {
        let Some(options) = options.as_array().filter(|o| !o.is_empty()) else {
            return fail("enum", "must be a non-empty list".into());
        };
        // Each option must itself satisfy the node's type and bounds.
        let mut plain = node.clone();
        plain.remove("enum");
        plain.remove("default");
        for option in options {
            if let Some(problem) = validate_node(&plain, option, "").first() {
                return fail("enum", format!("option {option} is not valid here: {}", problem.message));
            }
        }
    }
    if let Some(default) = node.get("default")
        && let Some(problem) = validate_node(node, default, "").first()
    {
        return fail("default", format!("default {default} breaks its own schema: {}", problem.message));
    }
    Ok(())
}

fn check_object(node: &Map<String, Value>, path: &str) -> Result<(), (String, String)> {
    let fail = |key: &str, message: String| Err((join(path, key), message));
    if node.get("additionalProperties") != Some(&Value::Bool(false)) {
        return fail(
            "additionalProperties",
            "object schemas must set `additionalProperties: false` so typos fail at plan time".into(),
        );
    }
    let Some(properties) = node.get("properties").and_then(Value::as_object) else {
        return fail("properties", "an object schema needs `properties`".into());
    };
    for (name, property) in properties {
        let Some(property) = property.as_object() else {
            return fail(&format!("properties.{name}"), "must be a schema mapping".into());
        };
        check_node(property, &join(path, &format!("properties.{name}")), false)?;
    }
    if let Some(required) = node.get("required") {
        let Some(required) = required.as_array() else {
            return fail("required", "must be a list of property names".into());
        };
        for name in required {
            if !name.as_str().is_some_and(|n| properties.contains_key(n)) {
                return fail("required", format!("{name} is not a declared property"));
            }
        }
    }
    Ok(())
}

fn check_bounds(
    node: &Map<String, Value>,
    path: &str,
    low: &str,
    high: &str,
) -> Result<(), (String, String)> {
    let read = |key: &str| node.get(key).map(Value::as_u64);
    match (read(low), read(high)) {
        (Some(None), _) => Err((join(path, low), "must be a non-negative integer".into())),
        (_, Some(None)) => Err((join(path, high), "must be a non-negative integer".into())),
        (Some(Some(a)), Some(Some(b))) if a > b => {
            Err((join(path, low), format!("{low} {a} exceeds {high} {b}")))
        }
        _ => Ok(()),
    }
}

/// Validates `value` against a schema accepted by the catalog; returns every violation found.
pub fn validate(schema: &Value, value: &Value) -> Vec<Violation> {
    match schema.as_object() {
        Some(node) => validate_node(node, value, ""),
        None => vec![Violation { path: String::new(), message: "the add-on has no usable schema".into() }],
    }
}

fn validate_node(node: &Map<String, Value>, value: &Value, path: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut push = |message: String| {
        out.push(Violation { path: path.to_owned(), message });
    };
    if let Some(options) = node.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let list: Vec<String> = options.iter().map(Value::to_string).collect();
        push(format!("must be one of {}, got {value}", list.join(", ")));
        return out;
    }
    match node.get("type").and_then(Value::as_str).unwrap_or_default() {
        "object" => return validate_object(node, value, path),
        "array" => {
            let Some(items) = value.as_array() else {
                push(format!("must be a list, got {value}"));
                return out;
            };
            let count = items.len() as u64;
            if let Some(min) = node.get("minItems").and_then(Value::as_u64).filter(|m| count < *m) {
                push(format!("must have at least {min} item(s), has {count}"));
            }
            if let Some(max) = node.get("maxItems").and_then(Value::as_u64).filter(|m| count > *m) {
                push(format!("must have at most {max} item(s), has {count}"));
            }
            if let Some(item_schema) = node.get("items").and_then(Value::as_object) {
                for (index, item) in items.iter().enumerate() {
                    out.extend(validate_node(item_schema, item, &format!("{path}[{index}]")));
                }
            }
        }
        "string" => match value.as_str() {
            None => push(format!("must be a string, got {value}")),
            Some(text) => {
                let length = text.chars().count() as u64;
                if let Some(min) = node.get("minLength").and_then(Value::as_u64).filter(|m| length < *m) {
                    push(format!("must be at least {min} character(s) long"));
                }
                if let Some(max) = node.get("maxLength").and_then(Value::as_u64).filter(|m| length > *m) {
                    push(format!("must be at most {max} character(s) long"));
                }
                if let Some(format) = node.get("format").and_then(Value::as_str)
                    && let Err(why) = check_format(format, text)
                {
                    push(format!("`{text}` is not a valid {format}: {why}"));
                }
            }
        },
        kind @ ("integer" | "number") => {
            let number = if kind == "integer" {
                value.as_i64().map(|n| n as f64).or_else(|| value.as_u64().map(|n| n as f64))
            } else {
                value.as_f64()
            };
            match number {
                None => push(format!("must be an {kind}, got {value}")),
                Some(n) => {
                    if let Some(min) = node.get("minimum").and_then(Value::as_f64).filter(|m| n < *m) {
                        push(format!("must be at least {min}, got {value}"));
                    }
                    if let Some(max) = node.get("maximum").and_then(Value::as_f64).filter(|m| n > *m) {
                        push(format!("must be at most {max}, got {value}"));
                    }
                }
            }
        }
        "boolean" if !value.is_boolean() => push(format!("must be true or false, got {value}")),
        _ => {}
    }
    out
}

fn validate_object(node: &Map<String, Value>, value: &Value, path: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(fields) = value.as_object() else {
        out.push(Violation { path: path.to_owned(), message: format!("must be an object, got {value}") });
        return out;
    };
    let empty = Map::new();
    let properties = node.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    for name in node.get("required").and_then(Value::as_array).into_iter().flatten() {
        if let Some(name) = name.as_str().filter(|n| !fields.contains_key(*n)) {
            out.push(Violation { path: join(path, name), message: "is required".into() });
        }
    }
    for (name, field) in fields {
        match properties.get(name).and_then(Value::as_object) {
            Some(schema) => out.extend(validate_node(schema, field, &join(path, name))),
            None => {
                let known: Vec<&str> = properties.keys().map(String::as_str).collect();
                out.push(Violation {
                    path: join(path, name),
                    message: format!("is not a known setting; known settings here: {}", known.join(", ")),
                });
            }
        }
    }
    out
}

pub(crate) fn check_format(format: &str, text: &str) -> Result<(), String> {
    match format {
        "cidr" => parse_cidr(text).map(|_| ()),
        "ip-pool" => {
            if text.contains('/') {
                return parse_cidr(text).map(|_| ());
            }
            let (low, high) = text.split_once('-').ok_or("expected a CIDR or LOW-HIGH address range")?;
            let low: IpAddr = low.trim().parse().map_err(|_| format!("`{low}` is not an IP address"))?;
            let high: IpAddr = high.trim().parse().map_err(|_| format!("`{high}` is not an IP address"))?;
            if low.is_ipv4() != high.is_ipv4() {
                return Err("both ends must be of the same address family".into());
            }
            if low > high {
                return Err(format!("{low} is after {high}"));
            }
            Ok(())
        }
        "ipv4" => text
            .parse::<std::net::Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| "expected an IPv4 address such as 10.20.1.1".into()),
        "dns-name" => check_dns_name(text),
        "dns-label" => check_dns_label(text),
        "email" => {
            let (local, domain) = text.split_once('@').ok_or("expected local@domain")?;
            if local.is_empty() || local.contains(char::is_whitespace) || !domain.contains('.') {
                return Err("expected local@domain".into());
            }
            check_dns_name(domain)
        }
        "duration" => {
            let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
            let (number, unit) = text.split_at(split);
            let valid = !number.is_empty()
                && number.parse::<u64>().is_ok_and(|n| n > 0)
                && ["ms", "s", "m", "h", "d", "w", "y"].contains(&unit);
            if valid {
                Ok(())
            } else {
                Err("expected a number and a unit (ms, s, m, h, d, w, y) such as 15d".into())
            }
        }
        "https-url" => {
            let rest = text.strip_prefix("https://").ok_or("expected an https:// URL")?;
            let host = rest.split(['/', ':', '?']).next().unwrap_or_default();
            check_dns_name(host).or_else(|_| {
                host.parse::<IpAddr>().map(|_| ()).map_err(|_| format!("`{host}` is not a host"))
            })
        }
        other => Err(format!("unknown format `{other}`")),
    }
}

fn parse_cidr(text: &str) -> Result<(IpAddr, u8), String> {
    let (address, prefix) = text.split_once('/').ok_or("expected ADDRESS/PREFIX such as 10.20.0.0/22")?;
    let address: IpAddr = address.parse().map_err(|_| format!("`{address}` is not an IP address"))?;
    let prefix: u8 = prefix.parse().map_err(|_| format!("`{prefix}` is not a prefix length"))?;
    let limit = if address.is_ipv4() { 32 } else { 128 };
    if prefix > limit {
        return Err(format!("prefix /{prefix} is longer than {limit} bits"));
    }
    Ok((address, prefix))
}

fn check_dns_label(label: &str) -> Result<(), String> {
    let valid = !label.is_empty()
        && label.len() <= 63
        && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-');
    if valid { Ok(()) } else { Err(format!("`{label}` is not a lowercase RFC 1123 label")) }
}

fn check_dns_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("a host name has 1 to 253 characters".into());
    }
    name.split('.').try_for_each(check_dns_label)
}
