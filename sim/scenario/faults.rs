//! `[[faults]]` entries: the fields each kind requires and allows (`FAULT_KINDS`), and how each
//! kind's fields are checked and turned into a `FaultSpec`.

use std::time::Duration;

use super::raw::Spanned;

use super::error::{ScenarioError, Source};
use super::model::*;
use super::raw::*;
use super::values::*;
use crate::api::{HostStatus, Phase};
use crate::engine::random::Distribution;

/// The longest `duration`, `period` or `lag` a fault may have.
pub const MAX_FAULT_DURATION: Duration = super::ranges::FAULT_DURATION_MAX;

/// What a fault may refer to, from the rest of the scenario.
#[derive(Clone, Copy)]
pub(crate) struct Refs<'a> {
    /// N: the number of machines of the initial fleet.
    pub initial: u32,
    /// The number of `[[deploy]]` entries.
    pub deploys: usize,
    /// The regions that have a proxy (after defaulting).
    pub proxies: &'a [String],
    /// `run.time_limit`: a fault timed after it would never fire.
    pub time_limit: Duration,
    /// `run.machine_limit`: no green beyond it can ever exist.
    pub machine_limit: u32,
}

/// What a fault timed after the time limit would do instead of firing.
const NEVER_FIRES: &str = "the fault would never fire";

/// One kind of fault: the fields it requires and allows besides `kind`, and how it is built once
/// `FieldCheck` has checked them.
pub(crate) struct FaultKind {
    pub name: &'static str,
    /// What it does, in one line (`fleetsim faults`, the schema, the reference).
    pub summary: &'static str,
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
    /// Optional fields of which it needs one (`RATE_OR_CALLS`, `AT_OR_PHASE`); empty: none.
    pub one_of: &'static [&'static str],
    build: fn(&FaultEntry) -> Checked<FaultSpec>,
}

/// The fields of a deployer fault (`deployer-kill`, `deployer-abort`): `deploy` and a trigger.
const DEPLOYER_FIELDS: &[&str] = &["deploy", "at", "phase", "after"];
/// A window: from `start`, for `duration`.
const WINDOW_FIELDS: &[&str] = &["start", "duration"];
/// `api-error` and `api-ambiguous`: `rate` in a window, or the `calls` counted.
const COUNTED_API_FIELDS: &[&str] = &[
    "rate",
    "calls",
    "operation",
    "status",
    "start",
    "duration",
    "deploy",
    "machine",
];
use super::ranges::CALL_NUMBER_MAX;
/// `api-error` and `api-ambiguous` fail a fraction of the calls in a window, or the calls counted.
pub(crate) const RATE_OR_CALLS: &[&str] = &["rate", "calls"];
/// Deployer faults fire at a time or when the deploy enters a phase: exactly one of the two (a
/// fault that may also leave both out, `checks-fail`, still takes at most one).
pub(crate) const AT_OR_PHASE: &[&str] = &["at", "phase"];
/// What a call-counted fault (`calls`) may not have: it fails exactly the calls it counts, at
/// any time.
pub(crate) const NOT_WITH_CALLS: [&str; 3] = ["rate", "start", "duration"];

