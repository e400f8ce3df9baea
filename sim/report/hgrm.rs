//! The whole run's latency in HdrHistogram's percentile-distribution text format (what Java's
//! `Histogram.outputPercentileDistribution(out, 5, 1000.0)` prints, values in milliseconds): it
//! loads into HdrHistogram's plotter and wrk2-style tooling.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// Ticks per half distance to 100%, as `outputPercentileDistribution`'s default.
const TICKS_PER_HALF_DISTANCE: u32 = 5;
/// The histogram records microseconds; the file shows milliseconds.
const SCALE: f64 = 1_000.0;

/// Renders `histogram` (µs) as `.hgrm` text in milliseconds.
pub fn percentile_distribution(histogram: &Histogram<u64>) -> String {
    let digits = usize::from(histogram.sigfig());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    if !histogram.is_empty() {
        for value in histogram.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
            total += value.count_since_last_iteration();
            let quantile = value.quantile_iterated_to();
            let scaled = value.value_iterated_to() as f64 / SCALE;
            if quantile < 1.0 {
                let _ = writeln!(
                    out,
                    "{scaled:>12.digits$} {quantile:>2.12} {total:>10} {:>14.2}",
                    1.0 / (1.0 - quantile)
                );
            } else {
                let _ = writeln!(out, "{scaled:>12.digits$} {quantile:>2.12} {total:>10}");
                break;
            }
        }
    }
    let (mean, stdev, max) = if histogram.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (
            histogram.mean() / SCALE,
            histogram.stdev() / SCALE,
            histogram.max() as f64 / SCALE,
        )
    };
    let _ = writeln!(
        out,
        "#[Mean    = {mean:>12.digits$}, StdDeviation   = {stdev:>12.digits$}]"
    );
    let _ = writeln!(
        out,
        "#[Max     = {max:>12.digits$}, Total count    = {:>12}]",
        histogram.len()
    );
    let sub_buckets = 2u64.pow(
        (2.0 * 10f64.powi(i32::from(histogram.sigfig())))
            .log2()
            .ceil() as u32,
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        histogram.buckets(),
        sub_buckets
    );
    out
}

/// One data line of an `.hgrm` file: (value ms, quantile, total count).
pub fn parse_line(line: &str) -> Option<(f64, f64, u64)> {
    let mut fields = line.split_whitespace();
    let value = fields.next()?.parse().ok()?;
    let quantile = fields.next()?.parse().ok()?;
    let total = fields.next()?.parse().ok()?;
    Some((value, quantile, total))
}
