//! `jit-signer serve`: the signing service (docs/signer-service.md).
//!
//! One process holds the key, the ledger and the requests. Each connection
//! carries one call; the caller is the uid the kernel gives for the socket
//! (`SO_PEERCRED`), named through NSS. What a caller may do is decided by
//! `jit_core::service::rules`; this module gathers the facts, keeps the
//! requests on disk (one file each, replaced atomically; the history of
//! requests collected in the answer that approved them in one journal) and
//! writes the ledger before it changes a request.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use jit_core::keys::Signer;
use jit_core::policy::{Identity, Policy};
use jit_core::service::rules::{self, Entry};
use jit_core::service::{
    read_frame, write_frame, Answer, Ask, Call, ErrorCode, FrameError, ServiceInfo, State,
};
use jit_core::token::{self, Claims};
use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use nix::unistd::Uid;

use crate::approval::identity_of;
use crate::oncall;
use crate::{io_err, Fail};

/// Default socket path.
pub const DEFAULT_SOCKET: &str = "/run/jit-signer/socket";
/// Default state directory (requests).
pub const DEFAULT_STATE_DIR: &str = "/var/lib/jit-signer";
/// Time a client has to send its call.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest stored request file.
const MAX_ENTRY_LEN: u64 = 256 * 1024;
/// The journal of requests collected in the answer that approved them, in
/// the requests directory ([`Shared::journal`]).
const JOURNAL: &str = "collected.jsonl";
/// Largest journal read at start (a week of about a million tokens).
const MAX_JOURNAL_LEN: u64 = 1 << 30;
/// Calls one user may have open at once by default (a flood by one user
/// leaves room for the others); `serve --max-calls-per-user`.
pub const MAX_CALLS_PER_USER: usize = 8;
/// Pending requests one requester may have.
const MAX_PENDING_PER_REQUESTER: usize = 16;
/// How long decided and expired requests are kept (the ledger keeps the
/// record for good).
const RETENTION_SECS: i64 = 7 * 86_400;

/// What the service runs with.
pub(crate) struct Config {
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    pub policy: Policy,
    pub signer: Box<dyn Signer + Send>,
    pub issuer: String,
    pub ledger: jit_core::log::LogConfig,
    pub max_connections: usize,
    pub max_calls_per_user: usize,
    pub notify: Option<PathBuf>,
    /// The SSH CA key: requests with an SSH key get a certificate.
    pub ssh_ca: Option<Box<dyn Signer + Send>>,
    /// The signer's revocation state directory ([`crate::revoked`]).
    pub revocation_dir: Option<PathBuf>,
}

struct Inner {
    entries: HashMap<String, Entry>,
    /// Requests whose token is being recorded (the lock is not held while
    /// the ledger flushes): nobody else may decide or collect them meanwhile.
    deciding: std::collections::HashSet<String>,
    /// When [`Inner::prune`] last looked.
    pruned_at: i64,
    /// The requests whose history is in the journal, not a file of their own.
    journaled: HashSet<String>,
    signer: Box<dyn Signer + Send>,
    ssh_ca: Option<Box<dyn Signer + Send>>,
    issuer: String,
    requests_dir: PathBuf,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Read once at start (restart the service for a new policy).
    policy: Policy,
    /// The signer's own revocation list is consulted before every grant.
    revocation_dir: Option<PathBuf>,
    /// Run for every new request and decision ([`Shared::notify`]).
    notify_cmd: Option<PathBuf>,
    /// Signalled whenever a request changes (a waiting `fetch` re-checks).
    changed: Condvar,
    active: AtomicUsize,
    max_connections: usize,
    /// Open calls per uid.
    per_user: Mutex<HashMap<u32, usize>>,
    max_calls_per_user: usize,
    /// `issued` records waiting for the committer ([`commit`]).
    commits: Mutex<Vec<Commit>>,
    commit_ready: Condvar,
    ledger: jit_core::log::LogConfig,
    /// The journal ([`JOURNAL`]), open for appending. A request whose token
    /// is handed over in the answer that approved it (the on-call path,
    /// which may run thousands of times a second) is one line here instead
    /// of a file of its own: no inode is created per token, nor removed when
    /// it is pruned (on ext4, creating files next to recently removed ones
    /// cost up to 2 ms of kernel time each, measured).
    journal: Mutex<std::fs::File>,
    journal_path: PathBuf,
}

/// A grant whose records (`issued` for its token, `ssh_cert` for its
/// certificate) are to be made durable; `done` gets the outcome of the
/// flush that covers them.
struct Commit {
    claims: Option<Claims>,
    kid: String,
    cert: Option<CertCommit>,
    requester: String,
    approver: String,
    rule: String,
    requested: i64,
    done: std::sync::mpsc::SyncSender<Result<(), String>>,
}

/// What the `ssh_cert` record of a grant needs.
struct CertCommit {
    profile: jit_core::ssh_cert::CertProfile,
    ca_kid: String,
    ca_fingerprint: String,
    host_groups: Vec<String>,
    iat: i64,
    nbf: i64,
    reason: String,
    ticket: Option<String>,
}

