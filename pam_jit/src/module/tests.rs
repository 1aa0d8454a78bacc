//! The module driven through fake PAM and OS sides, for the paths the
//! real-sudo suite (tests/ci.d/40-pam-sudo.sh) cannot reach.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use jit_core::host::Approved;
use jit_core::keys::SigningKeyWithKid;
use jit_core::token::{Claims, Grant};
use std::cell::RefCell;
use std::ffi::CString;
use std::path::Path;
use std::path::PathBuf;

const NOW: i64 = 1_800_000_000;

/// A hook's answer, as these tests assert it (a denial is `PAM_AUTH_ERR` in
/// authenticate and `PAM_PERM_DENIED` elsewhere: `jit_core::host` tests that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allow,
    Deny,
    Ignore,
}

impl From<PamAnswer> for Outcome {
    fn from(a: PamAnswer) -> Outcome {
        match a {
            PamAnswer::Success => Outcome::Allow,
            PamAnswer::Ignore => Outcome::Ignore,
            PamAnswer::AuthErr | PamAnswer::PermDenied => Outcome::Deny,
        }
    }
}

/// [`super::handle`], its answer as an [`Outcome`].
fn handle(hook: Hook, pam: &mut dyn PamIo, os: &dyn Os, args: &[&CStr]) -> Outcome {
    super::handle(hook, pam, os, args).into()
}

struct FakePam {
    user: Option<String>,
    ruser: Option<String>,
    said: RefCell<Vec<(bool, String)>>,
    data: Option<Approved>,
    answer: Option<String>,
}

impl FakePam {
    /// Did the module tell the user, as an error, something containing `needle`?
    fn said_error(&self, needle: &str) -> bool {
        self.said
            .borrow()
            .iter()
            .any(|(e, m)| *e && m.contains(needle))
    }
}

impl PamIo for FakePam {
    fn user(&self) -> Option<String> {
        self.user.clone()
    }
    fn ruser(&self) -> Option<String> {
        self.ruser.clone()
    }
    fn tty(&self) -> Option<String> {
        None
    }
    fn service(&self) -> Option<String> {
        Some("jit-unit".into())
    }
    fn say(&self, error: bool, msg: &str) {
        self.said.borrow_mut().push((error, msg.to_string()));
    }
    fn prompt(&self, msg: &str) -> Option<String> {
        self.said
            .borrow_mut()
            .push((false, format!("prompt: {msg}")));
        self.answer.clone()
    }
    fn store(&mut self, data: Approved) -> bool {
        self.data = Some(data);
        true
    }
    fn load(&self) -> Option<Approved> {
        self.data.clone()
    }
}

struct FakeOs {
    cmdline: Vec<u8>,
    environ: Vec<u8>,
    sudo_command: Option<Vec<u8>>,
    /// `None`: /proc/self/exe cannot be read.
    exe: Option<&'static str>,
    hooked: bool,
    exe_reads: std::cell::Cell<u32>,
    /// (socket, message) of each trace left for an unrecorded event.
    traces: RefCell<Vec<(PathBuf, String)>>,
}

impl Os for FakeOs {
    fn cmdline(&self) -> std::io::Result<Vec<u8>> {
        Ok(self.cmdline.clone())
    }
    fn environ(&self) -> std::io::Result<Vec<u8>> {
        Ok(self.environ.clone())
    }
    fn exe(&self) -> std::io::Result<PathBuf> {
        self.exe_reads.set(self.exe_reads.get() + 1);
        self.exe
            .map(PathBuf::from)
            .ok_or_else(|| std::io::Error::from_raw_os_error(nix::libc::EACCES))
    }
    fn getenv_hooked(&self) -> bool {
        self.hooked
    }
    fn sudo_getenv(&self, name: &str) -> Option<Vec<u8>> {
        (name == "SUDO_COMMAND")
            .then(|| self.sudo_command.clone())
            .flatten()
    }
    fn real_uid(&self) -> u32 {
        1000
    }
    fn user_name(&self, uid: u32) -> Option<String> {
        match uid {
            0 => Some("root".into()),
            1000 => Some("alice".into()),
            _ => None,
        }
    }
    fn user_by_name(&self, name: &str) -> Option<String> {
        ["root", "alice", "bob"]
            .contains(&name)
            .then(|| name.to_string())
    }
    fn group_name(&self, _gid: u32) -> Option<String> {
        None
    }
    fn group_by_name(&self, name: &str) -> Option<String> {
        (name == "staff").then(|| name.to_string())
    }
    fn hostname(&self) -> Option<String> {
        Some("unit-host".into())
    }
    fn now(&self) -> f64 {
        NOW as f64
    }
    fn pid(&self) -> u32 {
        4242
    }
    fn unrecorded(&self, socket: &Path, u: &Unrecorded<'_>) {
        self.traces
            .borrow_mut()
            .push((socket.to_path_buf(), log::syslog::unrecorded_message(u)));
    }
}

