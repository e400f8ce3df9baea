//! How fast the fuzzer finds the bugs flyctl's bluegreen really had (`fleetsim fuzz
//! --discovery`): for each bluegreen version, several fuzz campaigns of a fixed case budget, and
//! for each **incident** (the three of flyctl's history) and each **S item** (the regression
//! scenarios S1–S13), on how many campaigns it was found and at which case first.
//!
//! A case *finds* an item when the property flags it: one of the case's failure signatures
//! ([`Signature`]) matches one of the item's patterns, and the case holds the item's
//! *ingredient* — the fault or setting the item is about (§7 of the reference's regression table:
//! its "fault injection" column is the ingredient, its "expected checkers" column the patterns).
//! Nothing is recognised by hand: the table [`ITEMS`] is the whole rule, and the README prints it.
//! An incident also names the version it belongs to; it is looked for only there.
//!
//! Known findings (`scenarios/fuzz-found/`) are recognised too: by the signature their file gives
//! under the version, exactly as `fleetsim fuzz --known` does.
//!
//! Cases are drawn exactly as `fleetsim fuzz` draws them (case `k` of seed `s` is the same
//! input) and judged with the same property; they are not shrunk (only the first case matters).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::known::KnownFinding;
use crate::api::{Operation, Phase};
use crate::check::signature::Broken;
use crate::check::{Action, Invariant, Signature};
use crate::deploy::{BluegreenVersion, StrategyName};
use crate::scenario::{DeployStart, FaultSpec, Scenario};
use crate::work::run_in_order;

/// The versions a discovery campaign runs on: every bluegreen version, historic ones first.
pub const VERSIONS: [StrategyName; 4] = [
    StrategyName::Bluegreen(BluegreenVersion::V2023_06),
    StrategyName::Bluegreen(BluegreenVersion::V2024_02),
    StrategyName::Bluegreen(BluegreenVersion::V2024_05),
    StrategyName::Bluegreen(BluegreenVersion::V2026_08),
];

/// Fuzzer seeds in one discovery run at most.
pub const SEEDS_MAX: u64 = 1_000;

/// What a case must hold for a failure to count for an item: the item's fault or setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ingredient {
    /// Nothing: the item needs no fault (incident 2).
    None,
    /// A second deploy after the first (leftovers meet the next deploy).
    SecondDeploy,
    /// A deploy of the image the app already runs.
    SameImageRedeploy,
    /// A failing uncordon: an API error, ambiguous reply or partition on uncordon (or every
    /// operation).
    UncordonFault,
    /// An ambiguous reply (the call landed, the reply was lost) on launch or every operation.
    AmbiguousLaunch,
    /// Routing changes that can take longer than bluegreen's 10 s waits: a propagation-tail
    /// fault, or a propagation distribution reaching past 10 s.
    LongPropagation,
    /// A machine's health changing under the deploy: failing or flapping checks, a crash, a
    /// crash loop, an unhealthy machine.
    HealthFlip,
    /// A lease held by someone else, a stalled deployer, or two deployers at once.
    LeaseTrouble,
    /// A host that is not ok, stale list data or an empty image reference.
    HostNotOk,
    /// API failures on cordon, stop or destroy (or every operation), or a stop that hangs.
    TeardownFault,
    /// Machines not all started, or two process groups.
    NotAllStarted,
    /// Launches that fail: capacity or org-limit errors, API errors on launch.
    CreateFailure,
    /// A deployer aborted (Ctrl-C) or killed.
    AbortOrKill,
    /// A deployer whose clock is skewed against the platform's.
    ClockSkew,
    /// Detached machines (not managed by the deploy).
    Detached,
}

