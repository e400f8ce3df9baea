//! `fleetsim study`: a parameter grid over seeds. Every point (one value of each `--vary`) ×
//! strategy × seed is one run; `study.csv` has a row per run, `study-summary.csv` and
//! `study-summary.json` the across-seed figures of each point and strategy, `study.html` each
//! headline metric against the varied parameter. Runs go through the same ordered pool as sweep,
//! so the files are identical for any `--jobs`, and the shards of `--shard K/N`, merged, equal
//! one process.

use std::io;
use std::ops::Range;
use std::path::Path;

use crate::deploy::StrategyName;
use crate::report::stats::Proportion;
use crate::report::svg::{escape, Chart, Series, Style, Whisker, PALETTE};
use crate::report::sweep::{
    replay_command_for, run_seed, AcrossSeeds, SweepRow, SUMMARISED, SWEEP_HEADER,
};
use crate::scenario::overrides::command_words;
use crate::scenario::{Override, Scenario};
use crate::work::{run_in_order, Shard};

/// The schema of `study-summary.json` and of `study --json`.
pub const STUDY_SCHEMA: &str = "fleetsim.study/1";
/// A `--vary` has at most this many values.
pub const VALUES_MAX: usize = 1_000;
/// A study has at most this many points (the product of the `--vary` value counts).
pub const POINTS_MAX: usize = 10_000;
/// A study has at most this many runs (points × strategies × seeds).
pub const RUNS_MAX: u64 = 100_000_000;

/// One `--vary PATH=V1,V2,…` or `--vary PATH=A..B:STEP`: a scenario field and its values.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vary {
    pub path: String,
    pub values: Vec<String>,
}

impl Vary {
    /// Parses `PATH=V1,V2,…` (values as `--set` reads them) or `PATH=A..B:STEP` (A, A+STEP, …
    /// up to and including B; numbers, or durations such as `2s..20s:2s`).
    pub fn parse(text: &str) -> Result<Vary, String> {
        let change = Override::parse(text)?;
        let values = match change.value.split_once("..") {
            Some((start, rest)) if rest.contains(':') && !change.value.contains(',') => {
                let (end, step) = rest.split_once(':').expect("checked");
                range_values(start.trim(), end.trim(), step.trim())
                    .map_err(|message| format!("--vary {text}: {message}"))?
            }
            _ => change
                .value
                .split(',')
                .map(|value| value.trim().to_string())
                .collect(),
        };
        if values.iter().any(String::is_empty) {
            return Err(format!("--vary {text}: a value is empty"));
        }
        if values.len() > VALUES_MAX {
            return Err(format!(
                "--vary {text}: {} values, at most {VALUES_MAX}",
                values.len()
            ));
        }
        Ok(Vary {
            path: change.path,
            values,
        })
    }
}

/// `A..B:STEP`: durations when any of the three has a unit, else numbers (integers when all
/// three are).
fn range_values(start: &str, end: &str, step: &str) -> Result<Vec<String>, String> {
    let is_duration = [start, end, step].iter().any(|text| {
        text.chars()
            .any(|character| character.is_ascii_alphabetic())
    });
    let (start_value, end_value, step_value) = if is_duration {
        let millis = |text: &str| {
            humantime::parse_duration(text)
                .map(|duration| duration.as_secs_f64() * 1_000.0)
                .map_err(|error| format!("`{text}`: {error}"))
        };
        (millis(start)?, millis(end)?, millis(step)?)
    } else {
        let number = |text: &str| {
            text.parse::<f64>()
                .ok()
                .filter(|value| value.is_finite())
                .ok_or_else(|| format!("`{text}` is not a number or a duration"))
        };
        (number(start)?, number(end)?, number(step)?)
    };
    if step_value <= 0.0 {
        return Err("the step must be more than 0".to_string());
    }
    if end_value < start_value {
        return Err("the range ends before it starts".to_string());
    }
    let count = ((end_value - start_value) / step_value + 1e-9).floor() + 1.0;
    if count > VALUES_MAX as f64 {
        return Err(format!("{count} values, at most {VALUES_MAX}"));
    }
    let integers = !is_duration
        && [start, end, step]
            .iter()
            .all(|text| text.parse::<i64>().is_ok());
    Ok((0..count as usize)
        .map(|index| {
            let value = start_value + index as f64 * step_value;
            if is_duration {
                let millis = value.round() as u64;
                if millis % 1_000 == 0 {
                    format!("{}s", millis / 1_000)
                } else {
                    format!("{millis}ms")
                }
            } else if integers {
                format!("{}", value.round() as i64)
            } else {
                format!("{}", (value * 1e9).round() / 1e9)
            }
        })
        .collect())
}

