//! Exact decimal numbers, standing in for cty's arbitrary-precision numbers.
//!
//! Terraform numbers are big floats: `0.1`, `2^70` or a 30-digit id must come back exactly as they
//! were sent, so neither `i64` nor `f64` will do. A [`Number`] is a sign, a decimal coefficient and
//! a power of ten, kept normalised (no leading or trailing zeros) so that equal numbers have equal
//! representations: `1`, `1.0` and `1e0` are the same value, compare equal and hash alike.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::error::ValueError;
use crate::path::AttributePath;

/// Largest decimal exponent (of the leading digit) accepted. Far beyond `f64` and anything
/// Terraform users write, it keeps a hostile `1e999999999` from printing as a gigabyte of zeros.
const MAX_EXPONENT: i64 = 100_000;

/// Significant digits needed to write any `f64` exactly (the longest exact expansion has 767).
const F64_EXACT_DIGITS: usize = 767;

/// An exact, arbitrary-precision decimal number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// ASCII digits of the coefficient, without leading or trailing zeros; empty for zero.
    digits: Vec<u8>,
    /// The power of ten the coefficient is multiplied by.
    exponent: i64,
}

impl Number {
    /// Zero.
    pub fn zero() -> Self {
        Self { negative: false, digits: Vec::new(), exponent: 0 }
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Whether this is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Whether this is a whole number.
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    /// The value as an `i64`, if it is a whole number in range.
    pub fn to_i64(&self) -> Option<i64> {
        let magnitude = self.integer_magnitude()?;
        if self.negative {
            0i64.checked_sub_unsigned(u64::try_from(magnitude).ok()?)
        } else {
            i64::try_from(magnitude).ok()
        }
    }

    /// The value as a `u64`, if it is a whole non-negative number in range.
    pub fn to_u64(&self) -> Option<u64> {
        if self.negative {
            return None;
        }
        u64::try_from(self.integer_magnitude()?).ok()
    }

    /// The value as an `i128`, if it is a whole number in range.
    pub fn to_i128(&self) -> Option<i128> {
        let magnitude = self.integer_magnitude()?;
        match i128::try_from(magnitude) {
            Ok(m) if self.negative => Some(-m),
            Ok(m) => Some(m),
            Err(_) if self.negative && magnitude == i128::MIN.unsigned_abs() => Some(i128::MIN),
            Err(_) => None,
        }
    }

    /// The nearest `f64` (correctly rounded; infinite when out of range).
    pub fn to_f64(&self) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        let sign = if self.negative { "-" } else { "" };
        let digits = std::str::from_utf8(&self.digits).unwrap_or("0");
        // Rust's float parser rounds correctly for any number of digits.
        format!("{sign}{digits}e{}", self.exponent).parse().unwrap_or(f64::NAN)
    }

    /// The `f64` with exactly this value, if there is one. This is cty's test for sending a
    /// number as a msgpack float64 rather than as a string.
    pub fn to_f64_exact(&self) -> Option<f64> {
        if self.is_zero() {
            return Some(0.0);
        }
        // A fraction is a binary fraction only if its coefficient is a multiple of 5; with no
        // trailing zeros that means it ends in 5. This rejects 0.1-like values without formatting.
        if (self.exponent < 0 && self.digits.last() != Some(&b'5')) || self.digits.len() > F64_EXACT_DIGITS {
            return None;
        }
        let f = self.to_f64();
        (f.is_finite() && Self::from_f64_exact(f).as_ref() == Some(self)).then_some(f)
    }

    /// The exact value of a finite `f64` (0.1 becomes 0.1000000000000000055511151231257827…).
    ///
    /// This is what a float64 on the wire means; use [`Number::try_from`] for the shortest decimal
    /// that reads back as the same `f64`, which is what people mean when they write `0.1`.
    pub fn from_f64_exact(f: f64) -> Option<Self> {
        if !f.is_finite() {
            return None;
        }
        // Formatting with an explicit precision is exact in Rust, not shortest-round-trip.
        let text = format!("{f:.F64_EXACT_DIGITS$e}");
        Self::parse(&text).ok()
    }

