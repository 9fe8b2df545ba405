//! `keelctl top nodes [NAME]` and `keelctl top pods [NAME] [-A] [-l SEL] [--containers]`: CPU
//! and memory in use, as kubectl prints them from metrics-server — here asked of each node's
//! agent (`keel.agent.v1` Summary: CPU averaged over at least a second, memory working set).
//! Nodes show their usage as a share of their allocatable CPU and memory; a node whose agent
//! does not answer shows `<unknown>`. Pods are matched to the agents' reports by uid; a pod with
//! no running container measured yet is left out, as kubectl leaves out pods without metrics.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use keel_proto::agent::node_agent_client::NodeAgentClient;
use keel_proto::agent::{SummaryRequest, SummaryResponse, Usage};
use serde_json::Value;
use tonic::transport::Endpoint;

use super::node_agent::agent_address;
use super::printers::tabwriter::TABLE;
use super::{no_resources_message, KubeContext};
use crate::objects::quantity::Quantity;
use crate::objects::{KindId, RegistryTable};

/// How long one agent gets to answer (its first answer reads usage twice, a second apart).
const AGENT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Subcommand)]
pub enum TopCommand {
    /// CPU and memory of nodes.
    #[command(visible_aliases = ["nodes", "no"])]
    Node(TopNodeArgs),
    /// CPU and memory of pods.
    #[command(visible_aliases = ["pods", "po"])]
    Pod(TopPodArgs),
}

/// The column to sort by, largest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    Cpu,
    Memory,
}

#[derive(Debug, Clone, Args)]
pub struct TopNodeArgs {
    /// Only this node.
    pub name: Option<String>,
    /// Label selector.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(long, value_enum)]
    pub sort_by: Option<SortBy>,
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Debug, Clone, Args)]
pub struct TopPodArgs {
    /// Only this pod.
    pub name: Option<String>,
    /// Pods of every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// One line per container.
    #[arg(long)]
    pub containers: bool,
    #[arg(long, value_enum)]
    pub sort_by: Option<SortBy>,
    #[arg(long)]
    pub no_headers: bool,
}

/// CPU as kubectl prints it: millicores, rounded up (`0m`, `250m`, `1500m`).
pub fn format_cpu(nano_cores: u64) -> String {
    format!("{}m", nano_cores.div_ceil(1_000_000))
}

/// Memory as kubectl prints it: whole MiB, rounded down (`0Mi`, `512Mi`).
pub fn format_memory(bytes: u64) -> String {
    format!("{}Mi", bytes / (1024 * 1024))
}

/// `used` as a whole percentage of `of` (kubectl's integer division); `<unknown>` without `of`.
fn percent(used: i128, of: Option<i128>) -> String {
    match of.filter(|o| *o > 0) {
        Some(of) => format!("{}%", used * 100 / of),
        None => "<unknown>".into(),
    }
}

/// A node's allocatable CPU in millicores and memory in bytes (else its capacity).
fn allocatable(node: &Value) -> (Option<i128>, Option<i128>) {
    let field = |name: &str| {
        ["allocatable", "capacity"]
            .iter()
            .find_map(|which| node["status"][which][name].as_str())
            .and_then(|q| Quantity::parse(q).ok())
    };
    (
        field("cpu").and_then(|q| q.milli_value()).map(i128::from),
        field("memory").map(|q| i128::from(q.value())),
    )
}

fn usage_of(u: Option<&Usage>) -> (u64, u64) {
    u.map_or((0, 0), |u| (u.cpu_nano_cores, u.memory_working_set_bytes))
}

fn sort_rows<T>(rows: &mut [(T, u64, u64)], by: Option<SortBy>) {
    match by {
        Some(SortBy::Cpu) => rows.sort_by_key(|r| std::cmp::Reverse(r.1)),
        Some(SortBy::Memory) => rows.sort_by_key(|r| std::cmp::Reverse(r.2)),
        None => {}
    }
}

