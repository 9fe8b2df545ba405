//! One test per filter: a node that passes, and nodes that fail with kube-scheduler's reason.

use super::*;
use crate::scheduler::test_support::{node, pod};
use crate::scheduler::{FilterPlugin, FilterResult, Unfit};

fn reasons(r: FilterResult) -> Vec<String> {
    r.err()
        .map(|u: Unfit| u.reasons().to_vec())
        .unwrap_or_default()
}

#[test]
fn node_unschedulable() {
    let cordoned = node("n").unschedulable().info();
    assert_eq!(
        reasons(NodeUnschedulable.filter(&pod("p").info(), &cordoned)),
        vec!["node(s) were unschedulable"]
    );
    assert!(NodeUnschedulable
        .filter(&pod("p").info(), &node("n").info())
        .is_ok());
    let tolerant = pod("p")
        .toleration(TAINT_UNSCHEDULABLE, "Exists", "", "NoSchedule")
        .info();
    assert!(NodeUnschedulable.filter(&tolerant, &cordoned).is_ok());
}

#[test]
fn node_ready() {
    let p = pod("p").info();
    assert!(NodeReady.filter(&p, &node("n").info()).is_ok());
    assert_eq!(
        reasons(NodeReady.filter(&p, &node("n").ready(Some("False")).info())),
        vec!["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"]
    );
    assert_eq!(
        reasons(NodeReady.filter(&p, &node("n").ready(None).info())),
        vec!["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"],
        "a node without a Ready condition has not become ready yet"
    );
    assert_eq!(
        reasons(NodeReady.filter(&p, &node("n").ready(Some("Unknown")).info())),
        vec!["node(s) had untolerated taint {node.kubernetes.io/unreachable: }"]
    );
    let tolerant = pod("p")
        .toleration(TAINT_UNREACHABLE, "Exists", "", "")
        .info();
    assert!(NodeReady
        .filter(&tolerant, &node("n").ready(Some("Unknown")).info())
        .is_ok());
    let wrong_effect = pod("p")
        .toleration(TAINT_NOT_READY, "Exists", "", "NoExecute")
        .info();
    assert!(NodeReady
        .filter(&wrong_effect, &node("n").ready(Some("False")).info())
        .is_err());
}

#[test]
fn resources_fit_against_allocatable_minus_bound_requests() {
    let v = crate::scheduler::test_support::view(
        vec![node("n").cpu("2").memory("4Gi").pods("3")],
        vec![
            pod("a").cpu("1500m").memory("1Gi").bound_to("n"),
            pod("b").bound_to("n"),
        ],
    );
    let n = v.node("n").expect("n");
    assert!(ResourcesFit
        .filter(&pod("p").cpu("500m").memory("3Gi").info(), n)
        .is_ok());
    assert_eq!(
        reasons(ResourcesFit.filter(&pod("p").cpu("501m").info(), n)),
        vec!["Insufficient cpu"]
    );
    assert_eq!(
        reasons(ResourcesFit.filter(&pod("p").cpu("1").memory("3073Mi").info(), n)),
        vec!["Insufficient cpu", "Insufficient memory"]
    );
    // A pod without requests only needs a pod slot.
    assert!(ResourcesFit.filter(&pod("p").info(), n).is_ok());
    let full = crate::scheduler::test_support::view(
        vec![node("n").pods("1")],
        vec![pod("a").bound_to("n")],
    );
    assert_eq!(
        reasons(ResourcesFit.filter(&pod("p").cpu("1").info(), full.node("n").expect("n"))),
        vec!["Too many pods"]
    );
}

