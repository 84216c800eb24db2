//! Tests of the value model: one file per concern, plus property tests in `props`.

mod conform_tests;
mod json_tests;
mod msgpack_tests;
mod number_tests;
mod props;
mod serde_tests;
mod types_tests;
mod value_tests;

use super::Number;

/// A number from text; panics on a typo in a test.
fn num(s: &str) -> Number {
    s.parse().unwrap_or_else(|e| panic!("test number {s:?}: {e}"))
}
