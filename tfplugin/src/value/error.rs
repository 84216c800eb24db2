//! Errors of the value model: type mismatches, malformed wire data, bad numbers.
//!
//! Every error carries the [`AttributePath`] of the part of the value it is about, so the server
//! can turn it into a Terraform diagnostic pointing at the attribute.

use std::fmt;

use crate::path::{AttributePath, PathStep};

/// Why a value could not be encoded, decoded, converted or (de)serialized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The value (or the wire data) does not have the shape the type asks for.
    #[error("{}{expected} required, but have {found}", at(.path))]
    TypeMismatch {
        /// Where.
        path: AttributePath,
        /// The required type, in [`crate::value::Type`]'s display form.
        expected: String,
        /// What was there instead.
        found: String,
    },
    /// An object has an attribute its type does not declare.
    #[error("{}unsupported attribute {name:?}", at(.path))]
    UnsupportedAttribute {
        /// The object's path.
        path: AttributePath,
        /// The undeclared attribute.
        name: String,
    },
    /// A msgpack object does not carry exactly the attributes of its type.
    #[error("{}an object with {expected} attributes is required ({found} given)", at(.path))]
    AttributeCount {
        /// The object's path.
        path: AttributePath,
        /// Attributes in the type.
        expected: usize,
        /// Attributes on the wire.
        found: usize,
    },
    /// A tuple has the wrong number of elements.
    #[error("{}a tuple of length {expected} is required ({found} given)", at(.path))]
    TupleLength {
        /// The tuple's path.
        path: AttributePath,
        /// Elements in the type.
        expected: usize,
        /// Elements given.
        found: usize,
    },
    /// An unknown value where only known values can go (JSON, typed fields that are not `Tri`).
    #[error("{}value is not yet known", at(.path))]
    NotKnown {
        /// Where.
        path: AttributePath,
    },
    /// Text that is not a decimal number, or one out of the supported range.
    #[error("{}invalid number {}: {reason}", at(.path), Snippet(.text))]
    InvalidNumber {
        /// Where.
        path: AttributePath,
        /// The offending text.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A type description (cty type JSON) that cannot be read.
    #[error("{}invalid type description: {message}", at(.path))]
    InvalidType {
        /// Where the description was found (root for a standalone one).
        path: AttributePath,
        /// What is wrong.
        message: String,
    },
    /// Bytes that are not well-formed msgpack.
    #[error("{}malformed msgpack: {message}", at(.path))]
    Msgpack {
        /// Where decoding stopped.
        path: AttributePath,
        /// What is wrong.
        message: String,
    },
    /// Bytes that are not well-formed JSON.
    #[error("{}malformed JSON: {message}", at(.path))]
    Json {
        /// Where decoding stopped.
        path: AttributePath,
        /// What is wrong.
        message: String,
    },
    /// Anything else, notably errors raised by serde `Deserialize`/`Serialize` implementations.
    #[error("{}{message}", at(.path))]
    Custom {
        /// Where.
        path: AttributePath,
        /// What is wrong.
        message: String,
    },
}

impl ValueError {
    /// A free-form error at `path`.
    pub fn custom(path: AttributePath, message: impl fmt::Display) -> Self {
        Self::Custom { path, message: message.to_string() }
    }

    /// A type mismatch at `path`.
    pub fn mismatch(path: &AttributePath, expected: impl fmt::Display, found: impl fmt::Display) -> Self {
        Self::TypeMismatch { path: path.clone(), expected: expected.to_string(), found: found.to_string() }
    }

    /// The path of the part of the value this error is about (root when it is about the whole).
    pub fn path(&self) -> &AttributePath {
        match self {
            Self::TypeMismatch { path, .. }
            | Self::UnsupportedAttribute { path, .. }
            | Self::AttributeCount { path, .. }
            | Self::TupleLength { path, .. }
            | Self::NotKnown { path }
            | Self::InvalidNumber { path, .. }
            | Self::InvalidType { path, .. }
            | Self::Msgpack { path, .. }
            | Self::Json { path, .. }
            | Self::Custom { path, .. } => path,
        }
    }

    fn path_mut(&mut self) -> &mut AttributePath {
        match self {
            Self::TypeMismatch { path, .. }
            | Self::UnsupportedAttribute { path, .. }
            | Self::AttributeCount { path, .. }
            | Self::TupleLength { path, .. }
            | Self::NotKnown { path }
            | Self::InvalidNumber { path, .. }
            | Self::InvalidType { path, .. }
            | Self::Msgpack { path, .. }
            | Self::Json { path, .. }
            | Self::Custom { path, .. } => path,
        }
    }

    /// The message without the path prefix, for diagnostics that carry the path separately.
    pub fn message(&self) -> String {
        let mut bare = self.clone();
        *bare.path_mut() = AttributePath::root();
        bare.to_string()
    }

    /// The same error, moved under `prefix` (the path of the value the failing part sits in).
    #[must_use]
    pub fn under(mut self, prefix: &AttributePath) -> Self {
        let path = self.path_mut();
        let mut steps = prefix.steps().to_vec();
        steps.extend(std::mem::take(path).into_steps());
        *path = AttributePath::new(steps);
        self
    }

    /// The same error with `step` put in front of its path, as it bubbles out of a container.
    #[must_use]
    pub(crate) fn prepend(mut self, step: PathStep) -> Self {
        self.path_mut().prepend(step);
        self
    }
}

impl serde::ser::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::custom(AttributePath::root(), msg)
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::custom(AttributePath::root(), msg)
    }
}

/// The `"path: "` prefix of a message, empty at the root.
fn at(path: &AttributePath) -> String {
    if path.is_root() { String::new() } else { format!("{path}: ") }
}

/// A quoted, length-limited rendering of offending input, so a huge bad number stays readable.
struct Snippet<'a>(&'a str);

impl fmt::Display for Snippet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 64;
        match self.0.char_indices().nth(MAX) {
            Some((cut, _)) => write!(f, "{:?}...", &self.0[..cut]),
            None => write!(f, "{:?}", self.0),
        }
    }
}
