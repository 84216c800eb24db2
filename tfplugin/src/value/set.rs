//! Set semantics over the `Vec` a [`Value::Set`] keeps: de-duplication and order-free equality.
//!
//! Elements have no hash or order in general (they may be objects holding unknowns), so the
//! general case compares pairwise. Sets of primitives, by far the most common (zones, addresses,
//! names), take a hashing fast path so that large sets stay linear.

use std::collections::{HashMap, HashSet};

use super::{Number, Value};

/// A hashable view of a primitive, null or unknown element.
#[derive(PartialEq, Eq, Hash)]
enum Key<'a> {
    Null,
    Unknown,
    Bool(bool),
    Number(&'a Number),
    String(&'a str),
}

fn key(v: &Value) -> Option<Key<'_>> {
    match v {
        Value::Null => Some(Key::Null),
        Value::Unknown => Some(Key::Unknown),
        Value::Bool(b) => Some(Key::Bool(*b)),
        Value::Number(n) => Some(Key::Number(n)),
        Value::String(s) => Some(Key::String(s)),
        _ => None,
    }
}

/// Drops later duplicates, keeping the order of first occurrences.
pub(crate) fn dedup(items: Vec<Value>) -> Vec<Value> {
    if items.iter().all(|v| key(v).is_some()) {
        let mut seen = HashSet::with_capacity(items.len());
        let keep: Vec<bool> = items.iter().map(|v| key(v).is_some_and(|k| seen.insert(k))).collect();
        return items.into_iter().zip(keep).filter_map(|(v, keep)| keep.then_some(v)).collect();
    }
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Multiset equality: every element of `a` pairs with a distinct equal element of `b`.
pub(crate) fn same_elements(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if let (Some(ka), Some(kb)) = (counts(a), counts(b)) {
        return ka == kb;
    }
    let mut used = vec![false; b.len()];
    a.iter().all(|x| match (0..b.len()).find(|&j| !used[j] && b[j] == *x) {
        Some(j) => {
            used[j] = true;
            true
        }
        None => false,
    })
}

fn counts(items: &[Value]) -> Option<HashMap<Key<'_>, usize>> {
    let mut counts = HashMap::with_capacity(items.len());
    for item in items {
        *counts.entry(key(item)?).or_insert(0) += 1;
    }
    Some(counts)
}
