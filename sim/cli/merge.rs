//! `fleetsim merge DIR… --out DIR`: the `--out` directories of the shards of one sweep, compare,
//! fuzz campaign or check, combined into what one unsharded run writes. The rows are put back in item
//! order and every summary figure is recomputed from them by the command's own summary function.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::{write_output_file, MergeConfig, EXIT_BAD_INPUT, EXIT_EXPECTATION_FAILED, EXIT_OK};
use crate::fuzz::report as fuzz;
use crate::report::{check, compare, study, sweep};
use crate::work::Shard;

/// The kinds of output merge knows, by the summary file each writes.
const KINDS: [(&str, &str); 5] = [
    ("study-summary.json", study::STUDY_SCHEMA),
    ("sweep-summary.json", sweep::SWEEP_SCHEMA),
    ("compare.json", compare::COMPARE_SCHEMA),
    ("fuzz-summary.json", fuzz::FUZZ_SCHEMA),
    ("check-summary.json", check::CHECK_SCHEMA),
];

#[derive(serde::Deserialize)]
struct Header<M> {
    schema: String,
    #[serde(flatten)]
    meta: M,
}

pub(super) fn execute(config: &MergeConfig) -> i32 {
    match merge(config) {
        Ok(status) => status,
        Err(error) => {
            eprintln!("error: merge: {error}");
            EXIT_BAD_INPUT
        }
    }
}

fn merge(config: &MergeConfig) -> Result<i32, String> {
    let kind = kind_of(&config.directories)?;
    let out = &config.out;
    match kind {
        "sweep-summary.json" => {
            let meta: sweep::SweepMeta = common_meta(
                config,
                kind,
                sweep::SWEEP_SCHEMA,
                |meta: &mut sweep::SweepMeta| std::mem::take(&mut meta.shard),
            )?;
            let mut rows = Vec::new();
            for directory in &config.directories {
                rows.extend(read(directory, "sweep.csv", sweep::read_csv)?);
            }
            rows.sort_by_key(|row| row.seed);
            unique(rows.iter().map(|row| row.seed), "seed")?;
            let summary = sweep::summarise_rows(meta, &rows);
            written(out, sweep::write_files(out, &summary, &rows))?;
            if config.json {
                print!("{}", sweep::summary_json(&summary));
            } else {
                print!("{}", sweep::summary_text(&summary));
            }
            Ok(status(summary.across.passed == summary.across.runs))
        }
        "compare.json" => merge_compare(config),
        "study-summary.json" => merge_study(config),
        "fuzz-summary.json" => {
            let meta: fuzz::FuzzMeta = common_meta(
                config,
                kind,
                fuzz::FUZZ_SCHEMA,
                |meta: &mut fuzz::FuzzMeta| std::mem::take(&mut meta.shard),
            )?;
            let mut rows = Vec::new();
            for directory in &config.directories {
                let shard_rows = read(directory, "fuzz.csv", fuzz::read_csv)?;
                for row in shard_rows.iter().filter(|row| !row.file.is_empty()) {
                    copy_file(&directory.join(&row.file), &out.join(&row.file))?;
                }
                rows.extend(shard_rows);
            }
            rows.sort_by_key(|row| row.case);
            unique(rows.iter().map(|row| row.case), "case")?;
            let summary = fuzz::summarise(meta, &rows);
            written(out, fuzz::write_files(out, &summary, &rows))?;
            if let Some(path) = &config.junit {
                written(
                    out,
                    write_output_file(path, fuzz::junit(&summary).as_bytes()),
                )?;
            }
            if config.json {
                print!("{}", fuzz::summary_json(&summary));
            } else {
                print!("{}", fuzz::summary_text(&summary, out));
            }
            Ok(status(summary.new_failures == 0))
        }
        _ => {
            let meta: check::CheckMeta = common_meta(
                config,
                kind,
                check::CHECK_SCHEMA,
                |meta: &mut check::CheckMeta| std::mem::take(&mut meta.shard),
            )?;
            let mut rows = Vec::new();
            for directory in &config.directories {
                rows.extend(read(directory, "check.csv", check::read_csv)?);
            }
            // Stable: a file's runs (one per strategy) keep their order.
            rows.sort_by_key(|row| row.item);
            let summary = check::summarise(meta, &rows);
            written(out, check::write_files(out, &summary))?;
            if let Some(path) = &config.junit {
                written(
                    out,
                    write_output_file(path, check::junit(&summary).as_bytes()),
                )?;
            }
            if config.json {
                print!("{}", check::summary_json(&summary));
            } else {
                print!("{}", check::summary_text(&summary));
            }
            Ok(status(summary.failed == 0))
        }
    }
}

