//! Tests of the whole decision: kube-scheduler's messages, choice and tie-breaking, batch
//! planning with spreading, the equivalence cache, sampling, the view, and retries.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::test_support::{node, pod, view};
use super::*;

fn config() -> SchedulerConfig {
    SchedulerConfig::default()
}

fn unschedulable_message(d: &Decision) -> &str {
    match d {
        Decision::Unschedulable { message, .. } => message,
        Decision::Bind { node, .. } => panic!("expected unschedulable, got bind to {node}"),
    }
}

#[test]
fn unschedulable_message_counts_reasons_like_kube_scheduler() {
    let v = view(
        vec![
            node("a").cpu("1"),
            node("b").cpu("1"),
            node("c").cpu("1"),
            node("d").taint("dedicated", "gpu", "NoSchedule"),
            node("e").taint("dedicated", "gpu", "NoSchedule"),
        ],
        vec![],
    );
    let d = schedule(&v, &pod("p").cpu("2").build(), &config());
    assert_eq!(
        unschedulable_message(&d),
        "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient cpu."
    );
    let Decision::Unschedulable {
        reasons_by_node, ..
    } = d
    else {
        unreachable!()
    };
    assert_eq!(reasons_by_node.len(), 5);
    assert_eq!(reasons_by_node["a"], vec!["Insufficient cpu"]);
    assert_eq!(
        reasons_by_node["e"],
        vec!["node(s) had untolerated taint {dedicated: gpu}"]
    );
}

#[test]
fn message_sorts_count_strings_and_counts_every_reason_of_a_node() {
    let mut nodes: Vec<_> = (0..10)
        .map(|i| node(&format!("small-{i}")).cpu("1").memory("1Gi"))
        .collect();
    nodes.push(node("cordoned").unschedulable());
    nodes.push(node("down").ready(Some("Unknown")));
    let v = view(nodes, vec![]);
    let d = schedule(&v, &pod("p").cpu("2").memory("2Gi").build(), &config());
    // "10 ..." sorts before "1 ..." as kube's sort.Strings does.
    assert_eq!(
        unschedulable_message(&d),
        "0/12 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, \
         1 node(s) were unschedulable, 10 Insufficient cpu, 10 Insufficient memory."
    );
}

#[test]
fn no_nodes_at_all() {
    let d = schedule(&ClusterView::default(), &pod("p").build(), &config());
    assert_eq!(
        unschedulable_message(&d),
        "no nodes available to schedule pods"
    );
}

#[test]
fn picks_the_best_scoring_node_and_breaks_ties_by_name() {
    let v = view(
        vec![node("c"), node("a"), node("b")],
        vec![pod("x").cpu("2").memory("4Gi").bound_to("a")],
    );
    let d = schedule(&v, &pod("p").cpu("1").memory("1Gi").build(), &config());
    assert_eq!(
        d.node(),
        Some("b"),
        "a is busier; b and c tie, b sorts first"
    );
    let Decision::Bind { score, .. } = d else {
        unreachable!()
    };
    assert!(score > 0);
    let preferred = pod("p")
        .preferred_term(10, "kubernetes.io/hostname", "In", &["c"])
        .build();
    assert_eq!(schedule(&v, &preferred, &config()).node(), Some("c"));
}

#[test]
fn filters_narrow_the_choice() {
    let v = view(
        vec![
            node("a").label("disk", "hdd"),
            node("b")
                .label("disk", "ssd")
                .taint("dedicated", "db", "NoExecute"),
            node("c").label("disk", "ssd"),
        ],
        vec![],
    );
    let p = pod("p").node_selector("disk", "ssd").build();
    assert_eq!(schedule(&v, &p, &config()).node(), Some("c"));
    let tolerant = pod("p")
        .node_selector("disk", "ssd")
        .required_term("kubernetes.io/hostname", "NotIn", &["c"])
        .toleration("dedicated", "Equal", "db", "NoExecute")
        .build();
    assert_eq!(schedule(&v, &tolerant, &config()).node(), Some("b"));
}

