//! A typed view of `terraform show -json <planfile>` (format 0.2 on terraform 1.0.x, 1.x later).
//!
//! A plan lists one `resource_changes` entry per resource instance, no-ops included, and one
//! `output_changes` entry per root output. Unknown values are absent from `after` and marked `true`
//! in `after_unknown`; sensitive ones are shown in clear and marked in `after_sensitive`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::path::AttrPath;
use crate::state::{Mode, State, Values};

/// The plan document.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Plan {
    /// `0.2` on terraform 1.0.x, `1.x` on later versions.
    pub format_version: String,
    /// The terraform that made the plan.
    #[serde(default)]
    pub terraform_version: Option<String>,
    /// What the state will look like after apply, unknowns left out.
    #[serde(default)]
    pub planned_values: Option<Values>,
    /// One entry per resource instance in the plan.
    #[serde(default)]
    pub resource_changes: Vec<ResourceChange>,
    /// Changes noticed by refresh outside terraform (terraform 1.0.x prints them too).
    #[serde(default)]
    pub resource_drift: Vec<ResourceChange>,
    /// One entry per root module output.
    #[serde(default)]
    pub output_changes: BTreeMap<String, Change>,
    /// The state the plan was made from.
    #[serde(default)]
    pub prior_state: Option<State>,
}

/// The planned change of one resource instance.
#[derive(Clone, Debug, Deserialize)]
pub struct ResourceChange {
    /// Full address.
    pub address: String,
    /// Module part of the address, absent for the root module.
    #[serde(default)]
    pub module_address: Option<String>,
    /// Managed or data.
    pub mode: Mode,
    /// The resource type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The name in configuration.
    pub name: String,
    /// The `count` or `for_each` key, if any.
    #[serde(default)]
    pub index: Option<Value>,
    /// The provider's full source address.
    pub provider_name: String,
    /// Set for a deposed instance.
    #[serde(default)]
    pub deposed: Option<String>,
    /// The change itself.
    pub change: Change,
    /// Why terraform replaces it (terraform 1.1+ only), e.g. `replace_because_cannot_update`.
    #[serde(default)]
    pub action_reason: Option<String>,
}

/// One planned action; a change lists one or two of them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum Action {
    /// Nothing to do.
    NoOp,
    /// Create.
    Create,
    /// Read a data source.
    Read,
    /// Update in place.
    Update,
    /// Delete.
    Delete,
    /// Something a newer terraform added (`forget`, ...), kept verbatim.
    Other(String),
}

impl From<String> for Action {
    fn from(text: String) -> Self {
        match text.as_str() {
            "no-op" => Self::NoOp,
            "create" => Self::Create,
            "read" => Self::Read,
            "update" => Self::Update,
            "delete" => Self::Delete,
            _ => Self::Other(text),
        }
    }
}