#[test]
fn resources_fit_counts_init_containers_sidecars_and_limits() {
    let n = node("n").cpu("2").memory("1Gi").info();
    // An init container of 2 CPUs runs alone: the pod needs max(0.5, 2) = 2.
    let init = pod("p")
        .cpu("500m")
        .extra_container("2", "0", true, false)
        .info();
    assert_eq!(init.requests.requested.cpu_millis, 2000);
    assert!(ResourcesFit.filter(&init, &n).is_ok());
    // A sidecar runs beside the app containers: 0.5 + 1.6 > 2.
    let sidecar = pod("p")
        .cpu("500m")
        .extra_container("1600m", "0", false, true)
        .info();
    assert_eq!(sidecar.requests.requested.cpu_millis, 2100);
    assert_eq!(
        reasons(ResourcesFit.filter(&sidecar, &n)),
        vec!["Insufficient cpu"]
    );
    // No requests, only limits: the limit is the request (API defaulting).
    let mut limited = pod("p").build();
    if let Some(spec) = limited.spec.as_mut() {
        spec.containers[0].resources = Some(k8s_openapi::api::core::v1::ResourceRequirements {
            limits: Some(
                [(
                    "memory".to_string(),
                    crate::scheduler::test_support::q("2Gi"),
                )]
                .into(),
            ),
            ..Default::default()
        });
    }
    let limited = crate::scheduler::PodInfo::from_pod(&limited);
    assert_eq!(
        reasons(ResourcesFit.filter(&limited, &n)),
        vec!["Insufficient memory"]
    );
}

#[test]
fn node_selector() {
    let gpu = node("n").label("accel", "gpu").info();
    let p = pod("p").node_selector("accel", "gpu").info();
    assert!(NodeSelectorFilter.filter(&p, &gpu).is_ok());
    assert_eq!(
        reasons(NodeSelectorFilter.filter(&p, &node("m").label("accel", "tpu").info())),
        vec!["node(s) didn't match Pod's node affinity/selector"]
    );
    assert!(NodeSelectorFilter.filter(&p, &node("m").info()).is_err());
    assert!(NodeSelectorFilter.filter(&pod("q").info(), &gpu).is_ok());
}

#[test]
fn required_node_affinity_operators() {
    let n = node("n").label("zone", "a").label("cores", "16").info();
    let fits = |p: crate::scheduler::PodInfo| RequiredNodeAffinity.filter(&p, &n).is_ok();
    assert!(fits(
        pod("p").required_term("zone", "In", &["a", "b"]).info()
    ));
    assert!(!fits(pod("p").required_term("zone", "In", &["b"]).info()));
    assert!(fits(pod("p").required_term("zone", "NotIn", &["b"]).info()));
    assert!(fits(
        pod("p").required_term("disk", "NotIn", &["ssd"]).info()
    ));
    assert!(fits(pod("p").required_term("zone", "Exists", &[]).info()));
    assert!(fits(
        pod("p").required_term("disk", "DoesNotExist", &[]).info()
    ));
    assert!(fits(pod("p").required_term("cores", "Gt", &["8"]).info()));
    assert!(!fits(pod("p").required_term("cores", "Lt", &["8"]).info()));
    assert!(!fits(pod("p").required_term("zone", "Gt", &["8"]).info()));
    // Terms are ORed.
    assert!(fits(
        pod("p")
            .required_term("zone", "In", &["b"])
            .required_term("cores", "Exists", &[])
            .info()
    ));
    assert_eq!(
        reasons(
            RequiredNodeAffinity.filter(&pod("p").required_term("zone", "In", &["z"]).info(), &n)
        ),
        vec!["node(s) didn't match Pod's node affinity/selector"]
    );
}