/// The committer: gathers the `issued` records of concurrent approvals and
/// makes each batch durable with one write and one flush set (group
/// commit); every approval waits for the flush that covers its record.
fn commit(s: &Shared) {
    loop {
        let batch: Vec<Commit> = {
            let mut q = s.commits.lock().unwrap_or_else(|p| p.into_inner());
            while q.is_empty() {
                q = s.commit_ready.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            std::mem::take(&mut *q)
        };
        use jit_core::ledger::GrantRecord;
        let mut records: Vec<GrantRecord<'_>> = Vec::with_capacity(batch.len() * 2);
        for c in &batch {
            if let Some(claims) = &c.claims {
                records.push(GrantRecord::Token(jit_core::ledger::Issued {
                    claims,
                    kid: &c.kid,
                    requester: Some(&c.requester),
                    rule: Some(&c.rule),
                    requested: Some(c.requested),
                }));
            }
            if let Some(x) = &c.cert {
                records.push(GrantRecord::Cert(jit_core::ledger::SshCertIssued {
                    profile: &x.profile,
                    user: &c.requester,
                    host_groups: &x.host_groups,
                    kid: &x.ca_kid,
                    ca_fingerprint: &x.ca_fingerprint,
                    iat: x.iat,
                    nbf: x.nbf,
                    reason: &x.reason,
                    ticket: x.ticket.as_deref(),
                    approver: Some(&c.approver),
                    requester: Some(&c.requester),
                    rule: Some(&c.rule),
                }));
            }
        }
        let r = jit_core::ledger::append_grants_many(&s.ledger, &records)
            .map(|_| ())
            .map_err(|e| e.to_string());
        for c in batch {
            let _ = c.done.send(r.clone());
        }
    }
}

/// A refusal or a failure, as answered.
type Answered = Result<Answer, (ErrorCode, String)>;

fn fail(code: ErrorCode, msg: impl Into<String>) -> (ErrorCode, String) {
    (code, msg.into())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Run the service until the process is stopped.
pub(crate) fn serve(cfg: Config) -> Result<(), Fail> {
    let requests_dir = cfg.state_dir.join("requests");
    crate::create_private_dir(&requests_dir)?;
    let (entries, journaled) = load_entries(&requests_dir)?;
    let journal_path = requests_dir.join(JOURNAL);
    let journal = open_journal(&journal_path)?;
    let listener = bind(&cfg.socket)?;
    eprintln!(
        "jit-signer serve: listening on {} (key {}, {} stored requests)",
        cfg.socket.display(),
        cfg.signer.kid(),
        entries.len()
    );
    let shared = Arc::new(Shared {
        policy: cfg.policy,
        revocation_dir: cfg.revocation_dir,
        notify_cmd: cfg.notify,
        inner: Mutex::new(Inner {
            entries,
            signer: cfg.signer,
            ssh_ca: cfg.ssh_ca,
            issuer: cfg.issuer,
            requests_dir,
            deciding: Default::default(),
            pruned_at: i64::MIN,
            journaled,
        }),
        changed: Condvar::new(),
        active: AtomicUsize::new(0),
        max_connections: cfg.max_connections.max(1),
        per_user: Mutex::new(HashMap::new()),
        max_calls_per_user: cfg.max_calls_per_user.max(1),
        commits: Mutex::new(Vec::new()),
        commit_ready: Condvar::new(),
        ledger: cfg.ledger,
        journal: Mutex::new(journal),
        journal_path,
    });
    {
        let s = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("jit-signer-commit".into())
            .spawn(move || commit(&s))
            .with_context(|| "starting the ledger committer")
            .map_err(io_err)?;
    }
    shared.prune(now());
    for conn in listener.incoming() {
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors or the like: the service keeps serving.
                eprintln!("jit-signer serve: accept: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if shared.active.fetch_add(1, Ordering::SeqCst) >= shared.max_connections {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            refuse_busy(conn);
            continue;
        }
        let s = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("jit-signer-call".into())
            .spawn(move || {
                handle(&s, conn);
                s.active.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            eprintln!("jit-signer serve: cannot start a thread for a call: {e}");
        }
    }
    Ok(())
}

/// Answer `busy` without reading the call (best effort, never blocking long).
fn refuse_busy(mut conn: UnixStream) {
    let _ = conn.set_write_timeout(Some(Duration::from_millis(100)));
    let a = Answer::error(
        ErrorCode::Busy,
        "the signing service is at its connection limit; try again",
    );
    let _ = write_frame(&mut conn, &a.encode());
}

/// Bind the socket, replacing a stale one (a socket nobody listens on).
fn bind(path: &Path) -> Result<UnixListener, Fail> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {}", dir.display()))
            .map_err(io_err)?;
    }
    if let Ok(md) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt as _;
        if !md.file_type().is_socket() {
            return Err(io_err(anyhow!(
                "{} exists and is not a socket: not replacing it",
                path.display()
            )));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(io_err(anyhow!(
                "{} is in use: another jit-signer serve is running",
                path.display()
            )));
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale socket {}", path.display()))
            .map_err(io_err)?;
    }
    let l = UnixListener::bind(path)
        .with_context(|| format!("listening on {}", path.display()))
        .map_err(io_err)?;
    // Anyone may connect: the kernel names the caller, the rules decide.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .with_context(|| format!("chmod {}", path.display()))
        .map_err(io_err)?;
    Ok(l)
}

/// The stored requests: one file each, then the journal's lines. A file or
/// line that cannot be read (torn by a power cut) is reported and ignored.
/// Returns them with the ids that came from the journal.
fn load_entries(dir: &Path) -> Result<(HashMap<String, Entry>, HashSet<String>), Fail> {
    let mut out = HashMap::new();
    let rd = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))
        .map_err(io_err)?;
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
            continue;
        };
        let path = e.path();
        let loaded = jit_core::fs::read_private_file(&path, MAX_ENTRY_LEN)
            .map_err(|e| e.to_string())
            .and_then(|f| f.ok_or_else(|| "gone".to_string()))
            .and_then(|f| parse_entry(&f.text, Some(id)));
        match loaded {
            Ok(en) => {
                out.insert(en.id.clone(), en);
            }
            Err(why) => eprintln!("jit-signer serve: ignoring {}: {why}", path.display()),
        }
    }
    let path = dir.join(JOURNAL);
    let mut journaled = HashSet::new();
    let text = jit_core::fs::read_private_file(&path, MAX_JOURNAL_LEN)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(io_err)?
        .map(|f| f.text)
        .unwrap_or_default();
    for (n, line) in text.lines().enumerate() {
        match parse_entry(line, None) {
            Ok(en) if !out.contains_key(&en.id) => {
                journaled.insert(en.id.clone());
                out.insert(en.id.clone(), en);
            }
            Ok(en) => eprintln!(
                "jit-signer serve: ignoring {} line {}: request {} has a file",
                path.display(),
                n + 1,
                en.id
            ),
            Err(why) => eprintln!(
                "jit-signer serve: ignoring {} line {}: {why}",
                path.display(),
                n + 1
            ),
        }
    }
    Ok((out, journaled))
}

