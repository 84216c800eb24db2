//! Exact decimal numbers: parsing, canonical display, conversions, ordering.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use super::num;
use crate::value::{Number, ValueError};

fn hash_of(n: &Number) -> u64 {
    let mut h = DefaultHasher::new();
    n.hash(&mut h);
    h.finish()
}

#[test]
fn equal_notations_are_one_value() {
    let forms = ["1", "1.0", "1e0", "10e-1", "0.1e1", "+1", "1.000", "100E-2", "001"];
    for form in forms {
        assert_eq!(num(form), num("1"), "{form}");
        assert_eq!(hash_of(&num(form)), hash_of(&num("1")), "{form}");
    }
    assert_eq!(num("-0"), num("0"));
    assert_eq!(num("0.000e5"), Number::zero());
    assert!(!num("-0.0").is_negative());
}

#[test]
fn display_is_plain_decimal() {
    let cases = [
        ("100", "100"),
        ("1e2", "100"),
        ("-0.5", "-0.5"),
        ("1e-7", "0.0000001"),
        ("123.4500", "123.45"),
        ("-12.5e1", "-125"),
        ("0", "0"),
        ("-0.0", "0"),
        (".5", "0.5"),
        ("5.", "5"),
        ("1234567890123456789012345678901234567890", "1234567890123456789012345678901234567890"),
        ("0.000000000000000000000000000001", "0.000000000000000000000000000001"),
    ];
    for (input, shown) in cases {
        assert_eq!(num(input).to_string(), shown, "{input}");
    }
    assert_eq!(num("1.5e300").to_string(), format!("15{}", "0".repeat(299)));
    assert_eq!(format!("{:>6}", num("1.5")), "   1.5");
}

#[test]
fn rejects_malformed_text() {
    for bad in [
        "", "-", "+", ".", "1e", "1e+", "e5", "abc", " 1", "1 ", "0x10", "1.2.3", "NaN", "inf", "1_000",
        "--1",
    ] {
        let err = bad.parse::<Number>().expect_err(bad);
        assert!(matches!(err, ValueError::InvalidNumber { .. }), "{bad}: {err}");
    }
}

#[test]
fn exponent_range_is_bounded_but_zero_is_always_fine() {
    assert!("1e100001".parse::<Number>().is_err());
    assert!("1e-100001".parse::<Number>().is_err());
    assert!("1e99999999999999999999999".parse::<Number>().is_err());
    assert_eq!(num("0e99999999999999999999999"), Number::zero());
    assert_eq!(num("1e100000").to_string().len(), 100_001);
}

#[test]
fn integer_conversions() {
    assert_eq!(num("1e3").to_i64(), Some(1000));
    assert_eq!(Number::from(i64::MIN).to_i64(), Some(i64::MIN));
    assert_eq!(Number::from(i64::MAX).to_i64(), Some(i64::MAX));
    assert_eq!(Number::from(u64::MAX).to_u64(), Some(u64::MAX));
    assert_eq!(Number::from(u64::MAX).to_i64(), None);
    assert_eq!(num("18446744073709551616").to_u64(), None);
    assert_eq!(num("-1").to_u64(), None);
    assert_eq!(num("1.5").to_i64(), None);
    assert!(!num("1.5").is_integer());
    assert!(num("15e-1").to_i64().is_none());
    assert!(num("150e-1").is_integer());
    assert_eq!(Number::from(i128::MIN).to_i128(), Some(i128::MIN));
    assert_eq!(Number::from(u128::MAX).to_string(), u128::MAX.to_string());
    assert_eq!(Number::from(-42i32).to_string(), "-42");
    assert_eq!(Number::from(i64::MIN).to_string(), i64::MIN.to_string());
}

#[test]
fn float_conversions() {
    assert_eq!(num("0.1").to_f64(), 0.1);
    assert_eq!(num("1e400").to_f64(), f64::INFINITY);
    assert_eq!(num("-1e400").to_f64(), f64::NEG_INFINITY);
    assert_eq!(num("1e-400").to_f64(), 0.0);
    // Shortest decimal for people, exact value for the wire.
    assert_eq!(Number::try_from(0.1).expect("finite").to_string(), "0.1");
    assert_eq!(
        Number::from_f64_exact(0.1).expect("finite").to_string(),
        "0.1000000000000000055511151231257827021181583404541015625"
    );
    assert_eq!(Number::try_from(1e21).expect("finite").to_string(), "1000000000000000000000");
    assert_eq!(Number::try_from(-0.0).expect("finite"), Number::zero());
    assert_eq!(Number::try_from(0.1f32).expect("finite").to_string(), "0.1");
    assert!(Number::try_from(f64::NAN).is_err());
    assert!(Number::try_from(f64::INFINITY).is_err());
    assert!(Number::from_f64_exact(f64::NEG_INFINITY).is_none());
    let tiny = Number::from_f64_exact(f64::from_bits(1)).expect("finite");
    assert_eq!(tiny.to_f64(), f64::from_bits(1));
    assert!(tiny.to_string().starts_with("0.000000"));
}

#[test]
fn exact_f64_detection_follows_cty() {
    assert_eq!(num("0.5").to_f64_exact(), Some(0.5));
    assert_eq!(num("-1.25").to_f64_exact(), Some(-1.25));
    assert_eq!(num("0.1").to_f64_exact(), None);
    assert_eq!(num("0.3").to_f64_exact(), None);
    assert_eq!(num("9007199254740992").to_f64_exact(), Some(9_007_199_254_740_992.0));
    assert_eq!(num("9007199254740993").to_f64_exact(), None);
    assert_eq!(num("1e400").to_f64_exact(), None);
    assert_eq!(num("1180591620717411303424").to_f64_exact(), Some(2f64.powi(70)));
    let exact_tenth = Number::from_f64_exact(0.1).expect("finite");
    assert_eq!(exact_tenth.to_f64_exact(), Some(0.1));
    assert_eq!(Number::zero().to_f64_exact(), Some(0.0));
}

#[test]
fn ordering_is_numeric() {
    let sorted = [
        "-1e30", "-2", "-1.5", "-1", "-0.001", "0", "0.001", "0.01", "1", "1.0001", "1.5", "2", "10", "1e30",
    ];
    for pair in sorted.windows(2) {
        assert!(num(pair[0]) < num(pair[1]), "{} < {}", pair[0], pair[1]);
        assert!(num(pair[1]) > num(pair[0]), "{} > {}", pair[1], pair[0]);
    }
    assert_eq!(num("2.50").cmp(&num("2.5")), std::cmp::Ordering::Equal);
    assert!(num("0.12") < num("0.2"));
    assert!(num("-0.12") > num("-0.2"));
}
