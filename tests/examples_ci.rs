//! The ready-to-use CI examples of `examples/ci/` stay usable: the GitHub Actions workflow is
//! valid YAML whose shape Actions accepts and whose every `fleetsim` command parses with this
//! build's command line; the Kubernetes manifests are valid Jobs (an Indexed Job whose shard count
//! is its completion count, and a merge Job) on the volume claim they share.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

fn load(file: &str) -> Vec<Yaml> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("the example exists");
    YamlLoader::load_from_str(&text).unwrap_or_else(|error| panic!("{file}: invalid YAML: {error}"))
}

fn string<'a>(yaml: &'a Yaml, what: &str) -> &'a str {
    yaml.as_str()
        .unwrap_or_else(|| panic!("{what} is a string: {yaml:?}"))
}

/// Every `fleetsim …` command in a shell text (up to `||`, `&&`, `;` or the end), with shell
/// variables replaced by `values`, parsed by fleetsim's own command line.
fn check_commands(shell: &str, values: &[(&str, &str)]) -> Vec<String> {
    let mut text = shell.replace('\n', " ");
    for (variable, value) in values {
        text = text.replace(variable, value);
    }
    let mut commands = Vec::new();
    for (start, _) in text.match_indices("fleetsim ") {
        let rest = &text[start..];
        let end = ["||", "&&", ";"]
            .iter()
            .filter_map(|separator| rest.find(separator))
            .min()
            .unwrap_or(rest.len());
        let words: Vec<String> = rest[..end]
            .split_whitespace()
            .map(|word| word.trim_matches('"').to_string())
            .collect();
        if let Err(error) = fleetsim::cli::try_parse_from(&words) {
            panic!("`{}` does not parse: {error}", words.join(" "));
        }
        commands.push(words[1].clone());
    }
    commands
}

// Guards the GitHub Actions example: jobs with runners and steps, a matrix of shards 0..N-1 for
// N = SHARDS, a merge job that needs the shards, and fleetsim commands that exist.
#[test]
fn the_github_workflow_is_valid() {
    let documents = load("github-actions.yml");
    let workflow = &documents[0];
    assert!(workflow["name"].as_str().is_some());
    assert!(!workflow["on"].is_badvalue());
    let shards: usize = string(&workflow["env"]["SHARDS"], "env.SHARDS")
        .parse()
        .expect("SHARDS is a number");
    let cases = string(&workflow["env"]["CASES"], "env.CASES");
    let seed = string(&workflow["env"]["SEED"], "env.SEED");
    let jobs = workflow["jobs"].as_hash().expect("jobs");
    let mut commands = Vec::new();
    for (name, job) in jobs {
        let name = string(name, "a job name");
        assert!(job["runs-on"].as_str().is_some(), "{name}: runs-on");
        if let Some(needs) = job["needs"].as_str() {
            assert!(
                jobs.contains_key(&Yaml::String(needs.to_string())),
                "{name} needs {needs}"
            );
        }
        let matrix: Vec<i64> = job["strategy"]["matrix"]["shard"]
            .as_vec()
            .map(|values| values.iter().filter_map(Yaml::as_i64).collect())
            .unwrap_or_default();
        if !matrix.is_empty() {
            assert_eq!(
                matrix,
                (0..shards as i64).collect::<Vec<_>>(),
                "{name}: the matrix"
            );
        }
        for step in job["steps"].as_vec().expect("steps") {
            let uses = step["uses"].as_str();
            let run = step["run"].as_str();
            assert!(
                uses.is_some() != run.is_some(),
                "{name}: a step uses or runs: {step:?}"
            );
            if let Some(run) = run {
                let values = [
                    ("${{ matrix.shard }}", "0"),
                    ("$SHARDS", string(&workflow["env"]["SHARDS"], "SHARDS")),
                    ("$CASES", cases),
                    ("$SEED", seed),
                ];
                commands.extend(check_commands(run, &values));
            }
        }
    }
    assert_eq!(commands, ["fuzz", "merge"]);
}

