//! `Table`: kubectl's human-readable output for a list of objects of one kind — the kind's
//! columns (and `-o wide` extras), NAMESPACE first with `-A`, `kind/` name prefixes when several
//! kinds are printed, a LABELS column with `--show-labels`.

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::objects::{KindId, ResourceKind};

use super::fields::{format_labels, get, str_at};
use super::tabwriter::{pad_row, TABLE};
use super::{apps, batch, core, pods, services};

/// How a table is laid out.
#[derive(Debug, Clone, Copy)]
pub struct TableOptions {
    pub wide: bool,
    /// Add a NAMESPACE column (namespaced kinds only).
    pub all_namespaces: bool,
    /// Prefix names with `deployment.apps/` (several kinds in one `get`).
    pub show_kind: bool,
    pub show_labels: bool,
    pub now: Timestamp,
}

type RowFn = fn(&Value, bool, Timestamp) -> Vec<String>;

/// The kind's columns, its `-o wide` columns and its row function.
fn layout(kind: KindId) -> (&'static [&'static str], &'static [&'static str], RowFn) {
    match kind {
        KindId::Pod => (pods::COLUMNS, pods::WIDE, pods::row),
        KindId::Deployment => (apps::DEPLOYMENT, apps::WIDE_WITH_SELECTOR, apps::deployment),
        KindId::ReplicaSet => (apps::REPLICASET, apps::WIDE_WITH_SELECTOR, apps::replicaset),
        KindId::StatefulSet => (apps::STATEFULSET, apps::WIDE_CONTAINERS, apps::statefulset),
        KindId::DaemonSet => (apps::DAEMONSET, apps::WIDE_WITH_SELECTOR, apps::daemonset),
        KindId::Job => (batch::JOB, batch::WIDE, batch::job),
        KindId::CronJob => (batch::CRONJOB, batch::WIDE, batch::cronjob),
        KindId::Service => (services::SERVICE, services::SERVICE_WIDE, services::service),
        KindId::Endpoints => (services::ENDPOINTS, &[], services::endpoints),
        KindId::Namespace => (core::NAMESPACE, &[], core::namespace),
        KindId::ConfigMap => (core::CONFIGMAP, &[], core::configmap),
        KindId::Secret => (core::SECRET, &[], core::secret),
        KindId::ServiceAccount => (core::SERVICEACCOUNT, &[], core::serviceaccount),
        KindId::Node => (core::NODE, core::NODE_WIDE, core::node),
        KindId::Event => (core::EVENT, &[], core::event),
        KindId::ResourceQuota
        | KindId::PersistentVolume
        | KindId::PersistentVolumeClaim
        | KindId::HorizontalPodAutoscaler
        | KindId::Ingress => (core::GENERIC, &[], core::generic),
    }
}

/// Header and rows of one kind's table, before alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The header cells for `kind`.
    pub fn header(kind: &ResourceKind, opts: &TableOptions) -> Vec<String> {
        let (cols, wide_cols, _) = layout(kind.id);
        let mut header: Vec<String> = Vec::new();
        if opts.all_namespaces && kind.namespaced {
            header.push("NAMESPACE".into());
        }
        if kind.id == KindId::Event && opts.wide {
            header.extend(core::EVENT_WIDE.iter().map(|s| s.to_string()));
        } else {
            header.extend(cols.iter().map(|s| s.to_string()));
            if opts.wide {
                header.extend(wide_cols.iter().map(|s| s.to_string()));
            }
        }
        if opts.show_labels {
            header.push("LABELS".into());
        }
        header
    }

    /// One object's row.
    pub fn row(kind: &ResourceKind, obj: &Value, opts: &TableOptions) -> Vec<String> {
        let (_, _, row_fn) = layout(kind.id);
        let mut cells = row_fn(obj, opts.wide, opts.now);
        if opts.show_kind && kind.id != KindId::Event {
            if let Some(name) = cells.first_mut() {
                *name = format!("{}/{}", kind.kubectl_name(), name);
            }
        }
        if opts.all_namespaces && kind.namespaced {
            cells.insert(0, str_at(obj, "metadata.namespace").to_string());
        }
        if opts.show_labels {
            cells.push(format_labels(get(obj, "metadata.labels")));
        }
        cells
    }

    pub fn build(kind: &ResourceKind, objs: &[Value], opts: &TableOptions) -> Table {
        Table {
            header: Table::header(kind, opts),
            rows: objs.iter().map(|o| Table::row(kind, o, opts)).collect(),
        }
    }

    /// The aligned table (header, then rows), each line ending in a newline.
    pub fn render(&self, with_header: bool) -> String {
        let mut text = String::new();
        let lines = with_header
            .then_some(&self.header)
            .into_iter()
            .chain(self.rows.iter());
        for cells in lines {
            text.push_str(&cells.join("\t"));
            text.push('\n');
        }
        TABLE.format(&text)
    }

    /// Column widths as rendered, for rows printed later under this table (watch).
    pub fn widths(&self) -> Vec<usize> {
        let all: Vec<Vec<String>> = std::iter::once(self.header.clone())
            .chain(self.rows.iter().cloned())
            .collect();
        TABLE.widths(&all)
    }
}

/// A row printed under an earlier table, padded to its widths.
pub fn watch_row(cells: &[String], widths: &[usize]) -> String {
    pad_row(cells, widths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::RegistryTable;
    use serde_json::json;

    #[test]
    fn all_namespaces_kinds_and_labels() {
        let kind = RegistryTable::by_resource("cm").unwrap();
        let now: Timestamp = "2024-01-01T00:00:07Z".parse().unwrap();
        let objs = vec![json!({"metadata": {"name": "c", "namespace": "kube-system",
            "creationTimestamp": "2024-01-01T00:00:00Z", "labels": {"a": "b"}}, "data": {"k": "v"}})];
        let opts = TableOptions {
            wide: false,
            all_namespaces: true,
            show_kind: true,
            show_labels: true,
            now,
        };
        let t = Table::build(kind, &objs, &opts);
        assert_eq!(
            t.render(true),
            "NAMESPACE     NAME          DATA   AGE   LABELS\nkube-system   configmap/c   1      7s    a=b\n"
        );
        let ns = RegistryTable::by_resource("ns").unwrap();
        assert_eq!(
            Table::header(ns, &opts),
            vec!["NAME", "STATUS", "AGE", "LABELS"]
        );
    }
}
