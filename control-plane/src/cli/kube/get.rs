//! `keelctl get KIND [NAME...] [-n NS|-A] [-l SELECTOR] [-o wide|yaml|json|name] [-w]`.

use clap::Args;
use serde_json::Value;

use crate::objects::ResourceKind;

use super::output::{format_objects, OutputFormat};
use super::printers::{Table, TableOptions};
use super::resource_args::ResourceArgs;
use super::{no_resources_message, report, AlreadyReported, KubeContext};

#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    /// KIND [NAME...], KIND1,KIND2, or KIND/NAME... (short names work: po, deploy, svc...).
    #[arg(required = true)]
    pub resources: Vec<String>,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector (`app=web`, `tier in (a,b)`, `!canary`).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Field selector (`metadata.name=x`, `status.phase=Running`).
    #[arg(long)]
    pub field_selector: Option<String>,
    /// After listing, watch for changes.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Watch for changes without listing first.
    #[arg(long)]
    pub watch_only: bool,
    /// Add a LABELS column.
    #[arg(long)]
    pub show_labels: bool,
    /// Print tables without their header.
    #[arg(long)]
    pub no_headers: bool,
    /// A missing named object is not an error.
    #[arg(long)]
    pub ignore_not_found: bool,
}

/// Objects of one kind, in the order to print them.
struct Group {
    kind: &'static ResourceKind,
    objects: Vec<Value>,
}

pub async fn run(args: GetArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let selection = ResourceArgs::parse(&args.resources)?;
    if args.watch || args.watch_only {
        return super::watch::run(&args, selection, ctx).await;
    }
    let api = ctx.api().await?;
    let namespace = if args.all_namespaces {
        ""
    } else {
        ctx.namespace()
    };
    let label_selector = args.selector.clone().unwrap_or_default();
    let field_selector = args.field_selector.clone().unwrap_or_default();
    let mut groups: Vec<Group> = Vec::new();
    let mut failed = false;
    let single;
    match &selection {
        ResourceArgs::Kinds(kinds) => {
            single = false;
            for kind in kinds {
                let list = api
                    .list(kind, namespace, &label_selector, &field_selector)
                    .await?;
                groups.push(Group {
                    kind,
                    objects: list.items,
                });
            }
        }
        ResourceArgs::Named(named) => {
            single = named.len() == 1;
            for (kind, name) in named {
                match api.get(kind, ctx.namespace(), name).await {
                    Ok(obj) => match groups.iter_mut().find(|g| g.kind == *kind) {
                        Some(g) => g.objects.push(obj),
                        None => groups.push(Group {
                            kind,
                            objects: vec![obj],
                        }),
                    },
                    Err(e) if e.is("NotFound") && args.ignore_not_found => {}
                    Err(e) => {
                        report(&e.into());
                        failed = true;
                    }
                }
            }
        }
    }
    let format = ctx.output.unwrap_or(OutputFormat::Table);
    let all: Vec<Value> = groups.iter().flat_map(|g| g.objects.clone()).collect();
    if let Some(text) = format_objects(&all, format, single) {
        if !(all.is_empty() && matches!(format, OutputFormat::Name)) {
            print!("{text}");
        }
    } else {
        print_tables(&groups, &args, format == OutputFormat::Wide, ctx);
    }
    if all.is_empty()
        && !failed
        && matches!(selection, ResourceArgs::Kinds(_))
        && format != OutputFormat::Json
        && format != OutputFormat::Yaml
    {
        let cluster_scoped = groups.iter().all(|g| !g.kind.namespaced);
        let ns = (!args.all_namespaces && !cluster_scoped).then_some(ctx.namespace());
        eprintln!("{}", no_resources_message(ns));
    }
    if failed {
        return Err(AlreadyReported.into());
    }
    Ok(())
}

fn print_tables(groups: &[Group], args: &GetArgs, wide: bool, ctx: &KubeContext) {
    let non_empty: Vec<&Group> = groups.iter().filter(|g| !g.objects.is_empty()).collect();
    let opts = TableOptions {
        wide,
        all_namespaces: args.all_namespaces,
        show_kind: groups.len() > 1,
        show_labels: args.show_labels,
        now: ctx.now,
    };
    for (i, g) in non_empty.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let table = Table::build(g.kind, &g.objects, &opts);
        print!("{}", table.render(!args.no_headers));
    }
}
