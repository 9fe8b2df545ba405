//! `keelctl get -w`: the list (unless `--watch-only`), then one line per change as the Objects
//! Watch stream delivers it, until the stream ends or keelctl is interrupted.

use serde_json::Value;

use super::get::GetArgs;
use super::objects_api::ObjectsApi;
use super::output::{format_object, OutputFormat};
use super::printers::table::watch_row;
use super::printers::{Table, TableOptions};
use super::resource_args::ResourceArgs;
use super::KubeContext;

pub async fn run(args: &GetArgs, selection: ResourceArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let (kind, name) = match selection {
        ResourceArgs::Kinds(k) if k.len() == 1 => (k[0], None),
        ResourceArgs::Named(n) if n.len() == 1 => (n[0].0, Some(n[0].1.clone())),
        _ => anyhow::bail!("watch is only supported on individual resources and resource collections, but {} resources were found", args.resources.len().max(2)),
    };
    let api = ctx.api().await?;
    let namespace = if args.all_namespaces {
        ""
    } else {
        ctx.namespace()
    };
    let labels = args.selector.clone().unwrap_or_default();
    let mut fields = args.field_selector.clone().unwrap_or_default();
    if let Some(n) = &name {
        if !fields.is_empty() {
            fields.push(',');
        }
        fields.push_str(&format!("metadata.name={n}"));
    }
    let format = ctx.output.unwrap_or(OutputFormat::Table);
    let opts = TableOptions {
        wide: format == OutputFormat::Wide,
        all_namespaces: args.all_namespaces,
        show_kind: false,
        show_labels: args.show_labels,
        now: ctx.now,
    };
    let mut widths: Option<Vec<usize>> = None;
    let mut from = String::new();
    if !args.watch_only {
        let list = api.list(kind, namespace, &labels, &fields).await?;
        from = list.resource_version.clone();
        print_initial(
            &list.items,
            kind,
            format,
            &opts,
            args.no_headers,
            &mut widths,
        );
    }
    let mut stream = api.watch(kind, namespace, &labels, &fields, &from).await?;
    loop {
        let ev = tokio::select! {
            ev = stream.message() => ev,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(ev) = ev.map_err(|s| super::ApiError::from_status(&s))? else {
            return Ok(());
        };
        if ev.r#type == "BOOKMARK" {
            continue;
        }
        let obj = ObjectsApi::event_object(&ev)?;
        print_event(&obj, kind, format, &opts, args.no_headers, &mut widths);
    }
}

fn print_initial(
    items: &[Value],
    kind: &'static crate::objects::ResourceKind,
    format: OutputFormat,
    opts: &TableOptions,
    no_headers: bool,
    widths: &mut Option<Vec<usize>>,
) {
    if items.is_empty() {
        return;
    }
    match format {
        OutputFormat::Table | OutputFormat::Wide => {
            let table = Table::build(kind, items, opts);
            print!("{}", table.render(!no_headers));
            *widths = Some(table.widths());
        }
        _ => {
            for o in items {
                print_object(o, format);
            }
        }
    }
}

fn print_event(
    obj: &Value,
    kind: &'static crate::objects::ResourceKind,
    format: OutputFormat,
    opts: &TableOptions,
    no_headers: bool,
    widths: &mut Option<Vec<usize>>,
) {
    match format {
        OutputFormat::Table | OutputFormat::Wide => {
            let opts = TableOptions {
                now: super::printers::age::now(),
                ..*opts
            };
            match widths {
                Some(w) => {
                    let row = Table::row(kind, obj, &opts);
                    println!("{}", watch_row(&row, w));
                }
                None => {
                    let table = Table::build(kind, std::slice::from_ref(obj), &opts);
                    print!("{}", table.render(!no_headers));
                    *widths = Some(table.widths());
                }
            }
        }
        _ => print_object(obj, format),
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

fn print_object(obj: &Value, format: OutputFormat) {
    if let Some(text) = format_object(obj, format) {
        if format == OutputFormat::Yaml {
            print!("---\n{text}");
        } else {
            print!("{text}");
        }
    }
}
