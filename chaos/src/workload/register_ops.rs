//! One register operation against the Store API, recorded: invoke, send (bounded by a timeout),
//! complete with the answer or with what the error means.

use std::time::Duration;

use keel_proto::store::{
    compare::{Result as CompareResult, Target as CompareTarget},
    request_op,
    store_client::StoreClient,
    Compare, PutRequest, RangeRequest, RequestOp, TxnRequest,
};
use tonic::transport::Channel;

use super::write_outcome_of;
use crate::history::{CasExpect, HistoryRecorder, OpKind, Outcome, Reply};

/// A replica and a client for it.
#[derive(Clone, Debug)]
pub struct StoreTarget {
    pub replica: u64,
    pub client: StoreClient<Channel>,
}

/// A linearizable read of `key`. Errors and timeouts complete it as `Unknown` (an unanswered read
/// constrains nothing).
pub async fn read(
    rec: &HistoryRecorder,
    client_id: u32,
    target: &mut StoreTarget,
    key: &str,
    timeout: Duration,
) -> Outcome {
    let id = rec.invoke(client_id, key, OpKind::Read);
    let req = RangeRequest {
        key: key.as_bytes().to_vec(),
        ..Default::default()
    };
    let outcome = match tokio::time::timeout(timeout, target.client.range(req)).await {
        Ok(Ok(resp)) => {
            let kv = resp.into_inner().kvs.into_iter().next();
            Outcome::Ok(Reply::Read {
                value: kv
                    .as_ref()
                    .map(|kv| String::from_utf8_lossy(&kv.value).to_string()),
                mod_revision: Some(kv.map(|kv| kv.mod_revision).unwrap_or(0)),
            })
        }
        Ok(Err(_)) | Err(_) => Outcome::Unknown,
    };
    rec.complete(id, outcome.clone());
    outcome
}

/// A blind write of `value` to `key`.
pub async fn write(
    rec: &HistoryRecorder,
    client_id: u32,
    target: &mut StoreTarget,
    key: &str,
    value: &str,
    timeout: Duration,
) -> Outcome {
    let kind = OpKind::Write {
        value: value.to_string(),
    };
    let id = rec.invoke(client_id, key, kind);
    let req = PutRequest {
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
        prev_kv: false,
    };
    let outcome = match tokio::time::timeout(timeout, target.client.put(req)).await {
        Ok(Ok(resp)) => Outcome::Ok(Reply::Written {
            revision: resp.into_inner().revision,
        }),
        Ok(Err(status)) => write_outcome_of(&status),
        Err(_) => Outcome::Unknown,
    };
    rec.complete(id, outcome.clone());
    outcome
}

/// Compare-and-swap: a Txn that puts `new_value` if `key` holds `expected` (`None`: absent).
pub async fn cas(
    rec: &HistoryRecorder,
    client_id: u32,
    target: &mut StoreTarget,
    key: &str,
    expected: Option<&str>,
    new_value: &str,
    timeout: Duration,
) -> Outcome {
    let kind = OpKind::Cas {
        expected: CasExpect::Value(expected.map(str::to_string)),
        new_value: new_value.to_string(),
    };
    let id = rec.invoke(client_id, key, kind);
    let compare = match expected {
        Some(v) => Compare {
            key: key.as_bytes().to_vec(),
            target: CompareTarget::Value as i32,
            result: CompareResult::Equal as i32,
            value: v.as_bytes().to_vec(),
            ..Default::default()
        },
        None => Compare {
            key: key.as_bytes().to_vec(),
            target: CompareTarget::Exists as i32,
            result: CompareResult::Equal as i32,
            exists: false,
            ..Default::default()
        },
    };
    let put = RequestOp {
        request: Some(request_op::Request::Put(PutRequest {
            key: key.as_bytes().to_vec(),
            value: new_value.as_bytes().to_vec(),
            prev_kv: false,
        })),
    };
    let req = TxnRequest {
        compare: vec![compare],
        success: vec![put],
        failure: vec![],
    };
    let outcome = match tokio::time::timeout(timeout, target.client.txn(req)).await {
        Ok(Ok(resp)) => {
            let resp = resp.into_inner();
            Outcome::Ok(Reply::Cas {
                succeeded: resp.succeeded,
                revision: resp.succeeded.then_some(resp.revision),
            })
        }
        Ok(Err(status)) => write_outcome_of(&status),
        Err(_) => Outcome::Unknown,
    };
    rec.complete(id, outcome.clone());
    outcome
}
