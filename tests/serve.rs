//! `fleetsim serve` and `fleetsim deploy` end to end, on loopback only and bounded in time: the
//! port of bluegreen deploys over HTTP against a served world, which must judge it as the
//! simulator judges the same scenario.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SCENARIO: &str = "scenarios/bluegreen-basic.toml";
const APP: &str = "cherrypicker";
const NEW_IMAGE: &str = "registry.fly.io/cherrypicker:deployment-01HVPFF2C2Y5ZES3BR7F8GYVW3";
/// How long any one process of these tests may run (the deploy takes ~4 s at --speed 10).
const PROCESS_TIME_MAX: Duration = Duration::from_secs(120);

fn fleetsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
}

fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("fleetsim-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("a scratch directory");
    directory
}

/// A served world, killed if the test fails before it ends.
struct Server {
    child: Option<Child>,
    address: SocketAddr,
}

impl Server {
    fn start(scenario: &str, out: &Path) -> Server {
        let mut child = fleetsim()
            .args([
                "serve",
                scenario,
                "--listen",
                "127.0.0.1:0",
                "--speed",
                "10",
                "--out",
            ])
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("fleetsim serve starts");
        let mut first = String::new();
        let stdout = child.stdout.as_mut().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("serve prints where it listens");
        // "listening on http://127.0.0.1:PORT (app …)"
        let address = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("no address in serve's first line: {first:?}"));
        Server {
            child: Some(child),
            address,
        }
    }

    /// Stops the run and waits for serve to judge it: its exit status and its stdout.
    fn stop(mut self, outcome: &str) -> (i32, String) {
        let (status, _) = http(
            self.address,
            "POST",
            &format!("/_fleetsim/stop?outcome={outcome}"),
            "",
        );
        assert_eq!(status, 200, "the stop is accepted");
        let child = self.child.take().expect("running");
        let output = wait_bounded(child);
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits for `child`, killing it past [`PROCESS_TIME_MAX`] (counted in polls: the lints keep
/// the wall clock out of the crate, tests included).
fn wait_bounded(mut child: Child) -> std::process::Output {
    let poll = Duration::from_millis(50);
    let polls_max = PROCESS_TIME_MAX.as_millis() / poll.as_millis();
    for _ in 0..polls_max {
        if child.try_wait().expect("waitable").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::park_timeout(poll);
    }
    let _ = child.kill();
    panic!("a process ran longer than {PROCESS_TIME_MAX:?}");
}

/// One HTTP/1.1 request on its own connection: (status, body).
fn http(address: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("sends");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

fn deploy(address: SocketAddr) -> std::process::Output {
    let child = fleetsim()
        .args(["deploy", "--api-url"])
        .arg(format!("http://{address}"))
        .args([
            "--app",
            APP,
            "--image",
            NEW_IMAGE,
            "--speed",
            "10",
            "--show-phases",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fleetsim deploy starts");
    wait_bounded(child)
}

/// The rows of an events.csv: (kind, detail).
fn events(directory: &Path) -> Vec<(String, String)> {
    let mut reader = csv::Reader::from_path(directory.join("events.csv")).expect("events.csv");
    reader
        .records()
        .map(|record| {
            let record = record.expect("a row");
            (record[1].to_string(), record[4].to_string())
        })
        .collect()
}

fn phases_in(events: &[(String, String)]) -> Vec<String> {
    events
        .iter()
        .filter(|(kind, _)| kind == "deploy")
        .filter_map(|(_, detail)| detail.strip_prefix("deploy 0: phase ").map(str::to_string))
        .collect()
}

/// The deployer's mutating calls in order, consecutive repeats collapsed: the shape of its
/// deploy, which timing does not change (reads and lease refreshes are left out: how many there
/// are depends on when replies arrive).
fn mutation_shape(events: &[(String, String)]) -> Vec<String> {
    let mut shape: Vec<String> = Vec::new();
    for (kind, detail) in events {
        if kind != "api-call" {
            continue;
        }
        let operation = detail.rsplit(": ").next().unwrap_or_default();
        let read = matches!(
            operation,
            "list" | "get" | "wait" | "refresh-lease" | "can-perform-bluegreen"
        );
        if !read && shape.last().map(String::as_str) != Some(operation) {
            shape.push(operation.to_string());
        }
    }
    shape
}

fn verdicts(directory: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(directory.join("summary.json")).expect("summary.json");
    let summary: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    summary["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .map(|verdict| {
            (
                verdict["invariant"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                verdict["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

// Guards the whole path: flyctl's bluegreen, over real HTTP, against a served world; every
// invariant an external deployer is judged on holds, and the deploy has the phases and the
// calls of the simulated run of the same scenario.
#[test]
fn bluegreen_over_http_is_judged_as_in_the_simulator() {
    let served = scratch("served");
    let simulated = scratch("simulated");
    let server = Server::start(SCENARIO, &served);
    let deployed = deploy(server.address);
    let stdout = String::from_utf8_lossy(&deployed.stdout);
    let stderr = String::from_utf8_lossy(&deployed.stderr);
    assert_eq!(
        deployed.status.code(),
        Some(0),
        "deploy failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("Deployment Complete"), "{stdout}");
    let (status, summary) = server.stop("succeeded");
    assert_eq!(status, 0, "the served run's expectations hold:\n{summary}");

    let judged = verdicts(&served);
    let held: Vec<&str> = judged
        .iter()
        .filter(|(_, status)| status == "held")
        .map(|(invariant, _)| invariant.as_str())
        .collect();
    assert_eq!(
        held,
        [
            "no-machine-explosion",
            "never-all-deleted",
            "deployer-never-deletes-all",
            "no-downtime",
            "single-image-at-rest",
            "deploy-terminates",
            "drain-order",
            "no-leftovers",
            "lease-exclusion",
            "bounded-mixing",
            "leases-released",
            "fleet-converges",
            "fleet-size-kept",
        ],
        "every invariant an external deployer is judged on holds: {judged:?}"
    );
    assert!(
        judged
            .iter()
            .all(|(_, status)| status == "held" || status == "n/a"),
        "the rest are n/a, none violated: {judged:?}"
    );

    let ran = fleetsim()
        .args(["run", SCENARIO, "--quiet", "--out"])
        .arg(&simulated)
        .output()
        .expect("fleetsim run");
    assert_eq!(ran.status.code(), Some(0));
    let simulated_events = events(&simulated);
    let printed_phases: Vec<String> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("phase: ").map(str::to_string))
        .collect();
    assert_eq!(printed_phases, phases_in(&simulated_events), "same phases");
    let served_events = events(&served);
    assert_eq!(
        mutation_shape(&served_events),
        mutation_shape(&simulated_events),
        "same mutating calls in the same order"
    );
    assert_eq!(
        mutation_shape(&served_events),
        [
            "acquire-lease",
            "launch",
            "uncordon",
            "set-metadata",
            "cordon",
            "stop",
            "destroy"
        ],
    );
    let _ = std::fs::remove_dir_all(&served);
    let _ = std::fs::remove_dir_all(&simulated);
}

// Guards the error surface: Fly's status codes and `{"error": …}` bodies for an unknown machine,
// another app, a bad body and a bad wait state, and the lease envelope flyctl reads.
#[test]
fn errors_and_leases_have_flys_shapes() {
    let out = scratch("errors");
    let server = Server::start(SCENARIO, &out);
    let address = server.address;
    let base = format!("/v1/apps/{APP}/machines");
    let (status, body) = http(address, "GET", &format!("{base}/00000000000000"), "");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"error\":\"machine not found"), "{body}");
    let (status, body) = http(address, "GET", "/v1/apps/someone-else/machines", "");
    assert_eq!(status, 404);
    assert!(body.contains("app not found"), "{body}");
    let (status, body) = http(address, "POST", &base, "{\"config\": 7}");
    assert_eq!(status, 400);
    assert!(body.contains("invalid request body at `config`"), "{body}");

    let (status, body) = http(address, "GET", &base, "");
    assert_eq!(status, 200);
    let machines: serde_json::Value = serde_json::from_str(&body).expect("a list");
    let id = machines[0]["id"].as_str().expect("an id").to_string();
    let (status, body) = http(
        address,
        "GET",
        &format!("{base}/{id}/wait?state=sleeping"),
        "",
    );
    assert_eq!(status, 400, "{body}");
    // A TTL longer than the run: the lease is still held when the run ends.
    let (status, body) = http(address, "POST", &format!("{base}/{id}/lease?ttl=3600"), "");
    assert_eq!(status, 200, "{body}");
    let lease: serde_json::Value = serde_json::from_str(&body).expect("a lease");
    assert_eq!(lease["status"], "success");
    assert!(lease["data"]["nonce"]
        .as_str()
        .is_some_and(|nonce| !nonce.is_empty()));
    let (status, body) = http(address, "POST", &format!("{base}/{id}/lease?ttl=30"), "");
    assert_eq!(status, 409, "a held lease conflicts: {body}");
    let (status, body) = http(address, "POST", &format!("{base}/{id}/cordon"), "");
    assert_eq!(status, 409, "a leased machine needs the nonce: {body}");
    let (status, _) = server.stop("failed");
    // The lease taken above is never released: leases-released is violated, so the run fails.
    assert_eq!(status, 1);
    let judged = verdicts(&out);
    assert!(
        judged.contains(&("leases-released".to_string(), "violated".to_string())),
        "{judged:?}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// A Python with fly-python-sdk 0.3.4 in a virtual environment under the target directory (made
/// once), or why there is none: python3 or pip is not on this machine.
fn python_with_fly_sdk() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fly-python-sdk-0.3.4");
    let python = venv.join("bin").join("python");
    let runs = |command: &mut Command| {
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !runs(Command::new("python3").arg("--version")) {
        return Err("python3 is not available".to_string());
    }
    if !python.exists() && !runs(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
        return Err(
            "python3 cannot make a virtual environment (python3-venv/pip missing)".to_string(),
        );
    }
    if !runs(Command::new(&python).args(["-m", "pip", "--version"])) {
        return Err("pip is not available in the virtual environment".to_string());
    }
    if !runs(Command::new(&python).args(["-c", "import fly_python_sdk"])) {
        let installed = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "fly-python-sdk==0.3.4"])
            .output()
            .expect("pip runs");
        assert!(
            installed.status.success(),
            "pip install fly-python-sdk==0.3.4 failed:\n{}",
            String::from_utf8_lossy(&installed.stderr)
        );
    }
    Ok(python)
}

// Guards the wire format against our own guesses: a Machines API client this project did not
// write (fly-python-sdk) lists, inspects, stops, starts and destroys served machines.
#[test]
fn fly_python_sdk_drives_a_served_fleet() {
    let python = match python_with_fly_sdk() {
        Ok(python) => python,
        Err(reason) => {
            eprintln!("skipped fly_python_sdk_drives_a_served_fleet: {reason}");
            return;
        }
    };
    let out = scratch("sdk");
    let server = Server::start("examples/serve/serve_sdk.toml", &out);
    let child = Command::new(python)
        .arg("examples/serve/fly_sdk_check.py")
        .arg(format!("http://{}", server.address))
        .arg("sdk-app")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let checked = wait_bounded(child);
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    for step in [
        "listed 3 machines",
        "inspected",
        "stopped",
        "started",
        "destroyed",
    ] {
        assert!(stdout.contains(step), "{step}: {stdout}");
    }
    let (_, summary) = server.stop("failed");
    assert!(summary.contains("scenario serve-sdk"), "{summary}");
    let _ = std::fs::remove_dir_all(&out);
}