/// One stored request (version 1), named `id` when it comes from a file.
fn parse_entry(text: &str, id: Option<&str>) -> Result<Entry, String> {
    if text.len() as u64 > MAX_ENTRY_LEN {
        return Err(format!("longer than {MAX_ENTRY_LEN} bytes"));
    }
    let en = serde_json::from_str::<Entry>(text).map_err(|e| e.to_string())?;
    (id.map_or(true, |id| en.id == id) && en.v == 1)
        .then_some(en)
        .ok_or_else(|| "id or version does not match".to_string())
}

/// Rewrite the journal without the lines of `gone` (and without lines that
/// do not parse: they were ignored at start), atomically; returns it open
/// for appending. The caller holds the journal's lock.
fn compact_journal(path: &Path, gone: &HashSet<String>) -> Result<std::fs::File, String> {
    let text = jit_core::fs::read_private_file(path, MAX_JOURNAL_LEN)
        .map_err(|e| e.to_string())?
        .map(|f| f.text)
        .unwrap_or_default();
    let mut kept = String::new();
    for line in text.lines() {
        if parse_entry(line, None).is_ok_and(|e| !gone.contains(&e.id)) {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    jit_core::fs::replace_private_file(path, kept.as_bytes()).map_err(|e| e.to_string())?;
    open_journal(path).map_err(|f| format!("{:#}", f.err))
}

/// Open the journal for appending (created 0600 when missing). A last line
/// torn by a power cut is ended first, so the next entry is a line of its own.
fn open_journal(path: &Path) -> Result<std::fs::File, Fail> {
    use std::os::unix::fs::FileExt as _;
    let (mut f, _) = jit_core::fs::open_create(path, 0o600, true)
        .with_context(|| "opening the journal of collected requests")
        .map_err(io_err)?;
    let len = f
        .metadata()
        .with_context(|| format!("stat {}", path.display()))
        .map_err(io_err)?
        .len();
    let mut last = [0u8; 1];
    if len > 0 && f.read_at(&mut last, len - 1).is_ok() && last[0] != b'\n' {
        f.write_all(b"\n")
            .with_context(|| format!("ending the torn last line of {}", path.display()))
            .map_err(io_err)?;
    }
    Ok(f)
}

fn entry_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

/// Write a request's file durably (atomic replace).
fn write_entry(dir: &Path, e: &Entry) -> Result<(), (ErrorCode, String)> {
    let mut bytes = serde_json::to_vec(e).unwrap_or_default();
    bytes.push(b'\n');
    jit_core::fs::replace_private_file(&entry_path(dir, &e.id), &bytes).map_err(|err| {
        fail(
            ErrorCode::Unavailable,
            format!("the service cannot store request {}: {err}; retry", e.id),
        )
    })
}

impl Inner {
    /// Write `e` durably, then take it as the current state of its request.
    fn store(&mut self, e: Entry) -> Result<(), (ErrorCode, String)> {
        write_entry(&self.requests_dir, &e)?;
        self.entries.insert(e.id.clone(), e);
        Ok(())
    }

    /// Refuse a request whose token is being recorded right now.
    fn not_deciding(&self, id: &str) -> Result<(), (ErrorCode, String)> {
        if self.deciding.contains(id) {
            return Err(fail(
                ErrorCode::Busy,
                format!("request {id} is being decided right now; try again"),
            ));
        }
        Ok(())
    }

    /// Forget requests decided or expired more than [`RETENTION_SECS`] ago
    /// (their files too); a token never collected goes with them once its
    /// request is that old. Returns the forgotten ids whose lines are in
    /// the journal ([`Shared::prune`] rewrites it without them).
    fn prune(&mut self, now: i64) -> HashSet<String> {
        let mut journaled = HashSet::new();
        // At most once a minute: it looks at every request.
        if now.saturating_sub(self.pruned_at) < 60 {
            return journaled;
        }
        self.pruned_at = now;
        let old: Vec<String> = self
            .entries
            .values()
            .filter(|e| {
                let end = match e.state_at(now) {
                    State::Pending => return false,
                    State::Expired => e.expires(),
                    _ => e.decided_at.unwrap_or(e.request.created),
                };
                now.saturating_sub(end) > RETENTION_SECS
            })
            .map(|e| e.id.clone())
            .collect();
        for id in old {
            self.entries.remove(&id);
            if self.journaled.remove(&id) {
                journaled.insert(id);
            } else {
                let _ = std::fs::remove_file(entry_path(&self.requests_dir, &id));
            }
        }
        journaled
    }

    fn entry(&self, id: &str) -> Result<&Entry, (ErrorCode, String)> {
        self.entries
            .get(id)
            .ok_or_else(|| fail(ErrorCode::UnknownRequest, format!("no request {id}")))
    }
}

impl Shared {
    /// Prune the requests ([`Inner::prune`]) and, when some were in the
    /// journal, rewrite it without them (atomic replace; appends wait).
    fn prune(&self, now: i64) {
        let gone = lock(self).prune(now);
        if gone.is_empty() {
            return;
        }
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        match compact_journal(&self.journal_path, &gone) {
            Ok(f) => *journal = f,
            // The lines stay; the next start reads and prunes them again.
            Err(why) => eprintln!(
                "jit-signer serve: pruning {}: {why}",
                self.journal_path.display()
            ),
        }
    }

    /// Append a collected request's history to the journal, without
    /// waiting for the disk: the durable record is the ledger's `issued`;
    /// a power cut may lose or tear the line, never a token.
    fn journal_entry(&self, e: &Entry) -> Result<(), (ErrorCode, String)> {
        let mut line = serde_json::to_vec(e).unwrap_or_default();
        line.push(b'\n');
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        journal.write_all(&line).map_err(|err| {
            fail(
                ErrorCode::Unavailable,
                format!("the service cannot store request {}: {err}", e.id),
            )
        })
    }

    /// Run the notify command with the event's JSON document on stdin
    /// (docs/signer-service.md, "Notifications"), in the background: it
    /// never delays or fails a call; a failure or a hang (killed after 10 s)
    /// is logged.
    fn notify(&self, event: &str, info: &jit_core::service::RequestInfo, by: Option<&str>) {
        let Some(cmd) = self.notify_cmd.clone() else {
            return;
        };
        let doc = serde_json::json!({
            "v": 1,
            "event": event,
            "time": now(),
            "by": by,
            "request": info,
        });
        let mut body = serde_json::to_vec(&doc).unwrap_or_default();
        body.push(b'\n');
        let id = info.id.clone();
        let event = event.to_string();
        let spawned = std::thread::Builder::new()
            .name("jit-signer-notify".into())
            .spawn(move || {
                if let Err(why) = oncall::run_notify(&cmd, &body) {
                    eprintln!(
                        "jit-signer serve: notify {} for {event} of {id}: {why}",
                        cmd.display()
                    );
                }
            });
        if let Err(e) = spawned {
            eprintln!("jit-signer serve: notify not run: {e}");
        }
    }
}

fn lock(s: &Shared) -> MutexGuard<'_, Inner> {
    // A panic in another call cannot leave a request half-changed (each
    // change is one file replace), so a poisoned lock is still usable.
    s.inner.lock().unwrap_or_else(|p| p.into_inner())
}

fn handle(s: &Shared, mut conn: UnixStream) {
    let _ = conn.set_read_timeout(Some(CALL_TIMEOUT));
    let _ = conn.set_write_timeout(Some(CALL_TIMEOUT));
    let uid = match getsockopt(&conn, PeerCredentials) {
        Ok(c) => Uid::from_raw(c.uid()),
        Err(e) => {
            eprintln!("jit-signer serve: no peer credentials: {e}");
            return;
        }
    };
    let Some(_slot) = UserSlot::take(s, uid.as_raw()) else {
        let a = Answer::error(
            ErrorCode::Busy,
            format!(
                "you have {} calls open at the signing service; try again",
                s.max_calls_per_user
            ),
        );
        let _ = write_frame(&mut conn, &a.encode());
        return;
    };
    let body = match read_frame(&mut conn) {
        Ok(b) => b,
        Err(FrameError::Closed) => return,
        Err(FrameError::Io(e)) => {
            eprintln!("jit-signer serve: uid {uid}: reading the call: {e}");
            return;
        }
        Err(FrameError::Bad(r)) => {
            log(uid, None, "-", Err(&(r.code, r.message.clone())));
            let _ = write_frame(&mut conn, &Answer::error(r.code, r.message).encode());
            return;
        }
    };
    // Whether the client has gone (closed its end): a waiting fetch stops.
    let gone = || {
        use nix::sys::socket::{recv, MsgFlags};
        use std::os::fd::AsRawFd as _;
        let mut b = [0u8; 1];
        matches!(
            recv(
                conn.as_raw_fd(),
                &mut b,
                MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT
            ),
            Ok(0)
        )
    };
    let answered = match Call::decode(&body) {
        Err(r) => Err((r.code, r.message)),
        Ok(call) => dispatch(s, uid, &call, &gone).map(|a| (a, call)),
    };
    let answer = match answered {
        Ok((a, call)) => {
            log(uid, Some(&call), op_id(&call), Ok(&a));
            a
        }
        Err(e) => {
            log(uid, None, "-", Err(&e));
            Answer::error(e.0, e.1)
        }
    };
    if let Err(e) = write_frame(&mut conn, &answer.encode()) {
        if answer.token.is_some() {
            // The client went away with its token undelivered: it stays
            // collected (fetch hands it over once); the ledger holds it.
            eprintln!("jit-signer serve: uid {uid}: a token answer was not delivered: {e}");
        }
    }
}

fn op_id(c: &Call) -> &str {
    match c {
        Call::Fetch { id, .. } | Call::Approve { id } | Call::Reject { id, .. } => id,
        Call::Status { id: Some(id) } => id,
        _ => "-",
    }
}

/// One line per call on stderr (the journal): who, what, the outcome. Never a token.
fn log(uid: Uid, call: Option<&Call>, id: &str, r: Result<&Answer, &(ErrorCode, String)>) {
    let op = call.map_or("?", |c| c.op().name());
    let outcome = match r {
        Ok(a) => {
            let id = a.request.as_ref().map_or(id, |r| r.id.as_str());
            format!("{op} {id}: ok")
        }
        Err((code, _)) => format!("{op} {id}: {code}"),
    };
    eprintln!("jit-signer serve: uid {uid}: {outcome}");
}

/// One of a user's open calls (at most `max_calls_per_user`); given back on drop.
struct UserSlot<'s> {
    s: &'s Shared,
    uid: u32,
}

