use super::*;
use crate::objects::RegistryTable;
use serde_json::json;

#[test]
fn deployment_with_events() {
    let kind = RegistryTable::by_resource("deploy").unwrap();
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2024-01-01T00:00:00Z",
            "labels": {"app": "web", "tier": "fe"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "note": "x"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate"},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}]}}}});
    let ev = json!({"type": "Normal", "reason": "ScalingReplicaSet", "message": "Scaled up to 3",
        "source": {"component": "deployment-controller"}, "lastTimestamp": "2024-01-01T00:00:00Z"});
    let now: Timestamp = "2024-01-01T00:00:05Z".parse().unwrap();
    let text = describe(kind, &d, &[ev], now);
    let want = "\
Name:                   web
Namespace:              default
CreationTimestamp:      Mon, 01 Jan 2024 00:00:00 +0000
Labels:                 app=web
                        tier=fe
Annotations:            note: x
Selector:               app=web
Replicas:               3 desired | 0 updated | 0 total | 0 available | 0 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:  app=web
  Containers:
   nginx:
";
    assert!(
        text.starts_with(&want[..want.find("  Containers:").unwrap()]),
        "{text}"
    );
    assert!(text.contains("  Containers:\n   nginx:\n    Image:         nginx:1.14.2\n    Port:          80/TCP\n    Host Port:     0/TCP\n"), "{text}");
    assert!(text.ends_with("Events:\n  Type    Reason             Age   From                   Message\n  ----    ------             ----  ----                   -------\n  Normal  ScalingReplicaSet  5s    deployment-controller  Scaled up to 3\n"), "{text}");
}

#[test]
fn configmaps_secrets_and_generic_kinds() {
    let now: Timestamp = "2024-01-01T00:00:05Z".parse().unwrap();
    let cm = json!({"metadata": {"name": "c", "namespace": "default"}, "data": {"k": "v"}});
    let text = describe(RegistryTable::by_resource("cm").unwrap(), &cm, &[], now);
    assert!(text.contains("Data\n====\nk:\n----\nv\n"), "{text}");
    assert!(text.ends_with("Events:  <none>\n"), "{text}");
    let s = json!({"metadata": {"name": "s", "namespace": "default"}, "type": "Opaque", "data": {"pw": "c2VjcmV0"}});
    let text = describe(RegistryTable::by_resource("secret").unwrap(), &s, &[], now);
    assert!(text.contains("pw:  6 bytes"), "{text}");
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast"}});
    let text = describe(RegistryTable::by_resource("pvc").unwrap(), &pvc, &[], now);
    assert!(
        text.contains("Spec:\n  Access Modes:\n    ReadWriteOnce\n  Storage Class Name:  fast\n"),
        "{text}"
    );
}
