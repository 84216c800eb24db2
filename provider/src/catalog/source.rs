//! Provenance: every fact in the catalog files says where it comes from (a URL) and what that
//! page states, so a reviewer can check it and a maintainer knows what to re-read when
//! upstream moves.

use serde::Deserialize;

/// One public source backing a catalog fact.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Where the fact can be read (an `https://` address).
    pub url: String,
    /// What that page states, paraphrased, as of the catalog's `as_of` date.
    pub states: String,
}

/// The sources of one fact: the files write a single `{url, states}` mapping or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sources(pub Vec<Source>);

impl Sources {
    /// The individual sources, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Source> {
        self.0.iter()
    }

    /// Why these sources do not back a fact, or `None` when they do: at least one source, each
    /// with an `https://` URL and a non-empty statement.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.0.is_empty() {
            return Some("no source given".to_owned());
        }
        self.0.iter().find_map(|source| {
            if !source.url.starts_with("https://") || source.url.trim().len() <= "https://".len() {
                Some(format!("source url `{}` is not an https:// address", source.url))
            } else if source.states.trim().is_empty() {
                Some(format!("source `{}` does not say what it states", source.url))
            } else {
                None
            }
        })
    }
}

impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(Source),
            Many(Vec<Source>),
        }
        Ok(match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(source) => Self(vec![source]),
            OneOrMany::Many(sources) => Self(sources),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_or_many() {
        let one: Sources = serde_norway::from_str("url: https://a.example\nstates: x").unwrap();
        assert_eq!(one.0.len(), 1);
        let many: Sources = serde_norway::from_str(
            "- {url: https://a.example, states: x}\n- {url: https://b.example, states: y}",
        )
        .unwrap();
        assert_eq!(many.0.len(), 2);
    }

    #[test]
    fn flags_missing_or_empty_provenance() {
        let problem = |yaml: &str| serde_norway::from_str::<Sources>(yaml).unwrap().problem();
        assert!(problem("[]").is_some());
        assert!(problem("{url: 'http://plain.example', states: x}").is_some());
        assert!(problem("{url: 'https://', states: x}").is_some());
        assert!(problem("{url: 'https://a.example', states: '  '}").is_some());
        assert!(problem("{url: 'https://a.example', states: says something}").is_none());
    }
}
