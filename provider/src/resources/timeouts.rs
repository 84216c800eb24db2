//! The `timeouts` block shared by resources with long operations: its schema and the durations
//! read back from it, from one list of defaults per resource.

use std::time::Duration;
use tfplugin::Value;
use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting};
use tfplugin::validate::{duration, parse_duration};

/// Time limits of create, update and delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Create.
    pub create: Duration,
    /// Update.
    pub update: Duration,
    /// Delete.
    pub delete: Duration,
}

impl Timeouts {
    /// Reads the `timeouts` block of a resource object; unset operations take `defaults`
    /// (create, update, delete), the same list the resource's [`block`] documents.
    pub fn from_value(object: &Value, defaults: [&str; 3]) -> Self {
        let read = |name: &str, default: &str| {
            object
                .get_attr("timeouts")
                .and_then(|t| t.get_attr(name))
                .and_then(Value::as_str)
                .and_then(parse_duration)
                .or_else(|| parse_duration(default))
                .unwrap_or(Duration::from_secs(30 * 60))
        };
        let [create, update, delete] = defaults;
        Self {
            create: read("create", create),
            update: read("update", update),
            delete: read("delete", delete),
        }
    }
}

/// A `timeouts { create = "30m" ... }` block; `defaults` gives each operation's default, in
/// the order create, update, delete.
pub fn block(defaults: [&str; 3]) -> NestedBlock {
    let [create, update, delete] = defaults;
    let op = |name: &str, default: &str, what: &str| {
        Attribute::string(name)
            .optional()
            .description(format!("How long {what} may take. Defaults to `{default}`."))
            .validator(duration())
    };
    NestedBlock::new(
        "timeouts",
        Nesting::Single,
        Block::new("Operation time limits, as durations such as `30m` or `1h30m`.")
            .attribute(op("create", create, "creation"))
            .attribute(op("update", update, "an update"))
            .attribute(op("delete", delete, "deletion")),
    )
}
