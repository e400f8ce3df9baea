//! `fleetsim check [PATH…]`: scenario files against their own expectations, in parallel.

use super::{
    check_out, load, write_output_file, CheckConfig, EXIT_BAD_INPUT, EXIT_EXPECTATION_FAILED,
    EXIT_OK,
};
use crate::report::check;

pub(super) fn execute(config: &CheckConfig) -> i32 {
    let files = match crate::scenario::collect_files(&config.paths) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    // Every file is read and validated first, in every shard: bad input stops everything.
    let mut scenarios = Vec::with_capacity(files.len());
    let mut bad = 0;
    for file in &files {
        match load(file, &[]) {
            Ok(scenario) => scenarios.push(scenario),
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        eprintln!("error: {bad} invalid scenario file(s); nothing was run");
        return EXIT_BAD_INPUT;
    }
    if let Err(status) = check_out(config.out.as_deref()) {
        return status;
    }
    let rows = check::run(&scenarios, config.shard, config.jobs, |row| {
        if !config.json {
            println!("{}", check::row_line(row));
        }
    });
    let summary = check::summarise(
        check::CheckMeta::new(&config.paths, files.len(), config.shard),
        &rows,
    );
    if config.json {
        print!("{}", check::summary_json(&summary));
    } else {
        println!("{}", check::tally_line(&summary));
    }
    let mut written = Ok(());
    if let Some(path) = &config.junit {
        written = write_output_file(path, check::junit(&summary).as_bytes());
    }
    if let (Ok(()), Some(directory)) = (&written, &config.out) {
        written = check::write_files(directory, &summary);
    }
    if let Err(error) = written {
        eprintln!("error: writing the check's files: {error}");
        return EXIT_BAD_INPUT;
    }
    if summary.failed == 0 {
        EXIT_OK
    } else {
        EXIT_EXPECTATION_FAILED
    }
}
