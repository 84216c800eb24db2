//! Semantic comparison of JSON and YAML documents, so that two texts meaning the same never
//! produce a diff (the perpetual-diff complaint users of peer providers file most often).

/// Parses every document of a YAML stream into JSON values (an empty stream is no documents).
pub fn yaml_documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        let value = serde_json::Value::deserialize(doc).map_err(|e| e.to_string())?;
        // A `---` separator followed by nothing parses as null; it is not a document.
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// Whether two JSON texts parse to equal values (`false` when either is not JSON).
pub fn json_equal(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<serde_json::Value>(a), serde_json::from_str::<serde_json::Value>(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Whether two YAML streams parse to equal documents (`false` when either is not YAML).
pub fn yaml_equal(a: &str, b: &str) -> bool {
    match (yaml_documents(a), yaml_documents(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Compact JSON with sorted keys: one canonical text per meaning.
pub fn canonical_json(text: &str) -> Result<String, serde_json::Error> {
    // serde_json's default map is ordered by key, so re-serialising sorts keys.
    let value: serde_json::Value = serde_json::from_str(text)?;
    serde_json::to_string(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_equality_is_semantic() {
        assert!(json_equal("{\"a\": [1, 2], \"b\": null}", "{\"b\":null,\"a\":[1,2]}"));
        assert!(!json_equal("{\"a\": [1, 2]}", "{\"a\": [2, 1]}"));
        assert!(!json_equal("{", "{"));
        assert_eq!(
            canonical_json("{ \"z\": 1, \"a\": {\"y\": 2, \"b\": 3} }").unwrap(),
            "{\"a\":{\"b\":3,\"y\":2},\"z\":1}"
        );
    }

    #[test]
    fn yaml_streams_compare_document_by_document() {
        assert!(yaml_equal("a: 1\n---\nb: 2\n", "a: 1\n---\n# c\nb: 2\n---\n"));
        assert!(!yaml_equal("a: 1\n---\nb: 2\n", "b: 2\n---\na: 1\n"));
        assert_eq!(yaml_documents("").unwrap().len(), 0);
        assert!(yaml_documents("a: [").is_err());
    }
}
