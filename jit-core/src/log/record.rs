//! The record encoding of docs/log-format.md: the exact bytes hashed and sealed.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Format version written in every record (`"v":1`).
pub const VERSION: u64 = 1;
/// Maximum length of one line, newline included.
pub const MAX_LINE: usize = 65536;
/// Length of the fixed suffix `,"hash":"<64>","seal":"<64>"}\n`.
pub const SUFFIX_LEN: usize = 150;
/// `prev` of the record with `seq` 0.
pub const GENESIS_PREV: [u8; 32] = [0u8; 32];

pub(crate) const CTX_RECORD: &str = "jit log record hash v1";
pub(crate) const CTX_EVOLVE: &str = "jit log seal key evolve v1";
pub(crate) const CTX_KEY_ID: &str = "jit log seal key id v1";

const SUFFIX_HASH: &[u8] = b",\"hash\":\"";
const SUFFIX_SEAL: &[u8] = b"\",\"seal\":\"";
const SUFFIX_END: &[u8] = b"\"}\n";

/// The kind of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A policy decision (allowed or denied).
    Decision,
    /// A sudo session opened.
    SessionOpen,
    /// A sudo session closed.
    SessionClose,
    /// First record of a log (seq 0).
    Start,
    /// First record of a rotated segment.
    Continue,
    /// The writer repaired a crash leftover.
    Recovery,
    /// Ledger: the signer issued a token.
    Issued,
    /// Ledger: the signer refused a request.
    Refused,
    /// Ledger: the signer signed a revocation list.
    Revoked,
    /// Ledger: the signer signed an SSH certificate (docs/ssh-cert.md).
    SshCert,
}

impl EventKind {
    /// The name used in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Decision => "decision",
            EventKind::SessionOpen => "session_open",
            EventKind::SessionClose => "session_close",
            EventKind::Start => "start",
            EventKind::Continue => "continue",
            EventKind::Recovery => "recovery",
            EventKind::Issued => "issued",
            EventKind::Refused => "refused",
            EventKind::Revoked => "revoked",
            EventKind::SshCert => "ssh_cert",
        }
    }
}

/// Summary of an argv that was too long to log whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgvTruncated {
    /// Number of elements of the whole argv.
    pub argc: u64,
    /// Total bytes of all elements.
    pub bytes: u64,
    /// `blake3(for each arg: u64-le(len) || arg)` in hex.
    pub blake3: String,
}

fn is_not_true(b: &Option<bool>) -> bool {
    *b != Some(true)
}

/// Ledger: one command grant of a token (`{"argv":[...],"any_args":bool}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRec {
    /// argv[0] (absolute path, or `sudoedit`) and the fixed arguments.
    pub argv: Vec<String>,
    /// Further arguments allowed.
    pub any_args: bool,
}

impl GrantRec {
    /// The grant as `--command` takes it (`/usr/bin/journalctl -u nginx ...`).
    pub fn display(&self) -> String {
        crate::token::Grant {
            argv: self.argv.clone(),
            any_args: self.any_args,
        }
        .display()
    }
}

/// Ledger: one revoked token id with its expiry (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedToken {
    /// Token id (`cti`), 32 lowercase hex digits.
    pub token_id: String,
    /// Its `exp`: the entry can be dropped from lists after it.
    pub exp: i64,
}

/// Ledger: a per-user watermark: this user's tokens issued (`iat`) before `before` are void.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watermark {
    pub user: String,
    /// Unix seconds.
    pub before: i64,
}

/// Ledger: one revoked SSH certificate serial of a CA, with the
/// certificate's expiry (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedSshSerial {
    /// The CA key, `SHA256:...` as ssh-keygen prints its fingerprint.
    pub ca: String,
    /// Decimal digits (a string: JSON readers lose precision above 2^53).
    pub serial: String,
    pub exp: i64,
}

/// Ledger: one revoked SSH certificate key id (a grant id), with its expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedSshKeyId {
    pub key_id: String,
    pub exp: i64,
}