impl Ingredient {
    pub fn as_str(self) -> &'static str {
        match self {
            Ingredient::None => "-",
            Ingredient::SecondDeploy => "a second deploy",
            Ingredient::SameImageRedeploy => "a redeploy of the running image",
            Ingredient::UncordonFault => "uncordon API faults",
            Ingredient::AmbiguousLaunch => "ambiguous launch replies",
            Ingredient::LongPropagation => "propagation past 10 s",
            Ingredient::HealthFlip => "health flips or crashes",
            Ingredient::LeaseTrouble => "held leases, stalls or two deployers",
            Ingredient::HostNotOk => "hosts not ok or stale lists",
            Ingredient::TeardownFault => "cordon/stop/destroy API faults",
            Ingredient::NotAllStarted => "stopped blues or two groups",
            Ingredient::CreateFailure => "failing launches",
            Ingredient::AbortOrKill => "aborts or kills",
            Ingredient::ClockSkew => "deployer clock skew",
            Ingredient::Detached => "detached machines",
        }
    }

    /// Whether `scenario` holds this ingredient.
    pub fn in_scenario(self, scenario: &Scenario) -> bool {
        let any_fault = |test: &dyn Fn(&FaultSpec) -> bool| scenario.faults.iter().any(test);
        let on = |operation: &Option<Operation>, wanted: &[Operation]| {
            operation.is_none_or(|operation| wanted.contains(&operation))
        };
        match self {
            Ingredient::None => true,
            Ingredient::SecondDeploy => scenario.deploys.len() > 1,
            Ingredient::SameImageRedeploy => scenario
                .deploys
                .iter()
                .any(|deploy| deploy.image == scenario.app.image),
            Ingredient::UncordonFault => any_fault(&|fault| match fault {
                FaultSpec::ApiError { operation, .. }
                | FaultSpec::ApiAmbiguous { operation, .. }
                | FaultSpec::ApiPartition { operation, .. } => {
                    on(operation, &[Operation::Uncordon])
                }
                _ => false,
            }),
            Ingredient::AmbiguousLaunch => any_fault(&|fault| {
                matches!(fault, FaultSpec::ApiAmbiguous { operation, .. }
                    if on(operation, &[Operation::Launch]))
            }),
            Ingredient::LongPropagation => {
                let long = std::time::Duration::from_secs(10);
                any_fault(&|fault| matches!(fault, FaultSpec::PropagationTail { .. }))
                    || scenario
                        .proxy
                        .propagation
                        .upper_bound()
                        .is_some_and(|bound| bound > long)
            }
            Ingredient::HealthFlip => any_fault(&|fault| {
                matches!(
                    fault,
                    FaultSpec::ChecksFail { .. }
                        | FaultSpec::ChecksFlap { .. }
                        | FaultSpec::Unhealthy { .. }
                        | FaultSpec::MachineCrash { .. }
                        | FaultSpec::CrashLoop { .. }
                )
            }),
            Ingredient::LeaseTrouble => {
                any_fault(&|fault| {
                    matches!(
                        fault,
                        FaultSpec::LeaseHeld { .. } | FaultSpec::DeployerStall { .. }
                    )
                }) || concurrent_deployers(scenario)
            }
            Ingredient::HostNotOk => any_fault(&|fault| {
                matches!(
                    fault,
                    FaultSpec::HostNotOk { .. }
                        | FaultSpec::StaleList { .. }
                        | FaultSpec::EmptyImageRef { .. }
                )
            }),
            Ingredient::TeardownFault => any_fault(&|fault| match fault {
                FaultSpec::ApiError { operation, .. }
                | FaultSpec::ApiAmbiguous { operation, .. }
                | FaultSpec::ApiPartition { operation, .. } => on(
                    operation,
                    &[Operation::Cordon, Operation::Stop, Operation::Destroy],
                ),
                FaultSpec::StopHangs { .. } => true,
                _ => false,
            }),
            Ingredient::NotAllStarted => {
                let groups: std::collections::BTreeSet<&str> = scenario
                    .fleet
                    .iter()
                    .map(|group| group.process_group.as_str())
                    .collect();
                groups.len() > 1
                    || scenario.fleet.iter().any(|group| {
                        group.count > 0 && group.state != crate::api::MachineState::Started
                    })
            }
            Ingredient::CreateFailure => any_fault(&|fault| match fault {
                FaultSpec::CapacityError { .. } | FaultSpec::OrgLimit { .. } => true,
                FaultSpec::ApiError { operation, .. } => on(operation, &[Operation::Launch]),
                _ => false,
            }),
            Ingredient::AbortOrKill => any_fault(&|fault| {
                matches!(
                    fault,
                    FaultSpec::DeployerAbort { .. } | FaultSpec::DeployerKill { .. }
                )
            }),
            Ingredient::ClockSkew => scenario
                .deploys
                .iter()
                .any(|deploy| deploy.clock_skew_seconds != 0),
            Ingredient::Detached => scenario
                .fleet
                .iter()
                .any(|group| group.detached && group.count > 0),
        }
    }
}