#[test]
fn plan_spreads_replicas_and_reports_the_rest_unschedulable() {
    let mut v = view(vec![node("a"), node("b"), node("c")], vec![]);
    let pods: Vec<Arc<PodInfo>> = (0..6)
        .map(|i| Arc::new(pod(&format!("web-{i}")).owner("rs-web").cpu("1").info()))
        .collect();
    let mut s = Scheduler::new(config());
    let plan = s.plan(&mut v, &pods);
    assert!(plan.unschedulable.is_empty());
    assert_eq!(plan.batch.len(), 6);
    for n in ["a", "b", "c"] {
        let on = plan.batch.bindings().iter().filter(|b| b.node == n).count();
        assert_eq!(on, 2, "two replicas on {n}");
    }
    // 12 CPUs, 6 used: 6 more one-CPU pods fit, the seventh does not.
    let more: Vec<Arc<PodInfo>> = (0..7)
        .map(|i| Arc::new(pod(&format!("job-{i}")).cpu("1").info()))
        .collect();
    let plan = s.plan(&mut v, &more);
    assert_eq!(plan.batch.len(), 6);
    assert_eq!(plan.unschedulable.len(), 1);
    assert_eq!(
        unschedulable_message(&plan.unschedulable[0].1),
        "0/3 nodes are available: 3 Insufficient cpu."
    );
    // Planning twice does not double-place.
    assert!(s.plan(&mut v, &pods).batch.is_empty());
}

#[test]
fn equivalence_cache_shares_results_and_agrees_with_no_cache() {
    let nodes: Vec<_> = (0..20)
        .map(|i| {
            let n = node(&format!("n{i:02}")).cpu("2");
            if i % 3 == 0 {
                n.taint("t", "", "NoSchedule")
            } else {
                n
            }
        })
        .collect();
    let base = view(nodes, vec![]);
    let pods: Vec<Arc<PodInfo>> = (0..40)
        .map(|i| Arc::new(pod(&format!("p{i}")).owner("rs").cpu("500m").info()))
        .collect();
    assert!(
        pods.windows(2).all(|w| w[0].class == w[1].class),
        "one template, one class"
    );

    let mut cached_view = base.clone();
    let mut s = Scheduler::new(config());
    let plan = s.plan(&mut cached_view, &pods);
    let (hits, misses) = s.cache_stats();
    assert!(hits > misses, "hits {hits}, misses {misses}");

    // The same decisions without a cache.
    let mut plain_view = base.clone();
    let mut expected = Vec::new();
    let mut start = 0;
    for p in &pods {
        let (d, examined) = schedule_pod(&plain_view, p, &config(), None, start);
        start = (start + examined) % plain_view.nodes().len();
        if let Decision::Bind { node, .. } = &d {
            plain_view.assume(p.clone(), node).expect("assume");
        }
        expected.push(d.node().map(str::to_string));
    }
    let got: Vec<Option<String>> = pods
        .iter()
        .map(|p| {
            plan.batch
                .bindings()
                .iter()
                .find(|b| b.pod.key == p.key)
                .map(|b| b.node.clone())
        })
        .collect();
    assert_eq!(got, expected);
    // 13 untainted nodes × 4 half-CPU slots = 52 ≥ 40: all placed.
    assert_eq!(plan.batch.len(), 40);

    let other = pod("q").cpu("500m").info();
    assert_ne!(
        other.class, pods[0].class,
        "a different owner is a different class"
    );
}

#[test]
fn sampling_scores_a_subset_on_big_clusters_and_rotates() {
    let nodes: Vec<_> = (0..500).map(|i| node(&format!("n{i:03}"))).collect();
    let v = view(nodes, vec![]);
    let cfg = SchedulerConfig {
        percentage_of_nodes_to_score: 10,
        ..config()
    };
    let p = pod("p").info();
    let (d, examined) = schedule_pod(&v, &p, &cfg, None, 0);
    assert_eq!(
        examined, 100,
        "10% of 500 is 50, raised to the floor of 100"
    );
    assert_eq!(d.node(), Some("n000"));
    let mut s = Scheduler::new(cfg);
    assert_eq!(s.schedule(&v, &p).node(), Some("n000"));
    assert_eq!(
        s.schedule(&v, &p).node(),
        Some("n100"),
        "the next attempt starts further on"
    );
    // Unschedulable pods examine every node before giving up.
    let (d, examined) = schedule_pod(&v, &pod("big").cpu("64").info(), &config(), None, 7);
    assert_eq!(examined, 500);
    assert_eq!(
        unschedulable_message(&d),
        "0/500 nodes are available: 500 Insufficient cpu."
    );
}

