//! `fleetsim bench` runs end to end (tiny sizes; it measures nothing here and asserts no timing).

use std::process::Command;

use fleetsim::bench::Load;

// Guards the benchmark harness: `bench --quick` runs every figure, scaling sizes in child
// processes, prints the table and writes the CSV.
#[test]
fn quick_bench_runs_and_writes_the_csv() {
    let directory = std::env::temp_dir().join(format!("fleetsim-bench-{}", std::process::id()));
    let csv = directory.join("bench").join("latest.csv");
    let output = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args([
            "bench",
            "--quick",
            "--repeats",
            "2",
            "--sizes",
            "5,12",
            "--csv",
        ])
        .arg(&csv)
        .output()
        .expect("the fleetsim binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for heading in [
        "engine",
        "scaling",
        "fuzz",
        "sweep",
        "targets",
        "medians of 2 repeats",
    ] {
        assert!(stdout.contains(heading), "no {heading} in\n{stdout}");
    }
    let text = std::fs::read_to_string(&csv).expect("the CSV is written");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("benchmark,parameter,metric,value,unit,min,max,repeats")
    );
    for wanted in [
        "engine,synthetic,events_per_s,",
        "engine,bare-heap,events_per_s,",
        "scaling,5,events,",
        "scaling,12,peak_memory,",
        "scaling,12,passed,1,bool,1,1,1",
        "scaling,12,wall_per_event,",
        "scaling,12 deploy-only,events,",
        "sweep,",
        "fuzz,",
    ] {
        assert!(text.contains(wanted), "no {wanted} in\n{text}");
    }
    let _ = std::fs::remove_dir_all(&directory);
}

// Guards the scaling scenario: the generated fleet has the asked size and the run's limits fit it.
#[test]
fn scaling_scenario_has_the_fleet_size_and_room() {
    for machines in [1, 10, 10_000] {
        let scenario = fleetsim::bench::scaling_scenario(machines, Load::Traffic);
        let total: u32 = scenario.fleet.iter().map(|group| group.count).sum();
        assert_eq!(total, machines);
        assert!(scenario.run.machine_limit >= 2 * machines);
    }
    let quiet = fleetsim::bench::scaling_scenario(10, Load::DeployOnly);
    assert!(
        quiet.traffic.regions.is_empty(),
        "deploy-only has no traffic"
    );
    for load in [Load::Traffic, Load::DeployOnly] {
        let row = fleetsim::bench::scaling_one(6, load);
        assert!(row.passed, "{row:?}");
        let parsed = fleetsim::bench::ScalingRow::from_line(&row.to_line());
        assert_eq!(
            parsed.map(|parsed| (parsed.events, parsed.load)),
            Some((row.events, load))
        );
    }
}

// Guards the reported value: the median of the repeats, not the best or the last one.
#[test]
fn samples_report_the_median() {
    use fleetsim::bench::Samples;
    assert_eq!(Samples::new(vec![3.0, 1.0, 2.0]).median(), 2.0);
    assert_eq!(Samples::new(vec![4.0, 1.0, 3.0, 2.0]).median(), 2.5);
    assert_eq!(Samples::new(vec![7.0]).median(), 7.0);
}