    /// Parses decimal or exponent notation: `-12`, `0.5`, `1e3`, `+2.5E-7`, `.5`, `5.`.
    fn parse(s: &str) -> Result<Self, &'static str> {
        let bytes = s.as_bytes();
        let mut i = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                i = 1;
                true
            }
            Some(b'+') => {
                i = 1;
                false
            }
            _ => false,
        };
        let int_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &bytes[int_start..i];
        let mut frac_part: &[u8] = &[];
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            let frac_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &bytes[frac_start..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err("expected digits");
        }
        let mut exp: i64 = 0;
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            let exp_negative = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let exp_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                // Saturate: anything this large is out of range unless the coefficient is zero.
                exp = exp.saturating_mul(10).saturating_add(i64::from(bytes[i] - b'0')).min(i64::MAX / 4);
                i += 1;
            }
            if i == exp_start {
                return Err("expected exponent digits");
            }
            if exp_negative {
                exp = -exp;
            }
        }
        if i != bytes.len() {
            return Err("unexpected character");
        }
        let mut digits: Vec<u8> =
            int_part.iter().chain(frac_part).copied().skip_while(|&d| d == b'0').collect();
        let frac_len = i64::try_from(frac_part.len()).map_err(|_| "too long")?;
        let mut exponent = exp - frac_len;
        while digits.last() == Some(&b'0') {
            digits.pop();
            exponent += 1;
        }
        if digits.is_empty() {
            return Ok(Self::zero());
        }
        let len = i64::try_from(digits.len()).map_err(|_| "too long")?;
        let leading = exponent + len - 1;
        if !(-MAX_EXPONENT..=MAX_EXPONENT).contains(&leading) {
            return Err("exponent out of range");
        }
        Ok(Self { negative, digits, exponent })
    }

    fn from_magnitude(negative: bool, magnitude: u128) -> Self {
        let text = magnitude.to_string();
        let mut n = Self::parse(&text).unwrap_or_else(|_| Self::zero());
        n.negative = negative && !n.is_zero();
        n
    }

    /// The absolute value as a `u128`, if this is a whole number that fits.
    fn integer_magnitude(&self) -> Option<u128> {
        if self.exponent < 0 {
            return None;
        }
        let zeros = usize::try_from(self.exponent).ok()?;
        if self.digits.len() + zeros > 39 {
            return None;
        }
        let mut m: u128 = 0;
        for d in self.digits.iter().copied().chain(std::iter::repeat_n(b'0', zeros)) {
            m = m.checked_mul(10)?.checked_add(u128::from(d - b'0'))?;
        }
        Some(m)
    }

    /// Compares absolute values.
    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        // The position of the leading digit decides, then the digits themselves.
        let lead = |n: &Self| n.exponent + n.digits.len() as i64;
        lead(self).cmp(&lead(other)).then_with(|| self.digits.cmp(&other.digits))
    }
}

impl Default for Number {
    fn default() -> Self {
        Self::zero()
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        let sign = |n: &Self| match (n.is_zero(), n.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal if self.negative => self.cmp_magnitude(other).reverse(),
            Ordering::Equal => self.cmp_magnitude(other),
            unequal => unequal,
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Number {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).map_err(|reason| ValueError::InvalidNumber {
            path: AttributePath::root(),
            text: s.to_owned(),
            reason,
        })
    }
}

/// Plain decimal notation, never an exponent: `100`, `-0.5`, `0.0000001`. This is what cty's JSON
/// encoder writes (`big.Float.Text('f', -1)`) for numbers parsed from decimal text.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut out = String::with_capacity(self.digits.len() + 8);
        if self.negative {
            out.push('-');
        }
        let digits = std::str::from_utf8(&self.digits).map_err(|_| fmt::Error)?;
        let len = digits.len() as i64;
        if self.exponent >= 0 {
            out.push_str(digits);
            out.extend(std::iter::repeat_n('0', self.exponent as usize));
        } else if len + self.exponent > 0 {
            let point = (len + self.exponent) as usize;
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-(len + self.exponent)) as usize));
            out.push_str(digits);
        }
        f.pad(&out)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Self {
        Self::from_magnitude(v < 0, u128::from(v.unsigned_abs()))
    }
}

impl From<u64> for Number {
    fn from(v: u64) -> Self {
        Self::from_magnitude(false, u128::from(v))
    }
}

impl From<i32> for Number {
    fn from(v: i32) -> Self {
        Self::from(i64::from(v))
    }
}

impl From<u32> for Number {
    fn from(v: u32) -> Self {
        Self::from(u64::from(v))
    }
}

impl From<i128> for Number {
    fn from(v: i128) -> Self {
        Self::from_magnitude(v < 0, v.unsigned_abs())
    }
}

impl From<u128> for Number {
    fn from(v: u128) -> Self {
        Self::from_magnitude(false, v)
    }
}

/// The shortest decimal that reads back as the same `f64` (`0.1` stays `0.1`), matching how
/// cty compares numbers (by their decimal text). NaN and infinities are rejected.
impl TryFrom<f64> for Number {
    type Error = ValueError;

    fn try_from(f: f64) -> Result<Self, Self::Error> {
        if !f.is_finite() {
            return Err(ValueError::InvalidNumber {
                path: AttributePath::root(),
                text: f.to_string(),
                reason: "only finite numbers are supported",
            });
        }
        // `{:e}` without a precision prints the shortest round-trip digits.
        format!("{f:e}").parse()
    }
}

/// Like the `f64` conversion, with the shortest decimal that reads back as the same `f32`.
impl TryFrom<f32> for Number {
    type Error = ValueError;

    fn try_from(f: f32) -> Result<Self, Self::Error> {
        if !f.is_finite() {
            return Err(ValueError::InvalidNumber {
                path: AttributePath::root(),
                text: f.to_string(),
                reason: "only finite numbers are supported",
            });
        }
        format!("{f:e}").parse()
    }
}
