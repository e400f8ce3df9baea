//! `fleetsim init`: a commented scenario to start from, which runs as is and passes.

use std::fmt::Write as _;

use super::ranges;
use super::raw::{RawCheck, RawFleet, RawProxy, RawRun, RawTraffic};
use super::writer::duration;
use crate::deploy::{DeployParams, StrategyName};

/// What `fleetsim init` writes: the fleet spread over `regions`, one deploy with `strategy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub machines: u32,
    pub regions: Vec<String>,
    pub strategy: StrategyName,
}

impl Default for Template {
    fn default() -> Template {
        Template {
            machines: 4,
            regions: vec!["iad".to_string(), "ams".to_string()],
            strategy: StrategyName::ALL[0],
        }
    }
}

impl Template {
    /// Checks the template's arguments: at least one machine per region, valid and distinct
    /// region codes, and no more than the scenario format allows.
    pub fn validate(&self) -> Result<(), String> {
        if self.regions.is_empty() || self.regions.len() > ranges::REGIONS_MAX {
            return Err(format!(
                "--regions: give 1 to {} regions",
                ranges::REGIONS_MAX
            ));
        }
        for (index, region) in self.regions.iter().enumerate() {
            let valid = (2..=8).contains(&region.len())
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if !valid {
                return Err(format!(
                    "--regions: invalid region `{region}`: expected 2 to 8 lowercase letters or digits, like `iad`"
                ));
            }
            if self.regions[..index].contains(region) {
                return Err(format!("--regions: `{region}` is listed twice"));
            }
        }
        let most = u32::try_from(ranges::GROUP_COUNT_MAX).unwrap_or(u32::MAX);
        let regions = u32::try_from(self.regions.len()).unwrap_or(u32::MAX);
        if self.machines < regions || self.machines > most {
            return Err(format!(
                "--machines: give {regions} to {most} machines (at least one per region)"
            ));
        }
        Ok(())
    }

    /// The scenario text, expecting success with every applicable invariant held (`observed`:
    /// None), or what a run of that text showed instead. `validate` must have passed.
    pub fn to_toml(&self, observed: Option<&Observed>) -> String {
        assert!(self.validate().is_ok(), "a validated template");
        let mut out = String::new();
        self.header(&mut out);
        self.fleet(&mut out);
        self.platform(&mut out);
        self.deploy(&mut out, observed);
        self.expect(&mut out, observed);
        out
    }

    fn header(&self, out: &mut String) {
        let strategy = self.strategy.as_str();
        let _ = write!(
            out,
            r#"# A scenario written by `fleetsim init`: {machines} healthy machines in {regions}, steady
# traffic, and one `{strategy}` deploy of a new image; [expect] at the end says what the run
# must show. Run it with `fleetsim run FILE`; change it, then add faults.
#
# Every field is described in docs/scenario-reference.md (`fleetsim schema --markdown`);
# `fleetsim schema` prints a JSON Schema for editors, `fleetsim faults` lists the fault kinds
# and `fleetsim invariants` what [expect] may name. Sections other than [scenario], [app],
# [[fleet]] and [[deploy]] may be left out: their fields then have the defaults noted below.

[scenario]
name = "my-first-scenario"
description = "{machines} machines in {regions}; one {strategy} deploy"

# The app, and the image every machine runs when the run starts (the "blue" image).
[app]
name = "web"
image = "registry.fly.io/web:v1"

# A health check every machine has. A new machine takes traffic only once it passes.
[[app.checks]]
name = "alive"
kind = "http"          # http or tcp (default {kind})
interval = "10s"       # default {interval}
grace_period = "5s"    # default {grace_period}
"#,
            machines = self.machines,
            regions = self.regions.join(", "),
            kind = RawCheck::KIND_DEFAULT,
            interval = duration(RawCheck::INTERVAL_DEFAULT),
            grace_period = duration(RawCheck::GRACE_PERIOD_DEFAULT),
        );
    }

