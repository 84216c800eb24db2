//! The cluster's `access` object as the other resources' imports take it: written to a file
//! named in the import ID, and passed unmarked on terraform 1.0 so that an empty plan after the
//! import still proves the imported `cluster` equals the configured one.

use std::path::Path;

use acceptance::step::ImportStep;
use acceptance::terraform::Terraform;
use acceptance::{CheckError, State, Step};

/// The access of the dev cluster, as the configurations pass it to pools, add-ons and manifests.
const DEV_ACCESS: &str = "cloudtemple_kubernetes_cluster.dev.access";

/// Writes the `access` of the cluster resource at `cluster` to `dir/access.json` and returns
/// `<head>,access=<that file>`, the import ID of an object `head` of that cluster.
pub(crate) fn import_id(state: &State, cluster: &str, dir: &Path, head: &str) -> Result<String, CheckError> {
    let access = state
        .resource(cluster)
        .and_then(|r| r.values.get("access").cloned())
        .ok_or_else(|| format!("{cluster} has no access in state"))?;
    let path = dir.join("access.json");
    std::fs::write(&path, access.to_string())?;
    Ok(format!("{head},access={}", path.display()))
}

/// The import of `address` (with the ID `id` gives) into a fresh directory, keeping the other
/// resources of the configuration.
///
/// Terraform 1.0 records no sensitivity marks for an imported object, and its plan calls adding
/// a mark an update ("The value is unchanged"). There the configuration is `config` with the
/// `cluster` argument of the imported resource (the text `cluster_line`, which names
/// `cloudtemple_kubernetes_cluster.dev.access`) passed through `nonsensitive`, and `cluster` is
/// left out of the comparison: the empty plan still proves the imported value equals the
/// configured one. Newer terraform compares it.
///
/// # Panics
/// When `config` lacks `cluster_line`: the variant would be the same configuration.
pub(crate) fn import_with_access<'a>(
    tf: &Terraform,
    address: &str,
    config: &str,
    cluster_line: &str,
    id: impl Fn(&State) -> Result<String, CheckError> + 'a,
) -> ImportStep<'a> {
    let step = Step::import(address).keep_other_resources().id_with(id);
    if tf.version().major == 1 && tf.version().minor < 1 {
        assert!(config.contains(cluster_line), "the configuration has no {cluster_line:?}");
        let unmarked = cluster_line.replace(DEV_ACCESS, &format!("nonsensitive({DEV_ACCESS})"));
        step.config(config.replace(cluster_line, &unmarked)).ignore(&["cluster"])
    } else {
        step
    }
}
