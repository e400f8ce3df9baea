//! Validation of single values shared by every section: durations, distributions, regions, names,
//! numeric ranges and machine targets. Each takes the dotted field path so its errors name it.

use std::ops::Range;
use std::time::Duration;

use super::raw::Spanned;

use super::error::{ScenarioError, Source};
use super::model::MachineTarget;
use super::ranges::DURATION_MAX;
use super::raw::{RawDistribution, SpannedDistribution, Text};
use crate::engine::random::Distribution;

pub(crate) type Checked<T> = Result<T, ScenarioError>;

/// A duration such as `300ms`, `10s` or `1h 30m` (humantime's syntax). Negative durations are
/// rejected with a message of their own: humantime would only say "expected number".
pub(crate) fn duration(src: &Source, field: &str, text: &Text) -> Checked<Duration> {
    let parsed = unbounded_duration(src, field, text)?;
    let value = text.get_ref().trim();
    if parsed > DURATION_MAX {
        let message = format!(
            "duration `{value}` is out of range: durations are at most {} ({}h)",
            show(DURATION_MAX),
            DURATION_MAX.as_secs() / 3600
        );
        return Err(src.error(&text.span(), field, message));
    }
    Ok(parsed)
}

/// A point in time (or a delay before something happens) that must fall within the run:
/// `(time_limit, never)` is the run's time limit and what would otherwise never happen ("the
/// fault would never fire").
pub(crate) fn within_time_limit(
    src: &Source,
    field: &str,
    text: &Text,
    (time_limit, never): (Duration, &str),
) -> Checked<Duration> {
    // The time limit is at most `DURATION_MAX`, so this bounds the value as `duration` does.
    let value = unbounded_duration(src, field, text)?;
    if value > time_limit {
        let message = format!(
            "`{}` is after run.time_limit ({}): {never} (raise run.time_limit or give an earlier time)",
            text.get_ref().trim(),
            show(time_limit)
        );
        return Err(src.error(&text.span(), field, message));
    }
    Ok(value)
}

/// A duration's syntax alone: humantime's, without a sign; at most about 584 billion years.
fn unbounded_duration(src: &Source, field: &str, text: &Text) -> Checked<Duration> {
    let value = text.get_ref().trim();
    if value.starts_with('-') {
        let message = format!("negative duration `{value}` is not allowed");
        return Err(src.error(&text.span(), field, message));
    }
    humantime::parse_duration(value).map_err(|error| {
        let message =
            format!("invalid duration `{value}`: {error} (write e.g. \"300ms\", \"10s\", \"5m\")");
        src.error(&text.span(), field, message)
    })
}

/// `duration` for an optional field, with its default.
pub(crate) fn duration_or(
    src: &Source,
    field: &str,
    text: Option<&Text>,
    default: Duration,
) -> Checked<Duration> {
    text.map_or(Ok(default), |text| duration(src, field, text))
}

/// `duration` for an optional field without a default.
pub(crate) fn optional_duration(
    src: &Source,
    field: &str,
    text: Option<&Text>,
) -> Checked<Option<Duration>> {
    text.map(|text| duration(src, field, text)).transpose()
}

/// A duration that must be strictly positive (timeouts, time limits: zero would end at once).
pub(crate) fn positive_duration_or(
    src: &Source,
    field: &str,
    text: Option<&Text>,
    default: Duration,
) -> Checked<Duration> {
    let value = duration_or(src, field, text, default)?;
    match text {
        Some(text) if value.is_zero() => {
            Err(src.error(&text.span(), field, "must be greater than 0"))
        }
        _ => Ok(value),
    }
}

/// The fields a `kind` of distribution requires and allows.
pub(crate) struct KindFields {
    pub kind: &'static str,
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
}

pub(crate) const DISTRIBUTION_KINDS: [KindFields; 4] = [
    KindFields {
        kind: "constant",
        required: &["value"],
        optional: &[],
    },
    KindFields {
        kind: "uniform",
        required: &["min", "max"],
        optional: &[],
    },
    KindFields {
        kind: "lognormal",
        required: &["median", "p99"],
        optional: &["max"],
    },
    KindFields {
        kind: "exponential",
        required: &["mean"],
        optional: &["max"],
    },
];

