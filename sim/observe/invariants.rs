//! The invariants by name: what each promises, whether it is safety or liveness, and sets of
//! them. A strategy declares which apply to it (the others are `n/a`), so the names live below
//! both the strategies and the checkers that judge them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;
/// The invariants, by their stable names (listed by `fleetsim invariants` and in the README).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    NoMachineExplosion,
    NeverAllDeleted,
    DeployerNeverDeletesAll,
    NoDowntime,
    RollbackSparesBlue,
    SingleImageAtRest,
    DeployTerminates,
    GreenKeptAfterSwitch,
    DrainOrder,
    NoLeftovers,
    LeaseExclusion,
    HealthGatedSwitch,
    IdempotentCreate,
    AbortSafety,
    BoundedMixing,
    LeasesReleased,
    FleetConverges,
    FleetSizeKept,
    ConcurrencyLimit,
    MaxUnavailable,
    NoVacuousHealth,
}

/// Safety invariants are checked as the run goes; liveness ones after the faults healed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvariantKind {
    Safety,
    Liveness,
}

impl Invariant {
    pub const ALL: [Invariant; 21] = [
        Invariant::NoMachineExplosion,
        Invariant::NeverAllDeleted,
        Invariant::DeployerNeverDeletesAll,
        Invariant::NoDowntime,
        Invariant::RollbackSparesBlue,
        Invariant::SingleImageAtRest,
        Invariant::DeployTerminates,
        Invariant::GreenKeptAfterSwitch,
        Invariant::DrainOrder,
        Invariant::NoLeftovers,
        Invariant::LeaseExclusion,
        Invariant::HealthGatedSwitch,
        Invariant::IdempotentCreate,
        Invariant::AbortSafety,
        Invariant::BoundedMixing,
        Invariant::LeasesReleased,
        Invariant::FleetConverges,
        Invariant::FleetSizeKept,
        Invariant::ConcurrencyLimit,
        Invariant::MaxUnavailable,
        Invariant::NoVacuousHealth,
    ];

    pub fn kind(self) -> InvariantKind {
        match self {
            Invariant::DeployTerminates
            | Invariant::NoLeftovers
            | Invariant::LeasesReleased
            | Invariant::FleetConverges => InvariantKind::Liveness,
            _ => InvariantKind::Safety,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Invariant::NoMachineExplosion => "no-machine-explosion",
            Invariant::NeverAllDeleted => "never-all-deleted",
            Invariant::DeployerNeverDeletesAll => "deployer-never-deletes-all",
            Invariant::NoDowntime => "no-downtime",
            Invariant::RollbackSparesBlue => "rollback-spares-blue",
            Invariant::SingleImageAtRest => "single-image-at-rest",
            Invariant::DeployTerminates => "deploy-terminates",
            Invariant::GreenKeptAfterSwitch => "green-kept-after-switch",
            Invariant::DrainOrder => "drain-order",
            Invariant::NoLeftovers => "no-leftovers",
            Invariant::LeaseExclusion => "lease-exclusion",
            Invariant::HealthGatedSwitch => "health-gated-switch",
            Invariant::IdempotentCreate => "idempotent-create",
            Invariant::AbortSafety => "abort-safety",
            Invariant::BoundedMixing => "bounded-mixing",
            Invariant::LeasesReleased => "leases-released",
            Invariant::FleetConverges => "fleet-converges",
            Invariant::FleetSizeKept => "fleet-size-kept",
            Invariant::ConcurrencyLimit => "concurrency-limit",
            Invariant::MaxUnavailable => "max-unavailable",
            Invariant::NoVacuousHealth => "no-vacuous-health",
        }
    }

    /// What the invariant promises under `bounds` (the scenario's `[check]` section), in one line:
    /// the two invariants with a user-set bound print the bound they judged.
    pub fn promise(self, bounds: &Bounds) -> String {
        match self {
            Invariant::NoMachineExplosion => format!(
                "machines alive never exceed {} × N",
                bounds.explosion_factor
            ),
            Invariant::BoundedMixing => format!(
                "two images are never routable together for over {}",
                bounds.mixing_bound_text()
            ),
            _ => self.description().to_string(),
        }
    }

    /// What the invariant promises, in one line, for the invariants without a bound of their own.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Invariant::NoMachineExplosion | Invariant::BoundedMixing => {
                unreachable!("bounded invariants are described by `promise`")
            }
            Invariant::NeverAllDeleted => {
                "once the app serves, some machine is always started, uncordoned and passing"
            }
            Invariant::DeployerNeverDeletesAll => {
                "no deployer's cordon, stop, destroy or update takes away the last started, \
                 uncordoned and passing machine"
            }
            Invariant::NoDowntime => {
                "no request fails and no proxy is left without a live routable machine"
            }
            Invariant::RollbackSparesBlue => {
                "a deploy that destroys its greens never cordoned, stopped or destroyed a blue"
            }
            Invariant::SingleImageAtRest => {
                "after a deploy reports success, every alive machine runs its image"
            }
            Invariant::DeployTerminates => "every deploy ends within its time bound",
            Invariant::GreenKeptAfterSwitch => {
                "no deploy destroys its own green after its first uncordon succeeded"
            }
            Invariant::DrainOrder => "every blue is cordoned before it is stopped, stopped before destroyed",
            Invariant::NoLeftovers => {
                "after the last deploy, every alive machine is owned (no untracked greens, no hanging blues)"
            }
            Invariant::LeaseExclusion => {
                "no deployer changes a machine after its own lease on it expired"
            }
            Invariant::HealthGatedSwitch => {
                "no green is uncordoned before every booting green of its deploy passed its checks"
            }
            Invariant::IdempotentCreate => "no deploy launches more machines than it had blues",
            Invariant::AbortSafety => {
                "an abort before the point of no return leaves no green and untouched blues"
            }
            Invariant::LeasesReleased => "after heal, no deployer still holds a lease",
            Invariant::FleetConverges => {
                "by the end of the settle period, proxies agree with the platform and no machine is mid-transition"
            }
            Invariant::FleetSizeKept => {
                "after a deploy succeeds, no more machines are alive than the fleet started with"
            }
            Invariant::ConcurrencyLimit => {
                "a bluegreen deploy keeps launches within ceil(N/3) and pooled calls within max-concurrent"
            }
            Invariant::MaxUnavailable => {
                "an in-place update never has more machines of a group down than max_unavailable"
            }
            Invariant::NoVacuousHealth => {
                "every process group with checks has a green that was started and health-checked before the switch"
            }
        }
    }

    /// Its position in [`Invariant::ALL`] (the enum is declared in that order; a test checks it).
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// The bounds of two invariants, which the user owns: the scenario's `[check]` section.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// `bounded-mixing`: two images may be routable together at most this long.
    pub mixing_bound: Duration,
    /// `no-machine-explosion`: machines alive may be at most this many times N (the initial
    /// fleet).
    pub explosion_factor: f64,
}