impl<'s> UserSlot<'s> {
    fn take(s: &'s Shared, uid: u32) -> Option<UserSlot<'s>> {
        let mut m = s.per_user.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(uid).or_default();
        if *n >= s.max_calls_per_user {
            return None;
        }
        *n += 1;
        Some(UserSlot { s, uid })
    }
}

impl Drop for UserSlot<'_> {
    fn drop(&mut self) {
        let mut m = self.s.per_user.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.uid);
            }
        }
    }
}

fn dispatch(s: &Shared, uid: Uid, call: &Call, gone: &dyn Fn() -> bool) -> Answered {
    let caller = identity_of(uid).map_err(|f| {
        fail(
            ErrorCode::UnknownCaller,
            format!("the service cannot name uid {uid}: {:#}", f.err),
        )
    })?;
    let now = now();
    match call {
        Call::Request { ask, collect } => request(s, uid, &caller, ask, *collect, now),
        Call::Fetch { id, wait } => fetch(s, &caller, id, *wait, gone),
        Call::Requests => {
            let g = lock(s);
            let mut list: Vec<_> = g
                .entries
                .values()
                .filter(|e| e.state_at(now) == State::Pending && e.may_approve(&s.policy, &caller))
                .map(|e| e.info(now))
                .collect();
            list.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
            Ok(Answer {
                requests: Some(list),
                ..Answer::ok()
            })
        }
        Call::Approve { id } => approve(s, &caller, id, now),
        Call::Reject { id, reason } => reject(s, &caller, id, reason, now),
        Call::Status { id: None } => {
            let g = lock(s);
            let count =
                |st: State| g.entries.values().filter(|e| e.state_at(now) == st).count() as u64;
            Ok(Answer {
                service: Some(ServiceInfo {
                    caller: caller.name.clone(),
                    kid: g.signer.kid().to_string(),
                    pending: count(State::Pending),
                    approved: count(State::Approved),
                }),
                ..Answer::ok()
            })
        }
        Call::Status { id: Some(id) } => {
            let g = lock(s);
            let e = g.entry(id)?;
            if !e.visible_to(&s.policy, &caller) {
                return Err(fail(ErrorCode::UnknownRequest, format!("no request {id}")));
            }
            Ok(Answer {
                request: Some(e.info(now)),
                ..Answer::ok()
            })
        }
    }
}