/// Merges the shards of a `study`: rows sorted by (point, strategy, seed), summary recomputed
/// from the rows.
fn merge_study(config: &MergeConfig) -> Result<i32, String> {
    let out = &config.out;
    let meta: study::StudyMeta = common_meta(
        config,
        "study-summary.json",
        study::STUDY_SCHEMA,
        |meta: &mut study::StudyMeta| std::mem::take(&mut meta.shard),
    )?;
    let mut rows = Vec::new();
    for directory in &config.directories {
        let path = directory.join("study.csv");
        rows.extend(
            study::read_csv(&path, &meta)
                .map_err(|error| format!("{}: {error}", path.display()))?,
        );
    }
    study::sort_rows(&meta, &mut rows);
    for pair in rows.windows(2) {
        if (pair[0].point, &pair[0].strategy, pair[0].run.seed)
            == (pair[1].point, &pair[1].strategy, pair[1].run.seed)
        {
            return Err(format!(
                "point {} {} seed {} is in two shards",
                pair[0].point, pair[0].strategy, pair[0].run.seed
            ));
        }
    }
    let summary = study::summarise(meta, &rows);
    written(out, study::write_files(out, &summary, &rows))?;
    if config.json {
        print!("{}", study::summary_json(&summary));
    } else {
        print!("{}", study::summary_text(&summary));
    }
    let panics: usize = summary.points.iter().map(|point| point.across.panics).sum();
    Ok(status(panics == 0))
}

/// The shards of one `compare`: rows back in (strategy, seed) order, the summary recomputed, and
/// compare.html drawn again from the merged rows when the scenario file is still at its path.
fn merge_compare(config: &MergeConfig) -> Result<i32, String> {
    let out = &config.out;
    let meta: compare::CompareMeta = common_meta(
        config,
        "compare.json",
        compare::COMPARE_SCHEMA,
        |meta: &mut compare::CompareMeta| std::mem::take(&mut meta.shard),
    )?;
    let mut rows: Vec<Vec<sweep::SweepRow>> = vec![Vec::new(); meta.strategies.len()];
    for directory in &config.directories {
        for (strategy, row) in read(directory, "compare-runs.csv", compare::read_runs_csv)? {
            let index = meta
                .strategies
                .iter()
                .position(|known| *known == strategy)
                .ok_or_else(|| {
                    format!(
                        "{}: compare-runs.csv has strategy `{strategy}`, which compare.json does \
                         not list",
                        directory.display()
                    )
                })?;
            rows[index].push(row);
        }
    }
    for (strategy, rows) in meta.strategies.iter().zip(&mut rows) {
        rows.sort_by_key(|row| row.seed);
        unique(
            rows.iter().map(|row| row.seed),
            &format!("{strategy}: seed"),
        )?;
    }
    let comparison = compare::summarise(meta, rows);
    written(out, compare::write_files(out, &comparison))?;
    let meta = &comparison.summary.meta;
    let overrides: Result<Vec<_>, String> = meta
        .overrides
        .iter()
        .map(|text| crate::scenario::overrides::Override::parse(text))
        .collect();
    let path = std::path::PathBuf::from(&meta.path);
    let loaded = overrides.and_then(|overrides| {
        crate::scenario::load_with_overrides(&path, &overrides)
            .map(|(scenario, _)| scenario)
            .map_err(|error| error.to_string())
    });
    match loaded {
        Ok(scenario) => {
            let html = compare::compare_html(&scenario, &comparison);
            written(
                out,
                crate::report::files::write_atomic(&out.join("compare.html"), html.as_bytes()),
            )?;
        }
        Err(error) => eprintln!(
            "warning: compare.html not written: it charts runs of the scenario, which does not \
             load here ({error})"
        ),
    }
    if config.json {
        print!("{}", compare::summary_json(&comparison));
    } else {
        print!("{}", compare::table_text(&comparison));
    }
    Ok(super::compare_exit_status(&comparison))
}