impl Bounds {
    /// bluegreen mixes versions from the first uncordon until the blues are cordoned: its fixed
    /// 10 s wait plus the uncordon pool. 60 s leaves room for slow API calls; a longer mix is
    /// unbounded mixing (reference `deploy-systems.md` I8).
    pub const MIXING_BOUND_DEFAULT: Duration = Duration::from_secs(60);

    /// A bluegreen deploy launches one green per blue: 2 × N at its peak, and no more.
    pub const EXPLOSION_FACTOR_DEFAULT: f64 = 2.0;

    /// The most machines alive `no-machine-explosion` allows for a fleet of `initial`:
    /// ⌊explosion_factor × N⌋ (alive > factor × N exactly when alive > this, alive being whole).
    pub fn machines_max(&self, initial: u32) -> u32 {
        assert!(self.explosion_factor >= 1.0, "validated: {self:?}");
        let bound = (self.explosion_factor * f64::from(initial)).floor();
        // Validation keeps the factor and N small enough for u32; saturate all the same.
        if bound >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            bound as u32
        }
    }
}

impl Bounds {
    /// The mixing bound for people: `60 s`, `1.5 s`, `10 min`.
    pub fn mixing_bound_text(&self) -> String {
        let bound = self.mixing_bound;
        if bound.as_millis() % 60_000 == 0 && bound >= Duration::from_secs(600) {
            format!("{} min", bound.as_secs() / 60)
        } else if bound.subsec_micros() % 1_000 == 0 {
            format!("{} s", bound.as_millis() as f64 / 1e3)
        } else {
            humantime::format_duration(bound).to_string()
        }
    }
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            mixing_bound: Bounds::MIXING_BOUND_DEFAULT,
            explosion_factor: Bounds::EXPLOSION_FACTOR_DEFAULT,
        }
    }
}

/// A set of invariants: what a strategy declares applicable to it. Where an invariant does not
/// apply (a rolling deploy never uncordons a green, so `health-gated-switch` could only hold
/// vacuously), its verdict is `n/a`, never a ✓.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct InvariantSet(u32);

impl InvariantSet {
    pub const EMPTY: InvariantSet = InvariantSet(0);

    /// Every invariant.
    pub const ALL: InvariantSet = InvariantSet::of(&Invariant::ALL);

    /// What every deploy strategy must keep, whatever its method: invariants about the fleet, the
    /// requests, the leases and the end state, which hold or break the same way for any way of
    /// replacing machines. A strategy adds the ones about its own method (`drain-order` for one
    /// that cordons and stops blues, `max-unavailable` for one that updates in place…).
    pub const EVERY_STRATEGY: InvariantSet = InvariantSet::of(&[
        Invariant::NoMachineExplosion,
        Invariant::NeverAllDeleted,
        Invariant::DeployerNeverDeletesAll,
        Invariant::NoDowntime,
        Invariant::SingleImageAtRest,
        Invariant::DeployTerminates,
        Invariant::NoLeftovers,
        Invariant::LeaseExclusion,
        Invariant::BoundedMixing,
        Invariant::LeasesReleased,
        Invariant::FleetConverges,
        Invariant::FleetSizeKept,
    ]);

    pub const fn of(invariants: &[Invariant]) -> InvariantSet {
        let mut set = InvariantSet::EMPTY;
        let mut index = 0;
        while index < invariants.len() {
            set = set.with(invariants[index]);
            index += 1;
        }
        set
    }

    pub const fn with(self, invariant: Invariant) -> InvariantSet {
        InvariantSet(self.0 | 1 << invariant.index())
    }

    pub const fn union(self, other: InvariantSet) -> InvariantSet {
        InvariantSet(self.0 | other.0)
    }

    pub const fn intersection(self, other: InvariantSet) -> InvariantSet {
        InvariantSet(self.0 & other.0)
    }

    pub const fn contains(self, invariant: Invariant) -> bool {
        self.0 & (1 << invariant.index()) != 0
    }

    /// The members, in [`Invariant::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Invariant> {
        Invariant::ALL
            .into_iter()
            .filter(move |invariant| self.contains(*invariant))
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Invariant {
    type Err = String;

    fn from_str(text: &str) -> Result<Invariant, String> {
        Invariant::ALL
            .into_iter()
            .find(|invariant| invariant.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = Invariant::ALL.iter().map(|name| name.as_str()).collect();
                format!("unknown invariant `{text}` (known: {})", known.join(", "))
            })
    }
}