fn request(
    s: &Shared,
    uid: Uid,
    caller: &Identity,
    ask: &Ask,
    collect: bool,
    now: i64,
) -> Answered {
    let nonce = token::random_cti()
        .map_err(|e| fail(ErrorCode::Unavailable, format!("no randomness: {e}")))?;
    let file = ask.request_file(&caller.name, uid.as_raw(), now, token::hex(&nonce));
    let (req, _, _) = file
        .to_request(now)
        .map_err(|e| fail(ErrorCode::BadAsk, e))?;
    if file.ssh.is_some() && lock(s).ssh_ca.is_none() {
        return Err(fail(
            ErrorCode::Policy,
            "this signing service issues no SSH certificates (it runs without --ssh-ca)",
        ));
    }
    // Refuse early what no approver could approve.
    let allowed = s
        .policy
        .check(caller, &req)
        .map_err(|r| fail(ErrorCode::Policy, format!("refused by policy: {r}")))?;
    // On call under a rule that auto-approves: approved by the service,
    // recorded as auto:SOURCE. The list is read before the lock is taken.
    let auto = s
        .policy
        .rule(&allowed.rule)
        .and_then(|r| r.auto_approve.as_deref())
        .and_then(|src| s.policy.oncall(src))
        .filter(|o| oncall::members(o).iter().any(|n| n == &caller.name))
        .map(|o| jit_core::policy::auto_approver(&o.name));
    let e = Entry::new(file, allowed.rule.clone());
    // A key or certificate field no approval could make signable is refused
    // now, with the profile's reason (the facts are placeholders).
    let probe = rules::CertFacts {
        grant_id: [0; 16],
        serial: 1,
        nonce: [0; jit_core::ssh_cert::NONCE_LEN],
        nbf: e.request.not_before.map_or(now, |t| t.max(now)),
    };
    let fp = match rules::certificate(&e, &allowed, &probe) {
        Some(Err(r)) => {
            return Err(fail(
                ErrorCode::BadAsk,
                format!("SSH certificate: {r} ({})", r.code()),
            ))
        }
        Some(Ok(p)) => Some(p.key_fingerprint),
        None => None,
    };
    // Refuse early a user or key the signer's own list revokes (recorded:
    // a revoked user's attempts are in the ledger).
    crate::revoked::check_issue(s.revocation_dir.as_deref(), &caller.name, fp.as_deref()).map_err(
        |r| {
            record_refusal(s, &e, None, r.code, &r.message);
            by_list(r)
        },
    )?;
    s.prune(now);
    let mut g = lock(s);
    if let Some(by) = &auto {
        // Approved at once; with `collect`, the token is handed over in
        // this answer (the request is then stored once, as collected). If
        // the grant fails (the ledger), the request waits for a person.
        match grant(s, g, e.clone(), caller, by, allowed, now, collect) {
            Ok((info, handed)) => {
                s.changed.notify_all();
                s.notify("auto_approved", &info, Some(by));
                return Ok(Answer {
                    request: Some(info),
                    token: handed.token,
                    certificate: handed.certificate,
                    ..Answer::ok()
                });
            }
            Err((_, why)) => {
                eprintln!("jit-signer serve: auto-approval by {by} failed: {why}");
                g = lock(s);
            }
        }
    }
    // A request that waits for a person counts against its requester's limit.
    let pending = g
        .entries
        .values()
        .filter(|x| x.request.requester == caller.name && x.state_at(now) == State::Pending)
        .count();
    if pending >= MAX_PENDING_PER_REQUESTER {
        return Err(fail(
            ErrorCode::Busy,
            format!(
                "you have {pending} pending requests; withdraw some (jit-signer reject ID --reason ...) or wait for them"
            ),
        ));
    }
    let info = e.info(now);
    g.store(e)?;
    s.changed.notify_all();
    drop(g);
    s.notify("request", &info, None);
    Ok(Answer {
        request: Some(info),
        ..Answer::ok()
    })
}