fn status(passed: bool) -> i32 {
    if passed {
        EXIT_OK
    } else {
        EXIT_EXPECTATION_FAILED
    }
}

/// Which kind of output every directory holds (all the same).
fn kind_of(directories: &[PathBuf]) -> Result<&'static str, String> {
    let mut kind = None;
    for directory in directories {
        let found: Vec<&str> = KINDS
            .iter()
            .map(|(file, _)| *file)
            .filter(|file| directory.join(file).is_file())
            .collect();
        let [this] = found[..] else {
            return Err(format!(
                "{}: expected exactly one of {} (the --out directory of a sharded sweep, study, \
                 compare, fuzz or check)",
                directory.display(),
                KINDS.map(|(file, _)| file).join(", ")
            ));
        };
        match kind {
            Some(kind) if kind != this => {
                return Err(format!(
                    "{} holds {this}, the others {kind}: merge the shards of one command",
                    directory.display()
                ))
            }
            _ => kind = Some(this),
        }
    }
    kind.ok_or_else(|| "no directory given".to_string())
}

/// Every directory's summary agrees on everything but its shard, and the shards are exactly
/// 0..N of one N. Returns the common metadata, without a shard.
fn common_meta<M: DeserializeOwned + PartialEq>(
    config: &MergeConfig,
    file: &str,
    schema: &str,
    take_shard: impl Fn(&mut M) -> Option<Shard>,
) -> Result<M, String> {
    let mut common: Option<(PathBuf, M)> = None;
    let mut shards: Vec<(Shard, PathBuf)> = Vec::new();
    for directory in &config.directories {
        let path = directory.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let header: Header<M> = serde_json::from_str(&text)
            .map_err(|error| format!("{}: not a {schema} summary: {error}", path.display()))?;
        if header.schema != schema {
            return Err(format!(
                "{}: schema {} (this fleetsim reads {schema})",
                path.display(),
                header.schema
            ));
        }
        let mut meta = header.meta;
        let shard = take_shard(&mut meta).unwrap_or(Shard::WHOLE);
        shards.push((shard, directory.clone()));
        match &common {
            Some((first, meta_first)) if *meta_first != meta => {
                return Err(format!(
                    "{} and {} are not shards of the same run (their parameters differ)",
                    first.display(),
                    directory.display()
                ))
            }
            Some(_) => {}
            None => common = Some((directory.clone(), meta)),
        }
    }
    shards.sort_by_key(|(shard, _)| shard.index);
    let count = shards.first().map_or(1, |(shard, _)| shard.count);
    for (position, (shard, directory)) in shards.iter().enumerate() {
        if shard.count != count || shard.index != position as u64 {
            return Err(format!(
                "{}: shard {shard} does not fit: expected shards 0/{count} to {}/{count}, each once",
                directory.display(),
                count.saturating_sub(1)
            ));
        }
    }
    if shards.len() as u64 != count {
        return Err(format!(
            "{} of {count} shards given: every shard 0/{count} to {}/{count} is needed",
            shards.len(),
            count.saturating_sub(1)
        ));
    }
    common
        .map(|(_, meta)| meta)
        .ok_or_else(|| "no directory given".to_string())
}

fn read<T>(
    directory: &Path,
    file: &str,
    reader: impl Fn(&Path) -> std::io::Result<Vec<T>>,
) -> Result<Vec<T>, String> {
    let path = directory.join(file);
    reader(&path).map_err(|error| format!("{}: {error}", path.display()))
}

/// No item twice (two shards of different partitions would repeat some).
fn unique(mut keys: impl Iterator<Item = u64>, what: &str) -> Result<(), String> {
    let Some(mut previous) = keys.next() else {
        return Ok(());
    };
    for key in keys {
        if key == previous {
            return Err(format!("{what} {key} is in two shards"));
        }
        previous = key;
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    if from == to {
        return Ok(());
    }
    let bytes = std::fs::read(from).map_err(|error| format!("{}: {error}", from.display()))?;
    write_output_file(to, &bytes).map_err(|error| format!("{}: {error}", to.display()))
}

/// A write under the merge's `--out` directory, its error naming the directory.
fn written(out: &std::path::Path, result: std::io::Result<()>) -> Result<(), String> {
    result.map_err(|error| format!("writing under {}: {error}", out.display()))
}
