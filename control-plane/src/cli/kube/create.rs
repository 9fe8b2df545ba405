//! `keelctl create -f FILE` and the generators: `create deployment NAME --image=I
//! [--replicas=N]`, `create namespace NAME`, `create configmap NAME --from-literal/--from-file`,
//! `create secret generic NAME ...`.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::apply::{print_outcome, DryRun};
use super::generators;
use super::manifest_files::read_manifests;
use super::three_way::with_last_applied;
use super::{kind_of, report, set_namespace, AlreadyReported, KubeContext};

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CreateArgs {
    /// Manifest files, directories or `-` for stdin.
    #[arg(short = 'f', long = "filename")]
    pub filenames: Vec<String>,
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Record the manifest for later `apply` (the last-applied annotation).
    #[arg(long, global = true)]
    pub save_config: bool,
    #[arg(long, value_enum, global = true, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: DryRun,
    #[command(subcommand)]
    pub what: Option<CreateWhat>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum CreateWhat {
    /// A Deployment running the given image(s).
    #[command(visible_alias = "deploy")]
    Deployment {
        name: String,
        #[arg(long = "image", required = true)]
        images: Vec<String>,
        #[arg(long, default_value_t = 1)]
        replicas: i32,
        #[arg(long)]
        port: Option<i32>,
    },
    /// A Namespace.
    #[command(visible_alias = "ns")]
    Namespace { name: String },
    /// A ConfigMap from literals, files or directories.
    #[command(visible_alias = "cm")]
    Configmap {
        name: String,
        #[arg(long)]
        from_literal: Vec<String>,
        #[arg(long)]
        from_file: Vec<String>,
    },
    /// A Secret (only `generic`).
    #[command(subcommand)]
    Secret(SecretWhat),
}

#[derive(Debug, Clone, Subcommand)]
pub enum SecretWhat {
    /// An Opaque (or --type) Secret from literals, files or directories.
    Generic {
        name: String,
        #[arg(long)]
        from_literal: Vec<String>,
        #[arg(long)]
        from_file: Vec<String>,
        #[arg(long = "type", default_value = "Opaque")]
        secret_type: String,
    },
}

pub async fn run(args: CreateArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let objects: Vec<(String, Value)> = match &args.what {
        None if args.filenames.is_empty() => {
            anyhow::bail!("must specify one of -f and -k, or a kind to create (deployment, namespace, configmap, secret generic)")
        }
        None => read_manifests(&args.filenames, args.recursive)?
            .into_iter()
            .map(|o| (o.source, o.object))
            .collect(),
        Some(what) => vec![(String::new(), generate(what)?)],
    };
    let mut failed = false;
    for (source, obj) in objects {
        if let Err(e) = create_one(&source, obj, &args, ctx).await {
            report(&e);
            failed = true;
        }
    }
    if failed {
        return Err(AlreadyReported.into());
    }
    Ok(())
}

fn generate(what: &CreateWhat) -> anyhow::Result<Value> {
    Ok(match what {
        CreateWhat::Deployment {
            name,
            images,
            replicas,
            port,
        } => generators::deployment(name, images, *replicas, *port),
        CreateWhat::Namespace { name } => generators::namespace(name),
        CreateWhat::Configmap {
            name,
            from_literal,
            from_file,
        } => generators::configmap(name, &generators::collect_data(from_literal, from_file)?),
        CreateWhat::Secret(SecretWhat::Generic {
            name,
            from_literal,
            from_file,
            secret_type,
        }) => generators::secret(
            name,
            secret_type,
            &generators::collect_data(from_literal, from_file)?,
        ),
    })
}

async fn create_one(
    source: &str,
    mut obj: Value,
    args: &CreateArgs,
    ctx: &KubeContext,
) -> anyhow::Result<()> {
    let kind = kind_of(&obj)?;
    let namespace = ctx.namespace_for(kind, &obj)?;
    if args.dry_run == DryRun::Client {
        if args.save_config {
            obj = with_last_applied(&obj);
        }
        print_outcome(&obj, "created", args.dry_run, ctx);
        return Ok(());
    }
    set_namespace(&mut obj, &namespace);
    // Recorded with its namespace, as `apply` records it, so a later apply of the same
    // manifest is "unchanged".
    if args.save_config {
        obj = with_last_applied(&obj);
    }
    let api = ctx.api().await?;
    let created = api
        .create(&namespace, &obj, args.dry_run == DryRun::Server)
        .await
        .map_err(|e| {
            if source.is_empty() {
                e
            } else {
                e.with_context(format!("error when creating \"{source}\""))
            }
        })?;
    print_outcome(&created, "created", args.dry_run, ctx);
    Ok(())
}