#[test]
fn taint_toleration() {
    let n = node("n").taint("dedicated", "gpu", "NoSchedule").info();
    assert_eq!(
        reasons(TaintToleration.filter(&pod("p").info(), &n)),
        vec!["node(s) had untolerated taint {dedicated: gpu}"]
    );
    let equal = pod("p")
        .toleration("dedicated", "Equal", "gpu", "NoSchedule")
        .info();
    assert!(TaintToleration.filter(&equal, &n).is_ok());
    let wrong_value = pod("p").toleration("dedicated", "Equal", "tpu", "").info();
    assert!(TaintToleration.filter(&wrong_value, &n).is_err());
    let exists_any_effect = pod("p").toleration("dedicated", "Exists", "", "").info();
    assert!(TaintToleration.filter(&exists_any_effect, &n).is_ok());
    let everything = pod("p").toleration("", "Exists", "", "").info();
    assert!(TaintToleration.filter(&everything, &n).is_ok());

    let evicting = node("n").taint("maintenance", "", "NoExecute").info();
    assert_eq!(
        reasons(TaintToleration.filter(&pod("p").info(), &evicting)),
        vec!["node(s) had untolerated taint {maintenance: }"]
    );
    let no_schedule_only = pod("p")
        .toleration("maintenance", "Exists", "", "NoSchedule")
        .info();
    assert!(TaintToleration
        .filter(&no_schedule_only, &evicting)
        .is_err());

    let soft = node("n").taint("spot", "true", "PreferNoSchedule").info();
    assert!(TaintToleration.filter(&pod("p").info(), &soft).is_ok());
}

#[test]
fn host_ports() {
    let v = crate::scheduler::test_support::view(
        vec![node("n")],
        vec![
            pod("a").host_port("", "", 80).bound_to("n"),
            pod("b").host_port("10.0.0.1", "UDP", 53).bound_to("n"),
        ],
    );
    let n = v.node("n").expect("n");
    let fits = |p: crate::scheduler::PodInfo| HostPorts.filter(&p, n).is_ok();
    assert_eq!(
        reasons(HostPorts.filter(&pod("p").host_port("", "TCP", 80).info(), n)),
        vec!["node(s) didn't have free ports for the requested pod ports"]
    );
    assert!(
        !fits(pod("p").host_port("10.0.0.2", "TCP", 80).info()),
        "wildcard holder"
    );
    assert!(
        fits(pod("p").host_port("", "UDP", 80).info()),
        "other protocol"
    );
    assert!(fits(pod("p").host_port("", "", 81).info()));
    assert!(
        !fits(pod("p").host_port("", "UDP", 53).info()),
        "wildcard asker"
    );
    assert!(
        fits(pod("p").host_port("10.0.0.2", "UDP", 53).info()),
        "other IP"
    );
    assert!(fits(pod("p").info()));
}

#[test]
fn pod_anti_affinity_both_ways() {
    let v = crate::scheduler::test_support::view(
        vec![node("n"), node("m")],
        vec![
            pod("web-1").label("app", "web").bound_to("n"),
            pod("db-1")
                .label("app", "db")
                .anti_affinity("app", "db", "kubernetes.io/hostname")
                .bound_to("m"),
        ],
    );
    let (n, m) = (v.node("n").expect("n"), v.node("m").expect("m"));
    let web = pod("web-2")
        .label("app", "web")
        .anti_affinity("app", "web", "kubernetes.io/hostname")
        .info();
    assert_eq!(
        reasons(PodAntiAffinity.filter(&web, n)),
        vec!["node(s) didn't match pod anti-affinity rules"]
    );
    assert!(PodAntiAffinity.filter(&web, m).is_ok());
    // db-1 on m keeps other db pods away, even ones without rules of their own.
    let db = pod("db-2").label("app", "db").info();
    assert_eq!(
        reasons(PodAntiAffinity.filter(&db, m)),
        vec!["node(s) didn't satisfy existing pods anti-affinity rules"]
    );
    assert!(PodAntiAffinity.filter(&db, n).is_ok());
    // Terms look in the pod's own namespace by default.
    let other_ns = pod("db-3").namespace("other").label("app", "db").info();
    assert!(PodAntiAffinity.filter(&other_ns, m).is_ok());
    // Only the hostname topology key is enforced.
    let zonal = pod("web-3")
        .label("app", "web")
        .anti_affinity("app", "web", "topology.kubernetes.io/zone")
        .info();
    assert!(PodAntiAffinity.filter(&zonal, n).is_ok());
}
