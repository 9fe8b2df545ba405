//! `keelctl apply -f FILE|DIR|-`: client-side apply — create what is missing, patch what
//! changed (see [`super::three_way`]), leave the rest; one line per object
//! (`deployment.apps/web created|configured|unchanged`).

use clap::Args;
use serde_json::Value;

use super::manifest_files::{read_manifests, SourcedObject};
use super::output::format_object;
use super::three_way::{plan_apply, with_last_applied, ApplyPlan};
use super::{kind_of, name_of, report, set_namespace, AlreadyReported, ApiError, KubeContext};

/// Conflicting writers make an apply re-read the object and try again this many times.
const CONFLICT_RETRIES: usize = 5;

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// Manifest files, directories or `-` for stdin (YAML, multi-document, or JSON).
    #[arg(short = 'f', long = "filename", required = true)]
    pub filenames: Vec<String>,
    /// Process directories recursively.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// `client`: only print what would be sent; `server`: validate on the server, store nothing.
    #[arg(long, value_enum, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: DryRun,
}

/// kubectl's `--dry-run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DryRun {
    None,
    Client,
    Server,
}

impl DryRun {
    pub fn suffix(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        }
    }
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOutcome {
    Created,
    Configured,
    Unchanged,
}

impl ApplyOutcome {
    pub fn verb(self) -> &'static str {
        match self {
            ApplyOutcome::Created => "created",
            ApplyOutcome::Configured => "configured",
            ApplyOutcome::Unchanged => "unchanged",
        }
    }
}

pub async fn run(args: ApplyArgs, ctx: &KubeContext) -> anyhow::Result<()> {
    let objects = read_manifests(&args.filenames, args.recursive)?;
    let mut failed = false;
    for obj in objects {
        match apply_one(&obj, args.dry_run, ctx).await {
            Ok((outcome, stored)) => print_outcome(&stored, outcome.verb(), args.dry_run, ctx),
            Err(e) => {
                report(&e);
                failed = true;
            }
        }
    }
    if failed {
        return Err(AlreadyReported.into());
    }
    Ok(())
}

/// Prints `kind/name VERB` or, with `-o`, the object.
pub fn print_outcome(obj: &Value, verb: &str, dry_run: DryRun, ctx: &KubeContext) {
    match ctx.object_output().and_then(|f| format_object(obj, f)) {
        Some(text) => print!("{text}"),
        None => println!(
            "{} {verb}{}",
            super::output::object_ref(obj),
            dry_run.suffix()
        ),
    }
}

async fn apply_one(
    src: &SourcedObject,
    dry_run: DryRun,
    ctx: &KubeContext,
) -> anyhow::Result<(ApplyOutcome, Value)> {
    let kind = kind_of(&src.object)?;
    let name = name_of(&src.object).to_string();
    if name.is_empty() {
        anyhow::bail!(
            "error when retrieving current configuration of {} from {} (document {}, line {}): resource name may not be empty",
            kind.kubectl_name(),
            src.source,
            src.document,
            src.line
        );
    }
    let namespace = ctx.namespace_for(kind, &src.object)?;
    let mut manifest = src.object.clone();
    set_namespace(&mut manifest, &namespace);
    if dry_run == DryRun::Client {
        return Ok((ApplyOutcome::Configured, with_last_applied(&manifest)));
    }
    let api = ctx.api().await?;
    let server_dry_run = dry_run == DryRun::Server;
    for _ in 0..CONFLICT_RETRIES {
        let live = match api.get(kind, &namespace, &name).await {
            Ok(live) => live,
            Err(e) if e.is("NotFound") => {
                let created = api
                    .create(&namespace, &with_last_applied(&manifest), server_dry_run)
                    .await
                    .map_err(|e| {
                        e.with_context(format!("error when creating \"{}\"", src.source))
                    })?;
                return Ok((ApplyOutcome::Created, created));
            }
            Err(e) => {
                return Err(e
                    .with_context(format!(
                        "error when retrieving current configuration of {} \"{name}\" from \"{}\"",
                        kind.kubectl_name(),
                        src.source
                    ))
                    .into())
            }
        };
        match plan_apply(&live, &manifest) {
            ApplyPlan::Unchanged => return Ok((ApplyOutcome::Unchanged, live)),
            ApplyPlan::Update { object, .. } => {
                // `object` carries the live resourceVersion: a concurrent write is a Conflict.
                match api.update(&namespace, &object, server_dry_run).await {
                    Ok(stored) => return Ok((ApplyOutcome::Configured, stored)),
                    Err(e) if e.is("Conflict") => continue,
                    Err(e) => {
                        return Err(ApiError::with_context(
                            e,
                            format!(
                                "error when applying patch to {} \"{name}\" from \"{}\"",
                                kind.kubectl_name(),
                                src.source
                            ),
                        )
                        .into())
                    }
                }
            }
        }
    }
    anyhow::bail!(
        "{}/{name}: the object kept changing while it was applied ({CONFLICT_RETRIES} conflicts); try again",
        kind.kubectl_name()
    )
}
