//! keelctl: command-line client for a Keel cell. kubectl's verbs at the top level (`get`,
//! `apply`, `create`, `describe`, `delete`, `edit`, `label`, `annotate`, `scale`, `set image`,
//! `rollout`, `logs`, `exec`, `top`,
//! `api-resources`; see [`kube`]) speak the Objects API; `store` commands speak to the raw
//! key-value store (operators), `cluster` commands administer the cell.
//!
//! Where the cell is: `--servers`/`--server`, else `KEEL_SERVERS`, else the config file
//! (`--keelconfig`, `KEELCONFIG`, `~/.keel/config`), else 127.0.0.1:7001.

pub mod cluster_cmd;
pub mod connect;
pub mod kube;
pub mod store_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use kube::{KeelConfig, KubeContext, OutputFormat};

/// keelctl — talk to a Keel cell.
#[derive(Debug, Parser)]
#[command(name = "keelctl", version)]
pub struct Cli {
    /// Replica addresses (HOST:PORT, comma separated); any replica serves any request.
    #[arg(long, visible_alias = "server", global = true, env = "KEEL_SERVERS")]
    pub servers: Option<String>,
    /// keelctl config file (servers, default namespace); default ~/.keel/config.
    #[arg(long, global = true, env = "KEELCONFIG")]
    pub keelconfig: Option<PathBuf>,
    /// Namespace for namespaced kinds (default: the config's, else "default").
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Output format: table (default), wide, yaml, json, name. `cluster` and `store` commands
    /// print table or json.
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<OutputFormat>,
    #[command(subcommand)]
    pub command: Command,
}

/// The two forms `cluster` and `store` commands print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Display one or many objects (tables, -o wide|yaml|json|name, -w to watch).
    Get(kube::get::GetArgs),
    /// Show details of objects, with their events.
    Describe(kube::describe::DescribeArgs),
    /// Create or update objects from manifests (client-side apply).
    Apply(kube::apply::ApplyArgs),
    /// Create objects from manifests, or a deployment, namespace, configmap or secret.
    Create(kube::create::CreateArgs),
    /// Delete objects by kind and name, label selector, or manifest.
    Delete(kube::delete::DeleteArgs),
    /// Edit an object in $KUBE_EDITOR / $EDITOR.
    Edit(kube::edit::EditArgs),
    /// Add, change or remove labels.
    Label(kube::annotate_label::MetadataArgs),
    /// Add, change or remove annotations.
    Annotate(kube::annotate_label::MetadataArgs),
    /// Set the number of replicas of a Deployment, ReplicaSet or StatefulSet.
    Scale(kube::scale::ScaleArgs),
    /// Set fields of objects (`set image`).
    #[command(subcommand)]
    Set(kube::set_image::SetCommand),
    /// Manage a Deployment's rollout: status, history, undo, restart, pause, resume.
    #[command(subcommand)]
    Rollout(kube::rollout::RolloutCommand),
    /// Print a container's log (from its node's agent).
    Logs(kube::logs::LogsArgs),
    /// Run a command in a container (through its node's agent): `exec POD -- CMD ARGS...`.
    Exec(kube::exec::ExecArgs),
    /// CPU and memory in use by nodes or pods (from the nodes' agents).
    #[command(subcommand)]
    Top(kube::top::TopCommand),
    /// The kinds the cell serves.
    ApiResources(kube::api_resources::ApiResourcesArgs),
    /// Cell administration: status, membership, leadership, snapshots.
    #[command(subcommand)]
    Cluster(cluster_cmd::ClusterCommand),
    /// Raw key-value store access (for operators).
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
}

