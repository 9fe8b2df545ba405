//! Node lifecycle: a node whose agent stopped reporting (no report to the leader within the
//! grace period) gets Ready=Unknown and the `node.kubernetes.io/unreachable:NoExecute` taint; a
//! node that reports Ready=False gets `node.kubernetes.io/not-ready:NoExecute`; the taints go
//! when the node is Ready again. Pods bound to a tainted node are evicted (deleted, so their
//! controllers replace them elsewhere) once their toleration of the taint runs out — their own
//! `tolerationSeconds`, or the cell's default when they have no matching toleration; a matching
//! toleration without seconds keeps the pod forever.
//!
//! The decision ([`plan_node`]) is pure; [`run`] is the shell that ticks, reads the caches and
//! liveness, and writes.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::leader::BrainConfig;
use crate::objects::KindId;
use crate::registry::create::now;

use super::context::{ControllerContext, Write};
use super::events::{event, EventType, InvolvedObject};

pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
const NO_EXECUTE: &str = "NoExecute";
const COMPONENT: &str = "node-controller";
const TICK: Duration = Duration::from_millis(500);

/// What one node needs.
#[derive(Debug, Default, PartialEq)]
pub struct NodePlan {
    /// The node's status with Ready=Unknown, when it must be written.
    pub mark_unknown: Option<Node>,
    /// The node with its NoExecute taints corrected, when they changed.
    pub taints: Option<Node>,
    /// Pods to evict now.
    pub evict: Vec<Pod>,
    /// The soonest a pod's toleration runs out, if any pod is still tolerated for a while.
    pub next_eviction_in: Option<Duration>,
}

fn ready_status(node: &Node) -> Option<&str> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str())
}

fn millis(t: &Time) -> i64 {
    t.0.as_millisecond()
}

/// Decides for `node`, whose agent last reported `since_report` ago, with `pods` bound to it, at
/// `now`.
pub fn plan_node(
    node: &Node,
    pods: &[&Pod],
    since_report: Duration,
    now: &Time,
    config: &BrainConfig,
) -> NodePlan {
    let mut plan = NodePlan::default();
    let lapsed = since_report > config.node_monitor_grace;
    let mut ready = ready_status(node).map(str::to_string);
    if lapsed && ready.as_deref() != Some("Unknown") {
        let mut marked = node.clone();
        let status = marked.status.get_or_insert_with(Default::default);
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        let unknown = NodeCondition {
            type_: "Ready".into(),
            status: "Unknown".into(),
            reason: Some("NodeStatusUnknown".into()),
            message: Some("Kubelet stopped posting node status.".into()),
            last_transition_time: Some(now.clone()),
            last_heartbeat_time: conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .and_then(|c| c.last_heartbeat_time.clone()),
        };
        match conditions.iter_mut().find(|c| c.type_ == "Ready") {
            Some(c) => *c = unknown,
            None => conditions.push(unknown),
        }
        plan.mark_unknown = Some(marked);
        ready = Some("Unknown".into());
    }
    let wanted = match ready.as_deref() {
        Some("False") => Some(TAINT_NOT_READY),
        Some("Unknown") => Some(TAINT_UNREACHABLE),
        // Ready, or a node just registered that has not said yet (within its grace period).
        _ => None,
    };
    let current: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let ours = |t: &Taint| {
        t.effect == NO_EXECUTE && (t.key == TAINT_UNREACHABLE || t.key == TAINT_NOT_READY)
    };
    let mut taints: Vec<Taint> = current
        .iter()
        .filter(|t| !ours(t) || Some(t.key.as_str()) == wanted)
        .cloned()
        .collect();
    if let Some(key) = wanted {
        if !taints
            .iter()
            .any(|t| t.key == key && t.effect == NO_EXECUTE)
        {
            taints.push(Taint {
                key: key.to_string(),
                effect: NO_EXECUTE.to_string(),
                value: None,
                time_added: Some(now.clone()),
            });
        }
    }
    if taints != current {
        let mut tainted = node.clone();
        tainted.spec.get_or_insert_with(Default::default).taints =
            (!taints.is_empty()).then_some(taints.clone());
        plan.taints = Some(tainted);
    }
    // Evict against the taints as they stand once written.
    for taint in taints.iter().filter(|t| ours(t)) {
        let added = taint.time_added.as_ref().map_or(millis(now), millis);
        let tainted_for = Duration::from_millis((millis(now) - added).max(0) as u64);
        for pod in pods {
            if pod.metadata.deletion_timestamp.is_some()
                || plan
                    .evict
                    .iter()
                    .any(|p| p.metadata.uid == pod.metadata.uid)
            {
                continue;
            }
            let tolerations: &[Toleration] = pod
                .spec
                .as_ref()
                .and_then(|s| s.tolerations.as_deref())
                .unwrap_or(&[]);
            let allowed = match tolerations.iter().find(|t| {
                crate::scheduler::toleration_matches(
                    t,
                    &taint.key,
                    taint.value.as_deref().unwrap_or_default(),
                    NO_EXECUTE,
                )
            }) {
                Some(t) => match t.toleration_seconds {
                    None => continue,
                    Some(s) => Duration::from_secs(s.max(0) as u64),
                },
                None => config.default_eviction_toleration,
            };
            if tainted_for >= allowed {
                plan.evict.push((*pod).clone());
            } else {
                let left = allowed - tainted_for;
                plan.next_eviction_in = Some(plan.next_eviction_in.map_or(left, |n| n.min(left)));
            }
        }
    }
    plan
}