/// Whether a later deploy starts at a fixed time rather than after the one before: two
/// deployers that may run at once.
fn concurrent_deployers(scenario: &Scenario) -> bool {
    scenario
        .deploys
        .iter()
        .skip(1)
        .any(|deploy| matches!(deploy.start, DeployStart::At(_)))
}

/// A signature pattern: an invariant, and the action and phase (None: any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pattern {
    pub invariant: Invariant,
    pub action: Option<Action>,
    pub phase: Option<Phase>,
}

impl Pattern {
    const fn any(invariant: Invariant) -> Pattern {
        Pattern {
            invariant,
            action: None,
            phase: None,
        }
    }

    const fn at(invariant: Invariant, action: Action, phase: Option<Phase>) -> Pattern {
        Pattern {
            invariant,
            action: Some(action),
            phase,
        }
    }

    pub fn matches(&self, signature: &Signature) -> bool {
        signature.broken == Broken::Invariant(self.invariant)
            && self.action.is_none_or(|action| action == signature.action)
            && self
                .phase
                .is_none_or(|phase| Some(phase) == signature.phase)
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}/{}/{}",
            self.invariant,
            self.action.map_or("*", Action::as_str),
            self.phase.map_or("*", Phase::as_str)
        )
    }
}

/// An incident or S item and how a failure is recognised as it.
#[derive(Clone, Copy, Debug)]
pub struct Item {
    /// `I1`…`I3`, `S1`…`S13`.
    pub id: &'static str,
    pub title: &'static str,
    /// The version an incident belongs to (None: an S item, looked for on every version).
    pub version: Option<StrategyName>,
    pub ingredient: Ingredient,
    pub patterns: &'static [Pattern],
}

impl Item {
    pub fn applies_to(&self, strategy: StrategyName) -> bool {
        self.version.is_none_or(|version| version == strategy)
    }

    /// Whether a failing case of `scenario` with `signatures` finds this item.
    pub fn found_by(&self, scenario: &Scenario, signatures: &[Signature]) -> bool {
        signatures
            .iter()
            .any(|signature| self.patterns.iter().any(|p| p.matches(signature)))
            && self.ingredient.in_scenario(scenario)
    }

    pub fn is_incident(&self) -> bool {
        self.version.is_some()
    }
}

const V2023_06: StrategyName = StrategyName::Bluegreen(BluegreenVersion::V2023_06);
const V2024_02: StrategyName = StrategyName::Bluegreen(BluegreenVersion::V2024_02);

const DESTROY: Action = Action::Call(Operation::Destroy);

