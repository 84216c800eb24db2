//! Conversions between our types and the generated protobuf types. Together with `grpc.rs` this
//! is the only code that names `ct_proto::tfplugin6`.

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::path::{AttributePath, PathStep};
use crate::schema::{Attribute, AttributeType, Block, NestedBlock, Nesting, Presence, Schema};
use crate::value::{Type, Value, json, msgpack};
use ct_proto::tfplugin6 as pb;

/// A schema as Terraform receives it.
pub(crate) fn schema(s: &Schema) -> pb::Schema {
    pb::Schema { version: s.version, block: Some(block(&s.block, s.version)) }
}

fn block(b: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: b.attributes.iter().map(attribute).collect(),
        block_types: b.blocks.iter().map(nested_block).collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: b.deprecated,
    }
}

fn attribute(a: &Attribute) -> pb::schema::Attribute {
    // Exactly one of `type` and `nested_type`: Terraform 1.0.3 panics when both are set.
    let (ty, nested_type) = match &a.ty {
        AttributeType::Type(t) => (t.to_json_bytes(), None),
        AttributeType::Nested { nesting, attributes } => (
            Vec::new(),
            Some(pb::schema::Object {
                attributes: attributes.iter().map(attribute).collect(),
                nesting: object_nesting(*nesting) as i32,
                ..Default::default()
            }),
        ),
    };
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description: a.description.clone(),
        required: a.presence == Presence::Required,
        optional: matches!(a.presence, Presence::Optional | Presence::OptionalComputed),
        computed: a.presence.is_computed(),
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: a.deprecation.is_some(),
        write_only: false,
    }
}

fn object_nesting(n: Nesting) -> pb::schema::object::NestingMode {
    use pb::schema::object::NestingMode as M;
    match n {
        Nesting::Single | Nesting::Group => M::Single,
        Nesting::List => M::List,
        Nesting::Set => M::Set,
        Nesting::Map => M::Map,
    }
}

fn nested_block(b: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode as M;
    let nesting = match b.nesting {
        Nesting::Single => M::Single,
        Nesting::Group => M::Group,
        Nesting::List => M::List,
        Nesting::Set => M::Set,
        Nesting::Map => M::Map,
    };
    pb::schema::NestedBlock {
        type_name: b.name.clone(),
        block: Some(block(&b.block, 0)),
        nesting: nesting as i32,
        min_items: b.min_items,
        max_items: b.max_items,
    }
}

/// An attribute path for Terraform.
pub(crate) fn path_to_pb(p: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .steps()
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attribute(n) => Selector::AttributeName(n.clone()),
                    PathStep::ElementKeyString(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::ElementKeyInt(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

/// Diagnostics for Terraform.
pub(crate) fn diagnostics(d: &Diagnostics) -> Vec<pb::Diagnostic> {
    d.iter().map(diagnostic).collect()
}

fn diagnostic(d: &Diagnostic) -> pb::Diagnostic {
    // Terraform points at the configuration line of a path only through nested blocks; inside a
    // nested attribute (`nodes[1].address`) it shows the whole resource. Naming the path in the
    // text tells the user which element is meant.
    let detail = match &d.attribute {
        Some(p) if p.steps().len() > 1 && !d.detail.contains(&p.to_string()) => {
            format!("{}\n\nAttribute: {p}", d.detail)
        }
        _ => d.detail.clone(),
    };
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error as i32,
            Severity::Warning => pb::diagnostic::Severity::Warning as i32,
        },
        summary: d.summary.clone(),
        detail,
        attribute: d.attribute.as_ref().filter(|p| !p.steps().is_empty()).map(path_to_pb),
    }
}

/// Decodes a `DynamicValue` against a type: msgpack when present, else JSON, else null.
pub(crate) fn decode(v: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
    let Some(v) = v else { return Ok(Value::Null) };
    let decoded = if !v.msgpack.is_empty() {
        msgpack::decode(&v.msgpack, ty).map_err(|e| e.to_string())
    } else if !v.json.is_empty() {
        json::decode(&v.json, ty).map_err(|e| e.to_string())
    } else {
        Ok(Value::Null)
    };
    decoded.map_err(|e| {
        Diagnostic::error(
            "Invalid value from Terraform",
            format!("The provider could not decode the {what}: {e}. This is a bug in the provider or an incompatible Terraform version."),
        )
    })
}

/// Encodes a value as msgpack against a type.
pub(crate) fn encode(v: &Value, ty: &Type, what: &str) -> Result<pb::DynamicValue, Diagnostic> {
    let conformed = v.clone().conform(ty).map_err(|e| encode_error(what, &e.to_string()))?;
    let bytes = msgpack::encode(&conformed, ty).map_err(|e| encode_error(what, &e.to_string()))?;
    Ok(pb::DynamicValue { msgpack: bytes, json: Vec::new() })
}

fn encode_error(what: &str, e: &str) -> Diagnostic {
    Diagnostic::error(
        "Provider produced a value it cannot encode",
        format!("The {what} does not match the schema: {e}. This is a bug in the provider."),
    )
}

/// The msgpack encoding of null, for "no object".
pub(crate) fn null_value() -> pb::DynamicValue {
    pb::DynamicValue { msgpack: vec![0xc0], json: Vec::new() }
}
