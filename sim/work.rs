//! Numbered work items — the seeds of a sweep, the cases of a fuzz campaign, the scenario files
//! of a check — split into shards and run on threads, with results delivered in item order.
//!
//! Item `i` (0-based, in the order one process would run them) belongs to shard `K/N` when
//! `i mod N = K`. Each item's result depends only on the item, so any split (threads, shards on
//! other machines) gives the same results, and `fleetsim merge` puts the shards' rows back in item
//! order to recover what one process writes.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

/// The environment variables `--shard auto/N` reads the shard index from, in order: Kubernetes
/// Indexed Jobs set the first; anything else can set the second.
pub const SHARD_INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "FLEETSIM_SHARD"];

/// Shards at most (a bound, like every other count here).
pub const SHARDS_MAX: u64 = 100_000;

/// One shard of a partition: `index` of `count` (0-based: `0/4` … `3/4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The whole: one shard of one.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether item `item` (0-based) is in this shard.
    pub fn takes(&self, item: u64) -> bool {
        item % self.count == self.index
    }

    /// How many of the items `0..total` are in this shard.
    pub fn share(&self, total: u64) -> u64 {
        if self.index >= total {
            0
        } else {
            (total - self.index - 1) / self.count + 1
        }
    }

    /// This shard's item at `position` (0-based, below [`Shard::share`]).
    pub fn item(&self, position: u64) -> u64 {
        self.index + position * self.count
    }

    /// Parses `K/N` (0 ≤ K < N) or `auto/N`, reading K from `lookup` of
    /// [`SHARD_INDEX_VARIABLES`] (the process environment in the CLI).
    pub fn parse(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write K/N (0 ≤ K < N, e.g. 0/4) or auto/N");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || count > SHARDS_MAX {
            return Err(format!(
                "`{text}`: the shard count must be 1 to {SHARDS_MAX}"
            ));
        }
        let index = if index.trim() == "auto" {
            let (variable, value) = SHARD_INDEX_VARIABLES
                .iter()
                .find_map(|variable| lookup(variable).map(|value| (*variable, value)))
                .ok_or_else(|| {
                    format!(
                        "`--shard {text}` reads the shard index from {}, but neither is set",
                        SHARD_INDEX_VARIABLES.join(" or ")
                    )
                })?;
            value.trim().parse().map_err(|_| {
                format!("{variable}={value:?} is not a shard index (a whole number from 0)")
            })?
        } else {
            index.trim().parse().map_err(|_| bad())?
        };
        if index >= count {
            return Err(format!(
                "shard index {index} is out of range for {count} shard(s): indexes are 0-based, 0 to {}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.index, self.count)
    }
}

/// Runs `work` on every position `0..count` (in that order) on `jobs` threads and hands each
/// result to `on_result` in position order, as soon as every earlier one is done. Before taking a
/// new position a thread asks `keep_going`; once it says no, no new position starts, so the
/// positions run are always a prefix. Returns how many ran. Nothing is held per position but the
/// results waiting for an earlier one, so `count` may be as large as a seed range.
pub fn run_in_order<T: Send>(
    count: u64,
    jobs: usize,
    keep_going: &(dyn Fn() -> bool + Sync),
    work: &(dyn Fn(u64) -> T + Sync),
    mut on_result: impl FnMut(T),
) -> u64 {
    let jobs = jobs.clamp(1, usize::try_from(count.max(1)).unwrap_or(usize::MAX));
    let next = AtomicU64::new(0);
    let (sender, receiver) = mpsc::channel::<(u64, T)>();
    let mut delivered = 0;
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || loop {
                if !keep_going() {
                    break;
                }
                // Claim a position only while one is left (a plain fetch_add could wrap).
                let claimed = next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |position| {
                    (position < count).then(|| position + 1)
                });
                let Ok(position) = claimed else { break };
                if sender.send((position, work(position))).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        let mut waiting: BTreeMap<u64, T> = BTreeMap::new();
        for (position, result) in receiver {
            waiting.insert(position, result);
            while let Some(result) = waiting.remove(&delivered) {
                on_result(result);
                delivered += 1;
            }
        }
    });
    delivered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_environment(_: &str) -> Option<String> {
        None
    }

    // Guards shard parsing: 0-based K/N, auto/N from the environment, and clear refusals.
    #[test]
    fn shards_parse() {
        assert_eq!(
            Shard::parse("1/4", no_environment),
            Ok(Shard { index: 1, count: 4 })
        );
        assert!(Shard::parse("4/4", no_environment)
            .unwrap_err()
            .contains("0-based"));
        assert!(Shard::parse("0/0", no_environment).is_err());
        assert!(Shard::parse("x/4", no_environment).is_err());
        assert!(Shard::parse("auto/4", no_environment)
            .unwrap_err()
            .contains("JOB_COMPLETION_INDEX"));
        let kubernetes = |name: &str| (name == "JOB_COMPLETION_INDEX").then(|| "3".to_string());
        assert_eq!(
            Shard::parse("auto/4", kubernetes),
            Ok(Shard { index: 3, count: 4 })
        );
        let fallback = |name: &str| (name == "FLEETSIM_SHARD").then(|| "2".to_string());
        assert_eq!(
            Shard::parse("auto/3", fallback),
            Ok(Shard { index: 2, count: 3 })
        );
        let garbage = |_: &str| Some("two".to_string());
        assert!(Shard::parse("auto/3", garbage).is_err());
    }

    // Guards the partition: every item in exactly one shard.
    #[test]
    fn shards_partition_the_items() {
        for item in 0..100 {
            let owners = (0..7)
                .filter(|index| {
                    Shard {
                        index: *index,
                        count: 7,
                    }
                    .takes(item)
                })
                .count();
            assert_eq!(owners, 1);
        }
    }

    // Guards in-order delivery whatever the threads do, and the prefix rule of keep_going.
    #[test]
    fn results_come_in_item_order() {
        let mut seen = Vec::new();
        let ran = run_in_order(200, 4, &|| true, &|position| position * 2, |value| {
            seen.push(value)
        });
        assert_eq!(ran, 200);
        assert_eq!(
            seen,
            (0..200).map(|position| position * 2).collect::<Vec<_>>()
        );
        let started = AtomicU64::new(0);
        let keep_going = || started.fetch_add(1, Ordering::SeqCst) < 10;
        let mut prefix = Vec::new();
        run_in_order(200, 3, &keep_going, &|position| position, |value| {
            prefix.push(value)
        });
        assert!(prefix.len() <= 10);
        assert_eq!(prefix, (0..prefix.len() as u64).collect::<Vec<_>>());
        // A count no list could hold: nothing is allocated per position.
        let mut few = Vec::new();
        let budget = AtomicU64::new(0);
        run_in_order(
            u64::MAX,
            2,
            &|| budget.fetch_add(1, Ordering::SeqCst) < 5,
            &|position| position,
            |value| few.push(value),
        );
        assert!(few.len() <= 5);
    }
}
