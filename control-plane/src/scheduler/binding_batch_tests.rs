//! Batched bindings: the apply re-check rejects what no longer fits, and a property test that
//! no sequence of batches, in any order, ever overcommits a node.

use std::sync::Arc;

use proptest::prelude::*;

use super::test_support::{node, pod, view};
use super::*;

fn binding(p: PodInfo, node: &str) -> Binding {
    Binding {
        pod: Arc::new(p),
        node: node.to_string(),
    }
}

fn rejected_reasons(outcome: &BatchOutcome) -> Vec<Vec<String>> {
    outcome.rejected.iter().map(|r| r.reasons.clone()).collect()
}

#[test]
fn two_decisions_that_each_fit_cannot_both_land() {
    let mut v = view(vec![node("a").cpu("2")], vec![]);
    let plugins = Plugins::default_set();
    // Both were decided against the same snapshot, where each fit.
    let batch = BindingBatch::new(vec![
        binding(pod("p1").cpu("1500m").info(), "a"),
        binding(pod("p2").cpu("1").info(), "a"),
        binding(pod("p3").cpu("500m").info(), "a"),
    ]);
    let outcome = batch.apply(&mut v, &plugins);
    let applied: Vec<&str> = outcome
        .applied
        .iter()
        .map(|b| b.pod.key.name.as_str())
        .collect();
    assert_eq!(applied, vec!["p1", "p3"]);
    assert_eq!(
        rejected_reasons(&outcome),
        vec![vec!["Insufficient cpu".to_string()]]
    );
    assert_eq!(outcome.rejected[0].binding.pod.key.name, "p2");
    assert_eq!(v.node("a").expect("a").requested().cpu_millis, 2000);
}

#[test]
fn recheck_covers_ports_anti_affinity_duplicates_and_missing_nodes() {
    let mut v = view(vec![node("a"), node("b")], vec![pod("old").bound_to("b")]);
    let plugins = Plugins::default_set();
    let batch = BindingBatch::new(vec![
        binding(pod("h1").host_port("", "", 80).info(), "a"),
        binding(pod("h2").host_port("", "", 80).info(), "a"),
        binding(
            pod("w1")
                .label("app", "w")
                .anti_affinity("app", "w", "kubernetes.io/hostname")
                .info(),
            "a",
        ),
        binding(pod("w2").label("app", "w").info(), "a"),
        binding(pod("h1").info(), "b"),
        binding(pod("old").info(), "a"),
        binding(pod("x").info(), "gone"),
    ]);
    let outcome = batch.apply(&mut v, &plugins);
    assert_eq!(outcome.applied.len(), 2);
    assert_eq!(
        rejected_reasons(&outcome),
        vec![
            vec!["node(s) didn't have free ports for the requested pod ports".to_string()],
            vec!["node(s) didn't satisfy existing pods anti-affinity rules".to_string()],
            vec!["pod default/h1 is already bound to node \"a\"".to_string()],
            vec!["pod default/old is already bound to node \"b\"".to_string()],
            vec!["node \"gone\" not found".to_string()],
        ]
    );
}

#[test]
fn resource_fit_is_rechecked_even_without_plugins() {
    let mut v = view(vec![node("a").cpu("1").pods("1")], vec![]);
    let batch = BindingBatch::new(vec![
        binding(pod("p1").cpu("600m").info(), "a"),
        binding(pod("p2").cpu("600m").info(), "a"),
        binding(pod("p3").info(), "a"),
    ]);
    let outcome = batch.apply(&mut v, &Plugins::empty());
    assert_eq!(outcome.applied.len(), 1);
    assert_eq!(
        rejected_reasons(&outcome),
        vec![
            vec!["Too many pods".to_string(), "Insufficient cpu".to_string()],
            vec!["Too many pods".to_string()],
        ]
    );
}

