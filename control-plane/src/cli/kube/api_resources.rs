//! `keelctl api-resources [--namespaced=BOOL] [--api-group=G] [-o wide|name] [--no-headers]`:
//! the served kinds, as kubectl lists them (core group first, then groups in discovery order).

use clap::Args;

use crate::objects::{RegistryTable, ResourceKind};

use super::output::OutputFormat;
use super::printers::tabwriter::TABLE;
use super::KubeContext;

#[derive(Debug, Clone, Args)]
pub struct ApiResourcesArgs {
    /// Only namespaced (true) or cluster-scoped (false) kinds.
    #[arg(long)]
    pub namespaced: Option<bool>,
    /// Only this API group (`""` for core).
    #[arg(long)]
    pub api_group: Option<String>,
    #[arg(long)]
    pub no_headers: bool,
}

/// Discovery's group order (the order kube-apiserver registers them).
const GROUP_ORDER: &[&str] = &["", "apps", "autoscaling", "batch", "networking.k8s.io"];

const VERBS: &str = "create,delete,deletecollection,get,list,patch,update,watch";

/// The kinds to list, in kubectl's order.
pub fn listed(args: &ApiResourcesArgs) -> Vec<&'static ResourceKind> {
    let mut kinds: Vec<&'static ResourceKind> = RegistryTable::all()
        .iter()
        .filter(|k| args.namespaced.is_none_or(|n| n == k.namespaced))
        .filter(|k| args.api_group.as_deref().is_none_or(|g| g == k.group))
        .collect();
    kinds.sort_by_key(|k| {
        let group_rank = GROUP_ORDER
            .iter()
            .position(|g| *g == k.group)
            .unwrap_or(GROUP_ORDER.len());
        (group_rank, k.group, k.plural)
    });
    kinds
}

/// The output text.
pub fn render(args: &ApiResourcesArgs, output: Option<OutputFormat>) -> String {
    let kinds = listed(args);
    if output == Some(OutputFormat::Name) {
        return kinds
            .iter()
            .map(|k| format!("{}\n", k.group_resource()))
            .collect();
    }
    let wide = output == Some(OutputFormat::Wide);
    let mut text = String::new();
    if !args.no_headers {
        text.push_str("NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND");
        if wide {
            text.push_str("\tVERBS\tCATEGORIES");
        }
        text.push('\n');
    }
    for k in kinds {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}",
            k.plural,
            k.short_names.join(","),
            k.api_version(),
            k.namespaced,
            k.kind
        ));
        if wide {
            let verbs = VERBS;
            let categories = if matches!(
                k.kind,
                "Pod"
                    | "Service"
                    | "Deployment"
                    | "ReplicaSet"
                    | "StatefulSet"
                    | "DaemonSet"
                    | "Job"
                    | "CronJob"
            ) {
                "all"
            } else {
                ""
            };
            text.push_str(&format!("\t{verbs}\t{categories}"));
        }
        text.push('\n');
    }
    TABLE.format(&text)
}

pub fn run(args: ApiResourcesArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    if matches!(ctx.output, Some(OutputFormat::Yaml | OutputFormat::Json)) {
        anyhow::bail!(
            "--output yaml and json are not available for api-resources; use -o wide or -o name"
        );
    }
    print!("{}", render(&args, ctx.output));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> ApiResourcesArgs {
        ApiResourcesArgs {
            namespaced: None,
            api_group: None,
            no_headers: false,
        }
    }

    #[test]
    fn lists_core_first_with_short_names() {
        let text = render(&all(), None);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NAME "), "{text}");
        assert!(lines[0].contains("SHORTNAMES   APIVERSION"), "{text}");
        assert!(lines[1].starts_with("configmaps "), "{text}");
        assert!(
            text.contains("\ndeployments                deploy       apps/v1 "),
            "{text}"
        );
        let names = render(
            &ApiResourcesArgs {
                namespaced: Some(false),
                ..all()
            },
            Some(OutputFormat::Name),
        );
        assert_eq!(names, "namespaces\nnodes\npersistentvolumes\n");
    }
}
