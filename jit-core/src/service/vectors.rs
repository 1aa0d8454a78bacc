//! The golden vectors of the service protocol (docs/vectors/service/):
//! frames, each with the outcome the decoder must reach. Deterministic;
//! `xtask gen-vectors` writes them and CI diffs them, and
//! tests/interop/verify_service.py checks them independently.

use super::{read_frame, Ask, Call, ErrorCode, FrameError, MAX_FRAME, MAX_REASON_LEN};

const ID: &str = "3f0c5d2a9b8e7f6a1c2d3e4f5a6b7c8d";

fn ask() -> Ask {
    Ask {
        host_groups: vec!["web".into()],
        commands: vec!["/usr/bin/systemctl restart nginx".into()],
        shell: false,
        run_as: vec!["root".into()],
        run_as_groups: vec![],
        ttl: 1800,
        not_before: None,
        reason: "INC-4711 nginx wedged".into(),
        ticket: Some("INC-4711".into()),
        max_uses: None,
        ssh: None,
    }
}

/// An Ed25519 public key line (docs/vectors/ssh/keys/ed25519.pub).
const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJgYR3PqlRUBZChWMMcDeY3iBJuJhpAALTEvlc7W2bAn test-ed25519";

fn ssh_ask() -> super::SshAsk {
    super::SshAsk {
        key: SSH_KEY.into(),
        logins: None,
        extensions: None,
        force_command: None,
        source_address: None,
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// The decoder's outcome for one frame: the call, or the error code.
pub fn outcome(bytes: &[u8]) -> Result<Call, ErrorCode> {
    let mut r = bytes;
    let body = match read_frame(&mut r) {
        Ok(b) => b,
        Err(FrameError::Bad(e)) => return Err(e.code),
        Err(FrameError::Closed | FrameError::Io(_)) => return Err(ErrorCode::BadFrame),
    };
    if !r.is_empty() {
        // A vector is one frame; what follows would be the next call.
        return Err(ErrorCode::BadFrame);
    }
    Call::decode(&body).map_err(|e| e.code)
}

/// `(name, frame bytes, expected outcome)`.
pub fn cases() -> Vec<(&'static str, Vec<u8>, Result<Call, ErrorCode>)> {
    let id = ID.to_string();
    let mut v: Vec<(&'static str, Vec<u8>, Result<Call, ErrorCode>)> = Vec::new();
    let mut ok = |name, call: Call| {
        let f = frame(&call.encode());
        v.push((name, f, Ok(call)));
    };
    ok(
        "request",
        Call::Request {
            ask: Box::new(ask()),
            collect: false,
        },
    );
    ok(
        "request-and-collect",
        Call::Request {
            ask: Box::new(ask()),
            collect: true,
        },
    );
    ok(
        "request-all-members",
        Call::Request {
            ask: Box::new(Ask {
                host_groups: vec!["db".into(), "db-replica".into()],
                commands: vec!["sudoedit /etc/postgresql/15/main/pg_hba.conf".into()],
                shell: true,
                run_as: vec!["postgres".into()],
                run_as_groups: vec!["postgres".into()],
                ttl: 3600,
                not_before: Some(1_795_000_000),
                reason: "CHG-12 \"quoted\" \u{e9}".into(),
                ticket: None,
                max_uses: Some(3),
                ssh: None,
            }),
            collect: false,
        },
    );
    ok(
        "request-with-ssh",
        Call::Request {
            ask: Box::new(Ask {
                ssh: Some(ssh_ask()),
                ..ask()
            }),
            collect: true,
        },
    );
    ok(
        "request-ssh-only-all-members",
        Call::Request {
            ask: Box::new(Ask {
                host_groups: vec!["web".into()],
                commands: vec![],
                shell: false,
                run_as: vec!["root".into()],
                run_as_groups: vec![],
                ttl: 14_400,
                not_before: None,
                reason: "deploy 2026-12-07".into(),
                ticket: None,
                max_uses: None,
                ssh: Some(super::SshAsk {
                    key: SSH_KEY.into(),
                    logins: Some(vec!["alice".into(), "deploy".into()]),
                    extensions: Some(vec![]),
                    force_command: Some("/usr/local/bin/deploy".into()),
                    source_address: Some("192.0.2.0/24,2001:db8::/32".into()),
                }),
            }),
            collect: false,
        },
    );
    ok(
        "fetch",
        Call::Fetch {
            id: id.clone(),
            wait: 0,
        },
    );
    ok(
        "fetch-wait-max",
        Call::Fetch {
            id: id.clone(),
            wait: super::MAX_WAIT_SECS,
        },
    );
    ok("requests", Call::Requests);
    ok("approve", Call::Approve { id: id.clone() });
    ok(
        "reject",
        Call::Reject {
            id: id.clone(),
            reason: "use the runbook's restart instead".into(),
        },
    );
    ok("status", Call::Status { id: None });
    ok(
        "status-of-request",
        Call::Status {
            id: Some(id.clone()),
        },
    );
    let ask_json = serde_json::to_string(&ask()).unwrap_or_default();
    let mut bad = |name, bytes: Vec<u8>, code| v.push((name, bytes, Err(code)));
    let j = |s: String| frame(s.as_bytes());
    bad("empty-frame", vec![0, 0, 0, 0], ErrorCode::BadFrame);
    bad(
        "oversized-frame",
        ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec(),
        ErrorCode::BadFrame,
    );
    bad("truncated-length", vec![0, 0, 1], ErrorCode::BadFrame);
    let mut t = frame(br#"{"v":1,"op":"requests"}"#);
    t.pop();
    bad("truncated-body", t, ErrorCode::BadFrame);
    let mut two = frame(br#"{"v":1,"op":"requests"}"#);
    two.push(0);
    bad("byte-after-frame", two, ErrorCode::BadFrame);
    bad(
        "not-json",
        frame(b"GET / HTTP/1.1\r\n"),
        ErrorCode::Malformed,
    );
    bad(
        "not-an-object",
        frame(b"[1,\"requests\"]"),
        ErrorCode::Malformed,
    );
    bad(
        "not-utf8",
        frame(b"{\"v\":1,\"op\":\"\xff\"}"),
        ErrorCode::Malformed,
    );
    bad(
        "trailing-bytes",
        frame(br#"{"v":1,"op":"requests"}x"#),
        ErrorCode::Malformed,
    );
    bad(
        "no-version",
        frame(br#"{"op":"requests"}"#),
        ErrorCode::Malformed,
    );
    bad(
        "version-2",
        frame(br#"{"v":2,"op":"requests"}"#),
        ErrorCode::UnsupportedVersion,
    );
    bad(
        "version-as-string",
        frame(br#"{"v":"1","op":"requests"}"#),
        ErrorCode::Malformed,
    );
    bad(
        "unknown-member",
        frame(br#"{"v":1,"op":"requests","user":"root"}"#),
        ErrorCode::Malformed,
    );
    bad(
        "duplicate-member",
        frame(br#"{"v":1,"op":"requests","op":"status"}"#),
        ErrorCode::Malformed,
    );
    bad("no-op", frame(br#"{"v":1}"#), ErrorCode::BadCall);
    bad(
        "unknown-op",
        frame(br#"{"v":1,"op":"issue"}"#),
        ErrorCode::Malformed,
    );
    bad(
        "approve-without-id",
        frame(br#"{"v":1,"op":"approve"}"#),
        ErrorCode::BadCall,
    );
    bad(
        "approve-with-ask",
        j(format!(
            r#"{{"v":1,"op":"approve","id":"{ID}","ask":{ask_json}}}"#
        )),
        ErrorCode::BadCall,
    );
    bad(
        "id-uppercase",
        frame(br#"{"v":1,"op":"approve","id":"3F0C5D2A9B8E7F6A1C2D3E4F5A6B7C8D"}"#),
        ErrorCode::BadCall,
    );
    bad(
        "id-path",
        frame(br#"{"v":1,"op":"fetch","id":"../../etc/shadow"}"#),
        ErrorCode::BadCall,
    );
    bad(
        "fetch-wait-too-long",
        j(format!(r#"{{"v":1,"op":"fetch","id":"{ID}","wait":901}}"#)),
        ErrorCode::BadCall,
    );
    bad(
        "fetch-wait-negative",
        j(format!(r#"{{"v":1,"op":"fetch","id":"{ID}","wait":-1}}"#)),
        ErrorCode::Malformed,
    );
    bad(
        "reject-without-reason",
        j(format!(r#"{{"v":1,"op":"reject","id":"{ID}"}}"#)),
        ErrorCode::BadCall,
    );
    bad(
        "reject-blank-reason",
        j(format!(
            r#"{{"v":1,"op":"reject","id":"{ID}","reason":"  "}}"#
        )),
        ErrorCode::BadCall,
    );
    bad(
        "reject-reason-too-long",
        j(format!(
            r#"{{"v":1,"op":"reject","id":"{ID}","reason":"{}"}}"#,
            "x".repeat(MAX_REASON_LEN + 1)
        )),
        ErrorCode::BadCall,
    );
    bad(
        "request-with-wait",
        j(format!(
            r#"{{"v":1,"op":"request","ask":{ask_json},"wait":60}}"#
        )),
        ErrorCode::BadCall,
    );
    bad(
        "collect-without-request",
        j(format!(
            r#"{{"v":1,"op":"fetch","id":"{ID}","collect":true}}"#
        )),
        ErrorCode::BadCall,
    );
    bad(
        "collect-as-string",
        j(format!(
            r#"{{"v":1,"op":"request","ask":{ask_json},"collect":"yes"}}"#
        )),
        ErrorCode::Malformed,
    );
    let ssh_json = |ssh: &str| {
        let mut a = serde_json::to_value(ask()).unwrap_or_default();
        a["ssh"] = serde_json::from_str(ssh).unwrap_or_default();
        j(format!(r#"{{"v":1,"op":"request","ask":{a}}}"#))
    };
    bad(
        "ssh-unknown-member",
        ssh_json(&format!(
            r#"{{"key":"{SSH_KEY}","logins":null,"extensions":null,"force_command":null,"source_address":null,"principals":["root@web"]}}"#
        )),
        ErrorCode::Malformed,
    );
    bad("ssh-null", ssh_json("null"), ErrorCode::Malformed);
    bad(
        "ssh-without-key",
        ssh_json(
            r#"{"logins":["alice"],"extensions":null,"force_command":null,"source_address":null}"#,
        ),
        ErrorCode::Malformed,
    );
    bad(
        "ssh-logins-as-string",
        ssh_json(&format!(
            r#"{{"key":"{SSH_KEY}","logins":"alice","extensions":null,"force_command":null,"source_address":null}}"#
        )),
        ErrorCode::Malformed,
    );
    bad(
        "ssh-user-member",
        ssh_json(&format!(
            r#"{{"key":"{SSH_KEY}","logins":null,"extensions":null,"force_command":null,"source_address":null,"user":"bob"}}"#
        )),
        ErrorCode::Malformed,
    );
    bad(
        "request-without-ask",
        frame(br#"{"v":1,"op":"request"}"#),
        ErrorCode::BadCall,
    );
    bad(
        "request-naming-requester",
        j(format!(
            r#"{{"v":1,"op":"request","ask":{}}}"#,
            ask_json.replacen('{', r#"{"requester":"bob","#, 1)
        )),
        ErrorCode::Malformed,
    );
    bad(
        "ask-ttl-as-string",
        j(format!(
            r#"{{"v":1,"op":"request","ask":{}}}"#,
            ask_json.replace(r#""ttl":1800"#, r#""ttl":"30m""#)
        )),
        ErrorCode::Malformed,
    );
    bad(
        "ask-missing-member",
        j(format!(
            r#"{{"v":1,"op":"request","ask":{}}}"#,
            ask_json.replace(r#""shell":false,"#, "")
        )),
        ErrorCode::Malformed,
    );
    v
}

fn hex(b: &[u8]) -> String {
    crate::text::hex(b)
}

/// `[("service/vectors.json", text)]`; fails if the decoder's outcome for
/// a vector is not the intended one.
pub fn generate() -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (name, bytes, want) in cases() {
        let got = outcome(&bytes);
        if got != want {
            return Err(format!(
                "service vector {name}: decoder gives {got:?}, intended {want:?}"
            ));
        }
        let expect = match &want {
            Ok(call) => serde_json::json!({
                "ok": serde_json::from_slice::<serde_json::Value>(&call.encode())
                    .map_err(|e| e.to_string())?
            }),
            Err(code) => serde_json::json!({ "error": code.code() }),
        };
        out.push(serde_json::json!({
            "name": name,
            "frame": hex(&bytes),
            "expect": expect,
        }));
    }
    let codes: Vec<_> = ErrorCode::ALL
        .iter()
        .map(|c| serde_json::json!({ "code": c.code(), "exit": c.exit_code() }))
        .collect();
    let doc = serde_json::json!({
        "description": "jit signing service protocol v1 vectors (docs/signer-service.md): each frame is hex; expect.ok is the call re-encoded by the reference encoder, expect.error the code of the refusal",
        "error_codes": codes,
        "vectors": out,
    });
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(vec![("service/vectors.json".into(), text)])
}
