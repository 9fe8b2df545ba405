//! Conversions between the wire types (`keel.store.v1`) and the store's command types. Wire input
//! is checked here; every error names the offending field path.

use keel_proto::store as pb;

use crate::api::ApiError;
use crate::store::{
    Command, Compare, CompareResult, CompareTarget, Event, EventKind, KeyValue, Op, OpResult, Txn,
    TxnResult,
};

pub fn kv_to_pb(kv: KeyValue) -> pb::KeyValue {
    pb::KeyValue {
        key: kv.key,
        value: kv.value,
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
    }
}

pub fn event_to_pb(e: Event) -> pb::Event {
    let kind = match e.kind {
        EventKind::Put => pb::event::EventType::Put,
        EventKind::Delete => pb::event::EventType::Delete,
    };
    pb::Event {
        r#type: kind as i32,
        kv: Some(kv_to_pb(e.kv)),
        prev_kv: e.prev_kv.map(kv_to_pb),
    }
}

pub fn put_op(p: pb::PutRequest) -> Op {
    Op::Put {
        key: p.key,
        value: p.value,
        prev_kv: p.prev_kv,
    }
}

pub fn delete_op(d: pb::DeleteRequest) -> Op {
    Op::Delete {
        key: d.key,
        prefix: d.prefix,
        prev_kv: d.prev_kv,
    }
}

fn ops_from_pb(ops: Vec<pb::RequestOp>, field: &str) -> Result<Vec<Op>, ApiError> {
    ops.into_iter()
        .enumerate()
        .map(|(i, op)| match op.request {
            Some(pb::request_op::Request::Put(p)) => Ok(put_op(p)),
            Some(pb::request_op::Request::Delete(d)) => Ok(delete_op(d)),
            None => Err(ApiError::InvalidArgument(format!(
                "{field}[{i}]: no operation set"
            ))),
        })
        .collect()
}

fn compare_from_pb(i: usize, c: pb::Compare) -> Result<Compare, ApiError> {
    let path = format!("compare[{i}]");
    let target = match pb::compare::Target::try_from(c.target) {
        Ok(pb::compare::Target::ModRevision) => CompareTarget::ModRevision(c.mod_revision),
        Ok(pb::compare::Target::CreateRevision) => CompareTarget::CreateRevision(c.create_revision),
        Ok(pb::compare::Target::Version) => CompareTarget::Version(c.version),
        Ok(pb::compare::Target::Value) => CompareTarget::Value(c.value),
        Ok(pb::compare::Target::Exists) => CompareTarget::Exists(c.exists),
        Err(_) => {
            return Err(ApiError::InvalidArgument(format!(
                "{path}.target: unknown target {}",
                c.target
            )))
        }
    };
    let result = match pb::compare::Result::try_from(c.result) {
        Ok(pb::compare::Result::Equal) => CompareResult::Equal,
        Ok(pb::compare::Result::NotEqual) => CompareResult::NotEqual,
        Ok(pb::compare::Result::Greater) => CompareResult::Greater,
        Ok(pb::compare::Result::Less) => CompareResult::Less,
        Err(_) => {
            return Err(ApiError::InvalidArgument(format!(
                "{path}.result: unknown result {}",
                c.result
            )))
        }
    };
    if matches!(target, CompareTarget::Exists(_))
        && !matches!(result, CompareResult::Equal | CompareResult::NotEqual)
    {
        return Err(ApiError::InvalidArgument(format!(
            "{path}.result: EXISTS compares only EQUAL or NOT_EQUAL"
        )));
    }
    Ok(Compare {
        key: c.key,
        target,
        result,
    })
}

/// A wire transaction as a validated store command.
pub fn txn_from_pb(t: pb::TxnRequest) -> Result<Command, ApiError> {
    let compares = t
        .compare
        .into_iter()
        .enumerate()
        .map(|(i, c)| compare_from_pb(i, c))
        .collect::<Result<Vec<_>, _>>()?;
    let cmd = Command::Txn(Txn {
        compares,
        success: ops_from_pb(t.success, "success")?,
        failure: ops_from_pb(t.failure, "failure")?,
    });
    cmd.validate().map_err(ApiError::InvalidArgument)?;
    Ok(cmd)
}

pub fn op_result_to_pb(r: OpResult, header: &pb::ResponseHeader, revision: u64) -> pb::ResponseOp {
    let response = match r {
        OpResult::Put { prev_kv } => pb::response_op::Response::Put(pb::PutResponse {
            header: Some(*header),
            prev_kv: prev_kv.map(kv_to_pb),
            revision,
        }),
        OpResult::Delete { deleted, prev_kvs } => {
            pb::response_op::Response::Delete(pb::DeleteResponse {
                header: Some(*header),
                deleted,
                prev_kvs: prev_kvs.into_iter().map(kv_to_pb).collect(),
                revision,
            })
        }
    };
    pb::ResponseOp {
        response: Some(response),
    }
}

/// The single-op answer of a Put/Delete turned into a transaction.
pub fn single_result(r: TxnResult) -> Result<(u64, OpResult), ApiError> {
    let revision = r.revision;
    r.responses
        .into_iter()
        .next()
        .map(|op| (revision, op))
        .ok_or_else(|| ApiError::Internal("store returned no result for a single operation".into()))
}