/// A root-owned scratch directory (the suite runs as root) with a valid
/// configuration, a trusted key and a token for alice to run /usr/bin/true.
struct Fixture {
    dir: PathBuf,
    config_arg: CString,
    token: String,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the test suite runs as root (tests/run.sh)"
        );
        let dir = Path::new("/run").join(format!("pam-jit-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap();
        std::fs::write(
            dir.join("trusted-keys"),
            format!("{}\n", key.trusted_keys_line()),
        )
        .unwrap();
        let conf = dir.join("pam_jit.conf");
        std::fs::write(
            &conf,
            format!(
                "host_groups = unit\ntrusted_keys = {d}/trusted-keys\nlog = {d}/audit.log\n\
                 state = {d}/log.state\nseal_key_export = {d}/seal-key.initial\nsyslog = no\n\
                 replay_cache = {d}/replay\nsyslog_socket = {d}/syslog.sock\n\
                 revocation_list = {d}/revocation.list\nrevocation_state = {d}/revocation-state\n",
                d = dir.display()
            ),
        )
        .unwrap();
        let claims = Fixture::base_claims();
        let token = jit_core::token::issue_b64(&claims, &key).unwrap();
        Fixture {
            config_arg: CString::new(format!("config={}", conf.display())).unwrap(),
            dir,
            token,
        }
    }

    fn base_claims() -> Claims {
        Claims {
            iss: "unit".into(),
            sub: "alice".into(),
            iat: NOW - 10,
            nbf: NOW - 10,
            exp: NOW + 3600,
            cti: [1u8; 16],
            hosts: vec!["unit".into()],
            cmds: vec![Grant {
                argv: vec!["/usr/bin/true".into()],
                any_args: false,
            }],
            run_as: vec!["root".into()],
            run_as_groups: vec![],
            shell: false,
            reason: "unit test".into(),
            ticket: None,
            approver: None,
            break_glass: false,
            max_uses: None,
        }
    }

    fn claims(&self) -> Claims {
        Fixture::base_claims()
    }

    fn os(&self) -> FakeOs {
        FakeOs {
            cmdline: b"sudo\0-n\0/usr/bin/true\0".to_vec(),
            environ: format!("PATH=/usr/bin\0JIT_TOKEN={}\0", self.token).into_bytes(),
            sudo_command: Some(b"/usr/bin/true".to_vec()),
            exe: Some("/usr/bin/sudo"),
            hooked: true,
            exe_reads: std::cell::Cell::new(0),
            traces: RefCell::new(Vec::new()),
        }
    }

    fn run(&self, hook: Hook, pam: &mut FakePam, os: &FakeOs) -> Outcome {
        handle(hook, pam, os, &[self.config_arg.as_c_str()])
    }

    fn records(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn alice() -> FakePam {
    FakePam {
        user: Some("alice".into()),
        ruser: Some("alice".into()),
        said: RefCell::new(Vec::new()),
        data: None,
        answer: None,
    }
}

#[test]
fn allowed_then_session_open_and_close() {
    // The allowed decision is the session's start record; opening
    // writes nothing, closing records the end.
    let f = Fixture::new("allowed");
    let mut pam = alice();
    let os = f.os();
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
    pam.user = Some("root".into()); // PAM_USER is the target from setcred on
    assert_eq!(f.run(Hook::OpenSession, &mut pam, &os), Outcome::Allow);
    assert_eq!(f.run(Hook::CloseSession, &mut pam, &os), Outcome::Allow);
    let kinds: Vec<_> = f
        .records()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["start", "decision", "session_close"]);
    let r = f.records();
    assert_eq!(r[1]["token_id"], "01".repeat(16));
    assert_eq!(r[2]["token_id"], r[1]["token_id"]);
    assert_eq!(r[2]["pid"], r[1]["pid"]);
    assert!(r[2]["session_secs"].as_f64().unwrap() >= 0.0);
}

#[test]
fn sudo_rs_is_chosen_by_exe_and_needs_no_sudo_command() {
    let f = Fixture::new("sudo-rs");
    // sudo-rs: no getenv hook, no SUDO_COMMAND; the command line decides.
    let os = FakeOs {
        sudo_command: None,
        exe: Some("/usr/bin/sudo-rs"),
        hooked: false,
        ..f.os()
    };
    assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Allow);
    assert_eq!(os.exe_reads.get(), 1);
    // The same facts under any other exe take the sudo 1.9 path: denied.
    let os19 = FakeOs {
        sudo_command: None,
        hooked: false,
        ..f.os()
    };
    assert_eq!(f.run(Hook::Account, &mut alice(), &os19), Outcome::Deny);
    // A bare name under sudo-rs: denied, whatever SUDO_COMMAND says.
    let bare = FakeOs {
        cmdline: b"sudo\0-n\0true\0".to_vec(),
        sudo_command: Some(b"/usr/bin/true".to_vec()),
        exe: Some("/usr/bin/sudo-rs"),
        hooked: false,
        ..f.os()
    };
    let mut pam = alice();
    assert_eq!(f.run(Hook::Account, &mut pam, &bare), Outcome::Deny);
    assert!(pam.said_error("under sudo-rs"));
    let codes: Vec<_> = f
        .records()
        .iter()
        .filter_map(|r| r["reason_code"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        codes,
        ["ok", "command_undetermined", "command_undetermined"]
    );
}

#[test]
fn the_getenv_hook_selects_the_sudo_19_rules_without_reading_exe() {
    let f = Fixture::new("hooked");
    // sudo 1.9 (getenv defined by the main program): /proc/self/exe is
    // not read, so its name cannot matter and its absence cannot deny.
    for exe in [Some("/usr/bin/sudo"), Some("/opt/x/sudo-rs"), None] {
        let os = FakeOs { exe, ..f.os() };
        assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Allow);
        assert_eq!(os.exe_reads.get(), 0, "exe read under the hook ({exe:?})");
    }
    // Under the hook a bare name is sudo 1.9's to resolve: SUDO_COMMAND
    // says what it resolved to (sudo-rs's rules would deny a bare name).
    let bare = FakeOs {
        cmdline: b"sudo\0-n\0true\0".to_vec(),
        exe: Some("/usr/bin/sudo-rs"),
        ..f.os()
    };
    assert_eq!(f.run(Hook::Account, &mut alice(), &bare), Outcome::Allow);
    // Without the hook, an unreadable exe is a denial with its reason.
    let unreadable = FakeOs {
        exe: None,
        hooked: false,
        ..f.os()
    };
    let mut pam = alice();
    assert_eq!(f.run(Hook::Account, &mut pam, &unreadable), Outcome::Deny);
    assert!(pam.said_error("cannot read which sudo is running"));
    // ... and a readable one that is not sudo-rs takes the 1.9 rules,
    // which hold here only because this fake getenv answers SUDO_COMMAND
    // (a real sudo without the hook has none: denied, see 50-pam-sudo-rs).
    let plain = FakeOs {
        hooked: false,
        ..f.os()
    };
    assert_eq!(f.run(Hook::Account, &mut alice(), &plain), Outcome::Allow);
    assert_eq!(plain.exe_reads.get(), 1);
}