/// A value as a number for a chart's x axis: a duration in seconds, or a number.
pub fn numeric(value: &str) -> Option<f64> {
    if let Ok(number) = value.parse::<f64>() {
        return number.is_finite().then_some(number);
    }
    humantime::parse_duration(value)
        .ok()
        .map(|duration| duration.as_secs_f64())
}

/// The points of a grid: every combination of the values, the first `--vary` outermost.
pub fn points(varies: &[Vary]) -> Vec<Vec<String>> {
    let mut points: Vec<Vec<String>> = vec![Vec::new()];
    for vary in varies {
        points = points
            .into_iter()
            .flat_map(|point| {
                vary.values.iter().map(move |value| {
                    let mut next = point.clone();
                    next.push(value.clone());
                    next
                })
            })
            .collect();
    }
    points
}

/// The number of points of a grid (saturating).
pub fn point_count(varies: &[Vary]) -> usize {
    varies.iter().fold(1usize, |count, vary| {
        count.saturating_mul(vary.values.len())
    })
}

/// The overrides of a point.
pub fn point_overrides(varies: &[Vary], values: &[String]) -> Vec<Override> {
    varies
        .iter()
        .zip(values)
        .map(|(vary, value)| Override {
            path: vary.path.clone(),
            value: value.clone(),
        })
        .collect()
}

/// What a study ran: everything its summary says besides what the rows give.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StudyMeta {
    pub scenario: String,
    pub path: String,
    /// The `--set` overrides every point has.
    #[serde(default)]
    pub overrides: Vec<String>,
    pub varies: Vec<Vary>,
    /// The strategies run at every point, as labelled in the rows.
    pub strategies: Vec<String>,
    /// `A..B`, B excluded: the whole range, also in a shard's summary.
    pub seeds: String,
    /// The shard these rows are (None: every run).
    pub shard: Option<Shard>,
}

impl StudyMeta {
    /// `--vary` paths, the columns of the point values.
    pub fn vary_paths(&self) -> Vec<String> {
        self.varies.iter().map(|vary| vary.path.clone()).collect()
    }

    /// The replay command of one run.
    pub fn replay(&self, row: &StudyRow) -> String {
        let mut overrides = self.overrides.clone();
        overrides.extend(
            point_overrides(&self.varies, &row.values)
                .iter()
                .map(ToString::to_string),
        );
        let strategy = (row.strategy != SCENARIO_STRATEGIES).then_some(row.strategy.as_str());
        replay_command_for(
            &command_words(&self.path, &overrides),
            strategy,
            row.run.seed,
        )
    }
}

/// The strategy label of runs that use the strategies the scenario's deploys name.
pub const SCENARIO_STRATEGIES: &str = "as-written";

/// The label of a strategy in the rows.
pub fn strategy_label(strategy: Option<StrategyName>) -> String {
    strategy.map_or_else(|| SCENARIO_STRATEGIES.to_string(), |name| name.to_string())
}

/// One run of a study: its point, strategy and the sweep row of its seed.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyRow {
    /// The point's position in the grid (0-based).
    pub point: usize,
    /// The value of each `--vary`, in order.
    pub values: Vec<String>,
    pub strategy: String,
    pub run: SweepRow,
}

/// The work of a study: one scenario per point (overrides applied), the strategies, the seeds.
pub struct StudyPlan<'a> {
    pub meta: StudyMeta,
    pub points: Vec<(Vec<String>, &'a Scenario)>,
    pub strategies: Vec<Option<StrategyName>>,
    pub seeds: Range<u64>,
}

impl StudyPlan<'_> {
    /// points × strategies × seeds.
    pub fn runs(&self) -> u64 {
        (self.points.len() as u64)
            .saturating_mul(self.strategies.len() as u64)
            .saturating_mul(self.seeds.end - self.seeds.start)
    }

    /// Run `item` (point-major, then strategy, then seed).
    fn run_item(&self, item: u64) -> StudyRow {
        let seeds = self.seeds.end - self.seeds.start;
        let strategies = self.strategies.len() as u64;
        let seed = self.seeds.start + item % seeds;
        let strategy = self.strategies[((item / seeds) % strategies) as usize];
        let point = (item / seeds / strategies) as usize;
        let (values, scenario) = &self.points[point];
        StudyRow {
            point,
            values: values.clone(),
            strategy: strategy_label(strategy),
            run: run_seed(scenario, strategy, seed),
        }
    }
}

