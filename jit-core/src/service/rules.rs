//! What the signing service decides about a request, pure: who may see,
//! fetch, approve or reject it in which state (docs/signer-service.md). The
//! service gathers the facts (the caller from SO_PEERCRED and NSS, the
//! stored request, the time, the policy) and carries out the outcome.

use serde::{Deserialize, Serialize};

use super::{Ask, ErrorCode, RequestInfo, SshIssued, State};
use crate::policy::{Allowed, Identity, Policy, RequestFile, REQUEST_LIFETIME_SECS};

/// A request as the service stores it (one file per request, replaced
/// atomically on every change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Storage format version (1).
    pub v: u32,
    pub id: String,
    pub request: RequestFile,
    /// The rule that covered it when it was made.
    pub rule: String,
    pub state: State,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub reason: Option<String>,
    pub token_id: Option<String>,
    /// The token, between approval and the requester's fetch.
    pub token: Option<String>,
    /// The certificate granted, as answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshIssued>,
    /// The certificate, between approval and the requester's fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

impl Ask {
    /// The request the service stores for this ask: the requester and uid
    /// are the caller's (the kernel's), `created` the time of the call,
    /// `nonce` fresh randomness (hex) so that two equal asks get two ids.
    pub fn request_file(
        &self,
        requester: &str,
        uid: u32,
        created: i64,
        nonce: String,
    ) -> RequestFile {
        RequestFile {
            v: 1,
            requester: requester.to_string(),
            uid,
            created,
            nonce,
            host_groups: self.host_groups.clone(),
            commands: self.commands.clone(),
            shell: self.shell,
            run_as: self.run_as.clone(),
            run_as_groups: self.run_as_groups.clone(),
            ttl: self.ttl,
            not_before: self.not_before,
            reason: self.reason.clone(),
            ticket: self.ticket.clone(),
            max_uses: self.max_uses,
            ssh: self.ssh.clone(),
        }
    }
}

/// A refusal: the code and the sentence for the caller.
pub type Refusal = (ErrorCode, String);

fn no(code: ErrorCode, msg: impl Into<String>) -> Refusal {
    (code, msg.into())
}

impl Entry {
    /// A new pending request.
    pub fn new(request: RequestFile, rule: String) -> Entry {
        let id = crate::policy::request_id(&request.encode());
        Entry {
            v: 1,
            id,
            request,
            rule,
            state: State::Pending,
            decided_by: None,
            decided_at: None,
            reason: None,
            token_id: None,
            token: None,
            ssh: None,
            certificate: None,
        }
    }

    /// When it can no longer be approved.
    pub fn expires(&self) -> i64 {
        self.request.created.saturating_add(REQUEST_LIFETIME_SECS)
    }

    /// The state at `now`: a pending request past its lifetime is expired.
    pub fn state_at(&self, now: i64) -> State {
        match self.state {
            State::Pending if now > self.expires() => State::Expired,
            s => s,
        }
    }

    /// The ask, as a call carried it (the inverse of [`Ask::request_file`]).
    pub fn ask(&self) -> Ask {
        let r = &self.request;
        Ask {
            host_groups: r.host_groups.clone(),
            commands: r.commands.clone(),
            shell: r.shell,
            run_as: r.run_as.clone(),
            run_as_groups: r.run_as_groups.clone(),
            ttl: r.ttl,
            not_before: r.not_before,
            reason: r.reason.clone(),
            ticket: r.ticket.clone(),
            max_uses: r.max_uses,
            ssh: r.ssh.clone(),
        }
    }

    /// As answered (never with the token).
    pub fn info(&self, now: i64) -> RequestInfo {
        RequestInfo {
            id: self.id.clone(),
            requester: self.request.requester.clone(),
            state: self.state_at(now),
            rule: Some(self.rule.clone()),
            created: self.request.created,
            expires: self.expires(),
            ask: self.ask(),
            decided_by: self.decided_by.clone(),
            decided_at: self.decided_at,
            reason: self.reason.clone(),
            token_id: self.token_id.clone(),
            ssh: self.ssh.clone(),
        }
    }