#[test]
fn pam_ruser_or_user_disagreeing_with_the_real_uid_is_denied_and_logged() {
    let f = Fixture::new("mismatch");
    let os = f.os();
    let mut pam = FakePam {
        ruser: Some("bob".into()),
        ..alice()
    };
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    // targetpw/rootpw make PAM_USER the target: not supported, denied.
    let mut pam = FakePam {
        user: Some("root".into()),
        ..alice()
    };
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    let codes: Vec<_> = f
        .records()
        .iter()
        .filter_map(|r| r["reason_code"].as_str().map(str::to_string))
        .collect();
    assert_eq!(codes, ["user_mismatch", "user_mismatch"]);
    assert!(pam.said_error("targetpw"));
}

#[test]
fn session_without_an_approval_or_for_another_target_is_denied() {
    let f = Fixture::new("session");
    let os = f.os();
    let mut pam = FakePam {
        user: Some("root".into()),
        ..alice()
    };
    assert_eq!(f.run(Hook::OpenSession, &mut pam, &os), Outcome::Deny);
    assert!(pam.said_error("no jit decision"));
    // The refusal is recorded (an earlier account module may have ended
    // the stack before pam_jit ran: nothing else would record it).
    let r = f.records().pop().unwrap();
    assert_eq!(r["kind"], "session_open");
    assert_eq!(r["allowed"], false);
    assert_eq!(r["reason_code"], "no_decision");
    assert_eq!(r["run_as_user"], "root");
    let mut pam = alice();
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
    pam.user = Some("bob".into());
    assert_eq!(f.run(Hook::OpenSession, &mut pam, &os), Outcome::Deny);
    let last = f.records().pop().unwrap();
    assert_eq!(last["reason_code"], "run_as_mismatch");
    // close_session never denies, even without data.
    let mut fresh = alice();
    assert_eq!(f.run(Hook::CloseSession, &mut fresh, &os), Outcome::Ignore);
}

