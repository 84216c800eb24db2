//! Order statistics of repeated measurements (nearest-rank percentiles: every reported figure
//! is one that was actually observed).

/// Median and 90th percentile of a set of samples.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Summary {
    /// 50th percentile.
    pub(crate) median: f64,
    /// 90th percentile.
    pub(crate) p90: f64,
    /// Number of samples.
    pub(crate) n: usize,
}

/// The nearest-rank `pct` percentile of sorted samples.
fn percentile(sorted: &[f64], pct: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (pct * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

impl Summary {
    /// Summarises `samples` (NaN when there are none).
    pub(crate) fn of(samples: impl IntoIterator<Item = f64>) -> Self {
        let mut sorted: Vec<f64> = samples.into_iter().collect();
        sorted.sort_by(f64::total_cmp);
        Self { median: percentile(&sorted, 50), p90: percentile(&sorted, 90), n: sorted.len() }
    }
}

/// `a / b`, or NaN when `b` is zero.
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Summary::of((1..=10).map(f64::from));
        assert_eq!((s.median, s.p90, s.n), (5.0, 9.0, 10));
        let s = Summary::of([3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.p90), (2.0, 3.0));
        assert_eq!(Summary::of([7.0]).p90, 7.0);
    }

    #[test]
    fn empty_and_zero_give_nan() {
        assert!(Summary::of([]).median.is_nan());
        assert!(ratio(1.0, 0.0).is_nan());
        assert_eq!(ratio(3.0, 2.0), 1.5);
    }
}