    fn is_requester(&self, caller: &Identity) -> bool {
        self.request.requester == caller.name
    }

    /// May `caller` decide it (an approver of its rule, never the requester)?
    pub fn may_approve(&self, policy: &Policy, caller: &Identity) -> bool {
        !self.is_requester(caller)
            && policy
                .check_approver(&self.rule, &self.request.requester, caller)
                .is_ok()
    }

    /// May `caller` see it (`status ID`)? Its requester and its approvers.
    pub fn visible_to(&self, policy: &Policy, caller: &Identity) -> bool {
        self.is_requester(caller) || self.may_approve(policy, caller)
    }

    /// Why a decided or expired request cannot be decided now.
    fn undecided(&self, now: i64) -> Result<(), Refusal> {
        match self.state_at(now) {
            State::Pending => Ok(()),
            State::Expired => Err(no(
                ErrorCode::Expired,
                format!(
                    "request {} expired undecided (requests are valid for {}); the requester asks again",
                    self.id,
                    crate::token::human_duration(REQUEST_LIFETIME_SECS as u64)
                ),
            )),
            s => Err(no(
                ErrorCode::AlreadyDecided,
                format!(
                    "request {} is already decided ({}) by {}",
                    self.id,
                    state_name(s),
                    self.decided_by.as_deref().unwrap_or("?")
                ),
            )),
        }
    }
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Pending => "pending",
        State::Approved => "approved",
        State::Fetched => "approved, token collected",
        State::Rejected => "rejected",
        State::Expired => "expired",
    }
}

/// `fetch`: the requester collects the token once. `Ok(())` means: hand
/// over `entry.token` and mark it fetched.
pub fn fetch(entry: &Entry, caller: &Identity, now: i64) -> Result<(), Refusal> {
    if !entry.is_requester(caller) {
        return Err(no(
            ErrorCode::NotYours,
            format!(
                "request {} is {}'s: only the requester collects its token",
                entry.id, entry.request.requester
            ),
        ));
    }
    match entry.state_at(now) {
        State::Approved if entry.token.is_some() || entry.certificate.is_some() => Ok(()),
        State::Approved | State::Fetched => Err(no(
            ErrorCode::AlreadyFetched,
            format!(
                "the token of request {} was already collected (it is handed over once); its id is {}",
                entry.id,
                entry.token_id.as_deref().unwrap_or("?")
            ),
        )),
        State::Pending => Err(no(
            ErrorCode::Pending,
            format!(
                "request {} is waiting for an approver (rule {}); wait with: jit-signer fetch --wait {}",
                entry.id, entry.rule, entry.id
            ),
        )),
        State::Rejected => Err(no(
            ErrorCode::Rejected,
            format!(
                "request {} was rejected by {}: {}",
                entry.id,
                entry.decided_by.as_deref().unwrap_or("?"),
                entry.reason.as_deref().unwrap_or("")
            ),
        )),
        State::Expired => Err(no(
            ErrorCode::Expired,
            format!("request {} expired undecided; ask again", entry.id),
        )),
    }
}

/// `approve`: may `caller` approve it now, and under which grant? The
/// requester's identity is looked up again at approval (groups change).
/// Self-approval is refused before the policy is read.
pub fn approve(
    entry: &Entry,
    policy: &Policy,
    caller: &Identity,
    requester: &Identity,
    now: i64,
) -> Result<Allowed, Refusal> {
    if entry.is_requester(caller) || requester.name == caller.name {
        return Err(no(
            ErrorCode::SelfApproval,
            format!(
                "{} cannot approve their own request {}",
                caller.name, entry.id
            ),
        ));
    }
    entry.undecided(now)?;
    let (req, _, _) = entry
        .request
        .to_request(now)
        .map_err(|e| no(ErrorCode::BadAsk, format!("request {}: {e}", entry.id)))?;
    let allowed = policy
        .check(requester, &req)
        .map_err(|r| no(ErrorCode::Policy, format!("refused by policy: {r}")))?;
    policy
        .check_approver(&allowed.rule, &requester.name, caller)
        .map_err(|r| no(ErrorCode::NotAnApprover, format!("refused: {r}")))?;
    Ok(allowed)
}

