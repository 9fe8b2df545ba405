//! keelctl's kubectl verbs against a real cell: `apply` of the seeds' nginx Deployment and
//! my-service Service (created, then unchanged, then configured), golden tables, YAML and JSON,
//! the other verbs (create, label, annotate, scale, set image, edit, describe, delete,
//! api-resources), `get -w`, the config file, and clear failures for bad input.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use keel_chaos::ClusterOptions;
use serde_json::Value;

use crate::kubectl_support::{
    assert_golden, normalize_object_text, normalize_tables, seed, Keelctl,
};
use crate::objects_support::wait_bootstrapped;
use crate::support::api_only_cell;

/// A 3-replica cell whose bootstrap namespaces exist, and keelctl pointed at every replica.
async fn kubectl_cell() -> (keel_chaos::LocalCluster, Keelctl) {
    let cluster = api_only_cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let k = Keelctl::new(&cluster.addrs().join(","));
    (cluster, k)
}

const PODS: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  labels:
    app: web
spec:
  containers:
  - name: web
    image: busybox:1.36
    ports:
    - containerPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels:
    app: web
spec:
  containers:
  - name: web
    image: busybox:1.36
  - name: sidecar
    image: busybox:1.36
";

fn table(k: &Keelctl, args: &[&str]) -> String {
    normalize_tables(&k.ok(args))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_seeds_then_print_like_kubectl() {
    let (_cluster, k) = kubectl_cell().await;
    let deploy = seed("seed_nginx_deployment.yaml");
    let service = seed("seed_my_service.yaml");
    let deploy = deploy.to_str().unwrap();
    let service = service.to_str().unwrap();

    // Phase 1: the seeds apply unchanged, and a second apply changes nothing.
    assert_eq!(
        k.ok(&["apply", "-f", deploy]),
        "deployment.apps/nginx-deployment created\n"
    );
    assert_eq!(
        k.ok(&["apply", "-f", service]),
        "service/my-service created\n"
    );
    assert_eq!(
        k.ok(&["apply", "-f", deploy]),
        "deployment.apps/nginx-deployment unchanged\n"
    );
    assert_eq!(
        k.ok(&["apply", "-f", deploy, "-f", service]),
        "deployment.apps/nginx-deployment unchanged\nservice/my-service unchanged\n"
    );
    // Multi-document YAML from stdin.
    let r = k.run_with(k.command(&["apply", "-f", "-"]), Some(PODS));
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "pod/web-0 created\npod/web-1 created\n");

    // Phase 2: tables, YAML, JSON and names, as golden files.
    assert_golden("get_deploy.txt", &table(&k, &["get", "deploy"]));
    assert_golden(
        "get_deploy_wide.txt",
        &table(&k, &["get", "deployments.apps", "-o", "wide"]),
    );
    assert_golden(
        "get_svc_wide.txt",
        &table(&k, &["get", "svc", "-o", "wide"]),
    );
    assert_golden("get_pods.txt", &table(&k, &["get", "po"]));
    assert_golden(
        "get_pods_wide.txt",
        &table(&k, &["get", "pods", "-o", "wide", "--show-labels"]),
    );
    assert_golden("get_deploy_svc.txt", &table(&k, &["get", "deploy,svc"]));
    assert_golden(
        "get_pods_all_namespaces.txt",
        &table(&k, &["get", "po", "-A", "-l", "app=web"]),
    );
    assert_golden(
        "get_deploy_yaml.yaml",
        &normalize_object_text(&k.ok(&["get", "deploy", "nginx-deployment", "-o", "yaml"])),
    );
    assert_golden(
        "get_svc_json.json",
        &normalize_object_text(&k.ok(&["get", "service/my-service", "-o", "json"])),
    );
    assert_golden(
        "get_pods_list_yaml.yaml",
        &normalize_object_text(&k.ok(&["get", "po", "-o", "yaml"])),
    );
    assert_eq!(
        k.ok(&["get", "deploy,svc,po", "-o", "name"]),
        "deployment.apps/nginx-deployment\nservice/my-service\npod/web-0\npod/web-1\n"
    );
    let r = k.run(&["get", "cm", "-n", "kube-system"]);
    assert!(r.ok && r.stdout.is_empty(), "{r:?}");
    assert_eq!(r.stderr, "No resources found in kube-system namespace.\n");

    // Phase 3: a changed manifest is configured; fields it dropped are removed.
    let dir = tempfile::tempdir().unwrap();
    let changed = std::fs::read_to_string(deploy)
        .unwrap()
        .replace("replicas: 3", "replicas: 5")
        .replace("  labels:\n    app: nginx\nspec:", "spec:");
    let changed_path = dir.path().join("nginx.yaml");
    std::fs::write(&changed_path, changed).unwrap();
    std::fs::copy(service, dir.path().join("service.yaml")).unwrap();
    assert_eq!(
        k.ok(&["apply", "-f", dir.path().to_str().unwrap()]),
        "deployment.apps/nginx-deployment configured\nservice/my-service unchanged\n"
    );
    let live: Value =
        serde_json::from_str(&k.ok(&["get", "deploy", "nginx-deployment", "-o", "json"])).unwrap();
    assert_eq!(live["spec"]["replicas"], 5);
    assert!(
        live["metadata"]
            .get("labels")
            .is_none_or(|l| l.get("app").is_none()),
        "{live}"
    );
    assert_eq!(
        live["spec"]["template"]["metadata"]["labels"]["app"],
        "nginx"
    );
    assert_eq!(
        k.ok(&["apply", "-f", changed_path.to_str().unwrap()]),
        "deployment.apps/nginx-deployment unchanged\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbs_change_objects_like_kubectl() {
    let (cluster, k) = kubectl_cell().await;

    // Phase 1: generators.
    assert_eq!(
        k.ok(&["create", "namespace", "team-a"]),
        "namespace/team-a created\n"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.25",
            "--replicas=2",
            "-n",
            "team-a"
        ]),
        "deployment.apps/web created\n"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "configmap",
            "cfg",
            "--from-literal=a=1",
            "--from-literal=b=2",
            "-n",
            "team-a"
        ]),
        "configmap/cfg created\n"
    );
    assert_eq!(
        k.ok(&[
            "create",
            "secret",
            "generic",
            "pw",
            "--from-literal=password=s3cret",
            "-n",
            "team-a"
        ]),
        "secret/pw created\n"
    );
    assert_golden(
        "get_team_a.txt",
        &table(&k, &["get", "deploy,cm,secret", "-n", "team-a"]),
    );
    assert_golden(
        "create_deployment_dry_run.yaml",
        &k.ok(&[
            "create",
            "deployment",
            "x",
            "--image=busybox",
            "--dry-run=client",
            "-o",
            "yaml",
        ]),
    );
    // `create --save-config` records the manifest as `apply` does: applying it changes nothing.
    let dry = k.ok(&[
        "create",
        "deployment",
        "saved",
        "--image=busybox",
        "-n",
        "team-a",
        "--dry-run=client",
        "-o",
        "yaml",
    ]);
    assert_eq!(
        k.ok(&[
            "create",
            "deployment",
            "saved",
            "--image=busybox",
            "-n",
            "team-a",
            "--save-config"
        ]),
        "deployment.apps/saved created\n"
    );
    let r = k.run_with(k.command(&["apply", "-n", "team-a", "-f", "-"]), Some(&dry));
    assert_eq!(r.stdout, "deployment.apps/saved unchanged\n", "{r:?}");
    assert_eq!(
        k.ok(&["delete", "deploy/saved", "-n", "team-a"]),
        "deployment.apps \"saved\" deleted\n"
    );
    let stderr = k.fails(&["create", "namespace", "team-a"]);
    assert_eq!(
        stderr,
        "Error from server (AlreadyExists): namespaces \"team-a\" already exists\n"
    );

    // Phase 2: label, annotate, scale, set image, edit.
    let label = |value: &str, overwrite: bool| {
        let mut args = vec!["label", "deploy", "web", "-n", "team-a", value];
        if overwrite {
            args.push("--overwrite");
        }
        k.run(&args)
    };
    assert_eq!(
        label("tier=frontend", false).stdout,
        "deployment.apps/web labeled\n"
    );
    assert_eq!(
        label("tier=backend", false).stderr,
        "error: 'tier' already has a value (frontend), and --overwrite is false\n"
    );
    assert_eq!(
        label("tier=backend", true).stdout,
        "deployment.apps/web labeled\n"
    );
    assert_eq!(
        k.ok(&["annotate", "deploy/web", "owner=ops", "-n", "team-a"]),
        "deployment.apps/web annotated\n"
    );
    assert_eq!(
        k.ok(&["scale", "deploy/web", "--replicas=4", "-n", "team-a"]),
        "deployment.apps/web scaled\n"
    );
    assert_eq!(
        k.ok(&[
            "set",
            "image",
            "deploy/web",
            "nginx=nginx:1.27",
            "-n",
            "team-a"
        ]),
        "deployment.apps/web image updated\n"
    );
    let mut edit = k.command(&["edit", "deployment", "web", "-n", "team-a"]);
    edit.env("EDITOR", "sed -i -e 's/replicas: 4/replicas: 6/'");
    let r = k.run_with(edit, None);
    assert!(r.ok, "{r:?}");
    assert_eq!(r.stdout, "deployment.apps/web edited\n");
    let mut noop = k.command(&["edit", "deployment", "web", "-n", "team-a"]);
    noop.env("EDITOR", "true");
    assert_eq!(
        k.run_with(noop, None).stdout,
        "Edit cancelled, no changes made.\n"
    );
    let live: Value =
        serde_json::from_str(&k.ok(&["get", "deploy", "web", "-n", "team-a", "-o", "json"]))
            .unwrap();
    assert_eq!(live["spec"]["replicas"], 6);
    assert_eq!(live["metadata"]["labels"]["tier"], "backend");
    assert_eq!(live["metadata"]["annotations"]["owner"], "ops");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert_golden(
        "describe_deploy.txt",
        &normalize_object_text(&k.ok(&["describe", "deploy", "web", "-n", "team-a"])),
    );
    assert_golden(
        "describe_secret.txt",
        &normalize_object_text(&k.ok(&["describe", "secret", "pw", "-n", "team-a"])),
    );

    // Phase 3: the config file names the servers and the namespace.
    let cfg_dir = k.home.path().join(".keel");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    let servers: Vec<String> = cluster.addrs().iter().map(|a| format!("- {a}")).collect();
    std::fs::write(
        cfg_dir.join("config"),
        format!("servers:\n{}\nnamespace: team-a\n", servers.join("\n")),
    )
    .unwrap();
    let mut from_config = k.command(&["get", "cm", "-o", "name"]);
    from_config.env_remove("KEEL_SERVERS");
    let r = k.run_with(from_config, None);
    assert_eq!(
        (r.ok, r.stdout.as_str()),
        (true, "configmap/cfg\n"),
        "{r:?}"
    );
    let mut bad_config = k.command(&["get", "cm"]);
    bad_config.env("KEELCONFIG", k.home.path().join("missing"));
    let r = k.run_with(bad_config, None);
    assert!(!r.ok && r.stderr.contains("missing"), "{r:?}");

    // Phase 4: delete, api-resources.
    assert_eq!(
        k.ok(&["delete", "deploy", "web", "-n", "team-a"]),
        "deployment.apps \"web\" deleted\n"
    );
    assert_eq!(
        k.fails(&["delete", "deploy", "web", "-n", "team-a"]),
        "Error from server (NotFound): deployments.apps \"web\" not found\n"
    );
    assert_eq!(
        k.ok(&[
            "delete",
            "deploy",
            "web",
            "-n",
            "team-a",
            "--ignore-not-found"
        ]),
        ""
    );
    assert_eq!(
        k.ok(&["delete", "cm,secret", "--all", "-n", "team-a"]),
        "configmap \"cfg\" deleted\nsecret \"pw\" deleted\n"
    );
    assert_golden("api_resources.txt", &k.ok(&["api-resources"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_fails_clearly() {
    let (_cluster, k) = kubectl_cell().await;
    let dir = tempfile::tempdir().unwrap();

    // Malformed YAML: the scraped seed, with its broken indentation, names file and line.
    let verbatim = seed("seed_nginx_deployment_verbatim.yaml");
    let verbatim = verbatim.to_str().unwrap();
    let err = k.fails(&["apply", "-f", verbatim]);
    assert_eq!(
        err,
        format!("error: error parsing {verbatim}: while parsing a block mapping, did not find expected key (document 1, line 5)\n")
    );
    let err = k.fails(&[
        "create",
        "-f",
        seed("seed_my_service_verbatim.yaml").to_str().unwrap(),
    ]);
    assert!(
        err.starts_with("error: error parsing ") && err.contains("line 10"),
        "{err}"
    );

    // Unknown kinds: in a manifest (with document and line) and on the command line.
    let foo = dir.path().join("foo.yaml");
    std::fs::write(&foo, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: Deploymnt\nmetadata:\n  name: x\n").unwrap();
    let err = k.fails(&["apply", "-f", foo.to_str().unwrap()]);
    assert_eq!(
        err,
        format!("error: error parsing {}: unknown kind Deploymnt in apiVersion v1 (did you mean Deployment in apiVersion apps/v1?) (document 2, line 7)\n", foo.display())
    );
    assert_eq!(
        k.fails(&["get", "foos"]),
        "error: the server doesn't have a resource type \"foos\"\n"
    );
    assert_eq!(
        k.fails(&["get", "deploymnts"]),
        "error: the server doesn't have a resource type \"deploymnts\" (did you mean deployments?)\n"
    );

    // Missing objects.
    assert_eq!(
        k.fails(&["get", "deploy", "nope"]),
        "Error from server (NotFound): deployments.apps \"nope\" not found\n"
    );
    assert_eq!(
        k.fails(&["describe", "po", "nope"]),
        "Error from server (NotFound): pods \"nope\" not found\n"
    );
    assert_eq!(
        k.fails(&["scale", "deploy", "nope", "--replicas=1"]),
        "Error from server (NotFound): deployments.apps \"nope\" not found\n"
    );
    assert_eq!(
        k.fails(&["get", "ns", "nope-ns"]),
        "Error from server (NotFound): namespaces \"nope-ns\" not found\n"
    );

    // Objects the server refuses: invalid ones, and a namespace that does not match -n.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\nspec:\n  ports:\n  - port: 80\n").unwrap();
    let err = k.fails(&["apply", "-f", bad.to_str().unwrap()]);
    assert!(
        err.starts_with("Error from server (Invalid): error when creating "),
        "{err}"
    );
    let other_ns = dir.path().join("ns.yaml");
    std::fs::write(
        &other_ns,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: kube-system\n",
    )
    .unwrap();
    assert_eq!(
        k.fails(&["apply", "-n", "default", "-f", other_ns.to_str().unwrap()]),
        "error: the namespace from the provided object \"kube-system\" does not match the namespace \"default\". You must pass '--namespace=kube-system' to perform this operation.\n"
    );
    assert_eq!(
        k.fails(&[
            "apply",
            "-f",
            dir.path().join("absent.yaml").to_str().unwrap()
        ]),
        format!(
            "error: the path \"{}\" could not be read: No such file or directory (os error 2)\n",
            dir.path().join("absent.yaml").display()
        )
    );
    let unreachable = Keelctl::new("127.0.0.1:1");
    assert!(unreachable
        .fails(&["get", "po"])
        .contains("no replica reachable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_prints_changes() {
    let (_cluster, k) = kubectl_cell().await;
    k.ok(&["create", "configmap", "first", "--from-literal=a=1"]);

    let mut cmd = k.command(&["get", "cm", "-w"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("keelctl get -w starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let wait_for = |lines: &mut Vec<String>, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !lines.iter().any(|l: &String| l.starts_with(what)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => lines.push(l),
                Err(_) => panic!("no line starting with {what:?} within 20 s; saw {lines:?}"),
            }
        }
    };
    wait_for(&mut lines, "first ");
    k.ok(&[
        "create",
        "configmap",
        "second",
        "--from-literal=a=1",
        "--from-literal=b=2",
    ]);
    wait_for(&mut lines, "second ");
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        vec!["NAME", "DATA", "AGE"]
    );
    let second = lines.iter().find(|l| l.starts_with("second ")).unwrap();
    assert_eq!(
        second.split_whitespace().take(2).collect::<Vec<_>>(),
        vec!["second", "2"]
    );
    // Rows printed later line up under the header.
    assert_eq!(second.find('2'), lines[0].find("DATA"));
}