/// Runs the study's share for `shard` on `jobs` threads; `on_row` sees each row in run order.
pub fn run(
    plan: &StudyPlan<'_>,
    shard: Shard,
    jobs: usize,
    mut on_row: impl FnMut(&StudyRow),
) -> Vec<StudyRow> {
    assert!(!plan.strategies.is_empty() && !plan.points.is_empty());
    let mut rows = Vec::new();
    run_in_order(
        shard.share(plan.runs()),
        jobs,
        &|| true,
        &|position| plan.run_item(shard.item(position)),
        |row| {
            on_row(&row);
            rows.push(row);
        },
    );
    rows
}

/// The across-seed figures of one point and strategy.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StudyPoint {
    pub point: usize,
    pub values: Vec<String>,
    pub strategy: String,
    #[serde(flatten)]
    pub across: AcrossSeeds,
}

/// What a study found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StudySummary {
    /// [`STUDY_SCHEMA`].
    pub schema: &'static str,
    #[serde(flatten)]
    pub meta: StudyMeta,
    pub points: Vec<StudyPoint>,
}

/// Rows in run order: point, then strategy (in the meta's order), then seed. Merge sorts by it.
pub fn sort_rows(meta: &StudyMeta, rows: &mut [StudyRow]) {
    let position = |label: &str| meta.strategies.iter().position(|known| known == label);
    rows.sort_by_key(|row| (row.point, position(&row.strategy), row.run.seed));
}

/// The summary of `rows` (in run order): every figure is computed from the rows.
pub fn summarise(meta: StudyMeta, rows: &[StudyRow]) -> StudySummary {
    let mut points = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let first = &rows[start];
        let end = rows[start..]
            .iter()
            .position(|row| row.point != first.point || row.strategy != first.strategy)
            .map_or(rows.len(), |offset| start + offset);
        let runs: Vec<SweepRow> = rows[start..end].iter().map(|row| row.run.clone()).collect();
        points.push(StudyPoint {
            point: first.point,
            values: first.values.clone(),
            strategy: first.strategy.clone(),
            across: AcrossSeeds::of(&runs),
        });
        start = end;
    }
    StudySummary {
        schema: STUDY_SCHEMA,
        meta,
        points,
    }
}

/// The header of `study.csv`: the point, one column per `--vary`, the strategy, then sweep.csv's
/// columns.
pub fn csv_header(meta: &StudyMeta) -> Vec<String> {
    let mut header = vec!["point".to_string()];
    header.extend(meta.vary_paths());
    header.push("strategy".to_string());
    header.extend(SWEEP_HEADER.iter().map(ToString::to_string));
    header
}

/// `study.csv`, written row by row and flushed (an interrupted study keeps its rows).
pub struct StudyCsv {
    writer: csv::Writer<std::fs::File>,
}

impl StudyCsv {
    pub fn create(path: &Path, meta: &StudyMeta) -> io::Result<StudyCsv> {
        let mut writer = csv::WriterBuilder::new().from_writer(std::fs::File::create(path)?);
        writer.write_record(csv_header(meta))?;
        writer.flush()?;
        Ok(StudyCsv { writer })
    }

    pub fn write(&mut self, meta: &StudyMeta, row: &StudyRow) -> io::Result<()> {
        let mut fields = vec![row.point.to_string()];
        fields.extend(row.values.iter().cloned());
        fields.push(row.strategy.clone());
        fields.extend(row.run.fields(&meta.replay(row)));
        self.writer.write_record(fields)?;
        self.writer.flush()
    }
}

/// Reads the rows of a `study.csv` written for `meta`.
pub fn read_csv(path: &Path, meta: &StudyMeta) -> io::Result<Vec<StudyRow>> {
    let failure = |message: String| io::Error::other(format!("{}: {message}", path.display()));
    let mut reader = csv::Reader::from_path(path).map_err(|error| failure(error.to_string()))?;
    let header = reader
        .headers()
        .map_err(|error| failure(error.to_string()))?
        .clone();
    if header.iter().collect::<Vec<_>>() != csv_header(meta) {
        return Err(failure(
            "its columns are not those of this study".to_string(),
        ));
    }
    let varied = meta.varies.len();
    let run_header: csv::StringRecord = header.iter().skip(varied + 2).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| failure(error.to_string()))?;
        let point = record
            .get(0)
            .and_then(|point| point.parse().ok())
            .ok_or_else(|| failure("a row without a point number".to_string()))?;
        let values = (1..=varied)
            .map(|index| record.get(index).unwrap_or_default().to_string())
            .collect();
        let strategy = record.get(varied + 1).unwrap_or_default().to_string();
        let run_fields: csv::StringRecord = record.iter().skip(varied + 2).collect();
        let run: SweepRow = run_fields
            .deserialize(Some(&run_header))
            .map_err(|error| failure(error.to_string()))?;
        rows.push(StudyRow {
            point,
            values,
            strategy,
            run,
        });
    }
    Ok(rows)
}

