//! Calendar dates (`YYYY-MM-DD`) for release and end-of-life facts, with the one piece of
//! arithmetic the support policy needs: "90 days after N was released".
//!
//! A whole date/time crate would be a dependency for two functions; the proleptic Gregorian
//! day-number conversion below is short and fully tested instead.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A calendar date in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// Why a date string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date `{input}`: expected YYYY-MM-DD naming a real calendar day")]
pub struct DateParseError {
    /// The text that failed to parse.
    pub input: String,
}

impl Date {
    /// Builds a date, or `None` when the month or day does not exist (2026-02-29).
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Self { year, month, day })
    }

    /// Parses `YYYY-MM-DD` with a four-digit year.
    pub fn parse(input: &str) -> Result<Self, DateParseError> {
        let fail = || DateParseError { input: input.to_owned() };
        let bytes = input.as_bytes();
        let shaped = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shaped {
            return Err(fail());
        }
        let year = input[0..4].parse().map_err(|_| fail())?;
        let month = input[5..7].parse().map_err(|_| fail())?;
        let day = input[8..10].parse().map_err(|_| fail())?;
        Self::new(year, month, day).ok_or_else(fail)
    }

    /// The year.
    pub const fn year(&self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub const fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub const fn day(&self) -> u8 {
        self.day
    }

    /// The date `days` days later (or earlier, when negative).
    pub fn add_days(&self, days: i64) -> Self {
        civil_from_days(days_from_civil(*self) + days)
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(&self, later: Self) -> i64 {
        days_from_civil(later) - days_from_civil(*self)
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01. Counts years from March so that the leap day falls at the end of
/// the counted year, which makes the month lengths a fixed pattern (153 days per 5 months).
fn days_from_civil(date: Date) -> i64 {
    let month = i64::from(date.month);
    let year = i64::from(date.year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(date.day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> Date {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // The arithmetic keeps month in 1..=12 and day in 1..=31; years stay in i32 for any
    // offset the catalog can produce.
    Date {
        year: i32::try_from(year).unwrap_or(i32::MAX),
        month: u8::try_from(month).unwrap_or(1),
        day: u8::try_from(day).unwrap_or(1),
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn parses_and_displays() {
        assert_eq!(date("2026-08-26").to_string(), "2026-08-26");
        assert_eq!(date("2024-02-29").day(), 29);
        for bad in ["2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "26-01-01", "2026/01/01", ""] {
            assert!(Date::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn adds_days_across_months_and_leap_years() {
        // Cloud Temple: N-3 ends 90 days after N is released; Kubernetes 1.37.0 was released
        // 2026-08-26, so 1.34 support ends 2026-11-24.
        assert_eq!(date("2026-08-26").add_days(90), date("2026-11-24"));
        assert_eq!(date("2024-02-28").add_days(1), date("2024-02-29"));
        assert_eq!(date("2025-02-28").add_days(1), date("2025-03-01"));
        assert_eq!(date("2026-12-31").add_days(1), date("2027-01-01"));
        assert_eq!(date("2026-01-01").add_days(-1), date("2025-12-31"));
        assert_eq!(date("1970-01-01").days_until(date("2000-03-01")), 11_017);
    }

    proptest! {
        #[test]
        fn add_then_subtract_is_identity(days in -200_000i64..200_000, offset in -5_000i64..5_000) {
            let start = civil_from_days(days);
            prop_assert_eq!(days_from_civil(start), days);
            prop_assert_eq!(start.add_days(offset).add_days(-offset), start);
            prop_assert_eq!(start.days_until(start.add_days(offset)), offset);
            prop_assert_eq!(Date::parse(&start.to_string()).ok(), (start.year() >= 0 && start.year() <= 9999).then_some(start));
        }
    }
}
