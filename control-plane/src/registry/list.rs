//! Listing objects of one kind: all namespaces or one, label and field selectors, pagination
//! with limit/continue at one consistent revision, and Kubernetes' resourceVersion semantics
//! ("" linearizable, "0" this replica's state, "N" exactly revision N).

use serde::{Deserialize, Serialize};

use crate::objects::{list_prefix, FieldSelector, LabelSelector, ResourceKind};
use crate::raft::codec::{decode, encode};
use crate::store::{RangeQuery, StoreError};

use super::error::RegistryError;
use super::store_view::StoredObject;
use super::Registry;

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// "" = every namespace.
    pub namespace: String,
    pub label_selector: String,
    pub field_selector: String,
    /// 0 = no limit.
    pub limit: i64,
    pub continue_token: String,
    pub resource_version: String,
}

#[derive(Debug, Clone)]
pub struct ListResult {
    pub items: Vec<StoredObject>,
    pub revision: u64,
    pub continue_token: String,
    /// Keys after this page (selectors not applied), when there is a next page and no selector.
    pub remaining: Option<i64>,
}

/// What a continue token carries.
#[derive(Serialize, Deserialize)]
struct ContinueToken {
    revision: u64,
    after_key: Vec<u8>,
}

/// Store keys read per round while filtering by selectors.
const SCAN_CHUNK: u64 = 500;

pub async fn list(
    registry: &Registry,
    kind: &'static ResourceKind,
    opts: &ListOptions,
) -> Result<ListResult, RegistryError> {
    let namespace =
        (kind.namespaced && !opts.namespace.is_empty()).then_some(opts.namespace.as_str());
    let prefix = list_prefix(kind, namespace)?;
    let labels = LabelSelector::parse(&opts.label_selector)?;
    let fields = FieldSelector::parse_for(kind, &opts.field_selector)?;
    if opts.limit < 0 {
        return Err(RegistryError::BadRequest(format!(
            "limit: must be >= 0, not {}",
            opts.limit
        )));
    }
    let (mut revision, mut after_key) = if opts.continue_token.is_empty() {
        let revision = match opts.resource_version.as_str() {
            "" => registry.proposer().read_barrier().await?.revision,
            "0" => 0,
            rv => rv.parse::<u64>().map_err(|_| {
                RegistryError::BadRequest(format!(
                    "resourceVersion: Invalid value: {rv:?}: must be a decimal revision"
                ))
            })?,
        };
        (revision, None)
    } else {
        let token = base64_decode(&opts.continue_token)
            .and_then(|b| decode::<ContinueToken>(&b).ok())
            .ok_or_else(|| {
                RegistryError::BadRequest(
                    "continue: Invalid value: not a token this server issued".into(),
                )
            })?;
        (token.revision, Some(token.after_key))
    };
    if revision == 0 {
        revision = registry.view().revision()?;
    }
    let filtering = !labels.is_empty() || !fields.is_empty();
    let want = if opts.limit > 0 {
        opts.limit as u64
    } else {
        u64::MAX
    };
    let mut items = Vec::new();
    let mvcc = registry.mvcc().clone();
    loop {
        let chunk = if filtering {
            SCAN_CHUNK
        } else {
            want.saturating_sub(items.len() as u64)
        };
        let query = RangeQuery {
            key: prefix.clone(),
            prefix: true,
            revision,
            limit: if chunk == u64::MAX { 0 } else { chunk },
            after_key: after_key.clone(),
            keys_only: false,
            count_only: false,
        };
        let m = mvcc.clone();
        let page = tokio::task::spawn_blocking(move || m.range(&query))
            .await
            .map_err(|e| RegistryError::Internal(e.to_string()))?
            .map_err(|e| match e {
                StoreError::Compacted { .. } if !opts.continue_token.is_empty() => RegistryError::Gone(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.".into(),
                ),
                StoreError::Compacted { requested, compacted } => RegistryError::Gone(format!(
                    "too old resource version: {requested} ({compacted})"
                )),
                other => other.into(),
            })?;
        let more = page.more;
        let mut last_key = None;
        for kv in &page.kvs {
            last_key = Some(kv.key.clone());
            let stored = StoredObject::from_kv(kv)?;
            if labels.matches(stored.object.labels()) && fields.matches(&stored.object) {
                items.push(stored);
                if items.len() as u64 >= want {
                    break;
                }
            }
        }
        let full = items.len() as u64 >= want;
        let consumed_page = last_key.as_ref() == page.kvs.last().map(|kv| &kv.key);
        let has_more = more || (!consumed_page && full);
        if full || !has_more || last_key.is_none() {
            let (continue_token, remaining) = if has_more && full {
                let key = last_key.unwrap_or_default();
                let token = encode(&ContinueToken {
                    revision,
                    after_key: key,
                })
                .map_err(|e| RegistryError::Internal(e.to_string()))?;
                let remaining = (!filtering).then(|| page.count as i64 - page.kvs.len() as i64);
                (base64_encode(&token), remaining)
            } else {
                (String::new(), None)
            };
            return Ok(ListResult {
                items,
                revision,
                continue_token,
                remaining,
            });
        }
        after_key = last_key;
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}