#[test]
fn authenticate_without_a_token_is_ignored_with_one_allows() {
    let f = Fixture::new("auth");
    let mut os = f.os();
    let mut pam = alice();
    assert_eq!(f.run(Hook::Authenticate, &mut pam, &os), Outcome::Allow);
    os.environ = b"PATH=/usr/bin\0".to_vec();
    assert_eq!(f.run(Hook::Authenticate, &mut pam, &os), Outcome::Ignore);
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
}

#[test]
fn prompt_argument_asks_through_the_conversation() {
    let f = Fixture::new("prompt");
    let mut os = f.os();
    os.environ = b"PATH=/usr/bin\0".to_vec();
    let prompt = CString::new("prompt").unwrap();
    let args = [f.config_arg.as_c_str(), prompt.as_c_str()];
    // Without the argument: no prompt, denied.
    let mut pam = FakePam {
        answer: Some(f.token.clone()),
        ..alice()
    };
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    assert!(!pam
        .said
        .borrow()
        .iter()
        .any(|(_, m)| m.starts_with("prompt:")));
    // With it: the answer is the token.
    let mut pam = FakePam {
        answer: Some(f.token.clone()),
        ..alice()
    };
    assert_eq!(handle(Hook::Account, &mut pam, &os, &args), Outcome::Allow);
    assert!(pam
        .said
        .borrow()
        .iter()
        .any(|(_, m)| m == "prompt: JIT token: "));
    // No answer (sudo -n, or an answer sudo refused: the conversation
    // fails): denied, saying why and what to do instead.
    let mut pam = alice();
    assert_eq!(handle(Hook::Account, &mut pam, &os, &args), Outcome::Deny);
    assert!(pam.said_error("the prompt got no answer"));
    assert!(pam.said_error("set JIT_TOKEN instead"));
    // authenticate prompts too, instead of ignoring.
    let mut pam = FakePam {
        answer: Some(f.token.clone()),
        ..alice()
    };
    assert_eq!(
        handle(Hook::Authenticate, &mut pam, &os, &args),
        Outcome::Allow
    );
}

#[test]
fn use_limited_token_counts_in_acct_mgmt_only() {
    let f = Fixture::new("uses");
    let key = SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap();
    let mut claims = f.claims();
    claims.max_uses = Some(2);
    claims.cti = [2u8; 16];
    let tok = jit_core::token::issue_b64(&claims, &key).unwrap();
    let mut os = f.os();
    os.environ = format!("JIT_TOKEN={tok}\0").into_bytes();
    let mut pam = alice();
    // authenticate never counts a use.
    for _ in 0..3 {
        assert_eq!(f.run(Hook::Authenticate, &mut pam, &os), Outcome::Allow);
    }
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    let last = f.records().pop().unwrap();
    assert_eq!(last["reason_code"], "uses_exhausted");
    assert_eq!(last["token_id"], "02".repeat(16));
    // sudo -l runs nothing and does not count (nor is it refused).
    os.cmdline = b"sudo\0-l\0".to_vec();
    os.sudo_command = Some(b"list".to_vec());
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
    // The cache was last written long after this token expired (the
    // clock has since been stepped back): its count may have been
    // pruned, so the token is refused.
    let mut claims = f.claims();
    claims.max_uses = Some(2);
    claims.cti = [3u8; 16];
    let tok = jit_core::token::issue_b64(&claims, &key).unwrap();
    let os = FakeOs {
        environ: format!("JIT_TOKEN={tok}\0").into_bytes(),
        ..f.os()
    };
    let later = std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW as u64 + 3600 + 601);
    std::fs::File::options()
        .write(true)
        .open(f.dir.join("replay"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Deny);
    let last = f.records().pop().unwrap();
    assert_eq!(last["reason_code"], "clock_stepped_back");
}