/// The `top nodes` table: nodes with a summary (by name, or `--sort-by`), then the others with
/// `<unknown>`, as kubectl prints nodes missing from metrics.
pub fn node_table(
    nodes: &[Value],
    summaries: &HashMap<String, SummaryResponse>,
    sort_by: Option<SortBy>,
    headers: bool,
) -> String {
    let mut measured = Vec::new();
    let mut missing = Vec::new();
    for node in nodes {
        let name = node["metadata"]["name"].as_str().unwrap_or("").to_string();
        match summaries.get(&name) {
            Some(s) => {
                let (cpu, mem) = usage_of(s.node.as_ref());
                measured.push(((name, allocatable(node)), cpu, mem));
            }
            None => missing.push(name),
        }
    }
    measured.sort_by(|a, b| a.0 .0.cmp(&b.0 .0));
    sort_rows(&mut measured, sort_by);
    missing.sort();
    let mut rows: Vec<Vec<String>> = Vec::new();
    if headers {
        rows.push(
            ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
                .map(String::from)
                .to_vec(),
        );
    }
    for ((name, (cpu_alloc, mem_alloc)), cpu, mem) in measured {
        let cpu_millis = i128::from(cpu.div_ceil(1_000_000));
        rows.push(vec![
            name,
            format_cpu(cpu),
            percent(cpu_millis, cpu_alloc),
            format_memory(mem),
            percent(i128::from(mem), mem_alloc),
        ]);
    }
    for name in missing {
        let mut row = vec![name];
        row.extend(std::iter::repeat_n("<unknown>".to_string(), 4));
        rows.push(row);
    }
    render(&rows)
}

/// One measured pod: namespace, name, and each container's usage.
#[derive(Debug, Clone, PartialEq)]
pub struct PodMeasure {
    pub namespace: String,
    pub name: String,
    pub containers: Vec<(String, u64, u64)>,
}

/// The pods of `pods` that a summary reports (matched by uid), by namespace and name.
pub fn measured_pods(
    pods: &[Value],
    summaries: &HashMap<String, SummaryResponse>,
) -> Vec<PodMeasure> {
    let by_uid: HashMap<&str, &keel_proto::agent::PodUsage> = summaries
        .values()
        .flat_map(|s| &s.pods)
        .filter_map(|p| Some((p.pod.as_ref()?.uid.as_str(), p)))
        .collect();
    let mut out: BTreeMap<(String, String), PodMeasure> = BTreeMap::new();
    for pod in pods {
        let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
        let Some(usage) = by_uid.get(uid) else {
            continue;
        };
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("");
        let name = pod["metadata"]["name"].as_str().unwrap_or("");
        let mut containers: Vec<(String, u64, u64)> = usage
            .containers
            .iter()
            .map(|c| {
                let (cpu, mem) = usage_of(c.usage.as_ref());
                (c.name.clone(), cpu, mem)
            })
            .collect();
        containers.sort();
        out.insert(
            (namespace.to_string(), name.to_string()),
            PodMeasure {
                namespace: namespace.to_string(),
                name: name.to_string(),
                containers,
            },
        );
    }
    out.into_values().collect()
}

/// The `top pods` table (with `NAMESPACE` first for `-A`; one line per container with
/// `--containers`).
pub fn pod_table(
    pods: &[PodMeasure],
    all_namespaces: bool,
    per_container: bool,
    sort_by: Option<SortBy>,
    headers: bool,
) -> String {
    let mut lines: Vec<(Vec<String>, u64, u64)> = Vec::new();
    for p in pods {
        let lead = |rest: Vec<String>| {
            let mut cells = Vec::new();
            if all_namespaces {
                cells.push(p.namespace.clone());
            }
            cells.push(p.name.clone());
            cells.extend(rest);
            cells
        };
        if per_container {
            for (c, cpu, mem) in &p.containers {
                lines.push((lead(vec![c.clone()]), *cpu, *mem));
            }
        } else {
            let cpu = p.containers.iter().map(|c| c.1).sum();
            let mem = p.containers.iter().map(|c| c.2).sum();
            lines.push((lead(Vec::new()), cpu, mem));
        }
    }
    sort_rows(&mut lines, sort_by);
    let mut rows: Vec<Vec<String>> = Vec::new();
    if headers {
        let mut h = Vec::new();
        if all_namespaces {
            h.push("NAMESPACE");
        }
        h.extend(if per_container {
            ["POD", "NAME"].as_slice()
        } else {
            ["NAME"].as_slice()
        });
        h.extend(["CPU(cores)", "MEMORY(bytes)"]);
        rows.push(h.into_iter().map(String::from).collect());
    }
    for (mut cells, cpu, mem) in lines {
        cells.push(format_cpu(cpu));
        cells.push(format_memory(mem));
        rows.push(cells);
    }
    render(&rows)
}

