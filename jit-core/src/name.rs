//! The one rule for names (docs/names.md): user and group names, host groups
//! and the host name, key ids, policy rule names.
//!
//! Every reader and writer of a name asks [`check`]: the host configuration,
//! the trusted-keys file, revocation lists, the signer policy and jit-signer.
//! So the signer refuses exactly what a host would refuse, and never issues a
//! token no host can accept.
//!
//! Two character sets, one per origin:
//!
//! - **Names jit defines** (host groups, the host name, kids, rule names):
//!   `A-Z a-z 0-9 . _ -`, nothing else. They are written in pam_jit.conf
//!   (where commas and white space separate host groups), in the
//!   whitespace-separated trusted-keys file and in file names (`KID.key`).
//! - **Names the system defines** (users and groups, from the passwd and group
//!   databases, SSSD, winbind): ASCII letters, digits and punctuation other
//!   than `:` and `/`, not starting with `-` or `#`, not `.` or `..`. This
//!   admits `alice@example.com` (SSSD) and `EXAMPLE\alice` (winbind), and
//!   refuses what no account database can hold (`:` separates passwd fields,
//!   `/` separates paths), what `sudo -u`/`-g` cannot take as a name (`-x` is
//!   an option, `#123` a numeric id; pam_jit refuses both under sudo-rs), and every
//!   character a reader cannot tell apart from another: white space, control
//!   characters, and all of non-ASCII (Cyrillic `а` for Latin `a`, fullwidth
//!   letters, zero-width and bidirectional marks). A revoked `аlice` would
//!   revoke nobody while looking right.
//!
//! Names are compared byte for byte everywhere (`Alice` is not `alice`).

use std::fmt;

/// Longest user or group name, in bytes (also the revocation list's limit).
pub const MAX_USER_LEN: usize = 256;
/// Longest host group or host name, in bytes (a DNS name's limit).
pub const MAX_HOST_LEN: usize = 253;
/// Longest key id, in bytes (the token header's `kid` limit).
pub const MAX_KID_LEN: usize = 64;
/// Longest policy rule name, in bytes.
pub const MAX_RULE_LEN: usize = 64;

/// What a name names; each kind has its rule ([`check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// A Unix user: the token's `sub` and `run_as`, the policy's `users` and
    /// `approvers`, a request's requester, revocation list users.
    User,
    /// A Unix group: the token's `run_as_groups`, the policy's `groups` and
    /// `approver_groups`.
    Group,
    /// A host group: pam_jit.conf `host_groups`, the token's `hosts`, the
    /// policy's `host_groups`.
    HostGroup,
    /// pam_jit.conf `hostname`, written in log records.
    HostName,
    /// A key id: the trusted-keys file, signing keys, PKCS#11 labels.
    Kid,
    /// A signer policy rule name.
    Rule,
}

/// The two character sets (module documentation).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Charset {
    /// `A-Z a-z 0-9 . _ -`: names jit defines.
    Portable,
    /// ASCII graphic characters but `:` and `/`; not `-…`, `#…`, `.`, `..`: names the system defines.
    Account,
}

impl NameKind {
    /// The longest valid name of this kind, in bytes.
    pub const fn max_len(self) -> usize {
        match self {
            NameKind::User | NameKind::Group => MAX_USER_LEN,
            NameKind::HostGroup | NameKind::HostName => MAX_HOST_LEN,
            NameKind::Kid => MAX_KID_LEN,
            NameKind::Rule => MAX_RULE_LEN,
        }
    }