/// The Job documents of a manifest, checked: batch/v1 Job, a DNS-1123 name, a pod template
/// that never restarts in place, containers with names and images, mounted volumes declared.
fn check_job(job: &Yaml, file: &str) {
    assert_eq!(
        string(&job["apiVersion"], "apiVersion"),
        "batch/v1",
        "{file}"
    );
    assert_eq!(string(&job["kind"], "kind"), "Job", "{file}");
    let name = string(&job["metadata"]["name"], "metadata.name");
    assert!(
        !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "{file}: {name} is a DNS-1123 label"
    );
    let spec = &job["spec"];
    let pod = &spec["template"]["spec"];
    let restart = string(&pod["restartPolicy"], "restartPolicy");
    assert!(
        ["Never", "OnFailure"].contains(&restart),
        "{file}: a Job's pods restart Never or OnFailure"
    );
    let volumes: Vec<&str> = pod["volumes"]
        .as_vec()
        .map(|volumes| {
            volumes
                .iter()
                .map(|volume| string(&volume["name"], "volume name"))
                .collect()
        })
        .unwrap_or_default();
    let containers = pod["containers"].as_vec().expect("containers");
    assert!(!containers.is_empty(), "{file}: containers");
    for container in containers {
        string(&container["name"], "container name");
        string(&container["image"], "container image");
        for mount in container["volumeMounts"].as_vec().into_iter().flatten() {
            let volume = string(&mount["name"], "volumeMount name");
            assert!(volumes.contains(&volume), "{file}: {volume} is declared");
            assert!(string(&mount["mountPath"], "mountPath").starts_with('/'));
        }
    }
    if let Some(completions) = spec["completions"].as_i64() {
        assert!(completions >= 1);
        if let Some(parallelism) = spec["parallelism"].as_i64() {
            assert!(
                (1..=completions).contains(&parallelism),
                "{file}: parallelism"
            );
        }
    }
}

/// The shell text a container runs (`command` + `args`).
fn container_shell(job: &Yaml) -> String {
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let mut words: Vec<&str> = Vec::new();
    for part in ["command", "args"] {
        words.extend(
            container[part]
                .as_vec()
                .into_iter()
                .flatten()
                .filter_map(Yaml::as_str),
        );
    }
    words.join(" ")
}

// Guards the Kubernetes example: an Indexed Job whose `--shard auto/N` matches its completions
// (JOB_COMPLETION_INDEX runs 0..N-1), a merge Job, the claim they mount, and commands that exist.
#[test]
fn the_kubernetes_manifests_are_valid_jobs() {
    let claim = &load("kubernetes/results-pvc.yaml")[0];
    assert_eq!(string(&claim["kind"], "kind"), "PersistentVolumeClaim");
    let claim_name = string(&claim["metadata"]["name"], "claim name");
    let modes = claim["spec"]["accessModes"].as_vec().expect("accessModes");
    assert!(
        modes.contains(&Yaml::String("ReadWriteMany".to_string())),
        "shared by every pod"
    );

    let fuzz = &load("kubernetes/fuzz-job.yaml")[0];
    check_job(fuzz, "fuzz-job.yaml");
    assert_eq!(
        string(&fuzz["spec"]["completionMode"], "completionMode"),
        "Indexed"
    );
    let completions = fuzz["spec"]["completions"].as_i64().expect("completions");
    let shell = container_shell(fuzz);
    assert!(
        shell.contains(&format!("--shard auto/{completions}")),
        "{shell}"
    );
    let shell = shell.replace(&format!("auto/{completions}"), &format!("0/{completions}"));
    assert_eq!(
        check_commands(&shell, &[("$JOB_COMPLETION_INDEX", "0")]),
        ["fuzz"]
    );

    let merge = &load("kubernetes/merge-job.yaml")[0];
    check_job(merge, "merge-job.yaml");
    assert_eq!(check_commands(&container_shell(merge), &[]), ["merge"]);

    for job in [fuzz, merge] {
        let volume = &job["spec"]["template"]["spec"]["volumes"][0];
        assert_eq!(
            string(&volume["persistentVolumeClaim"]["claimName"], "claimName"),
            claim_name
        );
    }
}