/// A distribution inline table, e.g. `{ kind = "lognormal", median = "1.5s", p99 = "6s" }`.
pub(crate) fn distribution(
    src: &Source,
    field: &str,
    raw: &SpannedDistribution,
) -> Checked<Distribution> {
    let table = raw.get_ref();
    let kind = table.kind.get_ref().as_str();
    let Some(spec) = DISTRIBUTION_KINDS.iter().find(|spec| spec.kind == kind) else {
        let known: Vec<&str> = DISTRIBUTION_KINDS.iter().map(|spec| spec.kind).collect();
        let message = format!(
            "unknown distribution kind `{kind}` (known: {})",
            known.join(", ")
        );
        return Err(src.error(&table.kind.span(), format!("{field}.kind"), message));
    };
    let fields = FieldCheck {
        src,
        field,
        what: format!("a {kind} distribution"),
        table_span: raw.span(),
    };
    fields.check(&table.present_fields(), spec.required, spec.optional)?;
    if spec.optional.contains(&"max") && table.max.is_none() {
        let message = format!(
            "a {kind} distribution without `max` has an unbounded tail: a rare draw can be many \
             times its {}; add `max = \"...\"` to clamp it",
            if kind == "lognormal" { "p99" } else { "mean" }
        );
        src.warn(&raw.span(), field, message);
    }
    match kind {
        "constant" => constant(src, field, table),
        "uniform" => uniform(src, field, table),
        "lognormal" => lognormal(src, field, table),
        _ => exponential(src, field, table),
    }
}

/// `distribution` for an optional field, with its default.
pub(crate) fn distribution_or(
    src: &Source,
    field: &str,
    raw: Option<&SpannedDistribution>,
    default: Distribution,
) -> Checked<Distribution> {
    raw.map_or(Ok(default), |raw| distribution(src, field, raw))
}

/// A required field of a distribution whose presence `FieldCheck` already verified.
/// (Kept fallible rather than unwrapped so the loader cannot panic if the two ever disagree.)
fn required<'a>(
    src: &Source,
    field: &str,
    name: &str,
    text: &'a Option<Text>,
) -> Checked<&'a Text> {
    text.as_ref().ok_or_else(|| {
        src.error(
            &(0..0),
            format!("{field}.{name}"),
            format!("missing field `{name}`"),
        )
    })
}

fn constant(src: &Source, field: &str, table: &RawDistribution) -> Checked<Distribution> {
    let value = required(src, field, "value", &table.value)?;
    Ok(Distribution::Constant(duration(
        src,
        &format!("{field}.value"),
        value,
    )?))
}

fn uniform(src: &Source, field: &str, table: &RawDistribution) -> Checked<Distribution> {
    let min_text = required(src, field, "min", &table.min)?;
    let max_text = required(src, field, "max", &table.max)?;
    let min = duration(src, &format!("{field}.min"), min_text)?;
    let max = duration(src, &format!("{field}.max"), max_text)?;
    if max < min {
        let message = format!(
            "max ({}) must not be less than min ({})",
            show(max),
            show(min)
        );
        return Err(src.error(&max_text.span(), format!("{field}.max"), message));
    }
    Ok(Distribution::Uniform { min, max })
}

fn lognormal(src: &Source, field: &str, table: &RawDistribution) -> Checked<Distribution> {
    let median_text = required(src, field, "median", &table.median)?;
    let p99_text = required(src, field, "p99", &table.p99)?;
    let median = duration(src, &format!("{field}.median"), median_text)?;
    let p99 = duration(src, &format!("{field}.p99"), p99_text)?;
    let max = optional_duration(src, &format!("{field}.max"), table.max.as_ref())?;
    if median.is_zero() {
        let message = "median must be greater than 0 (a log-normal distribution has no zero)";
        return Err(src.error(&median_text.span(), format!("{field}.median"), message));
    }
    if p99 < median {
        let message = format!(
            "p99 ({}) must not be less than median ({})",
            show(p99),
            show(median)
        );
        return Err(src.error(&p99_text.span(), format!("{field}.p99"), message));
    }
    check_max(src, field, table.max.as_ref(), max, ("median", median))?;
    Ok(Distribution::lognormal(median, p99, max))
}

fn exponential(src: &Source, field: &str, table: &RawDistribution) -> Checked<Distribution> {
    let mean_text = required(src, field, "mean", &table.mean)?;
    let mean = duration(src, &format!("{field}.mean"), mean_text)?;
    let max = optional_duration(src, &format!("{field}.max"), table.max.as_ref())?;
    if mean.is_zero() {
        return Err(src.error(
            &mean_text.span(),
            format!("{field}.mean"),
            "mean must be greater than 0",
        ));
    }
    check_max(src, field, table.max.as_ref(), max, ("mean", mean))?;
    Ok(Distribution::Exponential { mean, max })
}

