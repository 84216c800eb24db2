//! Registry-style markdown rendered from schemas (the layout of terraform-plugin-docs), so the
//! schema descriptions are the documentation and cannot drift from the code.
//!
//! A page has front matter, a title, the description, example usage, the schema grouped into
//! Required / Optional / Read-Only with a "Nested Schema" section per nested object, and an
//! Import section. Validator and plan-modifier descriptions are appended to each attribute.

use crate::schema::{Attribute, AttributeType, Block, Nesting, Presence, Schema};
use crate::value::Type;
use std::fmt::Write as _;

/// What a page documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    /// The provider itself (`docs/index.md`).
    Provider,
    /// A managed resource (`docs/resources/<name>.md`).
    Resource,
    /// A data source (`docs/data-sources/<name>.md`).
    DataSource,
}

/// Everything one page needs.
#[derive(Debug)]
pub struct Page<'a> {
    /// Kind of page.
    pub kind: PageKind,
    /// Full type name, or the provider name for the provider page.
    pub name: &'a str,
    /// Provider name (for the page title).
    pub provider: &'a str,
    /// The schema.
    pub schema: &'a Schema,
    /// Example configurations, rendered in order.
    pub examples: Vec<String>,
    /// The `terraform import` example, if the type can be imported.
    pub import: Option<String>,
    /// Extra markdown after the schema (guides, caveats).
    pub notes: Option<String>,
}

/// The registry file name of a page, relative to `docs/`.
pub fn page_path(kind: PageKind, provider: &str, name: &str) -> String {
    let short = name.strip_prefix(&format!("{provider}_")).unwrap_or(name);
    match kind {
        PageKind::Provider => "index.md".to_string(),
        PageKind::Resource => format!("resources/{short}.md"),
        PageKind::DataSource => format!("data-sources/{short}.md"),
    }
}