pub(crate) const FAULT_KINDS: [FaultKind; 25] = [
    FaultKind {
        name: "api-error",
        summary: "calls (of `operation`, by `deploy`, on `machine`) fail with `status` at `rate` in a window, or exactly the counted `calls`",
        required: &[],
        optional: COUNTED_API_FIELDS,
        one_of: RATE_OR_CALLS,
        build: |entry| entry.api_error(),
    },
    FaultKind {
        name: "propagation-tail",
        summary: "with `probability`, a proxy propagation delay is drawn from `delay` instead of `[proxy]`'s",
        required: &["probability", "delay"],
        optional: WINDOW_FIELDS,
        one_of: &[],
        build: |entry| entry.propagation_tail(),
    },
    FaultKind {
        name: "machine-crash",
        summary: "the machine's process exits at `at`; the restart policy applies",
        required: &["machine", "at"],
        optional: &[],
        one_of: &[],
        build: |entry| entry.machine_crash(),
    },
    FaultKind {
        name: "unhealthy",
        summary: "the machine's checks never pass",
        required: &["machine"],
        optional: &[],
        one_of: &[],
        build: |entry| entry.unhealthy(),
    },
    FaultKind {
        name: "lease-held",
        summary: "another `owner` holds the machine's lease from the start of the run for `ttl`",
        required: &["machine"],
        optional: &["owner", "ttl"],
        one_of: &[],
        build: |entry| entry.lease_held(),
    },
    FaultKind {
        name: "deployer-kill",
        summary: "SIGKILL to the deployer of `deploy` at `at` or `phase`: nothing after it runs, its leases lapse",
        required: &[],
        optional: DEPLOYER_FIELDS,
        one_of: AT_OR_PHASE,
        build: |entry| entry.deployer_kill(),
    },
    FaultKind {
        name: "deployer-abort",
        summary: "Ctrl-C to the deployer of `deploy` at `at` or `phase`: flyctl's abort path runs",
        required: &[],
        optional: DEPLOYER_FIELDS,
        one_of: AT_OR_PHASE,
        build: |entry| entry.deployer_abort(),
    },
    FaultKind {
        name: "capacity-error",
        summary: "launches by `deploy` fail with `status` once `after_creates` launches succeeded (\"could not reserve resource\")",
        required: &["after_creates"],
        optional: &["deploy", "status"],
        one_of: &[],
        build: |entry| entry.capacity_error(),
    },
    FaultKind {
        name: "stop-hangs",
        summary: "the machine ignores stop: it stays `stopping` for `duration` (left out: until destroyed)",
        required: &["machine"],
        optional: &["duration"],
        one_of: &[],
        build: |entry| entry.stop_hangs(),
    },
    FaultKind {
        name: "api-ambiguous",
        summary: "the call lands and is applied, but its reply is lost: the caller sees `status` (408/5xx) or a closed connection",
        required: &[],
        optional: COUNTED_API_FIELDS,
        one_of: RATE_OR_CALLS,
        build: |entry| entry.api_ambiguous(),
    },
    FaultKind {
        name: "api-slow",
        summary: "calls (of `operation`, by `deploy`) take a draw from `extra` longer each way",
        required: &["extra"],
        optional: &["operation", "start", "duration", "deploy"],
        one_of: &[],
        build: |entry| entry.api_slow(),
    },
    FaultKind {
        name: "api-partition",
        summary: "every call (of `operation`) of `deploy` fails with a transport error in the window, or the counted `calls`",
        required: &[],
        optional: &["deploy", "operation", "calls", "start", "duration"],
        one_of: &[],
        build: |entry| entry.api_partition(),
    },
    FaultKind {
        name: "stale-list",
        summary: "machines created in the window stay invisible to `list` for `lag`",
        required: &["lag"],
        optional: WINDOW_FIELDS,
        one_of: &[],
        build: |entry| entry.stale_list(),
    },
    FaultKind {
        name: "empty-image-ref",
        summary: "`list` reports the machine with an empty image reference in the window",
        required: &["machine"],
        optional: WINDOW_FIELDS,
        one_of: &[],
        build: |entry| entry.empty_image_ref(),
    },
    FaultKind {
        name: "host-unreachable",
        summary: "the machine's host is unreachable in the window: calls on it fail with 503, `list` shows it incomplete; it keeps serving",
        required: &["machine"],
        optional: WINDOW_FIELDS,
        one_of: &[],
        build: |entry| entry.host_not_ok(HostStatus::Unreachable),
    },
    FaultKind {
        name: "host-unknown",
        summary: "as `host-unreachable`, with host status `unknown`",
        required: &["machine"],
        optional: WINDOW_FIELDS,
        one_of: &[],
        build: |entry| entry.host_not_ok(HostStatus::Unknown),
    },
    FaultKind {
        name: "deployer-stall",
        summary: "the deployer's process freezes for `duration` (from `at` or `phase`); its leases can expire",
        required: &["duration"],
        optional: DEPLOYER_FIELDS,
        one_of: AT_OR_PHASE,
        build: |entry| entry.deployer_stall(),
    },
    FaultKind {
        name: "slow-boot",
        summary: "the machine's boot takes a draw from `delay` instead of `machine.boot_time`",
        required: &["machine", "delay"],
        optional: &[],
        one_of: &[],
        build: |entry| entry.slow_boot(),
    },
    FaultKind {
        name: "boot-failure",
        summary: "the machine goes to `failed` instead of `started`",
        required: &["machine"],
        optional: &[],
        one_of: &[],
        build: |entry| entry.boot_failure(),
    },
    FaultKind {
        name: "crash-loop",
        summary: "each time the machine has run for `period` after starting, it crashes",
        required: &["machine", "period"],
        optional: &[],
        one_of: &[],
        build: |entry| entry.crash_loop(),
    },
    FaultKind {
        name: "org-limit",
        summary: "the org may not run bluegreen deploys (`canPerformBluegreenDeployment` is false) for `deploy`, or every deploy",
        required: &[],
        optional: &["deploy"],
        one_of: &[],
        build: |entry| entry.org_limit(),
    },
    FaultKind {
        name: "checks-fail",
        summary: "from `at` or `phase` (or the start), the machine's checks fail, for `duration` (left out: for good)",
        required: &["machine"],
        optional: &["at", "phase", "after", "duration"],
        one_of: &[],
        build: |entry| entry.checks_fail(),
    },
    FaultKind {
        name: "checks-flap",
        summary: "in the window the machine's checks alternate failing and passing every `period`",
        required: &["machine", "period"],
        optional: WINDOW_FIELDS,
        one_of: &[],
        build: |entry| entry.checks_flap(),
    },
    FaultKind {
        name: "proxy-stale",
        summary: "the `region`'s proxy learns no routing change in the window, then catches up",
        required: &["region"],
        optional: WINDOW_FIELDS,
        one_of: &[],
        build: |entry| entry.proxy_stale(),
    },
    FaultKind {
        name: "manual-destroy",
        summary: "someone runs `fly machine destroy --force` on the machine at `at`",
        required: &["machine", "at"],
        optional: &[],
        one_of: &[],
        build: |entry| entry.manual_destroy(),
    },
];