/// What the service needs to sign a certificate besides the decision.
#[derive(Debug, Clone, Copy)]
pub struct CertFacts {
    /// The grant id (the token's `cti` when there is a token).
    pub grant_id: [u8; 16],
    pub serial: u64,
    pub nonce: [u8; crate::ssh_cert::NONCE_LEN],
    /// The grant's window start (approval time or the requested later start).
    pub nbf: i64,
}

/// The certificate of an approved request, if it asks for one: the profile
/// from the request, the rule's allowance and the facts, or why none can be
/// signed (docs/ssh-cert.md, docs/signer-policy.md "SSH certificates"). The
/// certificate's window is the grant's: it never outlives the token.
pub fn certificate(
    entry: &Entry,
    allowed: &Allowed,
    facts: &CertFacts,
) -> Option<Result<crate::ssh_cert::CertProfile, crate::ssh_cert::Reason>> {
    let ask = entry.request.ssh.as_ref()?;
    let Some(a) = &allowed.ssh else {
        // The policy covered a request with a certificate but granted none:
        // not possible with `Policy::check`; refuse rather than sign.
        return Some(Err(crate::ssh_cert::Reason::NoPrincipals));
    };
    Some(crate::ssh_cert::profile(
        &crate::ssh_cert::Request {
            public_key: &ask.key,
            logins: &a.logins,
            host_groups: &entry.request.host_groups,
            grant_id: facts.grant_id,
            serial: facts.serial,
            nonce: facts.nonce,
            not_before: facts.nbf,
            ttl_secs: entry.request.ttl,
            force_command: a.force_command.as_deref(),
            source_address: a.source_address.as_deref(),
            extensions: Some(&a.extensions),
        },
        &a.limits,
    ))
}