/// One record, in the member order of the spec. Borrowed when parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record<'a> {
    pub v: u64,
    pub seq: u64,
    #[serde(borrow)]
    pub time: Cow<'a, str>,
    #[serde(borrow)]
    pub host: Cow<'a, str>,
    pub kind: EventKind,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<Cow<'a, str>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv_truncated: Option<ArgvTruncated>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub token_reason: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "is_not_true")]
    pub break_glass: Option<bool>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub found: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarded_bytes: Option<u64>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub discarded_blake3: Option<Cow<'a, str>>,
    // Ledger members (issued / refused / revoked), docs/log-format.md "The issuance ledger".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<GrantRec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "is_not_true")]
    pub shell: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_tokens: Option<Vec<RevokedToken>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_users: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermarks: Option<Vec<Watermark>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ssh_serials: Option<Vec<RevokedSshSerial>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ssh_key_ids: Option<Vec<RevokedSshKeyId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ssh_keys: Option<Vec<String>>,
    // Ledger `ssh_cert` members (docs/log-format.md, docs/ssh-cert.md).
    /// Decimal digits: a JSON number over 2^53 loses precision in many readers.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principals: Option<Vec<String>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub ca_fingerprint: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<String>>,
    #[serde(borrow)]
    pub prev: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<Cow<'a, str>>,
}

impl<'a> Record<'a> {
    /// An empty record of `kind` (the writer fills the rest).
    pub fn new(kind: EventKind) -> Self {
        Record {
            v: VERSION,
            seq: 0,
            time: Cow::Borrowed(""),
            host: Cow::Borrowed(""),
            kind,
            log_id: None,
            key_id: None,
            user: None,
            run_as_user: None,
            run_as_group: None,
            tty: None,
            command: None,
            argv: None,
            argv_truncated: None,
            token_id: None,
            issuer: None,
            kid: None,
            token_reason: None,
            ticket: None,
            approver: None,
            allowed: None,
            reason_code: None,
            message: None,
            pid: None,
            session_secs: None,
            break_glass: None,
            found: None,
            discarded_bytes: None,
            discarded_blake3: None,
            host_groups: None,
            grants: None,
            run_as: None,
            run_as_groups: None,
            shell: None,
            iat: None,
            nbf: None,
            exp: None,
            max_uses: None,
            requester: None,
            rule: None,
            requested: None,
            revocation_version: None,
            revoked_tokens: None,
            revoked_users: None,
            watermarks: None,
            revoked_ssh_serials: None,
            revoked_ssh_key_ids: None,
            revoked_ssh_keys: None,
            serial: None,
            principals: None,
            key_fingerprint: None,
            ca_fingerprint: None,
            source_address: None,
            extensions: None,
            prev: Cow::Borrowed(""),
            hash: None,
            seal: None,
        }
    }
}

/// `hash_i` of a record body.
pub fn record_hash(body: &[u8]) -> [u8; 32] {
    blake3::derive_key(CTX_RECORD, body)
}

/// Reusable hashers for the two `derive_key` contexts (the context key is
/// computed once; `reset` keeps it). Same results as [`record_hash`] / [`evolve`].
#[derive(Clone)]
pub struct Hashers {
    rec: blake3::Hasher,
    evo: blake3::Hasher,
}

impl Default for Hashers {
    fn default() -> Self {
        Hashers {
            rec: blake3::Hasher::new_derive_key(CTX_RECORD),
            evo: blake3::Hasher::new_derive_key(CTX_EVOLVE),
        }
    }
}

impl Hashers {
    /// [`record_hash`].
    pub fn record_hash(&mut self, body: &[u8]) -> [u8; 32] {
        self.rec.reset();
        self.rec.update(body);
        *self.rec.finalize().as_bytes()
    }

    /// [`evolve`].
    pub fn evolve(&mut self, key: &[u8; 32]) -> [u8; 32] {
        self.evo.reset();
        self.evo.update(key);
        *self.evo.finalize().as_bytes()
    }
}

/// `seal_i = keyed_hash(k_i, hash_i)`.
pub fn seal(key: &[u8; 32], hash: &[u8; 32]) -> [u8; 32] {
    *blake3::keyed_hash(key, hash).as_bytes()
}

/// `k_{i+1}` from `k_i`.
pub fn evolve(key: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key(CTX_EVOLVE, key)
}

/// The public name of an initial key (first 16 bytes, hex).
pub fn key_id(k0: &[u8; 32]) -> String {
    hex(&blake3::derive_key(CTX_KEY_ID, k0)[..16])
}