#[test]
fn view_build_assume_forget_and_node_updates() {
    let mut v = view(
        vec![node("b"), node("a")],
        vec![
            pod("running").cpu("1").bound_to("a"),
            pod("done").cpu("1").bound_to("a").phase("Succeeded"),
            pod("lost").cpu("1").bound_to("gone"),
            pod("pending").cpu("1"),
        ],
    );
    let names: Vec<&str> = v.nodes().iter().map(|n| n.name()).collect();
    assert_eq!(names, vec!["a", "b"]);
    assert_eq!(
        v.node("a").expect("a").requested(),
        Resources::new(1000, 0, 1)
    );
    assert_eq!(v.placement(&PodKey::new("default", "running")), Some("a"));
    assert_eq!(v.placement(&PodKey::new("default", "done")), None);

    let p = Arc::new(pod("new").cpu("2").host_port("", "", 80).info());
    let next = v.with_assumed(p.clone(), "b").expect("assume");
    assert_eq!(
        v.node("b").expect("b").pod_count(),
        0,
        "with_assumed leaves the view alone"
    );
    assert_eq!(next.node("b").expect("b").requested().cpu_millis, 2000);
    assert_eq!(
        v.assume(p.clone(), "nope"),
        Err(AssumeError::UnknownNode {
            node: "nope".into()
        })
    );
    v.assume(p.clone(), "b").expect("assume");
    assert!(matches!(
        v.assume(p.clone(), "a"),
        Err(AssumeError::AlreadyBound { .. })
    ));
    let stamp = v.node("b").expect("b").stamp();
    assert!(v.forget(&p.key).is_some());
    let b = v.node("b").expect("b");
    assert_eq!(b.requested(), Resources::default());
    assert!(b.host_ports().is_empty());
    assert_ne!(b.stamp(), stamp);

    v.upsert_node(&node("a").cpu("8").label("new", "yes").build());
    let a = v.node("a").expect("a");
    assert_eq!(a.allocatable().cpu_millis, 8000);
    assert_eq!(a.pod_count(), 1, "an updated node keeps its pods");
    v.upsert_node(&node("0-first").build());
    assert_eq!(v.nodes()[0].name(), "0-first");
    assert_eq!(v.placement(&PodKey::new("default", "running")), Some("a"));
    assert!(v.remove_node("a").is_some());
    assert_eq!(v.placement(&PodKey::new("default", "running")), None);
}

#[test]
fn unschedulable_pod_gets_a_condition_and_is_retried_when_the_cluster_changes() {
    let mut v = view(vec![node("a").cpu("1")], vec![]);
    let p = Arc::new(pod("p").cpu("2").info());
    let mut s = Scheduler::new(config());
    let mut queue = SchedulingQueue::new();
    queue.add(p.key.clone());

    let key = queue.pop().expect("queued");
    let d = s.schedule(&v, &p);
    let message = unschedulable_message(&d).to_string();
    assert_eq!(message, "0/1 nodes are available: 1 Insufficient cpu.");
    let now = |s| Time(Timestamp::from_second(s).expect("time"));
    let mut status = k8s_openapi::api::core::v1::PodStatus::default();
    assert!(mark_unschedulable(&mut status, &message, now(1)));
    assert!(
        !mark_unschedulable(&mut status, &message, now(2)),
        "same verdict, no write"
    );
    let c = &status.conditions.as_ref().expect("conditions")[0];
    assert_eq!(
        (c.type_.as_str(), c.status.as_str(), c.reason.as_deref()),
        ("PodScheduled", "False", Some("Unschedulable"))
    );
    queue.mark_unschedulable(key);
    assert_eq!(queue.pop(), None);

    v.upsert_node(&node("b").cpu("4").build());
    queue.cluster_changed();
    let key = queue.pop().expect("retried");
    assert_eq!(key, p.key);
    assert_eq!(s.schedule(&v, &p).node(), Some("b"));
    assert!(mark_unschedulable(
        &mut status,
        "0/2 nodes are available: 2 Too many pods.",
        now(3)
    ));
    let c = &status.conditions.as_ref().expect("conditions")[0];
    assert_eq!(
        c.last_transition_time,
        Some(now(1)),
        "still False: transition time kept"
    );
}

/// A larger cluster in one plan: every pod is placed and the pods of one owner spread across
/// nodes (throughput belongs in a benchmark, not here).
#[test]
fn a_plan_places_thousands_of_pods_on_hundreds_of_nodes() {
    let nodes: Vec<_> = (0..500)
        .map(|i| node(&format!("n{i:04}")).cpu("32").memory("128Gi"))
        .collect();
    let mut v = view(nodes, vec![]);
    let pods: Vec<Arc<PodInfo>> = (0..2_000)
        .map(|i| {
            Arc::new(
                pod(&format!("p{i}"))
                    .owner(&format!("rs{}", i % 20))
                    .cpu("100m")
                    .memory("128Mi")
                    .info(),
            )
        })
        .collect();
    let mut s = Scheduler::new(config());
    let plan = s.plan(&mut v, &pods);
    assert_eq!(plan.batch.len(), 2_000);
}
