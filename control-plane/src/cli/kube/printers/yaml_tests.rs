use super::*;
use serde_json::json;

#[test]
fn objects_render_like_kubectl() {
    let v = json!({
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "web", "resourceVersion": "12", "labels": {"app": "web"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"a\":1}\n"},
            "creationTimestamp": "2024-01-01T00:00:00Z", "generation": 1},
        "spec": {"replicas": 3, "strategy": {}, "template": {"spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}], "args": ["-c", "*"]}
        ]}}},
        "status": {}
    });
    let want = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {\"a\":1}
  creationTimestamp: \"2024-01-01T00:00:00Z\"
  generation: 1
  labels:
    app: web
  name: web
  resourceVersion: \"12\"
spec:
  replicas: 3
  strategy: {}
  template:
    spec:
      containers:
      - args:
        - -c
        - '*'
        image: nginx:1.14.2
        name: nginx
        ports:
        - containerPort: 80
status: {}
";
    assert_eq!(to_yaml(&v), want);
}

#[test]
fn strings_are_quoted_only_when_needed() {
    let q = |s: &str| string_text(s, 0);
    assert_eq!(q("web"), "web");
    assert_eq!(q(""), "\"\"");
    assert_eq!(q("80"), "\"80\"");
    assert_eq!(q("0755"), "\"0755\"");
    assert_eq!(q("1.5"), "\"1.5\"");
    assert_eq!(q("true"), "\"true\"");
    assert_eq!(q("yes"), "\"yes\"");
    assert_eq!(q("null"), "\"null\"");
    assert_eq!(q("2024-01-01"), "\"2024-01-01\"");
    assert_eq!(q("1:20"), "\"1:20\"");
    assert_eq!(q("a: b"), "'a: b'");
    assert_eq!(q("it's: x"), "'it''s: x'");
    assert_eq!(q("{x}"), "'{x}'");
    assert_eq!(q("- x"), "'- x'");
    assert_eq!(q("-x"), "-x");
    assert_eq!(q("a #b"), "'a #b'");
    assert_eq!(q("a#b"), "a#b");
    assert_eq!(q("http://x:80/"), "http://x:80/");
    assert_eq!(q(" lead"), "' lead'");
    assert_eq!(q("nginx:1.14.2"), "nginx:1.14.2");
    assert_eq!(q("10.96.0.1"), "10.96.0.1");
    assert_eq!(q("1e3"), "\"1e3\"");
    assert_eq!(q("infinity"), "infinity");
}

#[test]
fn literal_blocks_keep_their_chomping() {
    assert_eq!(to_yaml(&json!({"a": "x\ny"})), "a: |-\n  x\n  y\n");
    assert_eq!(to_yaml(&json!({"a": "x\n"})), "a: |\n  x\n");
    assert_eq!(to_yaml(&json!({"a": "x\n\n"})), "a: |+\n  x\n\n");
    assert_eq!(to_yaml(&json!({"a": "x\n\ny\n"})), "a: |\n  x\n\n  y\n");
}

#[test]
fn nested_sequences_and_scalars() {
    assert_eq!(
        to_yaml(&json!({"a": [[1, 2], {"b": null}], "c": [], "d": false, "e": 0.5})),
        "a:\n- - 1\n  - 2\n- b: null\nc: []\nd: false\ne: 0.5\n"
    );
}