impl Action {
    /// The spelling in the JSON format.
    pub fn as_str(&self) -> &str {
        match self {
            Self::NoOp => "no-op",
            Self::Create => "create",
            Self::Read => "read",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Other(text) => text,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Before and after of a resource or output change, with the unknown and sensitive masks.
#[derive(Clone, Debug, Deserialize)]
pub struct Change {
    /// `["create"]`, `["update"]`, `["delete","create"]`, `["create","delete"]`, `["no-op"]`, ...
    pub actions: Vec<Action>,
    /// The prior value (null on create).
    #[serde(default)]
    pub before: Value,
    /// The planned value, unknown parts left out (null on delete).
    #[serde(default)]
    pub after: Value,
    /// `true` where the planned value is unknown ("known after apply"); an object or list mask.
    #[serde(default)]
    pub after_unknown: Value,
    /// Sensitivity mask of `before`.
    #[serde(default)]
    pub before_sensitive: Value,
    /// Sensitivity mask of `after`.
    #[serde(default)]
    pub after_sensitive: Value,
}

/// What a plan says about one attribute after apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Planned<'p> {
    /// Known now, with this value (possibly null).
    Known(&'p Value),
    /// Only known after apply.
    Unknown,
    /// Neither in `after` nor marked unknown: the path does not exist.
    Absent,
}

impl Change {
    /// The actions as strings, for comparisons and messages.
    pub fn action_names(&self) -> Vec<&str> {
        self.actions.iter().map(Action::as_str).collect()
    }

    /// True for `["no-op"]` (and for no actions at all).
    pub fn is_no_op(&self) -> bool {
        self.actions.iter().all(|action| *action == Action::NoOp)
    }

    /// The planned value at `path`.
    pub fn planned(&self, path: &str) -> Result<Planned<'_>, Error> {
        let path = AttrPath::parse(path)?;
        if path.is_marked(&self.after_unknown) {
            return Ok(Planned::Unknown);
        }
        Ok(path.get(&self.after).map_or(Planned::Absent, Planned::Known))
    }

    /// Whether the planned value at `path` (or a parent) is sensitive.
    pub fn is_sensitive_after(&self, path: &str) -> Result<bool, Error> {
        Ok(AttrPath::parse(path)?.is_marked(&self.after_sensitive))
    }
}

impl Plan {
    /// Parses the output of `terraform show -json <planfile>`.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The change of the (current, not deposed) instance at `address`.
    pub fn change(&self, address: &str) -> Option<&ResourceChange> {
        self.resource_changes.iter().find(|change| change.address == address && change.deposed.is_none())
    }

    /// The change of the output named `name`.
    pub fn output_change(&self, name: &str) -> Option<&Change> {
        self.output_changes.get(name)
    }

    /// True when every resource and output change is a no-op: `plan -detailed-exitcode` exits 0.
    pub fn is_empty(&self) -> bool {
        self.resource_changes.iter().all(|change| change.change.is_no_op())
            && self.output_changes.values().all(Change::is_no_op)
    }

    /// `address: [actions]` for each change that is not a no-op, for messages.
    pub fn summary(&self) -> Vec<String> {
        let resources = self
            .resource_changes
            .iter()
            .filter(|change| !change.change.is_no_op())
            .map(|change| format!("{}: {:?}", change.address, change.change.action_names()));
        let outputs = self
            .output_changes
            .iter()
            .filter(|(_, change)| !change.is_no_op())
            .map(|(name, change)| format!("output.{name}: {:?}", change.action_names()));
        resources.chain(outputs).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Shaped after terraform 1.0.3: a create with unknown computed attributes and a sensitive one,
    /// an in-place update, a replacement, a no-op, and output changes.
    const PLAN_1_0_3: &str = r#"{
      "format_version": "0.2",
      "terraform_version": "1.0.3",
      "planned_values": {
        "outputs": {"api": {"sensitive": false}},
        "root_module": {"resources": [{
          "address": "tfexample_thing.new", "mode": "managed", "type": "tfexample_thing",
          "name": "new", "provider_name": "example.com/test/tfexample", "schema_version": 0,
          "values": {"name": "n", "password": "p", "tags": ["a"]},
          "sensitive_values": {"password": true, "tags": [false]}
        }]}
      },
      "resource_changes": [
        {
          "address": "tfexample_thing.new", "mode": "managed", "type": "tfexample_thing",
          "name": "new", "provider_name": "example.com/test/tfexample",
          "change": {
            "actions": ["create"],
            "before": null,
            "after": {"name": "n", "password": "p", "tags": ["a"], "nodes": [{"address": "x"}]},
            "after_unknown": {"id": true, "status": true, "tags": [false], "nodes": [{"ready": true}]},
            "before_sensitive": false,
            "after_sensitive": {"password": true, "tags": [false], "nodes": [{}]}
          }
        },
        {
          "address": "tfexample_thing.upd", "mode": "managed", "type": "tfexample_thing",
          "name": "upd", "provider_name": "example.com/test/tfexample",
          "change": {
            "actions": ["update"],
            "before": {"id": "u", "name": "old"},
            "after": {"id": "u", "name": "new"},
            "after_unknown": {},
            "before_sensitive": {},
            "after_sensitive": {}
          }
        },
        {
          "address": "tfexample_thing.rep[1]", "mode": "managed", "type": "tfexample_thing",
          "name": "rep", "index": 1, "provider_name": "example.com/test/tfexample",
          "change": {
            "actions": ["delete", "create"],
            "before": {"id": "r", "zone": "az05"},
            "after": {"zone": "az06"},
            "after_unknown": {"id": true},
            "before_sensitive": {},
            "after_sensitive": {}
          }
        },
        {
          "address": "tfexample_thing.same", "mode": "managed", "type": "tfexample_thing",
          "name": "same", "provider_name": "example.com/test/tfexample",
          "change": {
            "actions": ["no-op"],
            "before": {"id": "s"}, "after": {"id": "s"},
            "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}
          }
        }
      ],
      "output_changes": {
        "api": {"actions": ["create"], "before": null, "after_unknown": true,
                "before_sensitive": false, "after_sensitive": false},
        "kept": {"actions": ["no-op"], "before": "k", "after": "k", "after_unknown": false,
                 "before_sensitive": false, "after_sensitive": false}
      },
      "prior_state": {"format_version": "0.2", "terraform_version": "1.0.3",
                      "values": {"root_module": {}}}
    }"#;

    /// Shaped after terraform 1.11: format 1.2, action_reason, extra top-level fields.
    const PLAN_1_11: &str = r#"{
      "format_version": "1.2",
      "terraform_version": "1.11.4",
      "planned_values": {"root_module": {}},
      "resource_changes": [
        {
          "address": "module.m.tfexample_thing.a", "module_address": "module.m",
          "mode": "managed", "type": "tfexample_thing", "name": "a",
          "provider_name": "example.com/test/tfexample",
          "change": {
            "actions": ["create", "delete"],
            "before": {"id": "a"}, "after": {"secret": "s"},
            "after_unknown": {"id": true},
            "before_sensitive": {"secret": true}, "after_sensitive": {"secret": true},
            "replace_paths": [["zone"]]
          },
          "action_reason": "replace_because_cannot_update"
        },
        {
          "address": "module.m.tfexample_thing.gone", "module_address": "module.m",
          "mode": "managed", "type": "tfexample_thing", "name": "gone",
          "provider_name": "example.com/test/tfexample",
          "change": {"actions": ["forget"], "before": {"id": "g"}, "after": null,
                     "after_unknown": {}, "before_sensitive": {}, "after_sensitive": false}
        }
      ],
      "relevant_attributes": [],
      "timestamp": "2026-01-01T00:00:00Z",
      "applyable": true,
      "complete": true,
      "errored": false
    }"#;

    #[test]
    fn reads_actions_of_a_1_0_3_plan() {
        let plan = Plan::from_json(PLAN_1_0_3).unwrap();
        assert_eq!(plan.format_version, "0.2");
        let actions = |address: &str| plan.change(address).unwrap().change.action_names();
        assert_eq!(actions("tfexample_thing.new"), ["create"]);
        assert_eq!(actions("tfexample_thing.upd"), ["update"]);
        assert_eq!(actions("tfexample_thing.rep[1]"), ["delete", "create"]);
        assert_eq!(actions("tfexample_thing.same"), ["no-op"]);
        assert!(plan.change("tfexample_thing.absent").is_none());
        assert_eq!(plan.change("tfexample_thing.rep[1]").unwrap().index, Some(json!(1)));
        assert!(!plan.is_empty());
        assert_eq!(
            plan.summary(),
            [
                "tfexample_thing.new: [\"create\"]",
                "tfexample_thing.upd: [\"update\"]",
                "tfexample_thing.rep[1]: [\"delete\", \"create\"]",
                "output.api: [\"create\"]"
            ]
        );
    }

    #[test]
    fn reads_unknown_and_sensitive_planned_values() {
        let plan = Plan::from_json(PLAN_1_0_3).unwrap();
        let new = &plan.change("tfexample_thing.new").unwrap().change;
        assert_eq!(new.planned("id").unwrap(), Planned::Unknown);
        assert_eq!(new.planned("name").unwrap(), Planned::Known(&json!("n")));
        assert_eq!(new.planned("tags[0]").unwrap(), Planned::Known(&json!("a")));
        assert_eq!(new.planned("nodes[0].ready").unwrap(), Planned::Unknown);
        assert_eq!(new.planned("nodes[0].address").unwrap(), Planned::Known(&json!("x")));
        assert_eq!(new.planned("missing").unwrap(), Planned::Absent);
        assert!(new.is_sensitive_after("password").unwrap());
        assert!(!new.is_sensitive_after("name").unwrap());

        let api = plan.output_change("api").unwrap();
        assert_eq!(api.planned("").unwrap(), Planned::Unknown);
        assert!(plan.output_change("kept").unwrap().is_no_op());

        let planned = plan.planned_values.as_ref().unwrap();
        assert!(planned.outputs["api"].value.is_null());
        assert_eq!(planned.root_module.resources[0].address, "tfexample_thing.new");
        assert!(plan.prior_state.unwrap().resources().is_empty());
    }

    #[test]
    fn reads_a_1_11_plan_with_newer_fields() {
        let plan = Plan::from_json(PLAN_1_11).unwrap();
        let a = plan.change("module.m.tfexample_thing.a").unwrap();
        assert_eq!(a.change.actions, [Action::Create, Action::Delete]);
        assert_eq!(a.module_address.as_deref(), Some("module.m"));
        assert_eq!(a.action_reason.as_deref(), Some("replace_because_cannot_update"));
        assert!(a.change.is_sensitive_after("secret").unwrap());
        let gone = plan.change("module.m.tfexample_thing.gone").unwrap();
        assert_eq!(gone.change.actions, [Action::Other("forget".to_owned())]);
        assert_eq!(gone.change.action_names(), ["forget"]);
        assert!(!plan.is_empty());
    }

    #[test]
    fn an_all_no_op_plan_is_empty() {
        let plan = Plan::from_json(
            r#"{"format_version":"0.2","terraform_version":"1.0.3",
                "planned_values":{"root_module":{}},
                "resource_changes":[{"address":"x.y","mode":"managed","type":"x","name":"y",
                  "provider_name":"p/q/x","change":{"actions":["no-op"],"before":{},"after":{},
                  "after_unknown":{},"before_sensitive":{},"after_sensitive":{}}}],
                "output_changes":{"o":{"actions":["no-op"],"before":1,"after":1,
                  "after_unknown":false,"before_sensitive":false,"after_sensitive":false}}}"#,
        )
        .unwrap();
        assert!(plan.is_empty());
        assert!(plan.summary().is_empty());
        let bare = Plan::from_json(r#"{"format_version":"1.2"}"#).unwrap();
        assert!(bare.is_empty());
    }
}