/// `reject`: the requester withdraws, or an approver of its rule rejects.
pub fn reject(entry: &Entry, policy: &Policy, caller: &Identity, now: i64) -> Result<(), Refusal> {
    if !entry.is_requester(caller) {
        policy
            .check_approver(&entry.rule, &entry.request.requester, caller)
            .map_err(|r| no(ErrorCode::NotAnApprover, format!("refused: {r}")))?;
    }
    entry.undecided(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
[[rule]]
name = "web-restart"
users = ["alice", "bob"]
host_groups = ["web"]
commands = ["/usr/bin/systemctl restart nginx"]
run_as = ["root"]
max_ttl = "2h"
approvers = ["bob", "alice"]
approver_groups = ["leads"]
"#;
    const NOW: i64 = 1_795_000_000;

    fn who(name: &str, groups: &[&str]) -> Identity {
        Identity {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }
    fn entry() -> Entry {
        Entry::new(
            RequestFile {
                v: 1,
                requester: "alice".into(),
                uid: 1001,
                created: NOW,
                nonce: "00".repeat(16),
                host_groups: vec!["web".into()],
                commands: vec!["/usr/bin/systemctl restart nginx".into()],
                shell: false,
                run_as: vec!["root".into()],
                run_as_groups: vec![],
                ttl: 1800,
                not_before: None,
                reason: "INC-1".into(),
                ticket: None,
                max_uses: None,
                ssh: None,
            },
            "web-restart".into(),
        )
    }
    fn pol() -> Policy {
        Policy::parse(POLICY).unwrap()
    }
    fn code<T: std::fmt::Debug>(r: Result<T, Refusal>) -> ErrorCode {
        r.unwrap_err().0
    }

    #[test]
    fn self_approval_is_refused_even_when_the_policy_lists_the_requester() {
        let e = entry();
        let alice = who("alice", &["leads"]);
        assert_eq!(
            code(approve(&e, &pol(), &alice, &alice, NOW)),
            ErrorCode::SelfApproval
        );
        // Even if the stored requester name were different, the same person is refused.
        let mut e2 = e.clone();
        e2.request.requester = "alice".into();
        assert_eq!(
            code(approve(&e2, &pol(), &alice, &who("alice", &[]), NOW)),
            ErrorCode::SelfApproval
        );
        assert!(!e.may_approve(&pol(), &alice));
    }

    #[test]
    fn approvers_by_name_and_group_and_nobody_else() {
        let e = entry();
        let alice = who("alice", &[]);
        assert_eq!(
            approve(&e, &pol(), &who("bob", &[]), &alice, NOW)
                .unwrap()
                .rule,
            "web-restart"
        );
        approve(&e, &pol(), &who("carol", &["leads"]), &alice, NOW).unwrap();
        assert_eq!(
            code(approve(&e, &pol(), &who("mallory", &["web"]), &alice, NOW)),
            ErrorCode::NotAnApprover
        );
        assert!(!e.visible_to(&pol(), &who("mallory", &[])));
        assert!(e.visible_to(&pol(), &alice));
    }

    #[test]
    fn the_policy_is_checked_again_at_approval() {
        let mut e = entry();
        e.request.commands = vec!["/bin/sh".into()];
        assert_eq!(
            code(approve(
                &e,
                &pol(),
                &who("bob", &[]),
                &who("alice", &[]),
                NOW
            )),
            ErrorCode::Policy
        );
    }

    #[test]
    fn decided_and_expired_requests_cannot_be_decided() {
        let alice = who("alice", &[]);
        let bob = who("bob", &[]);
        let late = NOW + REQUEST_LIFETIME_SECS + 1;
        assert_eq!(
            code(approve(&entry(), &pol(), &bob, &alice, late)),
            ErrorCode::Expired
        );
        assert_eq!(
            code(reject(&entry(), &pol(), &bob, late)),
            ErrorCode::Expired
        );
        for s in [State::Approved, State::Fetched, State::Rejected] {
            let mut e = entry();
            e.state = s;
            assert_eq!(
                code(approve(&e, &pol(), &bob, &alice, NOW)),
                ErrorCode::AlreadyDecided
            );
            assert_eq!(
                code(reject(&e, &pol(), &alice, NOW)),
                ErrorCode::AlreadyDecided
            );
        }
    }

    #[test]
    fn reject_by_requester_or_approver_only() {
        let e = entry();
        reject(&e, &pol(), &who("alice", &[]), NOW).unwrap();
        reject(&e, &pol(), &who("bob", &[]), NOW).unwrap();
        assert_eq!(
            code(reject(&e, &pol(), &who("mallory", &[]), NOW)),
            ErrorCode::NotAnApprover
        );
    }

    #[test]
    fn fetch_once_by_the_requester_only() {
        let alice = who("alice", &[]);
        let mut e = entry();
        assert_eq!(code(fetch(&e, &alice, NOW)), ErrorCode::Pending);
        assert_eq!(
            code(fetch(&e, &who("bob", &["leads"]), NOW)),
            ErrorCode::NotYours
        );
        e.state = State::Approved;
        e.token = Some("tok".into());
        fetch(&e, &alice, NOW).unwrap();
        assert_eq!(code(fetch(&e, &who("root", &[]), NOW)), ErrorCode::NotYours);
        e.token = None;
        e.state = State::Fetched;
        assert_eq!(code(fetch(&e, &alice, NOW)), ErrorCode::AlreadyFetched);
        e.state = State::Rejected;
        assert_eq!(code(fetch(&e, &alice, NOW)), ErrorCode::Rejected);
        let e = entry();
        assert_eq!(
            code(fetch(&e, &alice, NOW + REQUEST_LIFETIME_SECS + 1)),
            ErrorCode::Expired
        );
    }

    #[test]
    fn a_stored_request_gives_back_the_ask_it_was_made_from() {
        let e = entry();
        let f = e.ask().request_file("alice", 1001, NOW, "00".repeat(16));
        assert_eq!(f, e.request);
    }

    #[test]
    fn an_answer_never_carries_the_token() {
        let mut e = entry();
        e.state = State::Approved;
        e.token = Some("secret-token".into());
        e.token_id = Some("ab".into());
        let text = serde_json::to_string(&e.info(NOW)).unwrap();
        assert!(!text.contains("secret-token"));
        assert!(text.contains("\"token_id\":\"ab\""));
    }

    const SSH_KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJgYR3PqlRUBZChWMMcDeY3iBJuJhpAALTEvlc7W2bAn test-ed25519";

    fn ssh_entry(key: &str, commands: Vec<String>) -> Entry {
        let mut e = entry();
        e.request.commands = commands;
        e.request.ssh = Some(crate::policy::SshAsk {
            key: key.into(),
            logins: None,
            extensions: None,
            force_command: None,
            source_address: None,
        });
        Entry::new(e.request, "web-restart".into())
    }
    fn ssh_pol() -> Policy {
        Policy::parse(&format!("{POLICY}ssh = true\nssh_logins = [\"deploy\"]\n")).unwrap()
    }
    const FACTS: CertFacts = CertFacts {
        grant_id: [7; 16],
        serial: 42,
        nonce: [1; crate::ssh_cert::NONCE_LEN],
        nbf: NOW + 10,
    };

    #[test]
    fn an_approved_certificate_has_the_grants_id_window_and_logins() {
        let e = ssh_entry(SSH_KEY, vec![]);
        let allowed = approve(&e, &ssh_pol(), &who("bob", &[]), &who("alice", &[]), NOW).unwrap();
        let p = certificate(&e, &allowed, &FACTS).unwrap().unwrap();
        assert_eq!(p.key_id, crate::text::hex(&[7; 16]));
        assert_eq!(p.principals, ["alice@web"]);
        assert_eq!(
            (p.valid_after, p.valid_before),
            ((NOW + 10 - 60) as u64, (NOW + 10 + 1800) as u64)
        );
        assert_eq!(p.extensions, ["permit-pty"]);
        // A request without a certificate gets none.
        assert!(certificate(&entry(), &allowed, &FACTS).is_none());
    }

    #[test]
    fn a_certificate_the_policy_does_not_grant_is_never_signed() {
        // The token rule without ssh = true refuses at approval ...
        let e = ssh_entry(SSH_KEY, vec!["/usr/bin/systemctl restart nginx".into()]);
        assert_eq!(
            code(approve(
                &e,
                &pol(),
                &who("bob", &[]),
                &who("alice", &[]),
                NOW
            )),
            ErrorCode::Policy
        );
        // ... and an Allowed without its SSH part (a decision for another
        // request) signs nothing.
        let tok = approve(&entry(), &pol(), &who("bob", &[]), &who("alice", &[]), NOW).unwrap();
        assert!(certificate(&e, &tok, &FACTS).unwrap().is_err());
        // A key the profile refuses is refused whatever the policy says.
        let dsa = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/vectors/ssh/keys/dsa.pub"
        ))
        .unwrap();
        let e = ssh_entry(dsa.trim(), vec![]);
        let allowed = approve(&e, &ssh_pol(), &who("bob", &[]), &who("alice", &[]), NOW).unwrap();
        assert_eq!(
            certificate(&e, &allowed, &FACTS)
                .unwrap()
                .unwrap_err()
                .code(),
            "ssh_key_type_refused"
        );
    }

    #[test]
    fn a_certificate_alone_is_collected_once() {
        let mut e = ssh_entry(SSH_KEY, vec![]);
        e.state = State::Approved;
        e.certificate = Some("ssh-ed25519-cert-v01@openssh.com AAAA alice".into());
        let alice = who("alice", &[]);
        fetch(&e, &alice, NOW).unwrap();
        e.certificate = None;
        assert_eq!(code(fetch(&e, &alice, NOW)), ErrorCode::AlreadyFetched);
        assert_eq!(code(fetch(&e, &who("bob", &[]), NOW)), ErrorCode::NotYours);
    }
}