/// The metrics of `study-summary.csv` (p50 and max of each) and of `study.html`'s charts.
const HEADLINE_METRICS: [&str; 6] = [
    "requests_failed",
    "error_rate",
    "outage_total_ms",
    "degraded_total_ms",
    "deploy_duration_ms",
    "machine_seconds",
];

/// `study-summary.csv`: one row per point and strategy.
pub fn summary_csv(summary: &StudySummary) -> Vec<u8> {
    let mut header = vec!["point".to_string()];
    header.extend(summary.meta.vary_paths());
    for column in [
        "strategy",
        "runs",
        "passed",
        "panics",
        "lost_request_deploys",
        "lost_request_fraction",
        "lost_request_low",
        "lost_request_high",
    ] {
        header.push(column.to_string());
    }
    for metric in SUMMARISED.iter() {
        header.push(format!("{}_p50", metric.column));
        header.push(format!("{}_max", metric.column));
    }
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    let mut written = writer.write_record(&header);
    for point in &summary.points {
        let across = &point.across;
        let lost = &across.lost_request_runs;
        let mut fields = vec![point.point.to_string()];
        fields.extend(point.values.iter().cloned());
        fields.push(point.strategy.clone());
        fields.push(across.runs.to_string());
        fields.push(across.passed.to_string());
        fields.push(across.panics.to_string());
        fields.push(lost.count.to_string());
        fields.push(format!("{:.6}", lost.fraction));
        fields.push(format!("{:.6}", lost.low));
        fields.push(format!("{:.6}", lost.high));
        for distribution in &across.metrics {
            fields.push(format!("{:.6}", distribution.p50));
            fields.push(format!("{:.6}", distribution.max));
        }
        written = written.and_then(|()| writer.write_record(&fields));
    }
    written
        .and_then(|()| writer.flush().map_err(Into::into))
        .expect("CSV into memory");
    writer.into_inner().expect("CSV into memory")
}

/// `study-summary.json`, also what `study --json` prints.
pub fn summary_json(summary: &StudySummary) -> String {
    crate::report::files::json_document(summary)
}

/// Writes the summary files: `study-summary.csv`, `study-summary.json` and `study.html`.
pub fn write_summary_files(directory: &Path, summary: &StudySummary) -> io::Result<()> {
    use crate::report::files::write_atomic;
    write_atomic(&directory.join("study-summary.csv"), &summary_csv(summary))?;
    write_atomic(
        &directory.join("study.html"),
        study_html(summary).as_bytes(),
    )?;
    write_atomic(
        &directory.join("study-summary.json"),
        summary_json(summary).as_bytes(),
    )
}

/// Writes every file of a study (what `merge` writes).
pub fn write_files(directory: &Path, summary: &StudySummary, rows: &[StudyRow]) -> io::Result<()> {
    std::fs::create_dir_all(directory)?;
    let mut csv = StudyCsv::create(&directory.join("study.csv"), &summary.meta)?;
    for row in rows {
        csv.write(&summary.meta, row)?;
    }
    write_summary_files(directory, summary)
}

/// The summary for people: one line per point and strategy.
pub fn summary_text(summary: &StudySummary) -> String {
    use std::fmt::Write as _;
    let meta = &summary.meta;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "study {} ({}), seeds {}{}",
        meta.scenario,
        command_words(&meta.path, &meta.overrides),
        meta.seeds,
        meta.shard
            .map(|shard| format!(", shard {shard}"))
            .unwrap_or_default()
    );
    let paths = meta.vary_paths();
    let mut header = String::new();
    for path in &paths {
        let _ = write!(header, "{:<w$} ", path, w = path.len().max(8));
    }
    let _ = writeln!(
        out,
        "\n  {header}{:<20} {:<34} {:>10} {:>10} {:>12}",
        "strategy", "deploys that lost requests", "failed p50", "failed max", "deploy p50 s"
    );
    for point in &summary.points {
        let mut values = String::new();
        for (path, value) in paths.iter().zip(&point.values) {
            let _ = write!(values, "{:<w$} ", value, w = path.len().max(8));
        }
        let across = &point.across;
        let failed = across.metric("requests_failed");
        let _ = writeln!(
            out,
            "  {values}{:<20} {:<34} {:>10.0} {:>10.0} {:>12.1}",
            point.strategy,
            across.lost_request_runs.to_string(),
            failed.p50,
            failed.max,
            across.metric("deploy_duration_ms").p50 / 1_000.0
        );
    }
    out
}