/// One kind of fault as `fleetsim faults` and the schema describe it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FaultKindInfo {
    pub name: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// The fields it requires besides `kind`.
    pub required: Vec<&'static str>,
    /// The fields it may also take.
    pub optional: Vec<&'static str>,
    /// Of these optional fields it needs one (`rate` or `calls`, `at` or `phase`); empty: none.
    pub one_of: Vec<&'static str>,
}

/// Every fault kind a scenario may name, in the order `fleetsim faults` lists them.
pub fn fault_kinds() -> Vec<FaultKindInfo> {
    FAULT_KINDS
        .iter()
        .map(|kind| FaultKindInfo {
            name: kind.name,
            summary: kind.summary,
            required: kind.required.to_vec(),
            optional: kind.optional.to_vec(),
            one_of: kind.one_of.to_vec(),
        })
        .collect()
}

/// One `[[faults]]` entry, at `field` (`faults[3]`).
pub(crate) fn fault(
    src: &Source,
    field: &str,
    raw: &Spanned<RawFault>,
    refs: Refs,
) -> Checked<FaultSpec> {
    let fault = raw.get_ref();
    let name = fault.kind.get_ref().as_str();
    let Some(kind) = FAULT_KINDS.iter().find(|kind| kind.name == name) else {
        let known: Vec<&str> = FAULT_KINDS.iter().map(|kind| kind.name).collect();
        let message = format!("unknown fault kind `{name}` (known: {})", known.join(", "));
        return Err(src.error(&fault.kind.span(), format!("{field}.kind"), message));
    };
    let check = FieldCheck {
        src,
        field,
        what: format!("a fault of kind `{name}`"),
        table_span: raw.span(),
    };
    check.check(&fault.present_fields(), kind.required, kind.optional)?;
    (kind.build)(&FaultEntry {
        src,
        field,
        raw,
        refs,
        kind,
    })
}