    /// The machines spread evenly over the regions, the first regions taking the remainder.
    fn fleet(&self, out: &mut String) {
        let regions = u32::try_from(self.regions.len()).expect("at most REGIONS_MAX");
        let _ = writeln!(
            out,
            "\n# The fleet when the run starts: N = {} machines. Faults name them blue:0, blue:1, ...\n\
             # in the order of these entries.",
            self.machines
        );
        for (index, region) in self.regions.iter().enumerate() {
            let index = u32::try_from(index).expect("at most REGIONS_MAX");
            let count = self.machines / regions + u32::from(index < self.machines % regions);
            let _ = writeln!(out, "[[fleet]]\nregion = \"{region}\"\ncount = {count}");
            if index == 0 {
                let _ = writeln!(
                    out,
                    "state = \"{}\"      # (default) started | stopped | suspended | created",
                    RawFleet::STATE_DEFAULT.as_str()
                );
            }
            out.push('\n');
        }
    }

    fn platform(&self, out: &mut String) {
        let _ = writeln!(
            out,
            r#"# How late each region's edge proxy learns that a machine started, was cordoned or is
# gone: the delay behind most deploy downtime. Always give a lognormal a `max`.
[proxy]
propagation = {propagation}   # (default)
hold_timeout = "{hold_timeout}"    # (default) how long a request waits for a routable machine

# Requests per second arriving in each region (Poisson); every one is routed and counted.
[traffic]
service_time = {service_time}   # (default)"#,
            propagation = RawProxy::PROPAGATION_DEFAULT.toml(),
            hold_timeout = duration(RawProxy::HOLD_TIMEOUT_DEFAULT),
            service_time = RawTraffic::SERVICE_TIME_DEFAULT.toml(),
        );
        for region in &self.regions {
            let _ = writeln!(
                out,
                "[[traffic.regions]]\nregion = \"{region}\"\nrate = 20.0"
            );
        }
    }

    fn deploy(&self, out: &mut String, observed: Option<&Observed>) {
        let outcome = observed.map_or("succeeded", |observed| observed.outcome.as_str());
        let _ = writeln!(
            out,
            r#"
# One `fly deploy` of a new image (`fleetsim strategies` lists the strategies and versions).
[[deploy]]
strategy = "{}"
image = "registry.fly.io/web:v2"
start = "10s"                    # since the run's start
wait_timeout = "{wait_timeout}"              # (default) flyctl's --wait-timeout
expect_outcome = "{outcome}"

# Faults: add [[faults]] entries here (`fleetsim faults` lists the kinds and their fields), e.g.
# [[faults]]
# kind = "machine-crash"
# machine = "green:0"
# at = "20s"

[run]
seed = {seed}                         # (default) `--seed` overrides it
time_limit = "1h"                # the run stops here and says so (default {time_limit})
settle = "{settle}"                   # (default) traffic after the last deploy ends"#,
            self.strategy.as_str(),
            wait_timeout = duration(DeployParams::DEFAULT_WAIT_TIMEOUT),
            seed = RawRun::SEED_DEFAULT,
            time_limit = duration(RawRun::TIME_LIMIT_DEFAULT),
            settle = duration(RawRun::SETTLE_DEFAULT),
        );
    }

    fn expect(&self, out: &mut String, observed: Option<&Observed>) {
        let _ = writeln!(
            out,
            "\n# What the run must show. Left out, `hold` is every invariant that applies to the strategy;\n\
             # name the ones a fault should break in `violate` (`fleetsim invariants` lists them).\n\
             [expect]"
        );
        let violated = observed.map_or(&[][..], |observed| observed.violated.as_slice());
        if !violated.is_empty() {
            let _ = writeln!(
                out,
                "# `{}` breaks these even in this healthy deploy: `fleetsim init` ran the file (seed 1)\n\
                 # and found them (`fleetsim strategies` says what each version gets wrong).",
                self.strategy.as_str()
            );
        }
        let quoted: Vec<String> = violated.iter().map(|name| format!("\"{name}\"")).collect();
        let _ = writeln!(out, "violate = [{}]", quoted.join(", "));
        if let Some(status) = observed.map_or(Some(0), |observed| observed.exit_status) {
            let _ = writeln!(
                out,
                "exit_status = {status}                  # flyctl's exit status"
            );
        }
    }
}

/// What a run of the template showed, when it was not success with every invariant held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The invariants violated, by name.
    pub violated: Vec<String>,
    /// The deploy's outcome.
    pub outcome: String,
    /// flyctl's exit status, if it exited.
    pub exit_status: Option<i32>,
}
