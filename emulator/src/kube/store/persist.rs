//! One JSON file per object in the state directory, written atomically (temp file + rename), so a
//! crash mid-write never leaves a torn object and a restart reloads every object.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ObjectKey;
use crate::kube::error::KubeError;

#[derive(Serialize, Deserialize)]
struct Record {
    key: ObjectKey,
    object: Value,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    #[serde(rename = "resourceVersion")]
    resource_version: u64,
}

const META: &str = "meta.json";

/// The file an object lives in: names may be long or contain `:`, so the key is hashed.
fn object_path(dir: &Path, key: &ObjectKey) -> PathBuf {
    let mut h = Sha256::new();
    for part in [&key.group, &key.resource, &key.namespace, &key.name] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{hex}.json"))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KubeError> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(|source| KubeError::State { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| KubeError::State { path: path.to_owned(), source })
}

/// Writes (or replaces) one object's file and the resourceVersion counter.
pub(super) fn save(dir: &Path, key: &ObjectKey, object: &Value, rv: u64) -> Result<(), KubeError> {
    let rec = Record { key: key.clone(), object: object.clone() };
    let bytes =
        serde_json::to_vec(&rec).map_err(|e| KubeError::CorruptState { path: dir.to_owned(), source: e })?;
    write_atomic(&object_path(dir, key), &bytes)?;
    save_meta(dir, rv)
}

/// Removes one object's file.
pub(super) fn remove(dir: &Path, key: &ObjectKey, rv: u64) -> Result<(), KubeError> {
    let path = object_path(dir, key);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(KubeError::State { path, source }),
    }
    save_meta(dir, rv)
}

fn save_meta(dir: &Path, rv: u64) -> Result<(), KubeError> {
    let bytes = serde_json::to_vec(&Meta { resource_version: rv })
        .map_err(|e| KubeError::CorruptState { path: dir.join(META), source: e })?;
    write_atomic(&dir.join(META), &bytes)
}

/// Loads every object and the last resourceVersion from the directory (created if missing).
pub(super) fn load(dir: &Path) -> Result<(Vec<(ObjectKey, Value)>, u64), KubeError> {
    std::fs::create_dir_all(dir).map_err(|source| KubeError::State { path: dir.to_owned(), source })?;
    let mut objects = Vec::new();
    let mut rv = 0;
    let entries =
        std::fs::read_dir(dir).map_err(|source| KubeError::State { path: dir.to_owned(), source })?;
    for entry in entries {
        let path = entry.map_err(|source| KubeError::State { path: dir.to_owned(), source })?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if name.ends_with(".tmp") {
            // A write that never reached its rename: the previous version is still in place.
            let _ = std::fs::remove_file(&path);
            continue;
        }
        if !name.ends_with(".json") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|source| KubeError::State { path: path.clone(), source })?;
        if name == META {
            let meta: Meta = serde_json::from_slice(&bytes)
                .map_err(|source| KubeError::CorruptState { path: path.clone(), source })?;
            rv = rv.max(meta.resource_version);
            continue;
        }
        let rec: Record = serde_json::from_slice(&bytes)
            .map_err(|source| KubeError::CorruptState { path: path.clone(), source })?;
        rv = rv.max(crate::kube::meta::resource_version(&rec.object));
        objects.push((rec.key, rec.object));
    }
    Ok((objects, rv))
}