/// A clamp below the distribution's centre would make the centre meaningless.
fn check_max(
    src: &Source,
    field: &str,
    text: Option<&Text>,
    max: Option<Duration>,
    (centre_name, centre): (&str, Duration),
) -> Checked<()> {
    match (text, max) {
        (Some(text), Some(max)) if max < centre => {
            let message = format!(
                "max ({}) must not be less than {centre_name} ({})",
                show(max),
                show(centre)
            );
            Err(src.error(&text.span(), format!("{field}.max"), message))
        }
        _ => Ok(()),
    }
}

/// Renders a duration the way users write them.
pub(crate) fn show(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Checks the fields of a table whose allowed fields depend on its `kind`.
pub(crate) struct FieldCheck<'a> {
    pub src: &'a Source<'a>,
    pub field: &'a str,
    /// What the table is, for messages ("a lognormal distribution", "an `unhealthy` fault").
    pub what: String,
    /// Where to report a missing field.
    pub table_span: Range<usize>,
}

impl FieldCheck<'_> {
    /// Every present field must be required or optional; every required field must be present.
    pub fn check(
        &self,
        present: &[(&'static str, Range<usize>)],
        required: &[&str],
        optional: &[&str],
    ) -> Checked<()> {
        let allowed = |name: &str| required.contains(&name) || optional.contains(&name);
        if let Some((name, span)) = present.iter().find(|(name, _)| !allowed(name)) {
            let all: Vec<&str> = required.iter().chain(optional).copied().collect();
            let fields = if all.is_empty() {
                "none".to_string()
            } else {
                all.join(", ")
            };
            let message = format!(
                "`{name}` does not apply to {} (its fields: kind, {fields})",
                self.what
            );
            return Err(self
                .src
                .error(span, format!("{}.{name}", self.field), message));
        }
        if let Some(missing) = required
            .iter()
            .find(|name| !present.iter().any(|(p, _)| p == *name))
        {
            let message = format!(
                "missing field `{missing}` ({} needs {})",
                self.what,
                required.join(", ")
            );
            return Err(self.src.error(
                &self.table_span,
                format!("{}.{missing}", self.field),
                message,
            ));
        }
        Ok(())
    }
}

/// A region code: 2–8 lowercase letters or digits (`iad`, `ams`, `syd`).
pub(crate) fn region(src: &Source, field: &str, text: &Text) -> Checked<String> {
    let value = text.get_ref();
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if (2..=8).contains(&value.len()) && value.chars().all(valid_char) {
        return Ok(value.clone());
    }
    let message = format!(
        "invalid region `{value}`: expected 2 to 8 lowercase letters or digits, like `iad`"
    );
    Err(src.error(&text.span(), field, message))
}

/// A string that must not be empty (names, images).
pub(crate) fn non_empty(src: &Source, field: &str, text: &Text) -> Checked<String> {
    if text.get_ref().trim().is_empty() {
        return Err(src.error(&text.span(), field, "must not be empty"));
    }
    Ok(text.get_ref().clone())
}

/// An integer within `range`; the message states the range so the user knows the limit.
pub(crate) fn integer_in(
    src: &Source,
    field: &str,
    value: &Spanned<i64>,
    range: std::ops::RangeInclusive<i64>,
) -> Checked<i64> {
    let number = *value.get_ref();
    if range.contains(&number) {
        return Ok(number);
    }
    let message = format!(
        "{number} is out of range: must be between {} and {}",
        range.start(),
        range.end()
    );
    Err(src.error(&value.span(), field, message))
}

/// A fraction in (0, 1]: rates and probabilities.
pub(crate) fn fraction(src: &Source, field: &str, value: &Spanned<f64>) -> Checked<f64> {
    let number = *value.get_ref();
    if number > 0.0 && number <= 1.0 {
        return Ok(number);
    }
    let message = format!("{number} is out of range: must be greater than 0 and at most 1");
    Err(src.error(&value.span(), field, message))
}

/// rolling's `max_unavailable`: a fraction in (0, 1) of each pool, or a count ≥ 1 (reference §9).
pub(crate) fn max_unavailable(src: &Source, field: &str, value: &Spanned<f64>) -> Checked<f64> {
    let number = *value.get_ref();
    let fraction = number > 0.0 && number < 1.0;
    let count = (1.0..=10_000.0).contains(&number) && number.fract() == 0.0;
    if fraction || count {
        return Ok(number);
    }
    let message = format!(
        "{number} is out of range: a fraction between 0 and 1, or a whole count from 1 to 10000"
    );
    Err(src.error(&value.span(), field, message))
}

/// A 0-based index into `[[deploy]]`; `deploys` is the number of entries.
pub(crate) fn deploy_index(
    src: &Source,
    field: &str,
    value: &Spanned<i64>,
    deploys: usize,
) -> Checked<u32> {
    let number = *value.get_ref();
    let index = usize::try_from(number)
        .ok()
        .filter(|index| *index < deploys)
        .and_then(|index| u32::try_from(index).ok());
    index.ok_or_else(|| {
        let message = format!(
            "there is no deploy[{number}]: deploys are numbered from 0 in file order and the scenario has {deploys}"
        );
        src.error(&value.span(), field, message)
    })
}

/// A fault's machine target: `blue:<i>`, `green:<i>`, `green:*`, `deploy[<d>].green:<i>` or
/// `deploy[<d>].green:*`. `initial` is N, `deploys` the number of `[[deploy]]` entries.
pub(crate) fn machine_target(
    src: &Source,
    field: &str,
    text: &Text,
    (initial, deploys): (u32, usize),
) -> Checked<MachineTarget> {
    let value = text.get_ref().trim();
    let error = |message: String| src.error(&text.span(), field, message);
    let parsed = parse_target(value).ok_or_else(|| {
        error(format!(
            "bad machine target `{value}`: expected `blue:<i>`, `green:<i>`, `green:*`, \
             `deploy[<d>].green:<i>` or `deploy[<d>].green:*`"
        ))
    })?;
    match parsed {
        MachineTarget::Initial(_) if initial == 0 => Err(error(format!(
            "bad machine target `{value}`: the initial fleet has no machines"
        ))),
        MachineTarget::Initial(index) if index >= initial => Err(error(format!(
            "bad machine target `{value}`: the initial fleet has {initial} machines (blue:0 to blue:{})",
            initial - 1
        ))),
        MachineTarget::Green { deploy, .. } | MachineTarget::AllGreens { deploy }
            if deploy as usize >= deploys =>
        {
            Err(error(format!(
                "bad machine target `{value}`: there is no deploy[{deploy}] (the scenario has {deploys} deploys)"
            )))
        }
        target => Ok(target),
    }
}

/// The target grammar alone, without range checks.
fn parse_target(value: &str) -> Option<MachineTarget> {
    let (who, which) = value.rsplit_once(':')?;
    let index = if which == "*" {
        None
    } else {
        Some(parse_index(which)?)
    };
    if who == "blue" {
        return index.map(MachineTarget::Initial);
    }
    let deploy = match who.strip_suffix(".green") {
        Some(prefix) => parse_index(prefix.strip_prefix("deploy[")?.strip_suffix(']')?)?,
        None if who == "green" => 0,
        None => return None,
    };
    Some(match index {
        Some(index) => MachineTarget::Green { deploy, index },
        None => MachineTarget::AllGreens { deploy },
    })
}

/// A plain decimal index (no sign, no spaces).
fn parse_index(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{parse_target, MachineTarget};

    #[test]
    fn target_grammar() {
        assert_eq!(parse_target("blue:3"), Some(MachineTarget::Initial(3)));
        assert_eq!(
            parse_target("green:0"),
            Some(MachineTarget::Green {
                deploy: 0,
                index: 0
            })
        );
        assert_eq!(
            parse_target("deploy[1].green:2"),
            Some(MachineTarget::Green {
                deploy: 1,
                index: 2
            })
        );
        assert_eq!(
            parse_target("green:*"),
            Some(MachineTarget::AllGreens { deploy: 0 })
        );
        assert_eq!(
            parse_target("deploy[1].green:*"),
            Some(MachineTarget::AllGreens { deploy: 1 })
        );
        for bad in [
            "blue:*",
            "blue:-1",
            "blue:",
            "red:1",
            "deploy[x].green:1",
            "deploy[1]green:1",
            "green",
            "deploy[1].blue:0",
            ":",
        ] {
            assert_eq!(parse_target(bad), None, "{bad}");
        }
    }
}