    /// What a message calls a name of this kind.
    pub const fn noun(self) -> &'static str {
        match self {
            NameKind::User => "user name",
            NameKind::Group => "group name",
            NameKind::HostGroup => "host group",
            NameKind::HostName => "hostname",
            NameKind::Kid => "kid",
            NameKind::Rule => "rule name",
        }
    }

    /// The rule, as a message tells it.
    pub const fn rule(self) -> &'static str {
        match self {
            NameKind::User | NameKind::Group => {
                "use 1 to 256 ASCII letters, digits and punctuation other than ':' and '/', \
                 not starting with '-' or '#', not '.' or '..'"
            }
            NameKind::HostGroup | NameKind::HostName => {
                "use 1 to 253 characters from A-Z a-z 0-9 . _ -"
            }
            NameKind::Kid | NameKind::Rule => "use 1 to 64 characters from A-Z a-z 0-9 . _ -",
        }
    }

    const fn charset(self) -> Charset {
        match self {
            NameKind::User | NameKind::Group => Charset::Account,
            NameKind::HostGroup | NameKind::HostName | NameKind::Kid | NameKind::Rule => {
                Charset::Portable
            }
        }
    }
}

/// What is wrong with a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// It is empty.
    Empty,
    /// It is longer than the kind's limit.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// It holds a character the kind does not allow (the first one).
    Char {
        /// The character.
        ch: char,
        /// Its byte offset.
        at: usize,
    },
    /// A user or group name starts with `-` (an option to `sudo -u`) or `#`
    /// (a numeric id to `sudo -u`).
    Leading(char),
    /// A user or group name is `.` or `..`.
    Dots,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Problem::Empty => f.write_str("it is empty"),
            Problem::TooLong { len } => write!(f, "it is {len} bytes long"),
            Problem::Char { ch, at } => {
                let code = ch as u32;
                if ch.is_whitespace() {
                    write!(f, "whitespace (U+{code:04X})")?;
                } else if ch.is_control() {
                    write!(f, "control character U+{code:04X}")?;
                } else if !ch.is_ascii() {
                    write!(f, "non-ASCII character U+{code:04X}")?;
                } else {
                    write!(f, "{ch:?}")?;
                }
                write!(f, " at byte {at} is not allowed")
            }
            Problem::Leading(c) => write!(f, "it starts with {c:?}"),
            Problem::Dots => f.write_str("'.' and '..' are not names"),
        }
    }
}

/// Why [`check`] refused a name: `invalid KIND "NAME": PROBLEM; RULE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    /// The kind checked.
    pub kind: NameKind,
    /// What is wrong.
    pub problem: Problem,
    /// The name as shown: quoted and escaped, at most 64 characters of it.
    shown: String,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {}: {}; {}",
            self.kind.noun(),
            self.shown,
            self.problem,
            self.kind.rule()
        )
    }
}

impl std::error::Error for NameError {}

/// Shown in messages: escaped by `{:?}` (control characters, invisible and
/// bidirectional marks), cut after 64 characters.
fn shown(s: &str) -> String {
    const SHOWN: usize = 64;
    match s.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
        None => format!("{s:?}"),
    }
}

fn allowed(set: Charset, c: char) -> bool {
    match set {
        Charset::Portable => c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'),
        Charset::Account => c.is_ascii_graphic() && !matches!(c, ':' | '/'),
    }
}

/// Whether `s` is a valid name of kind `kind`, and if not, why.
pub fn check(kind: NameKind, s: &str) -> Result<(), NameError> {
    let fail = |problem| {
        Err(NameError {
            kind,
            problem,
            shown: shown(s),
        })
    };
    if s.is_empty() {
        return fail(Problem::Empty);
    }
    if s.len() > kind.max_len() {
        return fail(Problem::TooLong { len: s.len() });
    }
    let set = kind.charset();
    if let Some((at, ch)) = s.char_indices().find(|&(_, c)| !allowed(set, c)) {
        return fail(Problem::Char { ch, at });
    }
    if set == Charset::Account {
        if let Some(c @ ('-' | '#')) = s.chars().next() {
            return fail(Problem::Leading(c));
        }
        if s == "." || s == ".." {
            return fail(Problem::Dots);
        }
    }
    Ok(())
}

/// [`check`] as a yes or no.
pub fn is_valid(kind: NameKind, s: &str) -> bool {
    check(kind, s).is_ok()
}

#[cfg(test)]
mod tests;
