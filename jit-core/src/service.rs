//! The signing service's wire protocol (docs/signer-service.md): frames,
//! calls, answers and the one list of error codes. Pure: no I/O beyond the
//! `Read`/`Write` a caller hands in.
//!
//! A frame is a 4-byte big-endian length `N` (1 ..= [`MAX_FRAME`]) followed
//! by `N` bytes of UTF-8 JSON: one object. The decoder is strict: unknown or
//! duplicate members, a member an operation does not take, a missing one, a
//! wrong version, trailing bytes and oversized frames are errors, each with
//! its code.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

/// Protocol version: the `v` member of every call and answer.
pub const VERSION: u32 = 1;
/// Largest frame body, bytes (a call or an answer).
pub const MAX_FRAME: usize = 64 * 1024;
/// Longest `fetch` wait a client may ask for, seconds.
pub const MAX_WAIT_SECS: u64 = 900;
/// Longest rejection reason, bytes.
pub const MAX_REASON_LEN: usize = 1024;

/// What a request asks for: the grant without the requester (the service
/// knows who calls). Field meanings as in [`crate::policy::RequestFile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    pub host_groups: Vec<String>,
    pub commands: Vec<String>,
    pub shell: bool,
    pub run_as: Vec<String>,
    pub run_as_groups: Vec<String>,
    pub ttl: u64,
    pub not_before: Option<i64>,
    pub reason: String,
    pub ticket: Option<String>,
    pub max_uses: Option<u32>,
    /// An SSH certificate from the same grant (optional member; a service
    /// that predates it refuses the call as malformed: fail closed).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub ssh: Option<SshAsk>,
}

pub use crate::policy::SshAsk;

/// An optional member that, when present, holds a value (`null` is malformed).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The certificate a request was granted, as answered (never the
/// certificate itself outside the one answer that hands it over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshIssued {
    /// The certificate's key id: the grant id (the token's id when there is a token).
    pub key_id: String,
    /// The serial, in decimal (a string: it may exceed 2^53).
    pub serial: String,
    pub principals: Vec<String>,
    /// Unix seconds.
    pub valid_after: u64,
    pub valid_before: u64,
    /// `SHA256:...` of the requester's key.
    pub key_fingerprint: String,
}

impl SshIssued {
    /// From a signed profile.
    pub fn of(p: &crate::ssh_cert::CertProfile) -> SshIssued {
        SshIssued {
            key_id: p.key_id.clone(),
            serial: p.serial.to_string(),
            principals: p.principals.clone(),
            valid_after: p.valid_after,
            valid_before: p.valid_before,
            key_fingerprint: p.key_fingerprint.clone(),
        }
    }
}

/// The operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Request,
    Fetch,
    Requests,
    Approve,
    Reject,
    Status,
}

/// A call, as decoded (each operation with exactly its members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Ask for a grant; answered at once with the request. `collect`: if it
    /// is approved at once (an on-call auto-approval), the answer hands the
    /// token over (as `fetch` would, once).
    Request { ask: Box<Ask>, collect: bool },
    /// The caller's own request: its state, and the token once (approved).
    /// `wait`: seconds to wait for a decision (0: answer now).
    Fetch { id: String, wait: u64 },
    /// The pending requests this caller may decide.
    Requests,
    /// Approve a request (never one's own): the token is issued.
    Approve { id: String },
    /// Reject (an approver) or withdraw (the requester) a request.
    Reject { id: String, reason: String },
    /// The service's state, or one request's (the requester's or an approver's).
    Status { id: Option<String> },
}

/// The wire form of a call: every member any operation takes.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCall {
    v: u32,
    op: Option<Op>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ask: Option<Ask>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wait: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    collect: Option<bool>,
}

/// A request's state as answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for an approver.
    Pending,
    /// Approved; the token is waiting for the requester.
    Approved,
    /// Approved, and the requester has collected the token.
    Fetched,
    /// Rejected by an approver or withdrawn by the requester.
    Rejected,
    /// Not decided within the request lifetime.
    Expired,
}

/// One request as answered (`requests`, `status`, `fetch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestInfo {
    pub id: String,
    pub requester: String,
    pub state: State,
    /// The policy rule that covers it.
    pub rule: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// When it can no longer be approved, Unix seconds.
    pub expires: i64,
    pub ask: Ask,
    /// Who decided (`auto:SOURCE` for an on-call auto-approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
    /// The rejection reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The issued token's id (cti, hex): never the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The issued certificate's fields: never the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshIssued>,
}