#[test]
fn a_group_without_a_user_runs_as_the_invoking_user() {
    // sudo -g staff CMD runs CMD as the invoking user with group staff
    // (sudoers), so a token's run-as root does not cover it ...
    let f = Fixture::new("group-only");
    let mut os = f.os();
    os.cmdline = b"sudo\0-n\0-g\0staff\0/usr/bin/true\0".to_vec();
    let mut pam = alice();
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    let last = f.records().pop().unwrap();
    assert_eq!(last["reason_code"], "run_as_not_granted");
    assert_eq!(last["run_as_user"], "alice");
    assert_eq!(last["run_as_group"], "staff");
    // ... and one granting alice with group staff does, through the session.
    let key = SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap();
    let mut claims = f.claims();
    claims.run_as = vec!["alice".into()];
    claims.run_as_groups = vec!["staff".into()];
    let tok = jit_core::token::issue_b64(&claims, &key).unwrap();
    os.environ = format!("JIT_TOKEN={tok}\0").into_bytes();
    let mut pam = alice();
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
    let last = f.records().pop().unwrap();
    assert_eq!(last["reason_code"], "ok");
    assert_eq!(last["run_as_user"], "alice");
    // PAM_USER stays alice for the session: the approved target.
    assert_eq!(f.run(Hook::OpenSession, &mut pam, &os), Outcome::Allow);
}

#[test]
fn break_glass_is_single_use_loud_and_flagged() {
    let f = Fixture::new("bg");
    let key = SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap();
    let mut claims = f.claims();
    claims.break_glass = true;
    claims.max_uses = Some(1);
    claims.cti = [3u8; 16];
    let tok = jit_core::token::issue_b64(&claims, &key).unwrap();
    let mut os = f.os();
    os.environ = format!("JIT_TOKEN={tok}\0").into_bytes();
    // The alert goes to the configured socket even with `syslog = no`.
    let rx = std::os::unix::net::UnixDatagram::bind(f.dir.join("syslog.sock")).unwrap();
    rx.set_nonblocking(true).unwrap();
    let mut pam = alice();
    // authenticate accepts it without spending the single use.
    assert_eq!(f.run(Hook::Authenticate, &mut pam, &os), Outcome::Allow);
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
    assert!(
        pam.said
            .borrow()
            .iter()
            .any(|(_, m)| m.starts_with("jit: BREAK-GLASS access: this single use is recorded")),
        "{:?}",
        pam.said.borrow()
    );
    let rec = f.records().pop().unwrap();
    assert_eq!(rec["break_glass"], true);
    assert_eq!(rec["allowed"], true);
    // One emerg line per decision (authenticate, acct_mgmt), none for
    // anything else; each carries the anchor of its record.
    let mut lines = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = rx.recv(&mut buf) {
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(lines.len(), 2, "{lines:?}");
    for l in &lines {
        assert!(l.starts_with("<80>"), "{l}");
        assert!(
            l.contains("BREAK-GLASS allowed=yes user=alice run_as=root"),
            "{l}"
        );
    }
    assert!(
        lines[1].contains(&format!("seq={} ", rec["seq"])),
        "{lines:?}"
    );
    // The second use is refused, and still flagged.
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    let rec = f.records().pop().unwrap();
    assert_eq!(rec["reason_code"], "uses_exhausted");
    assert_eq!(rec["break_glass"], true);
    assert_eq!(rec["allowed"], false);
}

#[test]
fn revoked_token_is_denied_and_a_bad_list_denies_everything() {
    use jit_core::revocation::{encode_text, sign, RevocationList};
    use std::os::unix::fs::PermissionsExt as _;
    let f = Fixture::new("revoked");
    let key = SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap();
    let list = f.dir.join("revocation.list");
    let install = |l: &RevocationList| {
        std::fs::write(&list, encode_text(&sign(l, &key).unwrap())).unwrap();
        std::fs::set_permissions(&list, std::fs::Permissions::from_mode(0o644)).unwrap();
    };
    let os = f.os();
    // Never seen a list: allowed (default deny_once_seen).
    assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Allow);
    let mut l = RevocationList {
        iss: "unit".into(),
        iat: NOW,
        version: 1,
        ..Default::default()
    };
    install(&l);
    assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Allow);
    let rec = f.records().pop().unwrap();
    assert!(rec["message"]
        .as_str()
        .unwrap()
        .ends_with("(revocation list version 1)"));
    // Revoke the fixture's token id: denied in acct_mgmt and authenticate.
    l.version = 2;
    l.tokens.insert([1u8; 16], NOW + 3600);
    install(&l);
    let mut pam = alice();
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    let rec = f.records().pop().unwrap();
    assert_eq!(rec["reason_code"], "revoked");
    assert_eq!(rec["token_id"], "01".repeat(16));
    assert!(pam.said_error("is revoked (revocation list version 2)"));
    assert_eq!(f.run(Hook::Authenticate, &mut alice(), &os), Outcome::Deny);
    // Garbage in place of the list: every token denied.
    std::fs::write(&list, "garbage\n").unwrap();
    assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Deny);
    assert_eq!(
        f.records().pop().unwrap()["reason_code"],
        "revocation_list_invalid"
    );
    // Gone after one was seen: denied.
    std::fs::remove_file(&list).unwrap();
    assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Deny);
    assert_eq!(
        f.records().pop().unwrap()["reason_code"],
        "revocation_list_missing"
    );
}