/// Renders a page.
pub fn render(page: &Page<'_>) -> String {
    let mut out = String::new();
    let (title, heading) = match page.kind {
        PageKind::Provider => (format!("{} Provider", page.provider), format!("{} Provider", page.provider)),
        PageKind::Resource => {
            (format!("{} Resource - {}", page.name, page.provider), format!("{} (Resource)", page.name))
        }
        PageKind::DataSource => {
            (format!("{} Data Source - {}", page.name, page.provider), format!("{} (Data Source)", page.name))
        }
    };
    let description = page.schema.block.description.trim();
    let summary = description.split("\n\n").next().unwrap_or_default();
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "# Generated from the provider schema and examples/ by `make docs`; do not edit.");
    let _ = writeln!(out, "page_title: \"{title}\"");
    let _ = writeln!(out, "subcategory: \"\"");
    let _ = writeln!(out, "description: |-");
    for line in summary.lines() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "---\n");
    let _ = writeln!(out, "# {heading}\n");
    if !description.is_empty() {
        let _ = writeln!(out, "{description}\n");
    }
    if !page.examples.is_empty() {
        let _ = writeln!(out, "## Example Usage\n");
        for ex in &page.examples {
            let _ = writeln!(out, "```terraform\n{}\n```\n", ex.trim_end());
        }
    }
    let _ = writeln!(out, "## Schema\n");
    let mut nested = Vec::new();
    render_block(&mut out, &page.schema.block, "", &mut nested);
    while !nested.is_empty() {
        let (anchor, label, block) = nested.remove(0);
        let _ = writeln!(out, "<a id=\"{anchor}\"></a>");
        let _ = writeln!(out, "### Nested Schema for `{label}`\n");
        let mut more = Vec::new();
        render_block(&mut out, &block, &label, &mut more);
        nested.extend(more);
    }
    if let Some(notes) = &page.notes {
        let _ = writeln!(out, "{}\n", notes.trim_end());
    }
    if let Some(import) = &page.import {
        let _ = writeln!(out, "## Import\n");
        let _ = writeln!(out, "Import is supported using the following syntax:\n");
        let _ = writeln!(out, "```shell\n{}\n```", import.trim_end());
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

type Pending = Vec<(String, String, Block)>;

fn render_block(out: &mut String, block: &Block, prefix: &str, nested: &mut Pending) {
    type Group = (&'static str, fn(Presence) -> bool);
    let groups: [Group; 3] = [
        ("Required", |p| p == Presence::Required),
        ("Optional", |p| matches!(p, Presence::Optional | Presence::OptionalComputed)),
        ("Read-Only", |p| p == Presence::Computed),
    ];
    for (title, member) in groups {
        let attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| member(a.presence)).collect();
        let blocks: Vec<_> = block
            .blocks
            .iter()
            .filter(|b| match title {
                "Required" => b.min_items > 0,
                "Optional" => b.min_items == 0,
                _ => false,
            })
            .collect();
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {title}\n");
        for a in attrs {
            let label = join(prefix, &a.name);
            let anchor = format!("nestedatt--{}", label.replace('.', "--"));
            let ty = match &a.ty {
                AttributeType::Type(t) => type_name(t),
                AttributeType::Nested { nesting, attributes } => {
                    nested.push((
                        anchor.clone(),
                        label.clone(),
                        Block { attributes: attributes.clone(), ..Block::default() },
                    ));
                    format!("Attributes {}", nesting_name(*nesting))
                }
            };
            let mut flags = ty;
            if a.sensitive {
                flags.push_str(", Sensitive");
            }
            if a.deprecation.is_some() {
                flags.push_str(", Deprecated");
            }
            let _ = write!(out, "- `{}` ({flags}) {}", a.name, a.description.trim());
            for v in &a.validators {
                let _ = write!(out, " {}", v.description());
            }
            for m in &a.plan_modifiers {
                let _ = write!(out, " {}", m.description());
            }
            if let Some(msg) = &a.deprecation {
                let _ = write!(out, " **Deprecated:** {msg}");
            }
            if a.nested_attributes().is_some() {
                let _ = write!(out, " (see [below for nested schema](#{anchor}))");
            }
            let _ = writeln!(out);
        }
        for b in blocks {
            let label = join(prefix, &b.name);
            let anchor = format!("nestedblock--{}", label.replace('.', "--"));
            let mut limits = String::new();
            if b.max_items > 0 {
                let _ = write!(limits, ", Max: {}", b.max_items);
            }
            if b.min_items > 0 {
                let _ = write!(limits, ", Min: {}", b.min_items);
            }
            let _ = writeln!(
                out,
                "- `{}` (Block {}{limits}) {} (see [below for nested schema](#{anchor}))",
                b.name,
                nesting_name(b.nesting),
                b.block.description.trim()
            );
            nested.push((anchor, label, b.block.clone()));
        }
        let _ = writeln!(out);
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

fn nesting_name(n: Nesting) -> &'static str {
    match n {
        Nesting::Single | Nesting::Group => "",
        Nesting::List => "List",
        Nesting::Set => "Set",
        Nesting::Map => "Map",
    }
}

/// How the docs name a type: `String`, `List of String`, `Map of Number`, `Object`, `Dynamic`.
pub fn type_name(t: &Type) -> String {
    match t {
        Type::Bool => "Boolean".into(),
        Type::Number => "Number".into(),
        Type::String => "String".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::requires_replace;
    use crate::validate::one_of;

    #[test]
    fn renders_groups_nested_schemas_examples_and_import() {
        let schema = Schema::new(
            Block::new("Manages a thing.\n\nMore detail.")
                .attribute(
                    Attribute::string("name")
                        .required()
                        .description("The name.")
                        .plan_modifier(requires_replace()),
                )
                .attribute(
                    Attribute::string("mode")
                        .optional()
                        .description("The mode.")
                        .validator(one_of(&["a", "b"])),
                )
                .attribute(Attribute::string("secret").computed().sensitive().description("A secret."))
                .attribute(
                    Attribute::nested(
                        "nodes",
                        Nesting::List,
                        vec![Attribute::string("address").required().description("IP.")],
                    )
                    .required()
                    .description("Nodes."),
                ),
        );
        let page = Page {
            kind: PageKind::Resource,
            name: "ex_thing",
            provider: "ex",
            schema: &schema,
            examples: vec!["resource \"ex_thing\" \"a\" {}\n".into()],
            import: Some("terraform import ex_thing.a id".into()),
            notes: None,
        };
        let md = render(&page);
        assert!(md.contains("page_title: \"ex_thing Resource - ex\""), "{md}");
        assert!(md.contains("description: |-\n  Manages a thing.\n---"), "{md}");
        assert!(md.contains("# ex_thing (Resource)"), "{md}");
        assert!(
            md.contains("- `name` (String) The name. Changing this forces a new resource to be created."),
            "{md}"
        );
        assert!(md.contains("- `mode` (String) The mode. One of `a`, `b`."), "{md}");
        assert!(md.contains("### Read-Only\n\n- `secret` (String, Sensitive) A secret."), "{md}");
        assert!(
            md.contains("### Nested Schema for `nodes`\n\n### Required\n\n- `address` (String) IP."),
            "{md}"
        );
        assert!(md.contains("```shell\nterraform import ex_thing.a id\n```"), "{md}");
        assert_eq!(page_path(PageKind::Resource, "ex", "ex_thing"), "resources/thing.md");
    }
}