/// Sums the bound pods' requests per node from scratch (not trusting the view's running sums)
/// and checks them against allocatable.
fn assert_not_overcommitted(v: &ClusterView) -> Result<(), TestCaseError> {
    for n in v.nodes() {
        let mut sum = Resources::default();
        for p in n.pods() {
            sum = sum.add(&p.requests.requested);
        }
        prop_assert_eq!(sum, n.requested(), "running sum of {} drifted", n.name());
        prop_assert!(
            sum.fits_within(&n.allocatable()),
            "node {} overcommitted: {:?} > {:?}",
            n.name(),
            sum,
            n.allocatable()
        );
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct PodSpecGen {
    cpu_millis: u32,
    memory_mib: u32,
    host_port: Option<u8>,
}

fn pods_strategy() -> impl Strategy<Value = Vec<PodSpecGen>> {
    prop::collection::vec(
        (0u32..2500, 0u32..3000, prop::option::weighted(0.2, 0u8..3)).prop_map(|(c, m, p)| {
            PodSpecGen {
                cpu_millis: c,
                memory_mib: m,
                host_port: p,
            }
        }),
        1..60,
    )
}

fn make_pod(i: usize, g: &PodSpecGen) -> Arc<PodInfo> {
    let mut b = pod(&format!("p{i}"));
    if g.cpu_millis > 0 {
        b = b.cpu(&format!("{}m", g.cpu_millis));
    }
    if g.memory_mib > 0 {
        b = b.memory(&format!("{}Mi", g.memory_mib));
    }
    if let Some(port) = g.host_port {
        b = b.host_port("", "", 8000 + i32::from(port));
    }
    Arc::new(b.info())
}

fn make_view(nodes: &[(u32, u32, u8)]) -> ClusterView {
    view(
        nodes
            .iter()
            .enumerate()
            .map(|(i, (cpu, mem, pods))| {
                node(&format!("n{i}"))
                    .cpu(&format!("{cpu}m"))
                    .memory(&format!("{mem}Mi"))
                    .pods(&pods.to_string())
            })
            .collect(),
        vec![],
    )
}

fn nodes_strategy() -> impl Strategy<Value = Vec<(u32, u32, u8)>> {
    prop::collection::vec((0u32..6000, 0u32..8000, 0u8..6), 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary decisions (any pod to any node, duplicates included), cut into arbitrary
    /// batches: every batch leaves every node within allocatable, and each binding is either
    /// applied or rejected.
    #[test]
    fn batched_bindings_never_overcommit(
        nodes in nodes_strategy(),
        pods in pods_strategy(),
        decisions in prop::collection::vec((0usize..60, 0usize..8), 0..120),
        cuts in prop::collection::vec(1usize..20, 1..20),
        use_plugins in any::<bool>(),
    ) {
        let mut v = make_view(&nodes);
        let pods: Vec<Arc<PodInfo>> = pods.iter().enumerate().map(|(i, g)| make_pod(i, g)).collect();
        let plugins = if use_plugins { Plugins::default_set() } else { Plugins::empty() };
        let mut bindings: Vec<Binding> = decisions
            .iter()
            .map(|&(p, n)| Binding {
                pod: pods[p % pods.len()].clone(),
                // Some decisions name nodes that do not exist.
                node: format!("n{n}"),
            })
            .collect();
        let mut cut = cuts.iter().cycle();
        while !bindings.is_empty() {
            let take = (*cut.next().unwrap_or(&1)).min(bindings.len());
            let batch = BindingBatch::new(bindings.drain(..take).collect());
            let len = batch.len();
            let outcome = batch.apply(&mut v, &plugins);
            prop_assert_eq!(outcome.applied.len() + outcome.rejected.len(), len);
            for b in &outcome.applied {
                prop_assert_eq!(v.placement(&b.pod.key), Some(b.node.as_str()));
            }
            assert_not_overcommitted(&v)?;
        }
    }

    /// The real pipeline: the scheduler plans batches on its own (possibly stale) working
    /// views, several planners race on copies of one snapshot, and their batches are applied
    /// in any order to the committed view. Nothing overcommits, and every pod a planner placed
    /// on a fresh view is accepted unless another planner got there first.
    #[test]
    fn racing_planners_never_overcommit(
        nodes in nodes_strategy(),
        pods in pods_strategy(),
        planners in 1usize..4,
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let committed_start = make_view(&nodes);
        let mut committed = committed_start.clone();
        let pods: Vec<Arc<PodInfo>> = pods.iter().enumerate().map(|(i, g)| make_pod(i, g)).collect();
        let mut batches = Vec::new();
        for k in 0..planners {
            let mut working = committed_start.clone();
            let mut s = Scheduler::new(SchedulerConfig::default());
            // Each planner sees an overlapping slice of the pods.
            let mine: Vec<Arc<PodInfo>> = pods.iter().skip(k).cloned().collect();
            let plan = s.plan(&mut working, &mine);
            assert_not_overcommitted(&working)?;
            batches.push(plan.batch);
        }
        for ix in &order {
            if batches.is_empty() {
                break;
            }
            let batch = batches.remove(ix.index(batches.len()));
            batch.apply(&mut committed, &Plugins::default_set());
            assert_not_overcommitted(&committed)?;
        }
        for batch in batches {
            batch.apply(&mut committed, &Plugins::default_set());
            assert_not_overcommitted(&committed)?;
        }
    }
}

#[test]
fn a_single_fresh_plan_is_accepted_whole() {
    let base = view(
        vec![node("a").cpu("2").pods("3"), node("b").cpu("3").pods("2")],
        vec![],
    );
    let pods: Vec<Arc<PodInfo>> = (0..8)
        .map(|i| Arc::new(pod(&format!("p{i}")).cpu("700m").info()))
        .collect();
    let mut working = base.clone();
    let plan = Scheduler::new(SchedulerConfig::default()).plan(&mut working, &pods);
    assert_eq!(plan.batch.len(), 4, "a: 2 (cpu), b: 2 (pod slots)");
    assert_eq!(plan.unschedulable.len(), 4);
    let mut committed = base;
    let outcome = plan.batch.apply(&mut committed, &Plugins::default_set());
    assert!(outcome.rejected.is_empty());
}