fn fetch(s: &Shared, caller: &Identity, id: &str, wait: u64, gone: &dyn Fn() -> bool) -> Answered {
    let deadline = Instant::now() + Duration::from_secs(wait);
    let mut g = lock(s);
    loop {
        let now = now();
        let e = g.entry(id)?;
        if g.deciding.contains(id) {
            // Its token is being recorded: wait for the outcome as for a decision.
            g = s
                .changed
                .wait_timeout(g, Duration::from_millis(100))
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
            continue;
        }
        match rules::fetch(e, caller, now) {
            // A client that has gone would lose the token it is handed.
            Ok(()) if gone() => {
                return Err(fail(ErrorCode::Unavailable, "the client has gone"));
            }
            Ok(()) => {
                let mut done = e.clone();
                let token = done.token.take();
                let certificate = done.certificate.take();
                done.state = State::Fetched;
                let info = done.info(now);
                g.store(done)?;
                return Ok(Answer {
                    request: Some(info),
                    token,
                    certificate,
                    ..Answer::ok()
                });
            }
            Err((ErrorCode::Pending, msg)) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err((ErrorCode::Pending, msg));
                }
                // Wake at least each second to see whether the client has
                // gone: a killed client does not hold a call for 15 minutes.
                if gone() {
                    return Err((ErrorCode::Pending, msg));
                }
                g = s
                    .changed
                    .wait_timeout(g, left.min(Duration::from_secs(1)))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            Err(r) => return Err(r),
        }
    }
}

fn approve(s: &Shared, caller: &Identity, id: &str, now: i64) -> Answered {
    let g = lock(s);
    g.not_deciding(id)?;
    let e = g.entry(id)?.clone();
    let requester = identity_of(Uid::from_raw(e.request.uid)).map_err(|f| {
        fail(
            ErrorCode::UnknownCaller,
            format!("the requester of {id} cannot be looked up: {:#}", f.err),
        )
    })?;
    let allowed = match rules::approve(&e, &s.policy, caller, &requester, now) {
        Ok(a) => a,
        Err((code, msg)) => {
            if matches!(
                code,
                ErrorCode::SelfApproval | ErrorCode::NotAnApprover | ErrorCode::Policy
            ) {
                record_refusal(s, &e, Some(&caller.name), code.code(), &msg);
            }
            return Err((code, msg));
        }
    };
    // A user the signer's list revokes approves nothing either: revoking
    // someone ends every power they had through the signer.
    if let Err(r) = crate::revoked::check_issue(s.revocation_dir.as_deref(), &caller.name, None) {
        if r.exit != crate::revoked::EXIT_REFUSED {
            return Err(by_list(r));
        }
        let msg = format!("refused: approver {} is revoked: {r}", caller.name);
        record_refusal(s, &e, Some(&caller.name), "approver_revoked", &msg);
        return Err(fail(ErrorCode::NotAnApprover, msg));
    }
    let (info, _) = grant(s, g, e, &requester, &caller.name, allowed, now, false)?;
    s.changed.notify_all();
    s.notify("approved", &info, Some(&caller.name));
    Ok(Answer {
        request: Some(info),
        ..Answer::ok()
    })
}

