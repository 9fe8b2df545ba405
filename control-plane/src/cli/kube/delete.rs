//! `keelctl delete KIND NAME... | KIND/NAME... | KIND -l SELECTOR | KIND --all | -f FILE`.

use clap::Args;

use crate::objects::ResourceKind;

use super::apply::DryRun;
use super::manifest_files::read_manifests;
use super::resource_args::ResourceArgs;
use super::{kind_of, name_of, no_resources_message, report, AlreadyReported, KubeContext};

#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// KIND NAME..., KIND/NAME..., or KIND with -l / --all.
    pub resources: Vec<String>,
    /// Delete what these manifests name.
    #[arg(short = 'f', long = "filename")]
    pub filenames: Vec<String>,
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Delete the objects of KIND matching this label selector.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Delete every object of KIND in the namespace.
    #[arg(long)]
    pub all: bool,
    /// Across all namespaces (with -l or --all).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// A missing object is not an error.
    #[arg(long)]
    pub ignore_not_found: bool,
    /// Seconds the object gets to terminate (0 with --now).
    #[arg(long)]
    pub grace_period: Option<i64>,
    /// Same as --grace-period=1.
    #[arg(long)]
    pub now: bool,
    #[arg(long, value_enum, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: DryRun,
}

pub async fn run(args: DeleteArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let mut targets: Vec<(&'static ResourceKind, String, String)> = Vec::new();
    if !args.filenames.is_empty() {
        if !args.resources.is_empty() {
            anyhow::bail!("cannot name resources together with -f");
        }
        for o in read_manifests(&args.filenames, args.recursive)? {
            let kind = kind_of(&o.object)?;
            let ns = ctx.namespace_for(kind, &o.object)?;
            targets.push((kind, ns, name_of(&o.object).to_string()));
        }
    } else {
        if args.resources.is_empty() {
            anyhow::bail!("You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'");
        }
        match ResourceArgs::parse(&args.resources)? {
            ResourceArgs::Named(named) => {
                for (kind, name) in named {
                    targets.push((kind, ctx.namespace().to_string(), name));
                }
            }
            ResourceArgs::Kinds(kinds) => {
                if args.selector.is_none() && !args.all {
                    anyhow::bail!("resource(s) were provided, but no name was specified");
                }
                let api = ctx.api().await?;
                let ns = if args.all_namespaces {
                    ""
                } else {
                    ctx.namespace()
                };
                let selector = args.selector.clone().unwrap_or_default();
                for kind in kinds {
                    for o in api.list(kind, ns, &selector, "").await?.items {
                        let ns = o["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or("")
                            .to_string();
                        targets.push((kind, ns, name_of(&o).to_string()));
                    }
                }
                if targets.is_empty() {
                    let ns = (!args.all_namespaces).then_some(ctx.namespace());
                    eprintln!("{}", no_resources_message(ns));
                    return Ok(());
                }
            }
        }
    }
    let grace = if args.now { Some(1) } else { args.grace_period };
    let mut failed = false;
    for (kind, ns, name) in targets {
        if args.dry_run == DryRun::Client {
            println!("{} \"{name}\" deleted (dry run)", kind.kubectl_name());
            continue;
        }
        let api = ctx.api().await?;
        match api
            .delete(kind, &ns, &name, grace, args.dry_run == DryRun::Server)
            .await
        {
            Ok(_) => println!(
                "{} \"{name}\" deleted{}",
                kind.kubectl_name(),
                args.dry_run.suffix()
            ),
            Err(e) if e.is("NotFound") && args.ignore_not_found => {}
            Err(e) => {
                report(&e.into());
                failed = true;
            }
        }
    }
    if failed {
        return Err(AlreadyReported.into());
    }
    Ok(())
}