/// A successful answer. `token` is set only in the one answer that hands
/// the token over to its requester, once (`fetch`, or `request` with `collect`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub v: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<RequestInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The SSH certificate (one OpenSSH certificate line), handed over with
    /// the token, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// `status` without an id: the caller, the key id, counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceInfo>,
    /// A failed answer: its code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorCode>,
    /// A failed answer: what the user can do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `status` without an id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceInfo {
    /// The caller as the service identified them (SO_PEERCRED).
    pub caller: String,
    /// The signing key's id.
    pub kid: String,
    pub pending: u64,
    /// Tokens waiting for their requester.
    pub approved: u64,
}

/// Every error an answer can carry: one list, one wire spelling
/// ([`ErrorCode::code`]) and one client exit code ([`ErrorCode::exit_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame's length is 0, above [`MAX_FRAME`], or the stream ended inside it.
    BadFrame,
    /// The body is not one JSON object of the call's shape.
    Malformed,
    /// `v` is not [`VERSION`].
    UnsupportedVersion,
    /// A member the operation needs is missing, or one it does not take is present.
    BadCall,
    /// The ask is invalid (names, TTL bounds, empty reason ...).
    BadAsk,
    /// No request with this id (or not visible to the caller).
    UnknownRequest,
    /// Fetch: the request is someone else's.
    NotYours,
    /// Fetch: not decided yet.
    Pending,
    /// Fetch/approve: the request was rejected or withdrawn.
    Rejected,
    /// The request was not decided within its lifetime.
    Expired,
    /// Approve/reject: already decided.
    AlreadyDecided,
    /// Fetch: the token was already collected (it is handed over once).
    AlreadyFetched,
    /// Approve: the caller asked for it.
    SelfApproval,
    /// Approve/reject: the policy does not name the caller as an approver of its rule.
    NotAnApprover,
    /// Request/approve: the policy refuses the grant.
    Policy,
    /// The caller has no user name (NSS) or cannot be identified.
    UnknownCaller,
    /// Too many connections; try again.
    Busy,
    /// The service could not complete it (ledger, key, storage): nothing
    /// changed, the call can be retried.
    Unavailable,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::BadFrame,
        ErrorCode::Malformed,
        ErrorCode::UnsupportedVersion,
        ErrorCode::BadCall,
        ErrorCode::BadAsk,
        ErrorCode::UnknownRequest,
        ErrorCode::NotYours,
        ErrorCode::Pending,
        ErrorCode::Rejected,
        ErrorCode::Expired,
        ErrorCode::AlreadyDecided,
        ErrorCode::AlreadyFetched,
        ErrorCode::SelfApproval,
        ErrorCode::NotAnApprover,
        ErrorCode::Policy,
        ErrorCode::UnknownCaller,
        ErrorCode::Busy,
        ErrorCode::Unavailable,
    ];

    /// The wire spelling (the same as serde's).
    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::Malformed => "malformed",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::BadCall => "bad_call",
            ErrorCode::BadAsk => "bad_ask",
            ErrorCode::UnknownRequest => "unknown_request",
            ErrorCode::NotYours => "not_yours",
            ErrorCode::Pending => "pending",
            ErrorCode::Rejected => "rejected",
            ErrorCode::Expired => "expired",
            ErrorCode::AlreadyDecided => "already_decided",
            ErrorCode::AlreadyFetched => "already_fetched",
            ErrorCode::SelfApproval => "self_approval",
            ErrorCode::NotAnApprover => "not_an_approver",
            ErrorCode::Policy => "policy",
            ErrorCode::UnknownCaller => "unknown_caller",
            ErrorCode::Busy => "busy",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    /// The exit code of the `jit-signer` client that got it
    /// (`jit-signer --help`): 2 a bad call, 7 refused, 9 the request cannot
    /// be used, 11 pending, 12 rejected, 13 expired, 6 the service failed.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorCode::BadFrame
            | ErrorCode::Malformed
            | ErrorCode::UnsupportedVersion
            | ErrorCode::BadCall
            | ErrorCode::BadAsk => 2,
            ErrorCode::SelfApproval | ErrorCode::NotAnApprover | ErrorCode::Policy => 7,
            ErrorCode::UnknownRequest
            | ErrorCode::NotYours
            | ErrorCode::AlreadyDecided
            | ErrorCode::AlreadyFetched
            | ErrorCode::UnknownCaller => 9,
            ErrorCode::Pending => 11,
            ErrorCode::Rejected => 12,
            ErrorCode::Expired => 13,
            ErrorCode::Busy | ErrorCode::Unavailable => 6,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A decoding failure: the code to answer with and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: ErrorCode,
    pub message: String,
}

