//! Figures across seeds: a count out of runs with its 95 % Wilson score interval, and nearest-rank
//! percentiles. A rate is never given as a bare median: "0 of 1000" says something different from
//! "0 of 3", and the interval says how much.

use std::fmt;

/// z for a two-sided 95 % interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval of `count` successes in `runs` trials, at `z`: (low, high), both in
/// [0, 1]. With no trials it is the whole of [0, 1].
///
/// Wilson rather than the normal approximation: it stays inside [0, 1] and is not zero-width at
/// 0 of n (the normal one would claim certainty from any number of clean runs).
pub fn wilson(count: u64, runs: u64, z: f64) -> (f64, f64) {
    assert!(count <= runs, "{count} of {runs}");
    if runs == 0 {
        return (0.0, 1.0);
    }
    let n = runs as f64;
    let p = count as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    // At 0 of n and n of n the bound is exact in theory; clamp the rounding.
    let low = if count == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if count == runs {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (low, high)
}

/// How many runs out of how many had some property, with the 95 % Wilson interval of the
/// fraction.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Proportion {
    pub count: u64,
    pub runs: u64,
    /// `count / runs` (0 when there were no runs).
    pub fraction: f64,
    /// The 95 % Wilson interval of the fraction.
    pub low: f64,
    pub high: f64,
}

impl Proportion {
    pub fn new(count: u64, runs: u64) -> Proportion {
        let (low, high) = wilson(count, runs, Z_95);
        Proportion {
            count,
            runs,
            fraction: if runs == 0 {
                0.0
            } else {
                count as f64 / runs as f64
            },
            low,
            high,
        }
    }

    /// The fraction and its interval in percent, without the counts: `3.0 % [1.7, 5.2]`, or
    /// `< 0.38 %` when nothing was counted (the interval's upper bound).
    pub fn percent(&self) -> String {
        if self.runs == 0 {
            return "no runs".to_string();
        }
        if self.count == 0 {
            return format!("< {} %", percent_number(self.high));
        }
        format!(
            "{} % [{}, {}]",
            percent_number(self.fraction),
            percent_number(self.low),
            percent_number(self.high)
        )
    }
}

impl fmt::Display for Proportion {
    /// `12 of 400 (3.0 % [1.7, 5.2])`, `0 of 1000 (< 0.38 %)`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} of {} ({})",
            self.count,
            self.runs,
            self.percent()
        )
    }
}

/// A fraction in percent with enough digits to tell small rates apart: 2 significant digits
/// below 1 %, one decimal above.
pub fn percent_number(fraction: f64) -> String {
    let percent = fraction * 100.0;
    if percent == 0.0 || percent >= 1.0 {
        format!("{percent:.1}")
    } else if percent >= 0.1 {
        format!("{percent:.2}")
    } else {
        format!("{percent:.3}")
    }
}

/// Nearest-rank percentile of sorted values (0 when there are none).
pub fn nearest_rank(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (quantile * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 5e-5
    }

    // Guards the Wilson interval against published values (Newcombe 1998, table I, method 3:
    // 81 of 263 → [0.2553, 0.3662]; 15 of 148 → [0.0624, 0.1605]; 0 of 20 → [0, 0.1611]).
    #[test]
    fn wilson_matches_published_intervals() {
        let (low, high) = wilson(81, 263, Z_95);
        assert!(close(low, 0.2553) && close(high, 0.3662), "{low} {high}");
        let (low, high) = wilson(15, 148, Z_95);
        assert!(close(low, 0.0624) && close(high, 0.1605), "{low} {high}");
        let (low, high) = wilson(0, 20, Z_95);
        assert!(low == 0.0 && close(high, 0.1611), "{low} {high}");
        let (low, high) = wilson(20, 20, Z_95);
        assert!(close(low, 1.0 - 0.1611) && high == 1.0, "{low} {high}");
    }

    // Guards the bounds users read: 0 of 1000 is "< 0.38 %" (Wilson's z²/(n+z²)), 12 of 400 is
    // 3.0 % [1.7, 5.2], and no runs claim nothing.
    #[test]
    fn proportions_print_their_interval() {
        assert_eq!(Proportion::new(0, 1000).to_string(), "0 of 1000 (< 0.38 %)");
        assert_eq!(
            Proportion::new(12, 400).to_string(),
            "12 of 400 (3.0 % [1.7, 5.2])"
        );
        assert_eq!(wilson(0, 0, Z_95), (0.0, 1.0));
        assert_eq!(Proportion::new(0, 0).percent(), "no runs");
        // The interval always contains the fraction and narrows with more runs.
        let small = Proportion::new(1, 10);
        let large = Proportion::new(100, 1000);
        assert!(small.low <= 0.1 && 0.1 <= small.high);
        assert!(large.high - large.low < small.high - small.low);
    }

    // Guards the across-seed percentiles: nearest rank, never interpolated.
    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&values, 0.5), 5.0);
        assert_eq!(nearest_rank(&values, 0.9), 9.0);
        assert_eq!(nearest_rank(&values, 0.99), 10.0);
        assert_eq!(nearest_rank(&[], 0.5), 0.0);
    }
}