#[test]
fn token_set_twice_is_denied() {
    let f = Fixture::new("twice");
    let mut os = f.os();
    os.environ = format!("JIT_TOKEN={t}\0JIT_TOKEN={t}\0", t = f.token).into_bytes();
    let mut pam = alice();
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    assert_eq!(f.records().pop().unwrap()["reason_code"], "malformed");
}

/// No audit, no root, but a trace: when the configuration or the log is
/// unusable the denial is told and left at authpriv.err.
#[test]
fn unrecorded_events_leave_a_syslog_trace() {
    let f = Fixture::new("unrecorded");
    let sock = f.dir.join("syslog.sock");
    // The configuration cannot be read: the default socket.
    let os = f.os();
    let mut pam = alice();
    let missing = CString::new(format!("config={}/nope.conf", f.dir.display())).unwrap();
    assert_eq!(
        handle(Hook::Account, &mut pam, &os, &[missing.as_c_str()]),
        Outcome::Deny
    );
    let t = os.traces.borrow();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].0, Path::new("/dev/log"));
    assert!(t[0].1.starts_with(
        "jit-unrecorded v1 event=decision allowed=no reason=config_unusable user=alice uid=1000 command=-: "
    ), "{}", t[0].1);
    assert!(t[0].1.contains("nope.conf"), "{}", t[0].1);
    drop(t);
    // Bad module arguments.
    let os = f.os();
    let bad = CString::new("bogus").unwrap();
    assert_eq!(
        handle(Hook::OpenSession, &mut alice(), &os, &[bad.as_c_str()]),
        Outcome::Deny
    );
    assert!(os.traces.borrow()[0].1.starts_with(
        "jit-unrecorded v1 event=session_open allowed=no reason=module_args_invalid "
    ));
    // An allowed decision whose record cannot be written: denied, traced
    // on the configured socket with what the answer would have been.
    let os = f.os();
    std::fs::create_dir(f.dir.join("audit.log")).unwrap();
    let mut pam = alice();
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    let t = os.traces.borrow();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].0, sock);
    assert!(t[0].1.starts_with(
        "jit-unrecorded v1 event=decision allowed=no reason=audit_log_unwritable user=alice uid=1000 command=/usr/bin/true: "
    ), "{}", t[0].1);
    assert!(
        t[0].1
            .ends_with("; the decision (allowed, reason ok) was not recorded, so the answer is no"),
        "{}",
        t[0].1
    );
    drop(t);
    // The end of an allowed session that cannot be recorded.
    std::fs::remove_dir(f.dir.join("audit.log")).unwrap();
    let os = f.os();
    let mut pam = alice();
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
    pam.user = Some("root".into());
    assert_eq!(f.run(Hook::OpenSession, &mut pam, &os), Outcome::Allow);
    std::fs::rename(f.dir.join("audit.log"), f.dir.join("audit.log.1")).unwrap();
    std::fs::create_dir(f.dir.join("audit.log")).unwrap();
    assert_eq!(f.run(Hook::CloseSession, &mut pam, &os), Outcome::Ignore);
    let t = os.traces.borrow();
    assert_eq!(t.len(), 1, "{t:?}");
    assert!(t[0].1.starts_with(
        "jit-unrecorded v1 event=session_close allowed=yes reason=audit_log_unwritable user=alice uid=1000 command=/usr/bin/true: "
    ), "{}", t[0].1);
    // A decision that was recorded leaves no trace.
    std::fs::remove_dir(f.dir.join("audit.log")).unwrap();
    std::fs::rename(f.dir.join("audit.log.1"), f.dir.join("audit.log")).unwrap();
    let os = f.os();
    assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Allow);
    assert!(os.traces.borrow().is_empty());
}