/// The incidents and S items and their recognition rules (reference: flyctl's bluegreen history;
/// the S items are `scenarios/regressions/sNN-*.toml`). The patterns are the invariants the
/// reference's regression table names as each item's "expected checkers".
pub const ITEMS: [Item; 16] = [
    Item {
        id: "I1",
        title: "machine explosion: leftovers become blues",
        version: Some(V2023_06),
        ingredient: Ingredient::SecondDeploy,
        patterns: &[Pattern::any(Invariant::NoMachineExplosion)],
    },
    Item {
        id: "I2",
        title: "propagation downtime: blues destroyed before proxies know the greens",
        version: Some(V2023_06),
        ingredient: Ingredient::None,
        patterns: &[
            Pattern::at(Invariant::NoDowntime, DESTROY, Some(Phase::DestroyBlues)),
            Pattern::at(
                Invariant::DeployerNeverDeletesAll,
                DESTROY,
                Some(Phase::DestroyBlues),
            ),
        ],
    },
    Item {
        id: "I3",
        title: "rollback empties the app after the blues were taken out",
        version: Some(V2024_02),
        ingredient: Ingredient::None,
        patterns: &[
            Pattern::at(
                Invariant::RollbackSparesBlue,
                DESTROY,
                Some(Phase::Rollback),
            ),
            Pattern::at(
                Invariant::DeployerNeverDeletesAll,
                DESTROY,
                Some(Phase::Rollback),
            ),
        ],
    },
    Item {
        id: "S1",
        title: "zombie inflation on a same-image redeploy",
        version: None,
        ingredient: Ingredient::SameImageRedeploy,
        patterns: &[
            Pattern::any(Invariant::NoMachineExplosion),
            Pattern::any(Invariant::NoLeftovers),
        ],
    },
    Item {
        id: "S2",
        title: "transient error at the point of no return",
        version: None,
        ingredient: Ingredient::UncordonFault,
        patterns: &[
            Pattern::any(Invariant::GreenKeptAfterSwitch),
            Pattern::at(
                Invariant::DeployerNeverDeletesAll,
                DESTROY,
                Some(Phase::Rollback),
            ),
        ],
    },
    Item {
        id: "S3",
        title: "silent-success launch retried",
        version: None,
        ingredient: Ingredient::AmbiguousLaunch,
        patterns: &[
            Pattern::any(Invariant::IdempotentCreate),
            Pattern::at(
                Invariant::NoMachineExplosion,
                Action::Call(Operation::Launch),
                None,
            ),
        ],
    },
    Item {
        id: "S4",
        title: "propagation tail past the fixed waits",
        version: None,
        ingredient: Ingredient::LongPropagation,
        patterns: &[Pattern::any(Invariant::NoDowntime)],
    },
    Item {
        id: "S5",
        title: "health flips after the point of no return",
        version: None,
        ingredient: Ingredient::HealthFlip,
        patterns: &[
            Pattern::any(Invariant::GreenKeptAfterSwitch),
            Pattern::at(
                Invariant::DeployerNeverDeletesAll,
                DESTROY,
                Some(Phase::Rollback),
            ),
        ],
    },
    Item {
        id: "S6",
        title: "concurrent deployers, lease expiry in a stall",
        version: None,
        ingredient: Ingredient::LeaseTrouble,
        patterns: &[
            Pattern::any(Invariant::LeaseExclusion),
            Pattern::any(Invariant::NoMachineExplosion),
        ],
    },
    Item {
        id: "S7",
        title: "unreachable host, stale list data",
        version: None,
        ingredient: Ingredient::HostNotOk,
        patterns: &[
            Pattern::any(Invariant::NoLeftovers),
            Pattern::any(Invariant::DeployTerminates),
        ],
    },
    Item {
        id: "S8",
        title: "teardown faults leave hanging machines",
        version: None,
        ingredient: Ingredient::TeardownFault,
        patterns: &[
            Pattern::any(Invariant::NoLeftovers),
            Pattern::any(Invariant::RollbackSparesBlue),
        ],
    },
    Item {
        id: "S9",
        title: "stopped blues, several process groups",
        version: None,
        ingredient: Ingredient::NotAllStarted,
        patterns: &[Pattern::any(Invariant::DeployTerminates)],
    },
    Item {
        id: "S10",
        title: "partial create failure leaks greens",
        version: None,
        ingredient: Ingredient::CreateFailure,
        patterns: &[
            Pattern::any(Invariant::NoMachineExplosion),
            Pattern::any(Invariant::NoLeftovers),
        ],
    },
    Item {
        id: "S11",
        title: "abort at a phase boundary",
        version: None,
        ingredient: Ingredient::AbortOrKill,
        patterns: &[
            Pattern::any(Invariant::RollbackSparesBlue),
            Pattern::any(Invariant::GreenKeptAfterSwitch),
            Pattern::at(
                Invariant::DeployerNeverDeletesAll,
                DESTROY,
                Some(Phase::Rollback),
            ),
        ],
    },
    Item {
        id: "S12",
        title: "same-second tags and clock skew",
        version: None,
        ingredient: Ingredient::ClockSkew,
        patterns: &[
            Pattern::any(Invariant::NoLeftovers),
            Pattern::any(Invariant::NoMachineExplosion),
            Pattern::any(Invariant::SingleImageAtRest),
            Pattern::at(
                Invariant::DeployerNeverDeletesAll,
                DESTROY,
                Some(Phase::ReapZombies),
            ),
        ],
    },
    Item {
        id: "S13",
        title: "detached machines keep the old image",
        version: None,
        ingredient: Ingredient::Detached,
        patterns: &[
            Pattern::any(Invariant::SingleImageAtRest),
            Pattern::any(Invariant::NoLeftovers),
            Pattern::any(Invariant::NoMachineExplosion),
        ],
    },
];

/// What to measure.
#[derive(Clone, Debug)]
pub struct DiscoveryConfig {
    pub versions: Vec<StrategyName>,
    /// Fuzzer seeds `first_seed..first_seed + seeds`.
    pub first_seed: u64,
    pub seeds: u64,
    /// Cases per campaign.
    pub cases: u64,
    pub jobs: usize,
    /// Known findings per version (`scenarios/fuzz-found/`), recognised by their signature.
    pub known: Vec<Vec<KnownFinding>>,
    /// The invariants judged (default [`PROPERTY`](super::PROPERTY)).
    pub property: Vec<Invariant>,
}