pub use crate::text::{hex, hex32_into, unhex};

/// Encode a record: serialise the body (the record without `hash`/`seal`),
/// hash it, seal it with `key`, and return the full line and its hash.
pub fn encode(rec: &Record<'_>, key: &[u8; 32]) -> Result<(Vec<u8>, [u8; 32]), serde_json::Error> {
    let mut body = serde_json::to_vec(rec)?;
    // serde_json writes `{...}`; the body is everything before the closing brace.
    body.pop();
    let h = record_hash(&body);
    let s = seal(key, &h);
    let mut line = body;
    line.reserve(SUFFIX_LEN);
    let mut hx = [0u8; 64];
    line.extend_from_slice(SUFFIX_HASH);
    hex32_into(&h, &mut hx);
    line.extend_from_slice(&hx);
    line.extend_from_slice(SUFFIX_SEAL);
    hex32_into(&s, &mut hx);
    line.extend_from_slice(&hx);
    line.extend_from_slice(SUFFIX_END);
    Ok((line, h))
}

/// The fixed-position parts of a line.
#[derive(Debug, Clone, Copy)]
pub struct Framed<'a> {
    /// The hashed bytes.
    pub body: &'a [u8],
    /// The `hash` member as stored.
    pub hash: [u8; 32],
    /// The `seal` member as stored.
    pub seal: [u8; 32],
}

/// Split a line (with its trailing `\n`) into body, hash and seal by the fixed
/// suffix. `None` if the suffix does not have the exact shape.
pub fn frame(line: &[u8]) -> Option<Framed<'_>> {
    if line.len() < SUFFIX_LEN + 2 || line.len() > MAX_LINE {
        return None;
    }
    let (body, suf) = line.split_at(line.len() - SUFFIX_LEN);
    let (a, rest) = suf.split_at(SUFFIX_HASH.len());
    let (h, rest) = rest.split_at(64);
    let (b, rest) = rest.split_at(SUFFIX_SEAL.len());
    let (s, end) = rest.split_at(64);
    if a != SUFFIX_HASH || b != SUFFIX_SEAL || end != SUFFIX_END {
        return None;
    }
    Some(Framed {
        body,
        hash: unhex::<32>(h)?,
        seal: unhex::<32>(s)?,
    })
}

/// Parse a line's JSON (the whole line, suffix included).
pub fn parse(line: &[u8]) -> Result<Record<'_>, serde_json::Error> {
    serde_json::from_slice(line)
}

pub use crate::text::log_time_shape_ok as time_shape_ok;

/// BLAKE3 over the canonical argv encoding (`u64-le(len) || arg` per element).
pub fn argv_hash(argv: &[String]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for a in argv {
        h.update(&(a.len() as u64).to_le_bytes());
        h.update(a.as_bytes());
    }
    *h.finalize().as_bytes()
}

/// Marker appended to truncated strings.
pub const TRUNC_MARK: &str = "…[truncated]";

/// Cut `s` at a char boundary, with the marker, so that its JSON-escaped form
/// (quotes excluded) is at most `max` bytes.
pub fn cap(s: &str, max: usize) -> Cow<'_, str> {
    // The bound is on the JSON-escaped bytes, the bytes that end up in the
    // line: a control character is 6 bytes there (\u0001), so a cap on raw
    // bytes let thirteen capped members and the command overflow MAX_LINE.
    if escaped_len(s) <= max {
        return Cow::Borrowed(s);
    }
    let budget = max.saturating_sub(escaped_len(TRUNC_MARK));
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let n = escaped_char_len(c);
        if used + n > budget {
            break;
        }
        used += n;
        end = i + c.len_utf8();
    }
    Cow::Owned(format!("{}{}", &s[..end], TRUNC_MARK))
}

/// Bytes `c` takes inside a JSON string as serde_json writes it.
fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Bytes of the JSON-escaped form of `s`, quotes excluded.
fn escaped_len(s: &str) -> usize {
    s.chars().map(escaped_char_len).sum()
}

/// Argument budget (JSON-escaped bytes of the argv array).
pub const ARGV_BUDGET: usize = 16384;
/// Cap for ordinary string members.
pub const STR_CAP: usize = 1024;
/// Cap for the command path.
pub const COMMAND_CAP: usize = 4096;