/// Issue the token of an approved request: sign (under the lock), have the
/// committer make its ledger record durable (without the lock: concurrent
/// approvals share one flush), then record the request as approved (with
/// the token, for the requester's `fetch`) or, with `hand_over` (the
/// requester is the caller, waiting), as collected, returning the token.
/// Nothing changes if any step before the ledger record fails; while the
/// record is being made, the request is marked as being decided. Returns
/// with the lock released.
#[allow(clippy::too_many_arguments)]
fn grant(
    s: &Shared,
    mut g: MutexGuard<'_, Inner>,
    e: Entry,
    requester: &Identity,
    approver: &str,
    allowed: jit_core::policy::Allowed,
    now: i64,
    hand_over: bool,
) -> Result<(jit_core::service::RequestInfo, Handed), (ErrorCode, String)> {
    let (req, nbf, exp) = e
        .request
        .to_request(now)
        .map_err(|m| fail(ErrorCode::BadAsk, m))?;
    let cti = token::random_cti()
        .map_err(|err| fail(ErrorCode::Unavailable, format!("no randomness: {err}")))?;
    let claims = Claims {
        iss: g.issuer.clone(),
        sub: requester.name.clone(),
        iat: now,
        nbf,
        exp,
        cti,
        hosts: e.request.host_groups.clone(),
        cmds: req.cmds.clone(),
        run_as: e.request.run_as.clone(),
        run_as_groups: e.request.run_as_groups.clone(),
        shell: e.request.shell,
        reason: e.request.reason.clone(),
        ticket: e.request.ticket.clone(),
        approver: Some(approver.to_string()),
        break_glass: false,
        max_uses: allowed.max_uses,
    };
    // The list may have changed since the request: checked again, and a
    // refusal is recorded.
    let list_refusal = |r: crate::revoked::Refused| {
        record_refusal(s, &e, Some(approver), r.code, &r.message);
        by_list(r)
    };
    crate::revoked::check_issue(s.revocation_dir.as_deref(), &requester.name, None)
        .map_err(list_refusal)?;
    let tok = if req.wants_token() {
        Some(token::issue_b64(&claims, g.signer.as_ref()).map_err(|err| {
            fail(
                ErrorCode::Unavailable,
                format!("signing failed: {err}; nothing changed, retry"),
            )
        })?)
    } else {
        None
    };
    let cert = match &g.ssh_ca {
        None if e.request.ssh.is_some() => {
            return Err(fail(
                ErrorCode::Unavailable,
                "this signing service has no SSH CA key (--ssh-ca): nothing was issued",
            ))
        }
        None => None,
        Some(ca) => sign_cert(ca.as_ref(), &e, &allowed, cti, nbf, &requester.name, |fp| {
            crate::revoked::check_issue(s.revocation_dir.as_deref(), &requester.name, Some(fp))
                .map_err(list_refusal)
        })?,
    };
    let kid = g.signer.kid().to_string();
    let dir = g.requests_dir.clone();
    g.deciding.insert(e.id.clone());
    drop(g);
    let undecide = |id: &str| {
        lock(s).deciding.remove(id);
        s.changed.notify_all();
    };
    // The ledger record is durable before the request changes: a token
    // without a record cannot exist. A stop after it leaves a recorded token
    // nobody received and the request pending.
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    {
        let mut q = s.commits.lock().unwrap_or_else(|p| p.into_inner());
        q.push(Commit {
            claims: tok.as_ref().map(|_| claims.clone()),
            kid,
            cert: cert.as_ref().map(|(profile, signed, ca_kid)| CertCommit {
                profile: profile.clone(),
                ca_kid: ca_kid.clone(),
                ca_fingerprint: signed.ca_fingerprint.clone(),
                host_groups: e.request.host_groups.clone(),
                iat: now,
                nbf,
                reason: e.request.reason.clone(),
                ticket: e.request.ticket.clone(),
            }),
            requester: requester.name.clone(),
            approver: approver.to_string(),
            rule: allowed.rule.clone(),
            requested: e.request.created,
            done: tx,
        });
        s.commit_ready.notify_one();
    }
    let recorded = rx
        .recv()
        .unwrap_or_else(|_| Err("the ledger committer stopped".into()));
    if let Err(err) = recorded {
        undecide(&e.id);
        return Err(fail(
            ErrorCode::Unavailable,
            format!("the issuance ledger cannot be written ({err}); nothing was issued, retry"),
        ));
    }
    // The list again, now that the records are durable: a `revoke --user`
    // that read the ledger before them reads it again after writing its
    // list, so whichever ran second sees the other (docs/revocation.md
    // §6.1). A grant refused here is in the ledger but handed to nobody.
    let fp = cert.as_ref().map(|(p, _, _)| p.key_fingerprint.as_str());
    if let Err(r) = crate::revoked::check_issue(s.revocation_dir.as_deref(), &requester.name, fp) {
        undecide(&e.id);
        let (code, msg) = list_refusal(r);
        return Err((
            code,
            format!("{msg} (revoked while it was being issued: recorded, not handed over)"),
        ));
    }
    let mut done = e;
    done.decided_by = Some(approver.to_string());
    done.decided_at = Some(now);
    done.token_id = tok.as_ref().map(|_| token::hex(&claims.cti));
    done.rule = allowed.rule;
    done.ssh = cert
        .as_ref()
        .map(|(p, _, _)| jit_core::service::SshIssued::of(p));
    let certificate = cert.map(|(_, signed, _)| signed.openssh);
    let handed = if hand_over {
        done.state = State::Fetched;
        Handed {
            token: tok,
            certificate,
        }
    } else {
        done.state = State::Approved;
        done.token = tok;
        done.certificate = certificate;
        Handed::default()
    };
    let info = done.info(now);
    let written = if hand_over {
        s.journal_entry(&done)
    } else {
        write_entry(&dir, &done)
    };
    if let Err(r) = written {
        undecide(&done.id);
        return Err(r);
    }
    let mut g = lock(s);
    g.deciding.remove(&done.id);
    if hand_over {
        g.journaled.insert(done.id.clone());
    }
    g.entries.insert(done.id.clone(), done);
    drop(g);
    Ok((info, handed))
}

/// A refusal by the signer's own revocation list, as answered: revoked
/// users and keys are refused by the policy's code; a list that cannot be
/// read refuses everything as `unavailable` (nothing changed).
fn by_list(r: crate::revoked::Refused) -> (ErrorCode, String) {
    if r.exit == crate::revoked::EXIT_REFUSED {
        fail(ErrorCode::Policy, format!("refused: {r} ({})", r.code))
    } else {
        fail(
            ErrorCode::Unavailable,
            format!(
                "the signer's revocation list cannot be used ({}): {r}; nothing was issued",
                r.code
            ),
        )
    }
}

/// The credentials handed over in the answer that approved them.
#[derive(Default)]
struct Handed {
    token: Option<String>,
    certificate: Option<String>,
}

/// A certificate signed for a grant: its profile, the signed certificate,
/// the CA's kid.
type SignedCert = (
    jit_core::ssh_cert::CertProfile,
    jit_core::ssh_cert::Signed,
    String,
);