fn render(rows: &[Vec<String>]) -> String {
    let mut text = String::new();
    for r in rows {
        text.push_str(&r.join("\t"));
        text.push('\n');
    }
    TABLE.format(&text)
}

/// Asks the agent of `node` for its summary.
async fn summary_of(node: &Value) -> anyhow::Result<SummaryResponse> {
    let address = agent_address(node)?;
    let channel = Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(Duration::from_secs(3))
        .timeout(AGENT_TIMEOUT)
        .connect()
        .await?;
    Ok(NodeAgentClient::new(channel)
        .summary(SummaryRequest {})
        .await?
        .into_inner())
}

/// The summaries of `nodes`, by node name; agents that fail are reported on stderr and left out.
pub async fn summaries(nodes: &[Value]) -> HashMap<String, SummaryResponse> {
    let asks = nodes.iter().map(|n| async move {
        let name = n["metadata"]["name"].as_str().unwrap_or("").to_string();
        (name, summary_of(n).await)
    });
    let mut out = HashMap::new();
    for (name, result) in futures::future::join_all(asks).await {
        match result {
            Ok(s) => {
                out.insert(name, s);
            }
            Err(e) => eprintln!("warning: no usage from node {name}: {e:#}"),
        }
    }
    out
}

pub async fn run(cmd: TopCommand, ctx: &KubeContext) -> anyhow::Result<()> {
    match cmd {
        TopCommand::Node(a) => top_nodes(a, ctx).await,
        TopCommand::Pod(a) => top_pods(a, ctx).await,
    }
}

async fn top_nodes(args: TopNodeArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let kind = RegistryTable::get(KindId::Node);
    let nodes = match &args.name {
        Some(name) => vec![api.get(kind, "", name).await?],
        None => {
            api.list(kind, "", args.selector.as_deref().unwrap_or(""), "")
                .await?
                .items
        }
    };
    if nodes.is_empty() {
        anyhow::bail!("metrics not available yet");
    }
    let summaries = summaries(&nodes).await;
    print!(
        "{}",
        node_table(&nodes, &summaries, args.sort_by, !args.no_headers)
    );
    Ok(())
}

