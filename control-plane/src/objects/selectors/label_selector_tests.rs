//! Tests for label selectors: syntax, matching, `LabelSelector` conversion, round trips.

use super::*;
use proptest::prelude::*;

fn labels(pairs: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    pairs.to_vec()
}

#[test]
fn equality_based() {
    let s = LabelSelector::parse("app=web, tier==front,env!=prod").unwrap();
    assert_eq!(s.to_string(), "app=web,env!=prod,tier=front");
    assert!(s.matches(labels(&[("app", "web"), ("tier", "front")])));
    assert!(s.matches(labels(&[("app", "web"), ("tier", "front"), ("env", "dev")])));
    assert!(!s.matches(labels(&[
        ("app", "web"),
        ("tier", "front"),
        ("env", "prod")
    ])));
    assert!(!s.matches(labels(&[("app", "web")])));
}

#[test]
fn set_based() {
    let s = LabelSelector::parse("env in (prod, qa),tier notin (db),partition,!canary").unwrap();
    assert_eq!(
        s.to_string(),
        "!canary,env in (prod,qa),partition,tier notin (db)"
    );
    assert!(s.matches(labels(&[("env", "qa"), ("partition", "a")])));
    assert!(s.matches(labels(&[
        ("env", "prod"),
        ("partition", ""),
        ("tier", "web")
    ])));
    assert!(!s.matches(labels(&[
        ("env", "qa"),
        ("partition", "a"),
        ("canary", "1")
    ])));
    assert!(!s.matches(labels(&[("env", "dev"), ("partition", "a")])));
    assert!(!s.matches(labels(&[("env", "qa"), ("partition", "a"), ("tier", "db")])));
    assert!(!s.matches(labels(&[("env", "qa")])));
}

#[test]
fn numeric_and_empty() {
    let s = LabelSelector::parse("gen>3,gen<10").unwrap();
    assert!(s.matches(labels(&[("gen", "5")])));
    assert!(!s.matches(labels(&[("gen", "10")])));
    assert!(!s.matches(labels(&[("gen", "x")])));
    assert!(LabelSelector::parse("").unwrap().matches(labels(&[])));
    assert!(LabelSelector::parse("  ").unwrap().is_empty());
    let empty_value = LabelSelector::parse("a=").unwrap();
    assert!(empty_value.matches(labels(&[("a", "")])));
    assert!(!empty_value.matches(labels(&[("a", "x")])));
}

#[test]
fn syntax_errors() {
    for bad in [
        "a in b",
        "a in (b",
        "a in ()",
        ",",
        "a,",
        "=b",
        "a=b=c",
        "a b",
        "!",
        "a notin",
        "a>b",
        "a in (b c)",
        "a!",
        "bad key=v",
        "a=b c",
    ] {
        assert!(LabelSelector::parse(bad).is_err(), "{bad:?} should fail");
    }
    let err = LabelSelector::parse("a=has space").unwrap_err();
    assert!(err.to_string().contains("found 'space'"), "{err}");
    let err = LabelSelector::parse("a=b_").unwrap_err();
    assert!(matches!(err, SelectorError::InvalidValue { .. }), "{err}");
    let err = LabelSelector::parse("-a=b").unwrap_err();
    assert!(matches!(err, SelectorError::InvalidKey { .. }), "{err}");
}

#[test]
fn from_k8s_label_selector() {
    let sel: meta::LabelSelector = serde_json::from_value(serde_json::json!({
        "matchLabels": {"app": "nginx"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]},
            {"key": "old", "operator": "DoesNotExist"}
        ]
    }))
    .unwrap();
    let s = LabelSelector::from_k8s(&sel).unwrap();
    assert_eq!(s.to_string(), "app=nginx,!old,tier in (a,b)");
    let mut map = BTreeMap::new();
    map.insert("app".to_string(), "nginx".to_string());
    map.insert("tier".to_string(), "b".to_string());
    assert!(s.matches_map(Some(&map)));
    assert!(!s.matches_map(None));
    assert!(LabelSelector::from_k8s(&meta::LabelSelector::default())
        .unwrap()
        .is_empty());

    let bad: meta::LabelSelector = serde_json::from_value(serde_json::json!({
        "matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]
    }))
    .unwrap();
    assert_eq!(
        LabelSelector::from_k8s(&bad).unwrap_err().to_string(),
        "\"Equals\" is not a valid label selector operator"
    );
    let no_values: meta::LabelSelector = serde_json::from_value(serde_json::json!({
        "matchExpressions": [{"key": "a", "operator": "In"}]
    }))
    .unwrap();
    assert!(LabelSelector::from_k8s(&no_values).is_err());
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]([a-z0-9-]{0,6}[a-z0-9])?",
        "[a-z]{1,4}\\.io/[A-Za-z][A-Za-z0-9_.]{0,5}[a-z]"
    ]
}

fn value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]([A-Za-z0-9_.-]{0,6}[A-Za-z0-9])?"
}

fn requirement() -> impl Strategy<Value = Requirement> {
    (
        key(),
        0..6usize,
        prop::collection::btree_set(value(), 1..4),
        0i64..1000,
    )
        .prop_map(|(k, op, values, n)| {
            match op {
                0 => Requirement::new(&k, Operator::Equals, values.into_iter().take(1)),
                1 => Requirement::new(&k, Operator::NotEquals, values.into_iter().take(1)),
                2 => Requirement::new(&k, Operator::In, values),
                3 => Requirement::new(&k, Operator::NotIn, values),
                4 => Requirement::new(&k, Operator::Exists, []),
                _ => Requirement::new(&k, Operator::GreaterThan, [n.to_string()]),
            }
            .unwrap()
        })
}

proptest! {
    #[test]
    fn print_parse_round_trip(reqs in prop::collection::vec(requirement(), 0..5)) {
        let sel = LabelSelector::from_requirements(reqs);
        let printed = sel.to_string();
        let parsed = LabelSelector::parse(&printed).unwrap();
        prop_assert_eq!(&parsed, &sel);
        prop_assert_eq!(parsed.to_string(), printed);
    }

    #[test]
    fn parse_never_panics(s in "[a-z=!(),<> ]{0,20}") {
        let _ = LabelSelector::parse(&s);
    }
}
