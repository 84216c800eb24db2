//! The `timeouts` block shared by resources with long operations.

use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting};
use tfplugin::validate::duration;

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
