//! What a failed write means for the history: certainly not applied (`Fail`) or maybe applied
//! (`Unknown`).

use crate::history::Outcome;

/// The outcome of a write (or CAS) that ended with `status`.
///
/// - The caller's mistakes (`INVALID_ARGUMENT`, `OUT_OF_RANGE`, `FAILED_PRECONDITION`) were
///   rejected before proposing: `Fail`.
/// - `UNAVAILABLE` sent by the server itself (no transport error underneath) is Keel's promise
///   that nothing was written: `Fail` — if that promise were broken, the checkers would see the
///   write anyway and flag it.
/// - A transport failure before the request left (connection refused, connect timeout): `Fail`.
/// - Anything else (deadline exceeded, connection lost mid-request, internal errors): `Unknown`.
pub fn write_outcome_of(status: &tonic::Status) -> Outcome {
    use tonic::Code;
    match status.code() {
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => Outcome::Fail,
        Code::Unavailable => {
            let source = std::error::Error::source(status).map(|s| format!("{s:?}"));
            match source {
                None => Outcome::Fail,
                Some(s) if never_connected(&format!("{} {s}", status.message())) => Outcome::Fail,
                Some(_) => Outcome::Unknown,
            }
        }
        _ => Outcome::Unknown,
    }
}

/// Whether a transport error's text says the connection was never made.
fn never_connected(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("connection refused")
        || text.contains("error trying to connect")
        || text.contains("tcp connect error")
        || text.contains("no route to host")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        assert_eq!(
            write_outcome_of(&tonic::Status::invalid_argument("empty key")),
            Outcome::Fail
        );
        assert_eq!(
            write_outcome_of(&tonic::Status::unavailable(
                "no leader; nothing was written"
            )),
            Outcome::Fail
        );
        assert_eq!(
            write_outcome_of(&tonic::Status::deadline_exceeded("may or may not")),
            Outcome::Unknown
        );
        assert_eq!(
            write_outcome_of(&tonic::Status::internal("disk")),
            Outcome::Unknown
        );
        assert!(never_connected(
            "tcp connect error: Connection refused (os error 111)"
        ));
        assert!(!never_connected("connection reset by peer"));
    }
}
