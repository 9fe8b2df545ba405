//! Tests for manifest parsing: YAML and JSON streams, document numbers, lines, the seeds.

use super::*;

const NGINX: &str = include_str!("testdata/seed_nginx_deployment.yaml");
const MY_SERVICE: &str = include_str!("testdata/seed_my_service.yaml");
const NGINX_VERBATIM: &str = include_str!("testdata/seed_nginx_deployment_verbatim.yaml");
const MY_SERVICE_VERBATIM: &str = include_str!("testdata/seed_my_service_verbatim.yaml");

#[test]
fn seeds_parse() {
    let docs = parse_manifest(NGINX).unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].object.resource_kind().kind, "Deployment");
    assert_eq!(docs[0].object.name(), "nginx-deployment");
    assert_eq!((docs[0].document, docs[0].line), (1, 3));
    let docs = parse_manifest(MY_SERVICE).unwrap();
    assert_eq!(docs[0].object.resource_kind().kind, "Service");
    assert_eq!(
        docs[0].object.field("spec.ports").unwrap()[0]["targetPort"],
        9376
    );
}

#[test]
fn seeds_as_one_multi_document_file() {
    let both = format!("---\n{NGINX}---\n# nothing here\n---\n{MY_SERVICE}\n...\n");
    let docs = parse_manifest(&both).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!((docs[0].document, docs[0].line), (1, 4));
    assert_eq!(docs[1].document, 2);
    assert_eq!(docs[1].object.name(), "my-service");
    let first_service_line = both.lines().position(|l| l == "kind: Service").unwrap() as u64;
    assert_eq!(docs[1].line, first_service_line);
}

#[test]
fn scraped_seeds_fail_with_their_line() {
    let err = parse_manifest(NGINX_VERBATIM).unwrap_err();
    assert_eq!((err.document, err.line), (1, Some(5)), "{err}");
    assert!(matches!(err.problem, ManifestProblem::Syntax(_)));
    let err = parse_manifest(MY_SERVICE_VERBATIM).unwrap_err();
    assert_eq!(
        err.to_string(),
        "mapping values are not allowed in this context (document 1, line 10)"
    );
    // The same error in a later document reports the absolute line.
    let input = format!("{NGINX}---\n{MY_SERVICE_VERBATIM}");
    let err = parse_manifest(&input).unwrap_err();
    let offset = NGINX.lines().count() as u64 + 1;
    assert_eq!((err.document, err.line), (2, Some(offset + 10)));
}

#[test]
fn unknown_kind_names_document_and_line() {
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# second\n\
                 apiVersion: v1\nmetadata:\n  name: b\nkind: Foo\n";
    let err = parse_manifest(input).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown kind Foo in apiVersion v1 (document 2, line 10)"
    );
    let err = parse_manifest("apiVersion: apps/v1\nkind: Deploymnt\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown kind Deploymnt in apiVersion apps/v1 (did you mean Deployment in apiVersion \
         apps/v1?) (document 1, line 2)"
    );
    let err = parse_manifest("metadata:\n  name: x\nkind: Pod\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Object 'apiVersion' is missing (document 1, line 3)"
    );
    let err = parse_manifest("- a\n- b\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "an object must be a JSON/YAML mapping, not a list (document 1, line 1)"
    );
}

#[test]
fn duplicate_keys_are_errors() {
    let err = parse_manifest("apiVersion: v1\nkind: Pod\nkind: Pod\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "duplicate mapping key: kind (document 1, line 3)"
    );
}

#[test]
fn empty_input() {
    for input in ["", "\n\n", "# only a comment\n", "---\n---\n"] {
        let err = parse_manifest(input).unwrap_err();
        assert_eq!(err.problem, ManifestProblem::Empty, "{input:?}");
        assert_eq!(err.to_string(), "the manifest contains no objects");
    }
}

#[test]
fn json_single_and_stream() {
    let input = r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
{
  "apiVersion": "v1",
  "kind": "Namespace",
  "metadata": {"name": "b"}
}"#;
    let docs = parse_manifest(input).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(
        (docs[1].document, docs[1].line, docs[1].object.name()),
        (2, 2, "b")
    );

    let err = parse_manifest("{\"apiVersion\": \"v1\",\n \"kind\": \"Widget\"}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown kind Widget in apiVersion v1 (document 1, line 2)"
    );
    let err = parse_manifest("{\"apiVersion\": \"v1\",\n\n \"kind\": }").unwrap_err();
    assert_eq!((err.document, err.line), (1, Some(3)));
    assert!(err.to_string().starts_with("expected value"), "{err}");
}

#[test]
fn lists_are_expanded() {
    let input = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  \
                 metadata: {name: a}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: b}\n";
    let docs = parse_manifest(input).unwrap();
    let kinds: Vec<_> = docs.iter().map(|d| d.object.resource_kind().kind).collect();
    assert_eq!(kinds, vec!["ConfigMap", "Secret"]);
    assert!(docs.iter().all(|d| d.document == 1));
}

#[test]
fn splitting_keeps_markers_and_line_numbers() {
    let input = "a: 1\n--- # c\nb: 2\n...\nc: 3\n---\n";
    let docs = split_yaml_documents(input);
    assert_eq!(
        docs,
        vec![
            (1, "a: 1\n"),
            (2, "--- # c\nb: 2\n...\n"),
            (5, "c: 3\n"),
            (6, "---\n")
        ]
    );
    assert_eq!(split_yaml_documents("x: '---'\ny: ---\n").len(), 1);
    assert_eq!(split_yaml_documents("---x: 1\n").len(), 1);
}

#[test]
fn too_large_is_refused() {
    let big = " ".repeat(MAX_MANIFEST_BYTES + 1);
    let err = parse_manifest(&big).unwrap_err();
    assert!(matches!(err.problem, ManifestProblem::TooLarge(_)));
}