async fn top_pods(args: TopPodArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let kind = RegistryTable::get(KindId::Pod);
    let namespace = if args.all_namespaces {
        ""
    } else {
        ctx.namespace()
    };
    let pods = match &args.name {
        Some(name) => vec![api.get(kind, namespace, name).await?],
        None => {
            api.list(kind, namespace, args.selector.as_deref().unwrap_or(""), "")
                .await?
                .items
        }
    };
    let node_names: std::collections::BTreeSet<&str> = pods
        .iter()
        .filter_map(|p| p["spec"]["nodeName"].as_str())
        .filter(|n| !n.is_empty())
        .collect();
    let node_kind = RegistryTable::get(KindId::Node);
    let mut nodes = Vec::new();
    for n in node_names {
        match api.get(node_kind, "", n).await {
            Ok(node) => nodes.push(node),
            Err(e) => eprintln!("warning: node {n}: {e}"),
        }
    }
    let measured = measured_pods(&pods, &summaries(&nodes).await);
    if measured.is_empty() {
        if let Some(name) = &args.name {
            anyhow::bail!("Metrics not available for pod {namespace}/{name}");
        }
        eprintln!(
            "{}",
            no_resources_message((!args.all_namespaces).then_some(namespace))
        );
        return Ok(());
    }
    print!(
        "{}",
        pod_table(
            &measured,
            args.all_namespaces,
            args.containers,
            args.sort_by,
            !args.no_headers
        )
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use keel_proto::agent::{ContainerUsage, PodRef, PodUsage};
    use serde_json::json;

    use super::*;

    fn usage(milli: u64, mib: u64) -> Option<Usage> {
        Some(Usage {
            cpu_nano_cores: milli * 1_000_000,
            memory_working_set_bytes: mib * 1024 * 1024,
        })
    }

    fn node(name: &str, cpu: &str, memory: &str) -> Value {
        json!({"metadata": {"name": name},
            "status": {"allocatable": {"cpu": cpu, "memory": memory}}})
    }

    #[test]
    fn cpu_rounds_up_to_millicores_and_memory_down_to_mebibytes() {
        assert_eq!(format_cpu(0), "0m");
        assert_eq!(format_cpu(1), "1m");
        assert_eq!(format_cpu(250_000_000), "250m");
        assert_eq!(format_cpu(1_000_000_001), "1001m");
        assert_eq!(format_memory(0), "0Mi");
        assert_eq!(format_memory(3 * 1024 * 1024 - 1), "2Mi");
        assert_eq!(format_memory(512 * 1024 * 1024), "512Mi");
    }

    #[test]
    fn nodes_show_usage_as_a_share_of_allocatable_and_unknown_without_an_agent() {
        let nodes = [
            node("b", "4", "8Gi"),
            node("a", "500m", "1Gi"),
            node("c", "2", "2Gi"),
        ];
        let summaries = HashMap::from([
            (
                "a".to_string(),
                SummaryResponse {
                    node: usage(250, 256),
                    ..Default::default()
                },
            ),
            (
                "b".to_string(),
                SummaryResponse {
                    node: usage(1001, 1024),
                    ..Default::default()
                },
            ),
        ]);
        assert_eq!(
            node_table(&nodes, &summaries, None, true),
            "NAME   CPU(cores)   CPU%        MEMORY(bytes)   MEMORY%\n\
             a      250m         50%         256Mi           25%\n\
             b      1001m        25%         1024Mi          12%\n\
             c      <unknown>    <unknown>   <unknown>       <unknown>\n"
        );
        assert_eq!(
            node_table(&nodes, &summaries, Some(SortBy::Cpu), false),
            "b     1001m       25%         1024Mi      12%\n\
             a     250m        50%         256Mi       25%\n\
             c     <unknown>   <unknown>   <unknown>   <unknown>\n"
        );
    }

    /// (namespace, name, uid, [(container, millicores, MiB)]).
    type PodSpec<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, u64, u64)]);

    fn summary_with(pods: &[PodSpec]) -> SummaryResponse {
        SummaryResponse {
            pods: pods
                .iter()
                .map(|(ns, name, uid, cs)| PodUsage {
                    pod: Some(PodRef {
                        namespace: ns.to_string(),
                        name: name.to_string(),
                        uid: uid.to_string(),
                    }),
                    containers: cs
                        .iter()
                        .map(|(c, cpu, mem)| ContainerUsage {
                            name: c.to_string(),
                            usage: usage(*cpu, *mem),
                        })
                        .collect(),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn pod(ns: &str, name: &str, uid: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name, "uid": uid}})
    }

    #[test]
    fn pods_are_matched_by_uid_and_summed_over_containers() {
        let summaries = HashMap::from([
            (
                "n1".to_string(),
                summary_with(&[
                    ("default", "web", "u1", &[("app", 300, 20), ("log", 5, 4)]),
                    // A previous incarnation of a name: not the listed pod.
                    ("default", "db", "old", &[("db", 900, 900)]),
                ]),
            ),
            (
                "n2".to_string(),
                summary_with(&[("kube", "dns", "u3", &[("dns", 1, 30)])]),
            ),
        ]);
        let pods = [
            pod("default", "web", "u1"),
            pod("default", "db", "new"),
            pod("kube", "dns", "u3"),
        ];
        let measured = measured_pods(&pods, &summaries);
        assert_eq!(
            measured.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["web", "dns"]
        );
        assert_eq!(
            pod_table(&measured, false, false, None, true),
            "NAME   CPU(cores)   MEMORY(bytes)\n\
             web    305m         24Mi\n\
             dns    1m           30Mi\n"
        );
        assert_eq!(
            pod_table(&measured, true, true, Some(SortBy::Memory), true),
            "NAMESPACE   POD   NAME   CPU(cores)   MEMORY(bytes)\n\
             kube        dns   dns    1m           30Mi\n\
             default     web   app    300m         20Mi\n\
             default     web   log    5m           4Mi\n"
        );
    }
}
