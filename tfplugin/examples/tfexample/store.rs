//! The example's backend: one JSON file per object in a directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tfplugin::Diagnostic;

/// Where objects live; set by `configure`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Store(Arc<OnceLock<PathBuf>>);

impl Store {
    pub(crate) fn set_dir(&self, dir: PathBuf) {
        let _ = self.0.set(dir);
    }

    fn dir(&self) -> Result<&Path, Diagnostic> {
        self.0.get().map(PathBuf::as_path).ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "Set store_dir in the provider block or TFEXAMPLE_STORE_DIR.",
            )
        })
    }

    fn file(&self, kind: &str, id: &str) -> Result<PathBuf, Diagnostic> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(Diagnostic::error("Invalid ID", format!("{id:?} is not a valid {kind} ID.")));
        }
        Ok(self.dir()?.join(format!("{kind}-{id}.json")))
    }

    pub(crate) fn put(&self, kind: &str, id: &str, doc: &serde_json::Value) -> Result<(), Diagnostic> {
        let path = self.file(kind, id)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, doc.to_string())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| Diagnostic::error("Write failed", format!("{}: {e}", path.display())))
    }

    pub(crate) fn get(&self, kind: &str, id: &str) -> Result<Option<serde_json::Value>, Diagnostic> {
        let path = self.file(kind, id)?;
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Diagnostic::error("Corrupt object", format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Diagnostic::error("Read failed", format!("{}: {e}", path.display()))),
        }
    }

    pub(crate) fn delete(&self, kind: &str, id: &str) -> Result<(), Diagnostic> {
        let path = self.file(kind, id)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Diagnostic::error("Delete failed", format!("{}: {e}", path.display()))),
        }
    }

    pub(crate) fn list(&self, kind: &str) -> Result<Vec<serde_json::Value>, Diagnostic> {
        let dir = self.dir()?;
        let prefix = format!("{kind}-");
        let mut out = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| Diagnostic::error("List failed", e.to_string()))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix) && n.ends_with(".json"))
            .collect();
        names.sort();
        for n in names {
            let id = &n[prefix.len()..n.len() - 5];
            if let Some(doc) = self.get(kind, id)? {
                out.push(doc);
            }
        }
        Ok(out)
    }

    /// A new random-enough ID (no extra dependency for a demo).
    pub(crate) fn new_id() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{:x}{:x}", nanos, std::process::id())
    }
}