/// `study.html`: the table, then each headline metric against the first varied parameter, a line
/// per strategy (and combination of the other parameters).
pub fn study_html(summary: &StudySummary) -> String {
    use crate::report::html::{page_end, page_start};
    use std::fmt::Write as _;
    let meta = &summary.meta;
    let mut out = String::new();
    let title = format!("fleetsim study: {}", meta.scenario);
    page_start(&mut out, &title);
    let _ = write!(
        out,
        "<h1>{}</h1><table class=\"meta\"><tr><td>scenario</td><td><code>{}</code></td></tr>\
         <tr><td>varied</td><td>{}</td></tr><tr><td>strategies</td><td>{}</td></tr>\
         <tr><td>seeds</td><td>{} (the last excluded)</td></tr></table>",
        escape(&title),
        escape(&command_words(&meta.path, &meta.overrides)),
        escape(
            &meta
                .varies
                .iter()
                .map(|vary| format!("{} = {}", vary.path, vary.values.join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        escape(&meta.strategies.join(", ")),
        escape(&meta.seeds)
    );
    out.push_str(
        "<h2>Deploys that lost requests</h2><p>The fraction of runs in which any request failed, \
         with its 95 % Wilson interval (bars).</p>",
    );
    out.push_str(&chart(summary, None));
    let _ = write!(
        out,
        "<h2>Metrics across seeds</h2><p>Solid: the median across seeds (p50); dashed: the worst \
         seed (max).</p>"
    );
    for column in HEADLINE_METRICS {
        out.push_str(&chart(summary, Some(column)));
    }
    out.push_str("<h2>Every point</h2><table><tr>");
    for path in meta.vary_paths() {
        let _ = write!(out, "<th>{}</th>", escape(&path));
    }
    out.push_str(
        "<th>strategy</th><th>deploys that lost requests</th><th>failed p50 / max</th>\
         <th>deploy time p50 (s)</th><th>machine-seconds p50</th></tr>",
    );
    for point in &summary.points {
        out.push_str("<tr>");
        for value in &point.values {
            let _ = write!(out, "<td class=\"num\">{}</td>", escape(value));
        }
        let across = &point.across;
        let failed = across.metric("requests_failed");
        let _ = write!(
            out,
            "<td>{}</td><td>{}</td><td class=\"num\">{:.0} / {:.0}</td><td class=\"num\">{:.1}</td>\
             <td class=\"num\">{:.1}</td></tr>",
            escape(&point.strategy),
            escape(&across.lost_request_runs.to_string()),
            failed.p50,
            failed.max,
            across.metric("deploy_duration_ms").p50 / 1_000.0,
            across.metric("machine_seconds").p50
        );
    }
    out.push_str("</table>");
    page_end(&mut out);
    out
}

/// One chart: `column`'s p50 (solid) and max (dashed), or with None the lost-request fraction in
/// percent with its interval. x: the first varied parameter (its position when not a number).
fn chart(summary: &StudySummary, column: Option<&str>) -> String {
    let meta = &summary.meta;
    let Some(first) = meta.varies.first() else {
        return String::new();
    };
    let numbers: Option<Vec<f64>> = first.values.iter().map(|value| numeric(value)).collect();
    let x_of = |value: &str| match &numbers {
        Some(numbers) => {
            numbers[first
                .values
                .iter()
                .position(|known| known == value)
                .unwrap_or(0)]
        }
        None => first
            .values
            .iter()
            .position(|known| known == value)
            .unwrap_or(0) as f64,
    };
    let xs: Vec<f64> = first.values.iter().map(|value| x_of(value)).collect();
    let x_min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let x_max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (title, unit, scale) = match column {
        None => ("deploys that lost requests".to_string(), "% of runs", 100.0),
        Some(column) => {
            let metric = crate::report::sweep::row_metric(column);
            let (unit, scale) = match metric.unit {
                "ms" => ("s", 0.001),
                "fraction" => ("%", 100.0),
                unit => (unit, 1.0),
            };
            (metric.label.to_string(), unit, scale)
        }
    };
    let x_label = if numbers.is_some() {
        first.path.clone()
    } else {
        format!("{} (position in {})", first.path, first.values.join(", "))
    };
    let mut chart = Chart::new(&title, &x_label, unit, x_max);
    let pad = ((x_max - x_min) * 0.04).max(0.5);
    chart.x_min = x_min - pad;
    chart.x_max = x_max + pad;
    chart.height = 300.0;
    // A line per strategy and combination of the other varied values, in first-seen order.
    let mut lines: Vec<(String, Vec<&StudyPoint>)> = Vec::new();
    for point in &summary.points {
        let mut name = point.strategy.clone();
        for (vary, value) in meta.varies.iter().zip(&point.values).skip(1) {
            name.push_str(&format!(", {}={value}", vary.path));
        }
        match lines.iter_mut().find(|(known, _)| *known == name) {
            Some((_, points)) => points.push(point),
            None => lines.push((name, vec![point])),
        }
    }
    // Intervals of different lines at one x are drawn side by side, not on top of each other.
    let dodge = (x_max - x_min).max(1.0) * 0.006;
    for (index, (name, points)) in lines.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()].to_string();
        let offset = (index as f64 - (lines.len() as f64 - 1.0) / 2.0) * dodge;
        let mut main = Vec::new();
        let mut worst = Vec::new();
        for point in points {
            let x = x_of(&point.values[0]);
            let finished = point.across.runs > point.across.panics;
            match column {
                None => {
                    let lost: &Proportion = &point.across.lost_request_runs;
                    main.push((x, finished.then_some(lost.fraction * scale)));
                    if finished {
                        chart.whiskers.push(Whisker {
                            x: x + offset,
                            low: lost.low * scale,
                            high: lost.high * scale,
                            color: color.clone(),
                        });
                    }
                }
                Some(column) => {
                    let distribution = point.across.metric(column);
                    main.push((x, finished.then_some(distribution.p50 * scale)));
                    worst.push((x, finished.then_some(distribution.max * scale)));
                }
            }
        }
        chart.series.push(Series {
            name: name.clone(),
            color: color.clone(),
            style: Style::Line,
            dashed: false,
            points: main,
        });
        if !worst.is_empty() {
            chart.series.push(Series {
                name: format!("{name} (max)"),
                color,
                style: Style::Line,
                dashed: true,
                points: worst,
            });
        }
    }
    chart.render()
}

/// Every run of a study in one process (for tests and callers without files).
pub fn summarise_plan(plan: &StudyPlan<'_>, jobs: usize) -> (Vec<StudyRow>, StudySummary) {
    let rows = run(plan, Shard::WHOLE, jobs, |_| {});
    let summary = summarise(plan.meta.clone(), &rows);
    (rows, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards `--vary` parsing: lists, inclusive ranges of numbers and durations, bad ranges.
    #[test]
    fn vary_values_parse() {
        let list = Vary::parse("deploy.0.wait_before_cordon=5s,10s,20s").expect("a list");
        assert_eq!(list.values, ["5s", "10s", "20s"]);
        let numbers = Vary::parse("fleet.0.count=2..8:3").expect("a range");
        assert_eq!(numbers.values, ["2", "5", "8"]);
        let durations = Vary::parse("proxy.propagation.p99=500ms..2s:500ms").expect("durations");
        assert_eq!(durations.values, ["500ms", "1s", "1500ms", "2s"]);
        let fractions = Vary::parse("deploy.0.max_unavailable=0.1..0.3:0.1").expect("fractions");
        assert_eq!(fractions.values, ["0.1", "0.2", "0.3"]);
        assert!(Vary::parse("a=5..1:1").is_err());
        assert!(Vary::parse("a=1..5:0").is_err());
        assert!(Vary::parse("a=1..100000:1").is_err());
        assert!(Vary::parse("a=1,,2").is_err());
    }

    // Guards the grid: every combination, the first parameter outermost.
    #[test]
    fn points_are_the_product() {
        let varies = [
            Vary::parse("a=1,2").expect("valid"),
            Vary::parse("b=x,y,z").expect("valid"),
        ];
        let grid = points(&varies);
        assert_eq!(grid.len(), 6);
        assert_eq!(point_count(&varies), 6);
        assert_eq!(grid[0], ["1", "x"]);
        assert_eq!(grid[5], ["2", "z"]);
    }
}