/// One campaign's result: the first case of each item and known finding it found.
#[derive(Clone, Debug, Default)]
struct CampaignFirsts {
    /// By index into [`ITEMS`].
    items: BTreeMap<usize, u64>,
    /// By index into the version's known findings.
    known: BTreeMap<usize, u64>,
}

/// What the campaigns of one version found, for one row (an item or a known finding).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Cell {
    /// Campaigns (seeds) that found it.
    pub seeds_found: u64,
    pub seeds: u64,
    /// The first case in each campaign that found it, in seed order.
    pub first_cases: Vec<u64>,
    /// The median of `first_cases` (the lower middle one for an even count).
    pub median_first_case: Option<u64>,
    /// Whether the row applies to this version (an incident of another version does not).
    pub applies: bool,
}

/// A row of the table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    pub id: String,
    pub title: String,
    /// Per version, in `versions` order.
    pub cells: Vec<Cell>,
}

/// The discovery table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DiscoveryTable {
    pub schema: &'static str,
    pub versions: Vec<String>,
    pub first_seed: u64,
    pub seeds: u64,
    pub cases: u64,
    /// Property (judged invariants).
    pub property: Vec<String>,
    pub items: Vec<Row>,
    /// Known findings, by file, recognised by the signature their file gives under each version.
    pub known: Vec<Row>,
}

pub const DISCOVERY_SCHEMA: &str = "fleetsim.discovery/1";

/// One campaign: cases 1..=cases of `seed` on `strategy`, unshrunk.
fn campaign(
    strategy: StrategyName,
    seed: u64,
    cases: u64,
    known: &[KnownFinding],
    property: &[Invariant],
) -> CampaignFirsts {
    let mut firsts = CampaignFirsts::default();
    for case in 1..=cases {
        let (input, simulation_seed) = super::campaign::case_input(seed, case);
        let Err(failure) = super::check_on(None, None, &input, strategy, simulation_seed, property)
        else {
            continue;
        };
        let signatures = failure.signatures();
        for (index, item) in ITEMS.iter().enumerate() {
            if item.applies_to(strategy) && item.found_by(&failure.scenario, &signatures) {
                firsts.items.entry(index).or_insert(case);
            }
        }
        for (index, finding) in known.iter().enumerate() {
            if finding
                .signature
                .as_ref()
                .is_some_and(|signature| signatures.contains(signature))
            {
                firsts.known.entry(index).or_insert(case);
            }
        }
    }
    firsts
}

/// Runs every campaign (versions × seeds, on `jobs` threads; the table does not depend on it).
pub fn run(config: &DiscoveryConfig) -> DiscoveryTable {
    assert!(config.seeds >= 1 && config.seeds <= SEEDS_MAX);
    assert_eq!(config.known.len(), config.versions.len());
    let units = config.versions.len() as u64 * config.seeds;
    let work = |unit: u64| {
        let version = (unit / config.seeds) as usize;
        let seed = config.first_seed + unit % config.seeds;
        campaign(
            config.versions[version],
            seed,
            config.cases,
            &config.known[version],
            &config.property,
        )
    };
    let mut results = Vec::new();
    run_in_order(units, config.jobs, &|| true, &work, |firsts| {
        results.push(firsts)
    });
    let per_version =
        |version: usize| &results[version * config.seeds as usize..][..config.seeds as usize];
    let cell = |version: usize, applies: bool, first: &dyn Fn(&CampaignFirsts) -> Option<u64>| {
        let first_cases: Vec<u64> = per_version(version).iter().filter_map(first).collect();
        Cell {
            seeds_found: first_cases.len() as u64,
            seeds: config.seeds,
            median_first_case: median(&first_cases),
            first_cases,
            applies,
        }
    };
    let items = ITEMS
        .iter()
        .enumerate()
        .map(|(index, item)| Row {
            id: item.id.to_string(),
            title: item.title.to_string(),
            cells: (0..config.versions.len())
                .map(|version| {
                    let applies = item.applies_to(config.versions[version]);
                    cell(version, applies, &|firsts| {
                        firsts.items.get(&index).copied()
                    })
                })
                .collect(),
        })
        .collect();
    let mut files: Vec<String> = config
        .known
        .iter()
        .flatten()
        .map(|finding| finding.file.clone())
        .collect();
    files.sort();
    files.dedup();
    let known = files
        .iter()
        .map(|file| Row {
            id: std::path::Path::new(file)
                .file_stem()
                .map_or(file.clone(), |stem| stem.to_string_lossy().into_owned()),
            title: file.clone(),
            cells: (0..config.versions.len())
                .map(|version| {
                    let index = config.known[version]
                        .iter()
                        .position(|finding| &finding.file == file && finding.signature.is_some());
                    cell(version, index.is_some(), &|firsts| {
                        index.and_then(|index| firsts.known.get(&index).copied())
                    })
                })
                .collect(),
        })
        .collect();
    DiscoveryTable {
        schema: DISCOVERY_SCHEMA,
        versions: config.versions.iter().map(ToString::to_string).collect(),
        first_seed: config.first_seed,
        seeds: config.seeds,
        cases: config.cases,
        property: config.property.iter().map(ToString::to_string).collect(),
        items,
        known,
    }
}

