//! Generates `docs/` (registry layout) from the provider's schemas and `examples/`.
//!
//! Examples follow the terraform-plugin-docs layout: `examples/provider/provider.tf`,
//! `examples/resources/<type>/resource*.tf` + `import.sh`, and
//! `examples/data-sources/<type>/data-source*.tf`. The acceptance suite applies every example,
//! so the documentation only ever shows configurations that work.

use crate::provider::CloudTempleProvider;
use std::path::{Path, PathBuf};
use tfplugin::Provider;
use tfplugin::docs::{Page, PageKind, page_path, render};

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A type has no example; every type must show one.
    #[error("{0}: missing example (every type needs one)")]
    MissingExample(PathBuf),
}

fn read_optional(path: &Path) -> Result<Option<String>, DocsError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DocsError::Io { path: path.to_path_buf(), source }),
    }
}

/// Every `<stem>*.tf` in `dir`, sorted, `<stem>.tf` first.
fn examples(dir: &Path, stem: &str) -> Result<Vec<String>, DocsError> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "tf")
                    && p.file_stem().and_then(|s| s.to_str()).is_some_and(|s| s.starts_with(stem))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => return Err(DocsError::Io { path: dir.to_path_buf(), source }),
    };
    files.sort_by_key(|p| (p.file_stem().map(|s| s.len()), p.clone()));
    if files.is_empty() {
        return Err(DocsError::MissingExample(dir.join(format!("{stem}.tf"))));
    }
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).map_err(|source| DocsError::Io { path: p.clone(), source }))
        .collect()
}

/// Every page: its path under `docs/` and its content.
pub fn pages(root: &Path) -> Result<Vec<(String, String)>, DocsError> {
    let p = CloudTempleProvider::new();
    let name = p.name();
    let mut out = Vec::new();
    let ex = root.join("examples");
    let schema = p.schema();
    out.push((
        page_path(PageKind::Provider, name, name),
        render(&Page {
            kind: PageKind::Provider,
            name,
            provider: name,
            schema: &schema,
            examples: examples(&ex.join("provider"), "provider")?,
            import: None,
            notes: None,
        }),
    ));
    for r in p.resources() {
        let dir = ex.join("resources").join(r.type_name());
        let schema = r.schema();
        out.push((
            page_path(PageKind::Resource, name, r.type_name()),
            render(&Page {
                kind: PageKind::Resource,
                name: r.type_name(),
                provider: name,
                schema: &schema,
                examples: examples(&dir, "resource")?,
                import: read_optional(&dir.join("import.sh"))?,
                notes: None,
            }),
        ));
    }
    for d in p.data_sources() {
        let dir = ex.join("data-sources").join(d.type_name());
        let schema = d.schema();
        out.push((
            page_path(PageKind::DataSource, name, d.type_name()),
            render(&Page {
                kind: PageKind::DataSource,
                name: d.type_name(),
                provider: name,
                schema: &schema,
                examples: examples(&dir, "data-source")?,
                import: None,
                notes: None,
            }),
        ));
    }
    Ok(out)
}

/// Writes the pages under `root/docs`, or with `check` only lists the files that are stale.
pub fn generate(root: &Path, check: bool) -> Result<Vec<PathBuf>, DocsError> {
    let mut stale = Vec::new();
    for (rel, content) in pages(root)? {
        let path = root.join("docs").join(rel);
        let content = format!("{content}\n");
        if read_optional(&path)?.as_deref() == Some(content.as_str()) {
            continue;
        }
        stale.push(path.clone());
        if !check {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|source| DocsError::Io { path: dir.to_path_buf(), source })?;
            }
            std::fs::write(&path, content).map_err(|source| DocsError::Io { path, source })?;
        }
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed docs must match the schemas; `make docs` regenerates them.
    #[test]
    fn committed_docs_are_up_to_date() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
        let stale = generate(root, true).expect("docs generation");
        assert!(stale.is_empty(), "stale docs (run `make docs`): {stale:?}");
    }
}
