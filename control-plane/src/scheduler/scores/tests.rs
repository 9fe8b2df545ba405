//! One test per score plugin, on raw and normalised scores.

use super::*;
use crate::scheduler::test_support::{node, pod, view};
use crate::scheduler::{NodeInfo, PodInfo, ScorePlugin};

fn scores(plugin: &dyn ScorePlugin, p: &PodInfo, nodes: &[&NodeInfo]) -> Vec<i64> {
    let mut s: Vec<i64> = nodes.iter().map(|n| plugin.score(p, n)).collect();
    plugin.normalize(&mut s);
    s
}

#[test]
fn least_allocated_prefers_emptier_nodes() {
    let v = view(
        vec![
            node("busy").cpu("4").memory("4Gi"),
            node("idle").cpu("4").memory("4Gi"),
        ],
        vec![pod("a").cpu("2").memory("2Gi").bound_to("busy")],
    );
    let p = pod("p").cpu("1").memory("1Gi").info();
    let s = scores(
        &LeastAllocated,
        &p,
        &[v.node("busy").expect("busy"), v.node("idle").expect("idle")],
    );
    // busy: (4-3)/4 = 25 on both; idle: (4-1)/4 = 75 on both.
    assert_eq!(s, vec![25, 75]);
    // Pods without requests count as 100m / 200Mi.
    let none = pod("q").info();
    let idle = node("n").cpu("1").memory("400Mi").info();
    assert_eq!(LeastAllocated.score(&none, &idle), 70); // cpu 90, memory 50
                                                        // Over capacity scores 0.
    assert_eq!(
        LeastAllocated.score(&pod("r").cpu("8").memory("8Gi").info(), &idle),
        0
    );
}

#[test]
fn balanced_allocation_prefers_equal_fractions() {
    let v = view(
        vec![
            node("cpu-heavy").cpu("4").memory("4Gi"),
            node("even").cpu("4").memory("4Gi"),
        ],
        vec![
            pod("a").cpu("3").bound_to("cpu-heavy"),
            pod("b").cpu("1").memory("1Gi").bound_to("even"),
        ],
    );
    let p = pod("p").cpu("1").memory("1Gi").info();
    let s = scores(
        &BalancedAllocation,
        &p,
        &[v.node("cpu-heavy").expect("n"), v.node("even").expect("n")],
    );
    // cpu-heavy: cpu 1.0, memory 0.25 → 1 - 0.375; even: 0.5 and 0.5 → 100.
    assert_eq!(s, vec![62, 100]);
    assert_eq!(
        BalancedAllocation.score(&pod("q").info(), v.node("even").expect("n")),
        0
    );
}

#[test]
fn owner_spread_prefers_nodes_with_fewer_siblings() {
    let v = view(
        vec![node("a"), node("b"), node("c")],
        vec![
            pod("r1").owner("rs").bound_to("a"),
            pod("r2").owner("rs").bound_to("a"),
            pod("r3").owner("rs").bound_to("b"),
            pod("x").owner("other").bound_to("c"),
        ],
    );
    let p = pod("r4").owner("rs").info();
    let nodes = [
        v.node("a").expect("a"),
        v.node("b").expect("b"),
        v.node("c").expect("c"),
    ];
    assert_eq!(scores(&OwnerSpread, &p, &nodes), vec![0, 50, 100]);
    // A pod without an owner scores the same everywhere.
    assert_eq!(
        scores(&OwnerSpread, &pod("lone").info(), &nodes),
        vec![100, 100, 100]
    );
}

#[test]
fn preferred_node_affinity_sums_matching_weights() {
    let ssd = node("ssd").label("disk", "ssd").info();
    let ssd_a = node("ssd-a").label("disk", "ssd").label("zone", "a").info();
    let plain = node("plain").info();
    let p = pod("p")
        .preferred_term(20, "disk", "In", &["ssd"])
        .preferred_term(60, "zone", "In", &["a"])
        .info();
    assert_eq!(PreferredNodeAffinity.score(&p, &ssd_a), 80);
    assert_eq!(
        scores(&PreferredNodeAffinity, &p, &[&ssd, &ssd_a, &plain]),
        vec![25, 100, 0]
    );
    // No preferences: all zero.
    assert_eq!(
        scores(&PreferredNodeAffinity, &pod("q").info(), &[&ssd, &plain]),
        vec![0, 0]
    );
}