/// The lower median (None for no values).
fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len().saturating_sub(1) / 2).copied()
}

impl DiscoveryTable {
    /// The incidents that no campaign of their version found.
    pub fn incidents_missed(&self) -> Vec<String> {
        self.items
            .iter()
            .filter(|row| row.id.starts_with('I'))
            .filter(|row| {
                row.cells
                    .iter()
                    .filter(|cell| cell.applies)
                    .all(|cell| cell.seeds_found == 0)
            })
            .map(|row| row.id.clone())
            .collect()
    }

    /// Items of S1–S13 found on at least one seed of some version.
    pub fn s_items_found(&self) -> usize {
        self.items
            .iter()
            .filter(|row| row.id.starts_with('S'))
            .filter(|row| row.cells.iter().any(|cell| cell.seeds_found > 0))
            .count()
    }
}

/// The table for people: one line per row, a column per version with `found/seeds` and the
/// median first case (`-`: not found, `n/a`: an incident of another version).
pub fn table_text(table: &DiscoveryTable) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "discovery: {} case(s) per campaign, fuzzer seeds {}..={}, property [{}]",
        table.cases,
        table.first_seed,
        table.first_seed + table.seeds - 1,
        table.property.join(", ")
    );
    let _ = writeln!(
        text,
        "each cell: seeds that found it / seeds, median first case (m); n/a: an incident of another version\n"
    );
    let mut header = format!("{:<5} {:<58}", "", "");
    for version in &table.versions {
        let _ = write!(header, " {version:>20}");
    }
    let _ = writeln!(text, "{}", header.trim_end());
    let row_text = |text: &mut String, row: &Row, width: usize| {
        let title: String = row.title.chars().take(width).collect();
        let mut line = format!("{:<5} {title:<width$}", row.id);
        for cell in &row.cells {
            let value = match (cell.applies, cell.median_first_case) {
                (false, _) => "n/a".to_string(),
                (true, None) => format!("0/{}", cell.seeds),
                (true, Some(median)) => format!("{}/{} m{median}", cell.seeds_found, cell.seeds),
            };
            let _ = write!(line, " {value:>20}");
        }
        let _ = writeln!(text, "{line}");
    };
    for row in &table.items {
        row_text(&mut text, row, 58);
    }
    if !table.known.is_empty() {
        let _ = writeln!(text, "\nknown findings (by the signature their file gives)");
        for row in &table.known {
            let mut shown = row.clone();
            shown.title = row.id.clone();
            shown.id = String::new();
            row_text(&mut text, &shown, 58);
        }
    }
    let _ = writeln!(
        text,
        "\nS items found on some version: {} of 13",
        table.s_items_found()
    );
    text
}

/// The recognition rules, one line per item (README and `--discovery` docs).
pub fn rules_text() -> String {
    let mut text = String::new();
    for item in &ITEMS {
        let patterns: Vec<String> = item.patterns.iter().map(ToString::to_string).collect();
        let version = item
            .version
            .map_or(String::new(), |version| format!(" (on {version} only)"));
        let _ = writeln!(
            text,
            "{:<4} {}{version}: a case with {} failing {}",
            item.id,
            item.title,
            item.ingredient.as_str(),
            patterns.join(" or ")
        );
    }
    text
}