fn refused(code: ErrorCode, message: impl Into<String>) -> Refused {
    Refused {
        code,
        message: message.into(),
    }
}

impl Answer {
    /// A successful answer with nothing in it yet.
    pub fn ok() -> Self {
        Answer {
            v: VERSION,
            ok: true,
            ..Default::default()
        }
    }

    /// A failed answer.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Answer {
            v: VERSION,
            ok: false,
            error: Some(code),
            message: Some(message.into()),
            ..Default::default()
        }
    }

    /// The body of an answer frame.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decode an answer body (the client side; as strict as for calls).
    pub fn decode(body: &[u8]) -> Result<Answer, Refused> {
        let a: Answer = serde_json::from_slice(body)
            .map_err(|e| refused(ErrorCode::Malformed, format!("not an answer: {e}")))?;
        if a.v != VERSION {
            return Err(refused(
                ErrorCode::UnsupportedVersion,
                format!("answer version {} (this client speaks {VERSION})", a.v),
            ));
        }
        if a.ok == a.error.is_some() {
            return Err(refused(
                ErrorCode::Malformed,
                "an answer has an error exactly when it is not ok",
            ));
        }
        Ok(a)
    }
}

impl Op {
    /// The wire spelling (the same as serde's).
    pub fn name(self) -> &'static str {
        match self {
            Op::Request => "request",
            Op::Fetch => "fetch",
            Op::Requests => "requests",
            Op::Approve => "approve",
            Op::Reject => "reject",
            Op::Status => "status",
        }
    }
}

impl Call {
    /// The operation.
    pub fn op(&self) -> Op {
        match self {
            Call::Request { .. } => Op::Request,
            Call::Fetch { .. } => Op::Fetch,
            Call::Requests => Op::Requests,
            Call::Approve { .. } => Op::Approve,
            Call::Reject { .. } => Op::Reject,
            Call::Status { .. } => Op::Status,
        }
    }

    /// The body of a call frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = WireCall {
            v: VERSION,
            op: Some(self.op()),
            ..Default::default()
        };
        match self {
            Call::Request { ask, collect } => {
                w.ask = Some((**ask).clone());
                w.collect = collect.then_some(true);
            }
            Call::Fetch { id, wait } => {
                w.id = Some(id.clone());
                w.wait = Some(*wait);
            }
            Call::Requests => {}
            Call::Approve { id } => w.id = Some(id.clone()),
            Call::Reject { id, reason } => {
                w.id = Some(id.clone());
                w.reason = Some(reason.clone());
            }
            Call::Status { id } => w.id = id.clone(),
        }
        serde_json::to_vec(&w).unwrap_or_default()
    }

    /// Decode a call body (strict).
    pub fn decode(body: &[u8]) -> Result<Call, Refused> {
        // The version first, so a newer client's call is named as such.
        #[derive(Deserialize)]
        struct Version {
            v: Option<serde_json::Value>,
        }
        let ver: Version = serde_json::from_slice(body)
            .map_err(|e| refused(ErrorCode::Malformed, format!("not a JSON object: {e}")))?;
        match ver.v.as_ref().and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => {
                return Err(refused(
                    ErrorCode::UnsupportedVersion,
                    format!("protocol version {v} (this service speaks {VERSION})"),
                ))
            }
            None => {
                return Err(refused(
                    ErrorCode::Malformed,
                    "no protocol version `v` (an integer)",
                ))
            }
        }
        let w: WireCall = serde_json::from_slice(body)
            .map_err(|e| refused(ErrorCode::Malformed, format!("malformed call: {e}")))?;
        let op =
            w.op.ok_or_else(|| refused(ErrorCode::BadCall, "no operation `op`"))?;
        let takes = |id: bool, ask: bool, reason: bool, wait: bool| -> Result<(), Refused> {
            // `collect` goes with `ask` (request) only.
            for (present, wanted, name) in [
                (w.id.is_some(), id, "id"),
                (w.ask.is_some(), ask, "ask"),
                (w.reason.is_some(), reason, "reason"),
                (w.wait.is_some(), wait, "wait"),
                (w.collect.is_some(), ask, "collect"),
            ] {
                if present && !wanted {
                    return Err(refused(
                        ErrorCode::BadCall,
                        format!("`{}` does not take `{name}`", op.name()),
                    ));
                }
            }
            Ok(())
        };
        let need_id = |id: Option<String>| -> Result<String, Refused> {
            let id = id.ok_or_else(|| {
                refused(
                    ErrorCode::BadCall,
                    format!("`{}` needs a request `id`", op.name()),
                )
            })?;
            if !crate::policy::is_request_id(&id) {
                return Err(refused(
                    ErrorCode::BadCall,
                    "a request id is 32 lowercase hex digits",
                ));
            }
            Ok(id)
        };
        Ok(match op {
            Op::Request => {
                takes(false, true, false, false)?;
                let ask = w
                    .ask
                    .ok_or_else(|| refused(ErrorCode::BadCall, "`request` needs an `ask`"))?;
                Call::Request {
                    ask: Box::new(ask),
                    collect: w.collect.unwrap_or(false),
                }
            }
            Op::Fetch => {
                takes(true, false, false, true)?;
                let wait = wait_of(w.wait)?;
                Call::Fetch {
                    id: need_id(w.id)?,
                    wait,
                }
            }
            Op::Requests => {
                takes(false, false, false, false)?;
                Call::Requests
            }
            Op::Approve => {
                takes(true, false, false, false)?;
                Call::Approve { id: need_id(w.id)? }
            }
            Op::Reject => {
                takes(true, false, true, false)?;
                let reason = w.reason.unwrap_or_default();
                if reason.trim().is_empty() || reason.len() > MAX_REASON_LEN {
                    return Err(refused(
                        ErrorCode::BadCall,
                        format!("`reject` needs a `reason` of 1 to {MAX_REASON_LEN} bytes"),
                    ));
                }
                Call::Reject {
                    id: need_id(w.id)?,
                    reason,
                }
            }
            Op::Status => {
                takes(true, false, false, false)?;
                Call::Status {
                    id: w.id.map(|i| need_id(Some(i))).transpose()?,
                }
            }
        })
    }
}

