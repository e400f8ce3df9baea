//! `[[deploy]]`'s overrides of flyctl's retry budgets and waits: each checked against its range,
//! into a [`BluegreenSettings`].

use std::time::Duration;

use super::raw::Spanned;

use super::error::Source;
use super::raw::{RawDeploy, Text};
use super::values::{duration, integer_in, show, Checked};
use crate::deploy::behaviour::BluegreenSettings;

/// The settings of `deploy[<index>]` (`field`), as written; unset fields stay None.
pub(crate) fn settings(src: &Source, field: &str, raw: &RawDeploy) -> Checked<BluegreenSettings> {
    let attempts = |name: &str, value: Option<&Spanned<i64>>| attempts(src, field, name, value);
    let backoff = |step: &str, value: Option<&Text>| backoff(src, field, step, value);
    let wait = |name: &str, value: Option<&Text>, max: Duration| {
        at_most(src, &format!("{field}.{name}"), value, max)
    };
    let timeout =
        |name: &str, value: Option<&Text>| timeout(src, &format!("{field}.{name}"), value);
    Ok(BluegreenSettings {
        launch_attempts: attempts("launch_attempts", raw.launch_attempts.as_ref())?,
        launch_backoff: backoff("launch", raw.launch_backoff.as_ref())?,
        launch_lookup_delay: wait(
            "launch_lookup_delay",
            raw.launch_lookup_delay.as_ref(),
            BluegreenSettings::LOOKUP_DELAY_MAX,
        )?,
        checkpoint_attempts: attempts("checkpoint_attempts", raw.checkpoint_attempts.as_ref())?,
        checkpoint_backoff: backoff("checkpoint", raw.checkpoint_backoff.as_ref())?,
        teardown_attempts: attempts("teardown_attempts", raw.teardown_attempts.as_ref())?,
        teardown_backoff: backoff("teardown", raw.teardown_backoff.as_ref())?,
        image_refetch_attempts: attempts(
            "image_refetch_attempts",
            raw.image_refetch_attempts.as_ref(),
        )?,
        image_refetch_backoff: backoff("image_refetch", raw.image_refetch_backoff.as_ref())?,
        uncordon_attempts: attempts("uncordon_attempts", raw.uncordon_attempts.as_ref())?,
        uncordon_backoff: backoff("uncordon", raw.uncordon_backoff.as_ref())?,
        wait_before_cordon: wait(
            "wait_before_cordon",
            raw.wait_before_cordon.as_ref(),
            BluegreenSettings::WAIT_MAX,
        )?,
        wait_before_stop: wait(
            "wait_before_stop",
            raw.wait_before_stop.as_ref(),
            BluegreenSettings::WAIT_MAX,
        )?,
        stop_wait_timeout: timeout("stop_wait_timeout", raw.stop_wait_timeout.as_ref())?,
        health_timeout: timeout("health_timeout", raw.health_timeout.as_ref())?,
    })
}

/// `<step>_attempts`: 1 to [`BluegreenSettings::ATTEMPTS_MAX`] (the first try counts).
fn attempts(
    src: &Source,
    field: &str,
    name: &str,
    value: Option<&Spanned<i64>>,
) -> Checked<Option<u32>> {
    let Some(value) = value else { return Ok(None) };
    let max = i64::from(BluegreenSettings::ATTEMPTS_MAX);
    let attempts = integer_in(src, &format!("{field}.{name}"), value, 1..=max)?;
    Ok(Some(u32::try_from(attempts).expect("in range")))
}

/// `<step>_backoff`: from 0 up to the cap HEAD puts on that retry's delay.
fn backoff(
    src: &Source,
    field: &str,
    step: &str,
    value: Option<&Text>,
) -> Checked<Option<Duration>> {
    let Some(text) = value else { return Ok(None) };
    let field = format!("{field}.{step}_backoff");
    let value = duration(src, &field, text)?;
    let cap = BluegreenSettings::backoff_cap(step);
    if value > cap {
        let message = format!(
            "{step}_backoff `{}` is out of range: at most {} (flyctl caps this retry's delay at {}; the back-off is its first wait, doubling after each failed attempt)",
            text.get_ref().trim(),
            show(cap),
            show(cap)
        );
        return Err(src.error(&text.span(), field, message));
    }
    Ok(Some(value))
}

/// A wait from 0 to `max`.
fn at_most(
    src: &Source,
    field: &str,
    value: Option<&Text>,
    max: Duration,
) -> Checked<Option<Duration>> {
    let Some(text) = value else { return Ok(None) };
    let value = duration(src, field, text)?;
    if value > max {
        let message = format!(
            "`{}` is out of range: must be at most {}",
            text.get_ref().trim(),
            show(max)
        );
        return Err(src.error(&text.span(), field, message));
    }
    Ok(Some(value))
}

/// A phase timeout: greater than 0 (a zero budget would end the phase at once) and at most 24h.
fn timeout(src: &Source, field: &str, value: Option<&Text>) -> Checked<Option<Duration>> {
    let Some(text) = value else { return Ok(None) };
    let value = duration(src, field, text)?;
    if value.is_zero() || value > BluegreenSettings::TIMEOUT_MAX {
        let message = format!(
            "`{}` is out of range: must be greater than 0 and at most 24h",
            text.get_ref().trim(),
        );
        return Err(src.error(&text.span(), field, message));
    }
    Ok(Some(value))
}