/// Sign the certificate of a grant, if its request asks for one: the
/// profile (`rules::certificate`), a random serial and nonce, the CA's
/// signature, checked after signing. Returns the profile, the signed
/// certificate and the CA's kid.
fn sign_cert(
    ca: &dyn Signer,
    e: &Entry,
    allowed: &jit_core::policy::Allowed,
    grant_id: [u8; 16],
    nbf: i64,
    user: &str,
    key_allowed: impl FnOnce(&str) -> Result<(), (ErrorCode, String)>,
) -> Result<Option<SignedCert>, (ErrorCode, String)> {
    let (serial, nonce) = jit_core::ssh_cert::random_serial_and_nonce()
        .map_err(|err| fail(ErrorCode::Unavailable, err))?;
    let facts = rules::CertFacts {
        grant_id,
        serial,
        nonce,
        nbf,
    };
    let Some(profile) = rules::certificate(e, allowed, &facts) else {
        return Ok(None);
    };
    let profile = profile.map_err(|r| {
        fail(
            ErrorCode::Policy,
            format!("SSH certificate refused: {r} ({})", r.code()),
        )
    })?;
    key_allowed(&profile.key_fingerprint)?;
    let signed = jit_core::ssh_cert::sign(&profile, ca, user).map_err(|err| {
        fail(
            ErrorCode::Unavailable,
            format!("signing the SSH certificate failed: {err}; nothing changed, retry"),
        )
    })?;
    Ok(Some((profile, signed, ca.kid().to_string())))
}

fn reject(s: &Shared, caller: &Identity, id: &str, reason: &str, now: i64) -> Answered {
    let mut g = lock(s);
    g.not_deciding(id)?;
    let e = g.entry(id)?.clone();
    rules::reject(&e, &s.policy, caller, now)?;
    let withdrawn = e.request.requester == caller.name;
    // An approver's rejection is a refusal the ledger records.
    if !withdrawn {
        let r = refusal(&e, Some(&caller.name), "rejected", reason);
        jit_core::ledger::append_refused(&s.ledger, &r).map_err(|err| {
            fail(
                ErrorCode::Unavailable,
                format!("the issuance ledger cannot be written ({err}); nothing changed, retry"),
            )
        })?;
    }
    let mut done = e;
    done.state = State::Rejected;
    done.decided_by = Some(caller.name.clone());
    done.decided_at = Some(now);
    done.reason = Some(reason.to_string());
    let info = done.info(now);
    g.store(done)?;
    s.changed.notify_all();
    drop(g);
    s.notify(
        if withdrawn { "withdrawn" } else { "rejected" },
        &info,
        Some(&caller.name),
    );
    Ok(Answer {
        request: Some(info),
        ..Answer::ok()
    })
}

/// The `refused` record of request `e`; `approver`: who was deciding (none
/// at request time).
fn refusal(e: &Entry, approver: Option<&str>, code: &str, msg: &str) -> jit_core::ledger::Refusal {
    let f = &e.request;
    jit_core::ledger::Refusal {
        reason_code: code.to_string(),
        message: msg.to_string(),
        rule: Some(e.rule.clone()),
        requester: Some(f.requester.clone()),
        user: Some(f.requester.clone()),
        host_groups: f.host_groups.clone(),
        grants: f.grants().unwrap_or_default(),
        run_as: f.run_as.clone(),
        run_as_groups: f.run_as_groups.clone(),
        shell: f.shell,
        reason: Some(f.reason.clone()),
        ticket: f.ticket.clone(),
        approver: approver.map(str::to_string),
        max_uses: f.max_uses,
        ..Default::default()
    }
}

/// Record a refusal (best effort: the refusal stands either way): an
/// approval refused by the rules (`approver` the caller), or a grant refused
/// by the signer's revocation list, with the list's own code (`user_revoked`,
/// `ssh_key_revoked`, `approver_revoked` ...; `approver` none at request time).
fn record_refusal(s: &Shared, e: &Entry, approver: Option<&str>, code: &str, msg: &str) {
    let r = refusal(e, approver, code, msg);
    if let Err(err) = jit_core::ledger::append_refused(&s.ledger, &r) {
        let by = approver.map(|a| format!(" by {a}")).unwrap_or_default();
        eprintln!(
            "jit-signer serve: the refusal of {}{by} was not recorded: {err}",
            e.id
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(nonce: &str) -> Entry {
        let ask: Ask = serde_json::from_value(serde_json::json!({
            "host_groups": ["web"], "commands": ["/usr/bin/systemctl restart nginx"],
            "shell": false, "run_as": ["root"], "run_as_groups": [], "ttl": 1800,
            "not_before": null, "reason": "INC-1", "ticket": null, "max_uses": null
        }))
        .unwrap();
        Entry::new(
            ask.request_file("alice", 1000, 1_800_000_000, nonce.into()),
            "r".into(),
        )
    }

    #[test]
    fn compaction_keeps_the_other_lines_drops_torn_ones_and_appends_after() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(JOURNAL);
        let [a, b, c] = ["aa", "bb", "cc"].map(entry);
        let mut text = String::new();
        for e in [&a, &b, &c] {
            text.push_str(&serde_json::to_string(e).unwrap());
            text.push('\n');
        }
        text.push_str("{\"v\":1,\"id\":\"tor");
        jit_core::fs::replace_private_file(&path, text.as_bytes()).unwrap();
        let mut f = compact_journal(&path, &HashSet::from([b.id.clone()])).unwrap();
        f.write_all(b"{}\n").unwrap();
        let got = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(lines.len(), 3, "{got}");
        assert_eq!(parse_entry(lines[0], None).unwrap().id, a.id);
        assert_eq!(parse_entry(lines[1], None).unwrap().id, c.id);
        assert_eq!(lines[2], "{}");
    }

    #[test]
    fn a_torn_last_line_is_ended_before_the_next_append() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(JOURNAL);
        jit_core::fs::replace_private_file(&path, b"{\"v\":1,\"id\":\"tor").unwrap();
        let Ok(mut f) = open_journal(&path) else {
            panic!("open_journal failed")
        };
        let e = entry("dd");
        f.write_all(format!("{}\n", serde_json::to_string(&e).unwrap()).as_bytes())
            .unwrap();
        let Ok((got, journaled)) = load_entries(d.path()) else {
            panic!("load_entries failed")
        };
        assert_eq!(got.len(), 1);
        assert!(journaled.contains(&e.id));
    }
}