/// Fit `argv` into the budget. Returns the kept elements and, when cut, the summary.
pub fn fit_argv(argv: &[String]) -> (Vec<Cow<'_, str>>, Option<ArgvTruncated>) {
    let mut used = 2usize;
    let mut out = Vec::new();
    let mut cut = false;
    for a in argv {
        let l = escaped_len(a) + 3; // quotes and the comma
        if used + l <= ARGV_BUDGET {
            used += l;
            out.push(Cow::Borrowed(a.as_str()));
            continue;
        }
        // Shrink this element to what is left (escaping can grow by 6x).
        let room = ARGV_BUDGET.saturating_sub(used + 3) / 6;
        if room > TRUNC_MARK.len() {
            out.push(cap(a, room));
        }
        cut = true;
        break;
    }
    if !cut {
        return (out, None);
    }
    let total: u64 = argv.iter().map(|a| a.len() as u64).sum();
    (
        out,
        Some(ArgvTruncated {
            argc: argv.len() as u64,
            bytes: total,
            blake3: hex(&argv_hash(argv)),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_frame_parse_roundtrip() {
        let mut r = Record::new(EventKind::Decision);
        r.seq = 7;
        r.time = "2026-01-02T03:04:05.000006Z".into();
        r.host = "h\"ost".into();
        r.user = Some("alice".into());
        r.prev = hex(&[1u8; 32]).into();
        let key = [9u8; 32];
        let (line, h) = encode(&r, &key).unwrap();
        let f = frame(&line).unwrap();
        assert_eq!(f.hash, h);
        assert_eq!(record_hash(f.body), h);
        assert_eq!(f.seal, seal(&key, &h));
        let p = parse(&line).unwrap();
        assert_eq!(p.seq, 7);
        assert_eq!(p.host, "h\"ost");
        assert_eq!(p.hash.as_deref(), Some(hex(&h).as_str()));
        assert!(line.starts_with(b"{\"v\":1,\"seq\":7,"));
    }

    #[test]
    fn frame_rejects_bad_suffix() {
        let r = Record::new(EventKind::Start);
        let (mut line, _) = encode(&r, &[0; 32]).unwrap();
        let n = line.len();
        line[n - 2] = b']';
        assert!(frame(&line).is_none());
        assert!(frame(b"{}\n").is_none());
    }

    #[test]
    fn duplicate_member_is_rejected() {
        let s = br#"{"v":1,"v":1,"seq":0,"time":"x","host":"h","kind":"start","prev":"0"}"#;
        assert!(parse(s).is_err());
        let s = br#"{"v":1,"seq":0,"time":"x","host":"h","kind":"start","prev":"0","extra":1}"#;
        assert!(parse(s).is_err());
    }

    #[test]
    fn long_argv_is_cut_with_hash_of_whole() {
        let argv: Vec<String> = (0..5000).map(|i| format!("arg-{i}")).collect();
        let (kept, t) = fit_argv(&argv);
        let t = t.unwrap();
        assert!(kept.len() < argv.len());
        assert_eq!(t.argc, 5000);
        assert_eq!(t.blake3, hex(&argv_hash(&argv)));
        let j = serde_json::to_string(&kept).unwrap();
        assert!(j.len() <= ARGV_BUDGET);
        let ctl: Vec<String> = vec!["\u{1}".repeat(20000)];
        let (kept, t) = fit_argv(&ctl);
        assert!(t.is_some());
        assert!(serde_json::to_string(&kept).unwrap().len() <= ARGV_BUDGET);
    }

    #[test]
    fn hashers_match_functions() {
        let mut h = Hashers::default();
        for body in [&b""[..], b"x", &[7u8; 5000][..]] {
            assert_eq!(h.record_hash(body), record_hash(body));
        }
        let k = [3u8; 32];
        assert_eq!(h.evolve(&k), evolve(&k));
        assert_eq!(h.evolve(&k), evolve(&k));
    }

    #[test]
    fn cap_respects_char_boundary() {
        let s = "é".repeat(1000);
        let c = cap(&s, 101);
        assert!(c.len() <= 101);
        assert!(c.ends_with(TRUNC_MARK));
    }
}

/// The fields the verifier needs, read by position from a body written by the
/// writer (member order is fixed by the spec): `v`, `seq`, `time`, `host`, `kind`, `prev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub seq: u64,
    pub time: &'a str,
    pub kind: EventKind,
    pub prev: [u8; 32],
}

/// Read the [`Header`] of a body without a full JSON parse. `None` when the
/// body does not start exactly as the writer writes it (then parse it fully to
/// say why).
pub fn header(body: &[u8]) -> Option<Header<'_>> {
    let rest = body.strip_prefix(b"{\"v\":1,\"seq\":")?;
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 20 || (digits > 1 && rest[0] == b'0') {
        return None;
    }
    let seq: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let rest = rest[digits..].strip_prefix(b",\"time\":\"")?;
    let time = std::str::from_utf8(rest.get(..27)?).ok()?;
    if !time_shape_ok(time) {
        return None;
    }
    let mut rest = rest[27..].strip_prefix(b"\",\"host\":\"")?;
    // Skip the host string (escapes allowed, raw control characters not).
    loop {
        let (&c, r) = rest.split_first()?;
        rest = r;
        match c {
            b'"' => break,
            b'\\' => rest = rest.get(1..)?,
            0..=0x1f => return None,
            _ => {}
        }
    }
    let rest = rest.strip_prefix(b",\"kind\":\"")?;
    let end = rest.iter().position(|&c| c == b'"')?;
    let kind = match &rest[..end] {
        b"decision" => EventKind::Decision,
        b"session_open" => EventKind::SessionOpen,
        b"session_close" => EventKind::SessionClose,
        b"start" => EventKind::Start,
        b"continue" => EventKind::Continue,
        b"recovery" => EventKind::Recovery,
        b"issued" => EventKind::Issued,
        b"refused" => EventKind::Refused,
        b"revoked" => EventKind::Revoked,
        b"ssh_cert" => EventKind::SshCert,
        _ => return None,
    };
    let tail = body.get(body.len().checked_sub(74)?..)?;
    let hx = tail.strip_prefix(b",\"prev\":\"")?.strip_suffix(b"\"")?;
    Some(Header {
        seq,
        time,
        kind,
        prev: unhex::<32>(hx)?,
    })
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn header_agrees_with_full_parse() {
        let mut r = Record::new(EventKind::SessionClose);
        r.seq = 123456789;
        r.time = "2026-01-02T03:04:05.000006Z".into();
        r.host = "we\"ird\\host".into();
        r.prev = hex(&[0xab; 32]).into();
        r.message = Some("\"prev\":\"".into());
        let (line, _) = encode(&r, &[1; 32]).unwrap();
        let f = frame(&line).unwrap();
        let h = header(f.body).unwrap();
        assert_eq!(
            (h.seq, h.time, h.kind, h.prev),
            (
                123456789,
                "2026-01-02T03:04:05.000006Z",
                EventKind::SessionClose,
                [0xab; 32]
            )
        );
        assert!(header(b"{\"v\":1,\"seq\":01,").is_none());
        assert!(header(b"{\"v\":2,\"seq\":1,").is_none());
    }
}

#[cfg(test)]
mod escaped_len_tests {
    use super::*;

    #[test]
    fn escaped_length_is_serde_json_s() {
        let mut all: String = (0u32..0x80).filter_map(char::from_u32).collect();
        all.push_str("é€😀\u{7f}\u{2028}");
        for c in all.chars() {
            let s = c.to_string();
            assert_eq!(escaped_len(&s) + 2, json_len(&s), "{c:?}");
        }
        assert_eq!(escaped_len(&all) + 2, json_len(&all));
    }

    /// Bytes of the JSON-escaped form of `s` as serde_json writes it (quotes included).
    fn json_len(s: &str) -> usize {
        serde_json::to_string(s).unwrap().len()
    }

    #[test]
    fn cap_bounds_the_escaped_bytes() {
        for s in [
            "\u{1}".repeat(3000),
            "\"".repeat(3000),
            "é".repeat(3000),
            "a".repeat(3000),
        ] {
            for max in [16, 100, 1024] {
                let c = cap(&s, max);
                assert!(escaped_len(&c) <= max, "{max} {}", escaped_len(&c));
                assert!(c.ends_with(TRUNC_MARK));
            }
        }
        assert_eq!(cap("short", 1024), "short");
    }
}