/// One `[[faults]]` entry whose fields `FieldCheck` has already checked against its kind.
struct FaultEntry<'a> {
    src: &'a Source<'a>,
    field: &'a str,
    raw: &'a Spanned<RawFault>,
    refs: Refs<'a>,
    kind: &'a FaultKind,
}

impl FaultEntry<'_> {
    fn fault(&self) -> &RawFault {
        self.raw.get_ref()
    }

    /// A required field. (Fallible rather than unwrapped so the loader cannot panic if the
    /// kind table and this code ever disagree.)
    fn need<'t, T>(&self, value: Option<&'t T>) -> Checked<&'t T> {
        value.ok_or_else(|| {
            let kind = self.fault().kind.get_ref();
            let message = format!("incomplete fault of kind `{kind}`");
            self.src.error(&self.raw.span(), self.field, message)
        })
    }

    fn sub(&self, name: &str) -> String {
        format!("{}.{name}", self.field)
    }

    // ---- fields shared by several kinds ----

    fn target(&self) -> Checked<MachineTarget> {
        let text = self.need(self.fault().machine.as_ref())?;
        self.machine(text)
    }

    /// The optional `machine` of faults that may be narrowed to one machine.
    fn optional_target(&self) -> Checked<Option<MachineTarget>> {
        self.fault()
            .machine
            .as_ref()
            .map(|text| self.machine(text))
            .transpose()
    }

    fn machine(&self, text: &Text) -> Checked<MachineTarget> {
        let initial = (self.refs.initial, self.refs.deploys);
        let field = self.sub("machine");
        let target = machine_target(self.src, &field, text, initial)?;
        if let MachineTarget::Green { deploy, index } = target {
            self.green_exists(&field, text, (deploy, index))?;
        }
        Ok(target)
    }

    /// A deploy launches one green per machine it replaces (N for the first): a green beyond the
    /// machine limit can never exist (refused), one beyond N is launched only when the deploy
    /// replaces more machines than the initial fleet had (a warning).
    fn green_exists(&self, field: &str, text: &Text, (deploy, index): (u32, u32)) -> Checked<()> {
        let initial = self.refs.initial;
        let possible = self.refs.machine_limit.saturating_sub(initial);
        let value = text.get_ref().trim();
        if index >= possible {
            let message = format!(
                "`{value}` can never exist: run.machine_limit ({}) leaves room for {possible} \
                 machines beside the initial fleet of {initial}",
                self.refs.machine_limit
            );
            return Err(self.src.error(&text.span(), field, message));
        }
        if index >= initial {
            let message = format!(
                "`{value}` names green {} of deploy {deploy}, but a deploy launches one green \
                 per machine it replaces and the initial fleet has {initial}: the fault fires \
                 only if the deploy launches more (duplicates, or leftovers adopted as blues)",
                u64::from(index) + 1
            );
            self.src.warn(&text.span(), field, message);
        }
        Ok(())
    }

    /// A point in time of the fault, at most the run's time limit.
    fn time(&self, name: &str, text: &Text) -> Checked<Duration> {
        let limit = (self.refs.time_limit, NEVER_FIRES);
        within_time_limit(self.src, &self.sub(name), text, limit)
    }

    /// The optional `deploy` index, which must name a `[[deploy]]` entry.
    fn deploy(&self) -> Checked<Option<u32>> {
        self.fault()
            .deploy
            .as_ref()
            .map(|value| deploy_index(self.src, &self.sub("deploy"), value, self.refs.deploys))
            .transpose()
    }

    /// The optional `operation` (None: every operation).
    fn operation(&self) -> Checked<Option<Operation>> {
        self.fault()
            .operation
            .as_ref()
            .map(|text| operation(self.src, &self.sub("operation"), text))
            .transpose()
    }

    /// An error `status` in 400..=599, or `default`.
    fn status(&self, default: u16) -> Checked<u16> {
        match self.status_or_transport(Some(default), false)? {
            Some(status) => Ok(status),
            None => unreachable!("a transport error is refused when not allowed"),
        }
    }

    /// `status`: an HTTP status in 400..=599 (only 408 and 5xx when `lost_reply`), or, when
    /// `transport_allowed`... `"none"`: a transport error (None). Left out: `default`.
    fn status_or_transport(&self, default: Option<u16>, lost_reply: bool) -> Checked<Option<u16>> {
        let transport_allowed = matches!(
            self.fault().kind.get_ref().as_str(),
            "api-error" | "api-ambiguous"
        );
        let Some(raw) = self.fault().status.as_ref() else {
            return Ok(default);
        };
        let field = self.sub("status");
        match raw.get_ref() {
            RawStatus::Word(word) if word == "none" && transport_allowed => Ok(None),
            RawStatus::Word(word) => {
                let message = if transport_allowed {
                    format!("unknown status `{word}`: an HTTP status, or \"none\" for a transport error (no HTTP status)")
                } else {
                    format!("unknown status `{word}`: expected an HTTP status between 400 and 599")
                };
                Err(self.src.error(&raw.span(), field, message))
            }
            RawStatus::Code(code) => {
                let spanned = Spanned::new(raw.span(), *code);
                let status = integer_in(self.src, &field, &spanned, 400..=599)?;
                let status = u16::try_from(status).expect("in range");
                if lost_reply && !(status == 408 || (500..=599).contains(&status)) {
                    let message = format!(
                        "{status} is not a status of a lost reply: must be 408, between 500 and 599, or \"none\""
                    );
                    return Err(self.src.error(&raw.span(), field, message));
                }
                Ok(Some(status))
            }
        }
    }

    /// `rate` in a window, or `calls` (then neither `rate` nor a window): returns (rate, window,
    /// calls). Without `calls`, `rate` must be given when the kind needs `RATE_OR_CALLS`
    /// (api-error, api-ambiguous); api-partition has no rate.
    fn rate_window_or_calls(&self) -> Checked<(f64, Window, Option<CallRange>)> {
        let rate_required = self.kind.one_of == RATE_OR_CALLS;
        let fault = self.fault();
        let Some(calls_text) = fault.calls.as_ref() else {
            let rate = match fault.rate.as_ref() {
                Some(rate) => fraction(self.src, &self.sub("rate"), rate)?,
                None if rate_required => {
                    let message = format!(
                        "missing field `rate` or `calls` (a fault of kind `{}` fails a fraction of the calls in a window, or the calls it counts)",
                        fault.kind.get_ref()
                    );
                    return Err(self.src.error(&self.raw.span(), self.sub("rate"), message));
                }
                None => 1.0,
            };
            return Ok((rate, self.window()?, None));
        };
        let present = fault.present_fields();
        let conflict = NOT_WITH_CALLS
            .iter()
            .find_map(|name| present.iter().find(|(field, _)| field == name));
        if let Some((name, span)) = conflict {
            let message = format!(
                "`{name}` does not go with `calls`: a call-counted fault fails exactly the calls it counts, at any time"
            );
            return Err(self.src.error(span, self.sub(name), message));
        }
        let calls = call_range(self.src, &self.sub("calls"), calls_text)?;
        Ok((1.0, Window::ALWAYS, Some(calls)))
    }

    /// A required distribution.
    fn distribution(&self, name: &str, raw: Option<&SpannedDistribution>) -> Checked<Distribution> {
        distribution(self.src, &self.sub(name), self.need(raw)?)
    }

    /// A required `duration`, `period` or `lag`: greater than 0 and at most 24h.
    fn bounded(&self, name: &str, text: Option<&Text>) -> Checked<Duration> {
        bounded_duration(self.src, &self.sub(name), name, self.need(text)?, "")
    }

    /// An optional `duration` (None: for the rest of the run); when given, as `bounded`.
    fn optional_duration(&self, hint: &str) -> Checked<Option<Duration>> {
        self.fault()
            .duration
            .as_ref()
            .map(|text| bounded_duration(self.src, &self.sub("duration"), "duration", text, hint))
            .transpose()
    }

    /// `start` (default 0s) and `duration` (default: to the end of the run).
    fn window(&self) -> Checked<Window> {
        let start = match self.fault().start.as_ref() {
            Some(text) => self.time("start", text)?,
            None => Duration::ZERO,
        };
        let duration = self.optional_duration(" (leave it out for the rest of the run)")?;
        Ok(Window { start, duration })
    }

    fn at(&self) -> Checked<Duration> {
        let at = self.need(self.fault().at.as_ref())?;
        self.time("at", at)
    }

    /// When a fault fires: `at` or `phase`, not both; `after` only with `phase`. A kind that
    /// needs `AT_OR_PHASE` (the deployer faults) must give one; another fires at the start of
    /// the run when it gives neither.
    fn trigger(&self) -> Checked<Trigger> {
        let default = (self.kind.one_of != AT_OR_PHASE).then_some(Trigger::At(Duration::ZERO));
        let fault = self.fault();
        if let (Some(at), Some(phase)) = (fault.at.as_ref(), fault.phase.as_ref()) {
            let (name, second) = if phase.span().start > at.span().start {
                ("phase", phase)
            } else {
                ("at", at)
            };
            return Err(self.src.error(
                &second.span(),
                self.sub(name),
                "give either `at` or `phase`, not both",
            ));
        }
        if let (Some(after), None) = (fault.after.as_ref(), fault.phase.as_ref()) {
            return Err(self.src.error(
                &after.span(),
                self.sub("after"),
                "`after` only applies with `phase` (it delays the fault after the phase starts)",
            ));
        }
        match (fault.at.as_ref(), fault.phase.as_ref(), default) {
            (Some(at), _, _) => Ok(Trigger::At(self.time("at", at)?)),
            (None, Some(text), _) => Ok(Trigger::Phase {
                phase: phase(self.src, &self.sub("phase"), text)?,
                after: match fault.after.as_ref() {
                    Some(after) => self.time("after", after)?,
                    None => Duration::ZERO,
                },
            }),
            (None, None, Some(default)) => Ok(default),
            (None, None, None) => {
                let message = format!(
                    "missing field `at` or `phase` (a fault of kind `{}` needs exactly one of them: a time, or a phase of the deploy)",
                    fault.kind.get_ref()
                );
                Err(self.src.error(&self.raw.span(), self.field, message))
            }
        }
    }

    // ---- one builder per kind ----

    fn api_error(&self) -> Checked<FaultSpec> {
        let (rate, window, calls) = self.rate_window_or_calls()?;
        Ok(FaultSpec::ApiError {
            operation: self.operation()?,
            rate,
            status: self.status_or_transport(Some(503), false)?,
            window,
            deploy: self.deploy()?,
            machine: self.optional_target()?,
            calls,
        })
    }

    fn propagation_tail(&self) -> Checked<FaultSpec> {
        let fault = self.fault();
        let probability = self.need(fault.probability.as_ref())?;
        Ok(FaultSpec::PropagationTail {
            probability: fraction(self.src, &self.sub("probability"), probability)?,
            delay: self.distribution("delay", fault.delay.as_ref())?,
            window: self.window()?,
        })
    }

    fn machine_crash(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::MachineCrash {
            target: self.target()?,
            at: self.at()?,
        })
    }

    fn unhealthy(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::Unhealthy {
            target: self.target()?,
        })
    }

    /// Only blues exist when the run starts, so only they can have a lease held from the start.
    fn lease_held(&self) -> Checked<FaultSpec> {
        let fault = self.fault();
        let target = self.target()?;
        if !matches!(target, MachineTarget::Initial(_)) {
            let span = fault
                .machine
                .as_ref()
                .map_or(fault.kind.span(), Spanned::span);
            let message = "a fault of kind `lease-held` needs a machine of the initial fleet (`blue:<i>`): greens do not exist when the run starts";
            return Err(self.src.error(&span, self.sub("machine"), message));
        }
        Ok(FaultSpec::LeaseHeld {
            target,
            owner: match fault.owner.as_ref() {
                Some(text) => non_empty(self.src, &self.sub("owner"), text)?,
                None => "another-deployer".to_string(),
            },
            ttl: positive_duration_or(
                self.src,
                &self.sub("ttl"),
                fault.ttl.as_ref(),
                Duration::from_secs(3600),
            )?,
        })
    }

    fn deployer_kill(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::DeployerKill {
            deploy: self.deploy()?.unwrap_or(0),
            trigger: self.trigger()?,
        })
    }

    fn deployer_abort(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::DeployerAbort {
            deploy: self.deploy()?.unwrap_or(0),
            trigger: self.trigger()?,
        })
    }

    fn capacity_error(&self) -> Checked<FaultSpec> {
        let after_creates = self.need(self.fault().after_creates.as_ref())?;
        let after_creates = integer_in(
            self.src,
            &self.sub("after_creates"),
            after_creates,
            0..=super::ranges::MACHINE_LIMIT_MAX,
        )?;
        Ok(FaultSpec::CapacityError {
            deploy: self.deploy()?,
            after_creates: u32::try_from(after_creates).unwrap_or(u32::MAX),
            status: self.status(412)?,
        })
    }

    fn stop_hangs(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::StopHangs {
            duration: self
                .optional_duration(" (leave it out to hang until the machine is destroyed)")?,
            target: self.target()?,
        })
    }

    /// Like `api-error`, but the status is one a lost reply gives: 408, a 5xx (default 504), or
    /// `"none"` (the connection closed before the reply).
    fn api_ambiguous(&self) -> Checked<FaultSpec> {
        let (rate, window, calls) = self.rate_window_or_calls()?;
        Ok(FaultSpec::ApiAmbiguous {
            operation: self.operation()?,
            rate,
            status: self.status_or_transport(Some(504), true)?,
            window,
            deploy: self.deploy()?,
            machine: self.optional_target()?,
            calls,
        })
    }

    fn api_slow(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::ApiSlow {
            operation: self.operation()?,
            extra: self.distribution("extra", self.fault().extra.as_ref())?,
            window: self.window()?,
            deploy: self.deploy()?,
        })
    }

    fn api_partition(&self) -> Checked<FaultSpec> {
        let (_, window, calls) = self.rate_window_or_calls()?;
        Ok(FaultSpec::ApiPartition {
            deploy: self.deploy()?,
            window,
            operation: self.operation()?,
            calls,
        })
    }

    fn stale_list(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::StaleList {
            lag: self.bounded("lag", self.fault().lag.as_ref())?,
            window: self.window()?,
        })
    }

    fn empty_image_ref(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::EmptyImageRef {
            target: self.target()?,
            window: self.window()?,
        })
    }

    fn host_not_ok(&self, status: HostStatus) -> Checked<FaultSpec> {
        Ok(FaultSpec::HostNotOk {
            target: self.target()?,
            window: self.window()?,
            status,
        })
    }

    /// Like `deployer-kill`, with a required `duration`.
    fn deployer_stall(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::DeployerStall {
            deploy: self.deploy()?.unwrap_or(0),
            trigger: self.trigger()?,
            duration: self.bounded("duration", self.fault().duration.as_ref())?,
        })
    }

    fn slow_boot(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::SlowBoot {
            target: self.target()?,
            delay: self.distribution("delay", self.fault().delay.as_ref())?,
        })
    }

    fn boot_failure(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::BootFailure {
            target: self.target()?,
        })
    }

    fn crash_loop(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::CrashLoop {
            target: self.target()?,
            period: self.bounded("period", self.fault().period.as_ref())?,
        })
    }

    fn org_limit(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::OrgLimit {
            deploy: self.deploy()?,
        })
    }

    /// The trigger defaults to the start of the run.
    fn checks_fail(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::ChecksFail {
            target: self.target()?,
            trigger: self.trigger()?,
            duration: self.optional_duration(" (leave it out to fail for good)")?,
        })
    }

    fn checks_flap(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::ChecksFlap {
            target: self.target()?,
            period: self.bounded("period", self.fault().period.as_ref())?,
            window: self.window()?,
        })
    }

    /// The region must have a proxy (`proxy.regions`, or its default).
    fn proxy_stale(&self) -> Checked<FaultSpec> {
        let text = self.need(self.fault().region.as_ref())?;
        let field = self.sub("region");
        let code = region(self.src, &field, text)?;
        if !self.refs.proxies.contains(&code) {
            let proxies = if self.refs.proxies.is_empty() {
                "none".to_string()
            } else {
                self.refs.proxies.join(", ")
            };
            let message = format!("region `{code}` has no proxy (proxy.regions: {proxies})");
            return Err(self.src.error(&text.span(), field, message));
        }
        Ok(FaultSpec::ProxyStale {
            region: code,
            window: self.window()?,
        })
    }

    fn manual_destroy(&self) -> Checked<FaultSpec> {
        Ok(FaultSpec::ManualDestroy {
            target: self.target()?,
            at: self.at()?,
        })
    }
}