#[test]
fn module_arguments_are_strict() {
    let f = Fixture::new("args");
    let os = f.os();
    for bad in ["colour=blue", "config=relative/path", "debugx"] {
        let mut pam = alice();
        let arg = CString::new(bad).unwrap();
        assert_eq!(
            handle(Hook::Account, &mut pam, &os, &[arg.as_c_str()]),
            Outcome::Deny,
            "{bad}"
        );
        assert!(pam.said.borrow()[0].1.contains("PAM configuration error"));
    }
    let mut pam = alice();
    let debug = CString::new("debug").unwrap();
    let outcome = handle(
        Hook::Account,
        &mut pam,
        &os,
        &[f.config_arg.as_c_str(), debug.as_c_str()],
    );
    assert_eq!(outcome, Outcome::Allow);
    assert!(pam
        .said
        .borrow()
        .iter()
        .any(|(e, m)| !e && m.contains("checked /usr/bin/true as root")));
}

/// SSH_CONNECTION in the invoking environment is gathered like JIT_TOKEN:
/// a missing token inside an SSH session is told how to send one.
#[test]
fn no_token_in_an_ssh_session_names_sendenv() {
    let f = Fixture::new("ssh");
    for (env, ssh) in [
        ("PATH=/usr/bin\0", false),
        (
            "PATH=/usr/bin\0SSH_CONNECTION=10.0.0.1 50000 10.0.0.2 22\0",
            true,
        ),
    ] {
        let mut os = f.os();
        os.environ = env.as_bytes().to_vec();
        let mut pam = alice();
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
        assert!(pam.said_error("no JIT token"));
        assert_eq!(pam.said_error("SendEnv JIT_TOKEN"), ssh);
        assert_eq!(f.records().pop().unwrap()["reason_code"], "no_token");
    }
}

/// `sudo JIT_TOKEN=<token> CMD`: the token is neither shown nor logged,
/// and the record says what sudo was asked to do.
#[test]
fn a_token_given_as_a_sudo_argument_is_never_shown_or_logged() {
    let f = Fixture::new("tokenarg");
    let mut os = f.os();
    os.cmdline = format!("sudo\0-n\0JIT_TOKEN={}\0/usr/bin/true\0", f.token).into_bytes();
    os.environ = b"PATH=/usr/bin\0".to_vec();
    let mut pam = alice();
    assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    let said = format!("{:?}", pam.said.borrow());
    assert!(!said.contains(&f.token), "{said}");
    assert!(said.contains("JIT_TOKEN=…"), "{said}");
    let log = std::fs::read_to_string(f.dir.join("audit.log")).unwrap();
    assert!(!log.contains(&f.token));
    let r = f.records().pop().unwrap();
    assert_eq!(r["reason_code"], "command_undetermined");
    assert!(r["message"]
        .as_str()
        .unwrap()
        .ends_with("(sudo's argv: sudo -n JIT_TOKEN=<token not logged> /usr/bin/true)"));
}
