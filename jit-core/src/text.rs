//! Text forms shared by every part of jit: lower-case hex, times (parsing and
//! display), durations, and strings from untrusted sources shown on a terminal.
//!
//! One definition each, so a token id, a log hash and a ledger entry are
//! spelled the same way everywhere.

use std::borrow::Cow;

pub mod user_time;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX_DIGITS[usize::from(b >> 4)] as char);
        s.push(HEX_DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Write lower-case hex of 32 bytes into `out` (no allocation).
pub fn hex32_into(bytes: &[u8; 32], out: &mut [u8; 64]) {
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX_DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = HEX_DIGITS[usize::from(b & 15)];
    }
}

const HEX_VAL: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Parse exactly `N` bytes of lower-case hex (`2 * N` digits, nothing else;
/// branch-free per digit: the log verifier's hot path).
pub fn unhex<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let hi = HEX_VAL[usize::from(pair[0])];
        let lo = HEX_VAL[usize::from(pair[1])];
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0x0f);
    }
    (bad & 0xf0 == 0).then_some(out)
}

/// A string from an untrusted source (a command line, a request file, a log
/// record) as shown on a terminal: if it holds control characters (escape
/// sequences, carriage returns), the whole string is shown escaped, so they
/// are never interpreted.
pub fn printable(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(s.chars().flat_map(char::escape_default).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Render a Unix time for humans as RFC 3339 in UTC, whole seconds
/// (`2026-11-23T03:21:00Z`), or `@SECONDS` outside the years 0000 to 9999.
pub fn fmt_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{t}"))
}

/// Render a duration for humans: "45 s", "4 min", "2 h 5 min", "3 d 2 h".
pub fn human_duration(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min", secs / 60)
    } else if secs < 86_400 {
        let m = (secs % 3600) / 60;
        if m == 0 {
            format!("{} h", secs / 3600)
        } else {
            format!("{} h {} min", secs / 3600, m)
        }
    } else {
        let h = (secs % 86_400) / 3600;
        if h == 0 {
            format!("{} d", secs / 86_400)
        } else {
            format!("{} d {} h", secs / 86_400, h)
        }
    }
}

/// A duration as the policy's `max_ttl` and `jit-verify fleet --max-silence`
/// take it: `30s`, `15m`, `2h`, `1d`, `1w`, or combinations such as `1h30m`;
/// bare digits are seconds. Overflow is `None`.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(
                num.unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(unit)?)?;
    }
    if num.is_some() {
        return None;
    }
    Some(total)
}

/// Parse an instant as written in key files and on the signer's command
/// line: RFC 3339 with an offset, or `@UNIXSECONDS`.
pub fn parse_time(s: &str) -> Option<i64> {
    if let Some(rest) = s.strip_prefix('@') {
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) || rest.len() > 18 {
            return None;
        }
        return rest.parse::<i64>().ok();
    }
    time::OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// `true` when `t` has the exact shape of a log record's time,
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (docs/log-format.md).
pub fn log_time_shape_ok(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() != 27 {
        return false;
    }
    b.iter().enumerate().all(|(i, &c)| match i {
        4 | 7 => c == b'-',
        10 => c == b'T',
        13 | 16 => c == b':',
        19 => c == b'.',
        26 => c == b'Z',
        _ => c.is_ascii_digit(),
    })
}

/// Unix microseconds of a log record's time (`YYYY-MM-DDTHH:MM:SS.ffffffZ`).
pub fn log_time_micros(t: &str) -> Option<i64> {
    if !log_time_shape_ok(t) {
        return None;
    }
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    let dt = time::PrimitiveDateTime::parse(t, &fmt).ok()?.assume_utc();
    i64::try_from(dt.unix_timestamp_nanos() / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let b: Vec<u8> = (0..=255).collect();
        let h = hex(&b);
        assert_eq!(&h[..6], "000102");
        assert_eq!(&h[h.len() - 4..], "feff");
        let a: [u8; 32] = core::array::from_fn(|i| (i * 7) as u8);
        let mut out = [0u8; 64];
        hex32_into(&a, &mut out);
        assert_eq!(out.as_slice(), hex(&a).as_bytes());
        assert_eq!(unhex::<32>(&out), Some(a));
    }

    #[test]
    fn unhex_accepts_only_lowercase_hex() {
        assert_eq!(unhex::<2>(b"00ff"), Some([0, 255]));
        assert_eq!(unhex::<2>(b"a0b1"), Some([0xa0, 0xb1]));
        for bad in [&b"00FF"[..], b"0g00", b"00 0", b"000", b"00000"] {
            assert_eq!(unhex::<2>(bad), None, "{:?}", bad);
        }
        for c in 0..=255u8 {
            let ok = c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
            assert_eq!(unhex::<1>(&[c, b'0']).is_some(), ok);
            assert_eq!(unhex::<1>(&[b'0', c]).is_some(), ok);
        }
    }

    #[test]
    fn printable_escapes_only_strings_with_control_characters() {
        assert!(matches!(printable("plain text é"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("x\ry"), "x\\ry");
    }

    #[test]
    fn times_display_and_parse() {
        assert_eq!(fmt_time(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(fmt_time(i64::MAX), format!("@{}", i64::MAX));
        assert_eq!(fmt_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_time(-62_167_219_200), "0000-01-01T00:00:00Z");
        assert_eq!(fmt_time(-62_167_219_201), "@-62167219201");
        assert_eq!(parse_time("@1800000000"), Some(1_800_000_000));
        assert_eq!(parse_time("2027-01-15T09:00:00+01:00"), Some(1_800_000_000));
        for bad in [
            "@",
            "@-1",
            "@1e3",
            "@1234567890123456789",
            "2027-01-15",
            "soon",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(human_duration(59), "59 s");
        assert_eq!(human_duration(3600 + 300), "1 h 5 min");
        assert_eq!(human_duration(2 * 86_400), "2 d");
    }

    #[test]
    fn log_times() {
        assert!(log_time_shape_ok("2026-01-02T03:04:05.000006Z"));
        assert!(!log_time_shape_ok("2026-01-02T03:04:05Z"));
        assert_eq!(
            log_time_micros("1970-01-01T00:00:01.000002Z"),
            Some(1_000_002)
        );
        assert_eq!(log_time_micros("1970-01-01T00:00:01Z"), None);
    }
}