/// A fault's `duration`, `period` or `lag` (`name`): greater than 0 and at most 24h. `hint` ends
/// the message (what leaving an optional field out means).
fn bounded_duration(
    src: &Source,
    field: &str,
    name: &str,
    text: &Text,
    hint: &str,
) -> Checked<Duration> {
    let value = duration(src, field, text)?;
    if value.is_zero() || value > MAX_FAULT_DURATION {
        let message = format!(
            "{name} `{}` is out of range: must be greater than 0 and at most 24h{hint}",
            text.get_ref().trim()
        );
        return Err(src.error(&text.span(), field, message));
    }
    Ok(value)
}

/// `calls`: `"N"`, `"A..B"` (the A-th to the B-th, both included) or `"A.."` (from the A-th on);
/// call numbers start at 1.
fn call_range(src: &Source, field: &str, text: &Text) -> Checked<CallRange> {
    let value = text.get_ref().trim();
    let error = |why: &str| {
        let message = format!(
            "bad call range `{value}`: {why} (write \"2\", \"1..3\" for the first to the third, or \"4..\" for the fourth on)"
        );
        src.error(&text.span(), field, message)
    };
    let number = |part: &str| -> Result<u32, ScenarioError> {
        if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(error("call numbers are whole numbers"));
        }
        match part.parse::<u32>() {
            Ok(0) => Err(error("calls are numbered from 1")),
            Ok(number) if number <= CALL_NUMBER_MAX => Ok(number),
            _ => Err(error(&format!("call numbers go up to {CALL_NUMBER_MAX}"))),
        }
    };
    let range = match value.split_once("..") {
        None => {
            let nth = number(value)?;
            CallRange {
                first: nth,
                last: Some(nth),
            }
        }
        Some((first, "")) => CallRange {
            first: number(first)?,
            last: None,
        },
        Some((first, last)) => {
            let (first, last) = (number(first)?, number(last)?);
            if last < first {
                return Err(error("the range ends before it starts"));
            }
            CallRange {
                first,
                last: Some(last),
            }
        }
    };
    Ok(range)
}

fn operation(src: &Source, field: &str, text: &Text) -> Checked<Operation> {
    Operation::from_name(text.get_ref()).ok_or_else(|| {
        let known: Vec<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
        let message = format!(
            "unknown operation `{}` (known: {})",
            text.get_ref(),
            known.join(", ")
        );
        src.error(&text.span(), field, message)
    })
}

/// A phase of a deploy, by the name `Phase::as_str` gives it (`stop-blues`).
fn phase(src: &Source, field: &str, text: &Text) -> Checked<Phase> {
    let found = Phase::ALL
        .into_iter()
        .find(|phase| phase.as_str() == text.get_ref());
    found.ok_or_else(|| {
        let known: Vec<&str> = Phase::ALL.iter().map(|phase| phase.as_str()).collect();
        let message = format!(
            "unknown phase `{}` (known: {})",
            text.get_ref(),
            known.join(", ")
        );
        src.error(&text.span(), field, message)
    })
}
