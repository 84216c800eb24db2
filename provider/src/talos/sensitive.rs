//! A string that holds secret material (key PEM, token, generated kubeconfig) and refuses to
//! print it: `Debug` shows a placeholder, and there is no `Display`. Code that needs the text
//! calls [`Sensitive::expose`], which makes every such use easy to find.

use std::fmt;

/// Secret text. Compare, clone and serialise it freely; printing it shows `<redacted>`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wraps secret text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret text, for writing it where it belongs (Terraform state, a node, a client).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Unwraps the secret text.
    pub fn into_exposed(self) -> String {
        self.0
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive(<redacted>)")
    }
}

impl From<String> for Sensitive {
    fn from(text: String) -> Self {
        Self(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_text() {
        let secret = Sensitive::new("abcdef.0123456789abcdef");
        let shown = format!("{secret:?} {secret:#?}");
        assert!(!shown.contains("abcdef"), "{shown}");
        assert_eq!(secret.expose(), "abcdef.0123456789abcdef");
    }
}
