use super::vectors::{cases, outcome};
use super::*;

#[test]
fn every_vector_reaches_its_outcome_and_valid_calls_round_trip() {
    let all = cases();
    assert!(all.len() >= 30);
    for (name, bytes, want) in all {
        assert_eq!(outcome(&bytes), want, "{name}");
        if let Ok(call) = want {
            assert_eq!(Call::decode(&call.encode()).as_ref(), Ok(&call), "{name}");
        }
    }
}

#[test]
fn every_error_code_has_one_spelling_matching_serde() {
    let mut seen = std::collections::HashSet::new();
    for c in ErrorCode::ALL {
        assert!(seen.insert(c.code()), "{c:?}");
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            format!("\"{}\"", c.code())
        );
        assert!(c.exit_code() != 0 && c.exit_code() != 1);
    }
}

#[test]
fn every_error_code_is_documented() {
    let doc = include_str!("../../../docs/signer-service.md");
    for c in ErrorCode::ALL {
        assert!(doc.contains(&format!("`{}`", c.code())), "{c} not in docs");
    }
}

#[test]
fn frames_round_trip_and_bound_what_they_allocate() {
    let mut buf = Vec::new();
    write_frame(&mut buf, b"{}").unwrap();
    assert_eq!(buf, b"\0\0\0\x02{}");
    assert_eq!(read_frame(&mut &buf[..]).unwrap(), b"{}");
    assert!(write_frame(&mut Vec::new(), b"").is_err());
    assert!(write_frame(&mut Vec::new(), &vec![b' '; MAX_FRAME + 1]).is_err());
    write_frame(&mut Vec::new(), &vec![b' '; MAX_FRAME]).unwrap();
    assert!(matches!(read_frame(&mut &b""[..]), Err(FrameError::Closed)));
    // A length of 4 GiB is refused before anything is allocated.
    assert!(matches!(
        read_frame(&mut &[0xff, 0xff, 0xff, 0xff][..]),
        Err(FrameError::Bad(Refused {
            code: ErrorCode::BadFrame,
            ..
        }))
    ));
}

#[test]
fn answers_are_strict_and_an_error_is_exactly_a_failure() {
    let a = Answer::error(ErrorCode::Pending, "not decided yet");
    assert_eq!(Answer::decode(&a.encode()).unwrap(), a);
    let ok = Answer::ok();
    assert_eq!(Answer::decode(&ok.encode()).unwrap(), ok);
    for bad in [
        &br#"{"v":1,"ok":true,"error":"pending"}"#[..],
        br#"{"v":1,"ok":false}"#,
        br#"{"v":2,"ok":true}"#,
        br#"{"v":1,"ok":true,"extra":1}"#,
    ] {
        assert!(
            Answer::decode(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn a_call_cannot_name_its_caller() {
    // Identity is the kernel's (SO_PEERCRED): no member of any call says who calls.
    for member in ["user", "requester", "uid", "approver", "caller"] {
        let body = format!(r#"{{"v":1,"op":"requests","{member}":"root"}}"#);
        assert_eq!(
            Call::decode(body.as_bytes()).map_err(|e| e.code),
            Err(ErrorCode::Malformed),
            "{member}"
        );
    }
}

#[test]
fn op_names_are_the_wire_spelling() {
    for op in [
        Op::Request,
        Op::Fetch,
        Op::Requests,
        Op::Approve,
        Op::Reject,
        Op::Status,
    ] {
        assert_eq!(
            serde_json::to_string(&op).unwrap(),
            format!("\"{}\"", op.name())
        );
    }
}