fn admin_output(o: Option<OutputFormat>) -> anyhow::Result<Output> {
    match o {
        None | Some(OutputFormat::Table) => Ok(Output::Table),
        Some(OutputFormat::Json) => Ok(Output::Json),
        Some(other) => anyhow::bail!(
            "-o {} is not available for cluster and store commands; use -o table or -o json",
            format!("{other:?}").to_ascii_lowercase()
        ),
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = KeelConfig::load(cli.keelconfig.as_deref())?;
    let settings = config.resolve(cli.servers.as_deref(), cli.namespace.as_deref())?;
    let ctx = KubeContext::new(settings, cli.output);
    match cli.command {
        Command::Get(a) => kube::get::run(a, &ctx).await,
        Command::Describe(a) => kube::describe::run(a, &ctx).await,
        Command::Apply(a) => kube::apply::run(a, &ctx).await,
        Command::Create(a) => kube::create::run(a, &ctx).await,
        Command::Delete(a) => kube::delete::run(a, &ctx).await,
        Command::Edit(a) => kube::edit::run(a, &ctx).await,
        Command::Label(a) => {
            kube::annotate_label::run(a, kube::annotate_label::MetadataField::Labels, &ctx).await
        }
        Command::Annotate(a) => {
            kube::annotate_label::run(a, kube::annotate_label::MetadataField::Annotations, &ctx)
                .await
        }
        Command::Scale(a) => kube::scale::run(a, &ctx).await,
        Command::Set(c) => kube::set_image::run(c, &ctx).await,
        Command::Rollout(c) => kube::rollout::run(c, &ctx).await,
        Command::Logs(a) => kube::logs::run(a, &ctx).await,
        Command::Exec(a) => kube::exec::run(a, &ctx).await,
        Command::Top(c) => kube::top::run(c, &ctx).await,
        Command::ApiResources(a) => kube::api_resources::run(a, &ctx),
        Command::Cluster(c) => {
            cluster_cmd::run(c, &ctx.settings.servers, admin_output(cli.output)?).await
        }
        Command::Store(c) => {
            store_cmd::run(c, &ctx.settings.servers, admin_output(cli.output)?).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("keelctl").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn kubectl_style_command_lines_parse() {
        let c = parse(&["get", "po", "-A", "-o", "wide", "-l", "app=web"]);
        assert_eq!(c.output, Some(OutputFormat::Wide));
        let Command::Get(g) = c.command else { panic!() };
        assert!(g.all_namespaces);
        assert_eq!(g.selector.as_deref(), Some("app=web"));
        let c = parse(&["-n", "kube-system", "apply", "-f", "a.yaml", "-f", "b/"]);
        assert_eq!(c.namespace.as_deref(), Some("kube-system"));
        let Command::Apply(a) = c.command else {
            panic!()
        };
        assert_eq!(a.filenames, vec!["a.yaml", "b/"]);
        let c = parse(&[
            "create",
            "deployment",
            "web",
            "--image=nginx",
            "--replicas=2",
            "--server",
            "h:1",
        ]);
        assert_eq!(c.servers.as_deref(), Some("h:1"));
        assert!(matches!(c.command, Command::Create(_)));
        let c = parse(&["create", "secret", "generic", "s", "--from-literal=a=b"]);
        assert!(matches!(c.command, Command::Create(_)));
        let c = parse(&["set", "image", "deploy/web", "nginx=nginx:2"]);
        assert!(matches!(c.command, Command::Set(_)));
        let c = parse(&[
            "rollout",
            "status",
            "deploy/web",
            "--watch=false",
            "--timeout=30s",
        ]);
        let Command::Rollout(kube::rollout::RolloutCommand::Status(s)) = c.command else {
            panic!()
        };
        assert!(!s.watch);
        assert_eq!(
            (s.target.resource, s.timeout),
            (vec!["deploy/web".to_string()], "30s".into())
        );
        let c = parse(&["rollout", "status", "deployments", "web"]);
        let Command::Rollout(kube::rollout::RolloutCommand::Status(s)) = c.command else {
            panic!()
        };
        assert!(s.watch);
        let c = parse(&[
            "rollout",
            "undo",
            "deployment/web",
            "--to-revision=2",
            "-n",
            "x",
        ]);
        let Command::Rollout(kube::rollout::RolloutCommand::Undo(u)) = c.command else {
            panic!()
        };
        assert_eq!(u.to_revision, 2);
        let c = parse(&["cluster", "status", "-o", "json"]);
        assert_eq!(admin_output(c.output).unwrap(), Output::Json);
        assert!(admin_output(Some(OutputFormat::Yaml)).is_err());
        assert!(Cli::try_parse_from(["keelctl", "get", "po", "-o", "jsonpath"]).is_err());
    }
}