/// The node a pod runs on, unless it has finished.
fn running_on(pod: &Pod) -> Option<&str> {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded") | Some("Failed")) {
        return None;
    }
    pod.spec.as_ref()?.node_name.as_deref()
}

/// Runs until the context's token is cancelled.
pub async fn run(ctx: ControllerContext, config: BrainConfig) {
    let mut ticker = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = ctx.token.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(e) = tick(&ctx, &config).await {
            if e.is_fenced() {
                return;
            }
            tracing::warn!(error = %e, "node lifecycle round failed; will retry");
        }
    }
}

async fn tick(ctx: &ControllerContext, config: &BrainConfig) -> Result<(), super::ReconcileError> {
    let pods = ctx.informers.pods.list();
    // Grouped once per tick: a scan of every pod per node would be O(nodes × pods).
    let mut by_node: std::collections::HashMap<&str, Vec<&Pod>> = std::collections::HashMap::new();
    for pod in &pods {
        if let Some(node) = running_on(pod) {
            by_node.entry(node).or_default().push(pod.as_ref());
        }
    }
    let now = now();
    for node in ctx.informers.nodes.list() {
        let name = node.metadata.name.clone().unwrap_or_default();
        // A node is never older than its term here, the latest partition change, or its own
        // registration (a node that just registered may not have reached its owner yet).
        let created_ago = node
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|c| Duration::from_millis((millis(&now) - millis(c)).max(0) as u64));
        let since_report = [
            ctx.liveness.last_seen(&name).map(|t| t.elapsed()),
            Some(ctx.term_started.elapsed()),
            created_ago,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_default();
        let on_node = by_node.get(name.as_str()).map_or(&[][..], Vec::as_slice);
        let plan = plan_node(&node, on_node, since_report, &now, config);
        if let Some(tainted) = plan.taints {
            tracing::info!(node = %name, taints = ?tainted.spec.as_ref().and_then(|s| s.taints.as_ref()).map(|t| t.iter().map(|t| t.key.clone()).collect::<Vec<_>>()), "node taints changed");
            ctx.write(vec![Write::update(&tainted)?]).await?;
        }
        if let Some(mut marked) = plan.mark_unknown {
            tracing::info!(node = %name, "node stopped reporting; Ready=Unknown");
            // The taint write above moved the resourceVersion on: update on the newest.
            if let Some(fresh) = ctx.informers.nodes.get(&super::ObjectRef::new("", &name)) {
                marked.metadata.resource_version = fresh.metadata.resource_version.clone();
            }
            ctx.write(vec![Write::update_status(&marked)?]).await?;
        }
        let mut writes = Vec::new();
        for pod in &plan.evict {
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            tracing::info!(node = %name, pod = %format!("{ns}/{pod_name}"), "evicting pod from an unreachable or not-ready node");
            writes.push(Write::delete(KindId::Pod, &pod.metadata, None));
            let about = InvolvedObject {
                api_version: "v1",
                kind: "Pod",
                namespace: &ns,
                name: &pod_name,
                uid: pod.metadata.uid.as_deref().unwrap_or_default(),
            };
            writes.push(Write::Create(event(
                &about,
                EventType::Normal,
                "TaintManagerEviction",
                &format!("Marking for deletion Pod {ns}/{pod_name}"),
                COMPONENT,
            )));
        }
        for failed in ctx.write_each(writes, 200).await? {
            tracing::debug!(error = %failed, "eviction write failed; next round retries");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(ready: &str, taints: serde_json::Value) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": "n1"},
            "spec": {"taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}
        }))
        .unwrap()
    }

    fn pod(name: &str, tolerations: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "uid": name},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}], "tolerations": tolerations}
        }))
        .unwrap()
    }

    fn at(second: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(second).unwrap())
    }

    fn config() -> BrainConfig {
        BrainConfig {
            node_monitor_grace: Duration::from_secs(6),
            default_eviction_toleration: Duration::from_secs(4),
            ..Default::default()
        }
    }

    #[test]
    fn a_reporting_ready_node_needs_nothing() {
        let n = node("True", json!(null));
        let p = pod("a", json!(null));
        let plan = plan_node(&n, &[&p], Duration::from_secs(1), &at(100), &config());
        assert_eq!(plan, NodePlan::default());
    }

    #[test]
    fn a_node_just_registered_without_conditions_is_left_alone_within_its_grace() {
        let n: Node = serde_json::from_value(json!({"metadata": {"name": "n1"}})).unwrap();
        let plan = plan_node(&n, &[], Duration::from_secs(1), &at(100), &config());
        assert_eq!(plan, NodePlan::default());
        let lapsed = plan_node(&n, &[], Duration::from_secs(7), &at(100), &config());
        assert!(lapsed.mark_unknown.is_some() && lapsed.taints.is_some());
    }

    #[test]
    fn a_silent_node_turns_unknown_and_gets_the_unreachable_taint() {
        let n = node(
            "True",
            json!([{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]),
        );
        let plan = plan_node(&n, &[], Duration::from_secs(7), &at(100), &config());
        let marked = plan.mark_unknown.expect("Ready=Unknown");
        assert_eq!(ready_status(&marked), Some("Unknown"));
        let taints = plan.taints.unwrap().spec.unwrap().taints.unwrap();
        assert_eq!(taints.len(), 2, "the user's taint stays: {taints:?}");
        assert_eq!(taints[1].key, TAINT_UNREACHABLE);
        assert_eq!(taints[1].effect, "NoExecute");
    }

    #[test]
    fn pods_are_evicted_when_their_toleration_runs_out() {
        let n = node(
            "Unknown",
            json!([{"key": TAINT_UNREACHABLE, "effect": "NoExecute", "timeAdded": "1970-01-01T00:01:40Z"}]),
        );
        let plain = pod("plain", json!(null));
        let patient = pod(
            "patient",
            json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}]),
        );
        let forever = pod("forever", json!([{"operator": "Exists"}]));
        let pods = [&plain, &patient, &forever];
        // 3 s after the taint: nobody yet; the plain pod goes in 1 s.
        let early = plan_node(&n, &pods, Duration::from_secs(30), &at(103), &config());
        assert!(early.evict.is_empty());
        assert_eq!(early.next_eviction_in, Some(Duration::from_secs(1)));
        assert!(early.mark_unknown.is_none() && early.taints.is_none());
        // 5 s after: the plain pod goes, the patient one waits, the forever one stays.
        let later = plan_node(&n, &pods, Duration::from_secs(30), &at(105), &config());
        let names: Vec<_> = later
            .evict
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, vec!["plain"]);
        let much_later = plan_node(&n, &pods, Duration::from_secs(30), &at(161), &config());
        let names: Vec<_> = much_later
            .evict
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, vec!["plain", "patient"]);
    }

    #[test]
    fn a_node_ready_again_loses_the_taint_and_a_not_ready_one_gets_its_own() {
        let tainted = json!([{"key": TAINT_UNREACHABLE, "effect": "NoExecute", "timeAdded": "1970-01-01T00:01:40Z"}]);
        let back = plan_node(
            &node("True", tainted.clone()),
            &[],
            Duration::from_secs(1),
            &at(200),
            &config(),
        );
        assert_eq!(back.taints.unwrap().spec.unwrap().taints, None);
        let not_ready = plan_node(
            &node("False", tainted),
            &[],
            Duration::from_secs(1),
            &at(200),
            &config(),
        );
        let taints = not_ready.taints.unwrap().spec.unwrap().taints.unwrap();
        assert_eq!(taints.len(), 1);
        assert_eq!(taints[0].key, TAINT_NOT_READY);
    }
}