fn wait_of(w: Option<u64>) -> Result<u64, Refused> {
    let wait = w.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(refused(
            ErrorCode::BadCall,
            format!("`wait` is at most {MAX_WAIT_SECS} seconds"),
        ));
    }
    Ok(wait)
}

/// Write one frame.
pub fn write_frame(w: &mut impl Write, body: &[u8]) -> std::io::Result<()> {
    let n = u32::try_from(body.len())
        .ok()
        .filter(|&n| n > 0 && n as usize <= MAX_FRAME)
        .ok_or_else(|| std::io::Error::other("frame body of the wrong size"))?;
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&n.to_be_bytes());
    buf.extend_from_slice(body);
    w.write_all(&buf)?;
    w.flush()
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum FrameError {
    /// The stream ended before any byte of a frame.
    Closed,
    /// A bad length, or the stream ended inside the frame.
    Bad(Refused),
    /// The stream failed (timeout, reset).
    Io(std::io::Error),
}

/// Read one frame's body. Never allocates more than [`MAX_FRAME`].
pub fn read_frame(r: &mut impl Read) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Closed),
            Ok(0) => {
                return Err(FrameError::Bad(refused(
                    ErrorCode::BadFrame,
                    "the stream ended inside a frame's length",
                )))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let n = u32::from_be_bytes(len) as usize;
    if n == 0 || n > MAX_FRAME {
        return Err(FrameError::Bad(refused(
            ErrorCode::BadFrame,
            format!("frame length {n} (1 to {MAX_FRAME} bytes)"),
        )));
    }
    let mut body = vec![0u8; n];
    match r.read_exact(&mut body) {
        Ok(()) => Ok(body),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(FrameError::Bad(refused(
            ErrorCode::BadFrame,
            "the stream ended inside a frame",
        ))),
        Err(e) => Err(FrameError::Io(e)),
    }
}

/// The fuzz entry (fuzz/fuzz_targets/service_decode.rs): read frames from
/// `data` until it ends, decoding each as a call and as an answer; a decoded
/// call must encode and decode to itself.
#[doc(hidden)]
pub fn fuzz_decode(data: &[u8]) {
    let mut r = data;
    while let Ok(body) = read_frame(&mut r) {
        if let Ok(call) = Call::decode(&body) {
            assert_eq!(Call::decode(&call.encode()).as_ref(), Ok(&call));
        }
        let _ = Answer::decode(&body);
    }
}

pub mod rules;
pub mod vectors;

#[cfg(test)]
mod tests;
