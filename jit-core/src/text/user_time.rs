//! Times as auditors type them: journalctl's forms (systemd.time(7)), read
//! in the local time zone unless the text names UTC or an offset.
//!
//! Every `jit-verify` option that takes a time (`query --since/--until`,
//! `standing --at`, `report --from/--to`) goes through [`Clock::parse`].
//! The clock (now, and the local zone) is passed in, so the reading of
//! relative forms is a pure function of its inputs; [`Clock::system`] takes
//! them from the system (`TZ`, else `/etc/localtime`).
//!
//! Forms (docs/log-format.md, "Times"):
//!
//! - `2026-11-19 14:00`, `2026-11-19 14:00:05`, `2026-11-19 14:00:05.25`,
//!   `2026-11-19T14:00`: a local date and time;
//! - `2026-11-19`: the first instant of that local day;
//! - `14:00[:SS]`: that time today;
//! - `now`; `today`, `yesterday`, `tomorrow`: the first instant of that day,
//!   or, followed by a time (`yesterday 14:00`), that time on that day;
//! - `-1h`, `+30min`, `-1h30min`, `1h ago`, `2d ago`: now plus or minus a
//!   span (units `us`, `ms`, `s`, `sec`, `m`, `min`, `h`, `hr`, `d`, `w`
//!   and their long forms; `d` is 24 h, `w` is 7 d);
//! - `@1763560800`, `@1763560800.25`: Unix seconds;
//! - any of the dated forms followed by `Z`, ` UTC` or an offset (`+01:00`,
//!   `+0100`, `-05`): UTC or that offset instead of local time; so RFC 3339
//!   (`2026-11-19T14:00:00Z`, `2026-11-19T15:00:00+01:00`) is accepted.
//!
//! A local time that does not exist (skipped when the clocks go forward) or
//! happens twice (when they go back) is an error that names the offsets to
//! choose from; it is never resolved silently.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::Timestamp;

/// The accepted forms, for error messages and `--help`.
pub const ACCEPTED: &str = "accepted: \"2026-11-19 14:00[:SS]\", \"2026-11-19\" (start of day), \
\"14:00\" (today), \"now\", \"today\", \"yesterday\", \"tomorrow\" (optionally followed by a time: \
\"yesterday 14:00\"), \"-1h\", \"+30min\", \"-1h30min\", \"2d ago\", \"@UNIXSECONDS\", and RFC 3339 \
(\"2026-11-19T15:00:00+01:00\"); local time (TZ, else /etc/localtime) unless \"Z\", \" UTC\" or an \
offset is given";

/// The longest text accepted as a time.
const MAX_LEN: usize = 64;

/// A time that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read time {input:?}: {why}; {ACCEPTED}")]
pub struct TimeError {
    /// The text given (trimmed; escaped when shown).
    pub input: String,
    /// What is wrong with it.
    pub why: String,
}

/// The local time zone could not be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot determine the local time zone ({0}); set TZ, for example TZ=UTC or TZ=Europe/Berlin"
)]
pub struct ZoneError(String);

/// What relative and local times are read against: the current time and
/// the local time zone.
#[derive(Debug, Clone)]
pub struct Clock {
    now: Timestamp,
    zone: TimeZone,
}

/// Which zone a time was written in.
#[derive(Clone, Copy)]
enum Zone {
    Local,
    Fixed(Offset),
}

impl Clock {
    /// The system's clock and local zone: `TZ` if set (an IANA name, a
    /// POSIX rule or a TZif file; empty means UTC), else `/etc/localtime`.
    /// A `TZ` that names no zone is an error, not UTC.
    pub fn system() -> Result<Clock, ZoneError> {
        let zone = TimeZone::try_system().map_err(|e| ZoneError(e.to_string()))?;
        Ok(Clock {
            now: Timestamp::now(),
            zone,
        })
    }

    /// A fixed clock: `now` in Unix microseconds, `zone` `UTC`, an IANA name
    /// (from the system's time zone database) or a POSIX TZ rule
    /// (`CET-1CEST,M3.5.0,M10.5.0/3`).
    pub fn fixed(now_unix_micros: i64, zone: &str) -> Result<Clock, ZoneError> {
        let now = Timestamp::from_microsecond(now_unix_micros)
            .map_err(|e| ZoneError(format!("now out of range: {e}")))?;
        let zone = if zone == "UTC" {
            TimeZone::UTC
        } else {
            TimeZone::get(zone)
                .or_else(|_| TimeZone::posix(zone))
                .map_err(|e| ZoneError(format!("{zone:?}: {e}")))?
        };
        Ok(Clock { now, zone })
    }

    /// The local zone's name as people know it (IANA name, else `local`).
    pub fn zone_name(&self) -> String {
        self.zone.iana_name().unwrap_or("local").to_string()
    }

    /// Now, in the log records' time format.
    pub fn now(&self) -> String {
        log_string(self.now).unwrap_or_default()
    }

    /// Read `s` as an instant, in the log records' own time format
    /// (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, UTC), so that string order is time
    /// order.
    pub fn parse(&self, s: &str) -> Result<String, TimeError> {
        let t = s.trim();
        let err = |why: String| TimeError {
            input: crate::text::printable(t).into_owned(),
            why,
        };
        let ts = self.instant(t).map_err(err)?;
        log_string(ts).map_err(err)
    }

    /// Read `s` as an instant in Unix microseconds.
    pub fn parse_micros(&self, s: &str) -> Result<i64, TimeError> {
        let log = self.parse(s)?;
        crate::text::log_time_micros(&log).ok_or_else(|| TimeError {
            input: s.trim().to_string(),
            why: "out of range".into(),
        })
    }

    fn instant(&self, t: &str) -> Result<Timestamp, String> {
        if t.is_empty() {
            return Err("empty".into());
        }
        if t.len() > MAX_LEN {
            return Err(format!("longer than {MAX_LEN} characters"));
        }
        if !t.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err("only printable ASCII and spaces are allowed".into());
        }
        if let Some(e) = t.strip_prefix('@') {
            return epoch(e);
        }
        if t == "now" {
            return Ok(self.now);
        }
        if let Some(r) = t.strip_prefix('-') {
            return self.shift(r, -1);
        }
        if let Some(r) = t.strip_prefix('+') {
            return self.shift(r, 1);
        }
        if let Some(r) = t.strip_suffix(" ago") {
            if r.starts_with(['+', '-']) {
                return Err("a signed span cannot also say \"ago\"".into());
            }
            return self.shift(r, -1);
        }
        self.absolute(t)
    }

    /// Now plus `sign` times the span `body`.
    fn shift(&self, body: &str, sign: i64) -> Result<Timestamp, String> {
        let span = span_micros(body)?;
        let us = self
            .now
            .as_microsecond()
            .checked_add(sign * span)
            .ok_or("out of range")?;
        Timestamp::from_microsecond(us).map_err(|_| "out of range".into())
    }

    fn absolute(&self, t: &str) -> Result<Timestamp, String> {
        let mut words: Vec<&str> = t.split(' ').filter(|w| !w.is_empty()).collect();
        let mut zone = None;
        if words.len() > 1 {
            let last = words[words.len() - 1];
            if last == "UTC" || last == "Z" {
                zone = Some(Zone::Fixed(Offset::UTC));
                words.pop();
            } else if last.starts_with(['+', '-']) {
                zone = Some(Zone::Fixed(offset(last)?));
                words.pop();
            }
        }
        let (day, time_text) = match words.as_slice() {
            [d] | [d, _] if matches!(*d, "today" | "yesterday" | "tomorrow") => {
                let k = match *d {
                    "yesterday" => -1,
                    "today" => 0,
                    _ => 1,
                };
                (Day::Relative(k), words.get(1).copied())
            }
            [d, rest @ ..] if d.len() >= 10 && d.as_bytes()[4] == b'-' => {
                let (date, inline) = match d.as_bytes().get(10) {
                    None => (*d, None),
                    Some(b'T' | b't') => (&d[..10], Some(&d[11..])),
                    Some(_) => return Err(format!("{d:?} is not a date (YYYY-MM-DD)")),
                };
                let time = match (inline, rest) {
                    (None, []) => None,
                    (None, [tm]) => Some(*tm),
                    (Some(tm), []) => Some(tm),
                    _ => return Err("unexpected text after the time".into()),
                };
                (Day::Date(date_of(date)?), time)
            }
            [tm] if tm.as_bytes().iter().take(3).any(|&b| b == b':') => {
                (Day::Relative(0), Some(*tm))
            }
            [] => return Err("no time given".into()),
            [w, ..] => return Err(format!("{w:?} is not a date, a time or a day name")),
        };
        let time = match time_text {
            None => None,
            Some(tm) => {
                let (clock, z) = split_zone(tm)?;
                if let Some(z) = z {
                    if zone.is_some() {
                        return Err("two time zones given".into());
                    }
                    zone = Some(Zone::Fixed(z));
                }
                Some(time_of(clock)?)
            }
        };
        let zone = zone.unwrap_or(Zone::Local);
        let tz = match zone {
            Zone::Local => self.zone.clone(),
            Zone::Fixed(o) => o.to_time_zone(),
        };
        let date = match day {
            Day::Date(d) => d,
            Day::Relative(k) => {
                let today = self.now.to_zoned(tz.clone()).date();
                match k {
                    -1 => today.yesterday(),
                    1 => today.tomorrow(),
                    _ => Ok(today),
                }
                .map_err(|_| "out of range".to_string())?
            }
        };
        match time {
            // A day alone is its first instant (midnight, or the end of a
            // gap that swallows midnight).
            None => date
                .to_zoned(tz)
                .and_then(|z| z.start_of_day())
                .map(|z| z.timestamp())
                .map_err(|_| "out of range".into()),
            Some(time) => {
                let dt = DateTime::from_parts(date, time);
                match zone {
                    Zone::Fixed(o) => o.to_timestamp(dt).map_err(|_| "out of range".into()),
                    Zone::Local => self.local(dt),
                }
            }
        }
    }

    /// A local date and time: exactly one instant, or an error that says
    /// which offsets to choose from.
    fn local(&self, dt: DateTime) -> Result<Timestamp, String> {
        let name = self.zone_name();
        let when = dt.strftime("%Y-%m-%d %H:%M:%S");
        match self.zone.to_ambiguous_zoned(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => {
                offset.to_timestamp(dt).map_err(|_| "out of range".into())
            }
            AmbiguousOffset::Gap { before, after } => Err(format!(
                "{when} does not exist in the local zone ({name}): the clocks go from {} to {} \
                 there; give a time outside the gap or an offset",
                before, after
            )),
            AmbiguousOffset::Fold { before, after } => Err(format!(
                "{when} happens twice in the local zone ({name}): add the offset you mean, \
                 \"{when}{before}\" (the first) or \"{when}{after}\" (the second)"
            )),
        }
    }
}

enum Day {
    Date(Date),
    /// Today (0), yesterday (-1) or tomorrow (1) in the zone of the time.
    Relative(i8),
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `YYYY-MM-DD`.
fn date_of(s: &str) -> Result<Date, String> {
    let b = s.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(&s[..4])
        && digits(&s[5..7])
        && digits(&s[8..]);
    if !ok {
        return Err(format!("{s:?} is not a date (YYYY-MM-DD)"));
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i16>().unwrap_or(-1);
    Date::new(n(0..4), n(5..7) as i8, n(8..10) as i8).map_err(|_| format!("no such date {s:?}"))
}

/// `H[H]:MM[:SS[.f]]`, the fraction up to microseconds.
fn time_of(s: &str) -> Result<Time, String> {
    let bad = || format!("{s:?} is not a time (HH:MM or HH:MM:SS)");
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => {
            if !digits(f) {
                return Err(bad());
            }
            if f.len() > 6 {
                return Err("fractions of a second beyond microseconds".into());
            }
            (m, Some(f))
        }
        None => (s, None),
    };
    let parts: Vec<&str> = main.split(':').collect();
    // The hour may have one digit (9:30), minutes and seconds have two.
    let hour = |p: &str| -> Result<i8, String> {
        if !digits(p) || p.len() > 2 {
            return Err(bad());
        }
        p.parse::<i8>().map_err(|_| bad())
    };
    let (h, m, sec) = match parts.as_slice() {
        [h, m] if frac.is_none() => (hour(h)?, two(m).ok_or_else(bad)?, 0),
        [h, m, sec] => (hour(h)?, two(m).ok_or_else(bad)?, two(sec).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    let nanos = match frac {
        Some(f) => format!("{f:0<9}").parse::<i32>().map_err(|_| bad())?,
        None => 0,
    };
    Time::new(h, m, sec, nanos).map_err(|_| format!("no such time {s:?}"))
}

/// Exactly two digits.
fn two(p: &str) -> Option<i8> {
    (p.len() == 2 && digits(p))
        .then(|| p.parse().ok())
        .flatten()
}

/// A time of day with a zone glued on: `14:00Z`, `14:00+01:00`, `14:00-0500`.
fn split_zone(s: &str) -> Result<(&str, Option<Offset>), String> {
    if let Some(c) = s.strip_suffix(['Z', 'z']) {
        return Ok((c, Some(Offset::UTC)));
    }
    match s.find(['+', '-']) {
        Some(i) => Ok((&s[..i], Some(offset(&s[i..])?))),
        None => Ok((s, None)),
    }
}

/// `+HH:MM`, `+HHMM` or `+HH` (or `-`).
fn offset(s: &str) -> Result<Offset, String> {
    let bad = || format!("{s:?} is not an offset (+HH:MM)");
    let sign = match s.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    let r = &s[1..];
    let (h, m) = match r.len() {
        2 => (two(r), Some(0)),
        4 => (two(&r[..2]), two(&r[2..])),
        5 if &r[2..3] == ":" => (two(&r[..2]), two(&r[3..])),
        _ => return Err(bad()),
    };
    match (h, m) {
        (Some(h), Some(m)) if h <= 23 && m <= 59 => {
            Offset::from_seconds(sign * (i32::from(h) * 3600 + i32::from(m) * 60))
                .map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// `SECONDS[.FRACTION]` after the `@`.
fn epoch(e: &str) -> Result<Timestamp, String> {
    let bad = || "not Unix seconds (@SECONDS or @SECONDS.FRACTION)".to_string();
    let (secs, frac) = match e.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (e, None),
    };
    if !digits(secs) || frac.is_some_and(|f| !digits(f)) {
        return Err(bad());
    }
    if secs.len() > 12 {
        return Err("out of range".into());
    }
    let micros = match frac {
        Some(f) if f.len() > 6 => return Err("fractions of a second beyond microseconds".into()),
        Some(f) => format!("{f:0<6}").parse::<i64>().map_err(|_| bad())?,
        None => 0,
    };
    let s: i64 = secs.parse().map_err(|_| bad())?;
    let us = s
        .checked_mul(1_000_000)
        .and_then(|u| u.checked_add(micros))
        .ok_or("out of range")?;
    Timestamp::from_microsecond(us).map_err(|_| "out of range".into())
}

/// A span such as `1h30min`, `2 d`, `90s`, in microseconds.
fn span_micros(body: &str) -> Result<i64, String> {
    let b = body.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let mut any = false;
    loop {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i == b.len() {
            break;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(format!("{body:?} is not a span such as 1h30min"));
        }
        if i - start > 12 {
            return Err("out of range".into());
        }
        let n: i64 = body[start..i].parse().map_err(|_| "out of range")?;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let u = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit: i64 = match &body[u..i] {
            "us" | "usec" => 1,
            "ms" | "msec" => 1_000,
            "s" | "sec" | "second" | "seconds" => 1_000_000,
            "m" | "min" | "minute" | "minutes" => 60_000_000,
            "h" | "hr" | "hour" | "hours" => 3_600_000_000,
            "d" | "day" | "days" => 86_400_000_000,
            "w" | "week" | "weeks" => 604_800_000_000,
            "" => return Err(format!("{} needs a unit (s, min, h, d, w)", n)),
            other => return Err(format!("unknown unit {other:?} (s, min, h, d, w)")),
        };
        total = n
            .checked_mul(unit)
            .and_then(|x| total.checked_add(x))
            .ok_or("out of range")?;
        any = true;
    }
    if !any {
        return Err("no span after the sign".into());
    }
    Ok(total)
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`; years 0000 to 9999 only.
fn log_string(ts: Timestamp) -> Result<String, String> {
    let z = ts.to_zoned(TimeZone::UTC);
    if z.year() < 0 {
        return Err("out of range (before the year 0000)".into());
    }
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        z.year(),
        z.month(),
        z.day(),
        z.hour(),
        z.minute(),
        z.second(),
        z.subsec_nanosecond() / 1000
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Europe/Berlin's rule, as a POSIX TZ string (no tz database needed).
    const BERLIN: &str = "CET-1CEST,M3.5.0,M10.5.0/3";
    /// 2026-11-19T12:00:00Z, a Thursday: 13:00 in Berlin.
    const NOON: i64 = 1_795_089_600_000_000;

    fn berlin() -> Clock {
        Clock::fixed(NOON, BERLIN).unwrap()
    }

    fn p(c: &Clock, s: &str) -> String {
        c.parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn the_fixed_now_is_what_the_tests_think() {
        assert_eq!(berlin().now(), "2026-11-19T12:00:00.000000Z");
    }

    #[test]
    fn dates_and_times_are_local_unless_a_zone_is_given() {
        let c = berlin();
        for (s, want) in [
            ("2026-11-19 14:00", "2026-11-19T13:00:00.000000Z"),
            ("2026-11-19 14:00:05", "2026-11-19T13:00:05.000000Z"),
            ("2026-11-19 14:00:05.25", "2026-11-19T13:00:05.250000Z"),
            ("2026-11-19T14:00", "2026-11-19T13:00:00.000000Z"),
            ("  2026-11-19   14:00  ", "2026-11-19T13:00:00.000000Z"),
            ("2026-11-19", "2026-11-18T23:00:00.000000Z"),
            // Summer time: +02:00.
            ("2026-07-01 14:00", "2026-07-01T12:00:00.000000Z"),
            ("2026-11-19 14:00 UTC", "2026-11-19T14:00:00.000000Z"),
            ("2026-11-19 14:00Z", "2026-11-19T14:00:00.000000Z"),
            ("2026-11-19T14:00:00Z", "2026-11-19T14:00:00.000000Z"),
            ("2026-11-19T14:00:00.5z", "2026-11-19T14:00:00.500000Z"),
            ("2026-11-19T15:00:00+01:00", "2026-11-19T14:00:00.000000Z"),
            ("2026-11-19 09:00:00-0500", "2026-11-19T14:00:00.000000Z"),
            ("2026-11-19 09:00 -05", "2026-11-19T14:00:00.000000Z"),
            ("2026-11-19 UTC", "2026-11-19T00:00:00.000000Z"),
            ("14:00", "2026-11-19T13:00:00.000000Z"),
            ("9:30", "2026-11-19T08:30:00.000000Z"),
            ("14:00:30", "2026-11-19T13:00:30.000000Z"),
            ("14:00 UTC", "2026-11-19T14:00:00.000000Z"),
        ] {
            assert_eq!(p(&c, s), want, "{s}");
        }
    }

    #[test]
    fn day_names_and_now() {
        let c = berlin();
        for (s, want) in [
            ("now", "2026-11-19T12:00:00.000000Z"),
            ("today", "2026-11-18T23:00:00.000000Z"),
            ("yesterday", "2026-11-17T23:00:00.000000Z"),
            ("tomorrow", "2026-11-19T23:00:00.000000Z"),
            ("yesterday 14:00", "2026-11-18T13:00:00.000000Z"),
            ("yesterday 16:00:00", "2026-11-18T15:00:00.000000Z"),
            ("yesterday UTC", "2026-11-18T00:00:00.000000Z"),
            ("yesterday 14:00 UTC", "2026-11-18T14:00:00.000000Z"),
            ("tomorrow 00:30", "2026-11-19T23:30:00.000000Z"),
        ] {
            assert_eq!(p(&c, s), want, "{s}");
        }
        // 23:30 UTC is already the next day in Berlin: "today" is local.
        let late = Clock::fixed(NOON + 11 * 3_600_000_000 + 1_800_000_000, BERLIN).unwrap();
        assert_eq!(p(&late, "today"), "2026-11-19T23:00:00.000000Z");
        assert_eq!(p(&late, "yesterday 14:00"), "2026-11-19T13:00:00.000000Z");
        assert_eq!(p(&late, "today UTC"), "2026-11-19T00:00:00.000000Z");
    }

    #[test]
    fn relative_spans_and_epochs() {
        let c = berlin();
        for (s, want) in [
            ("-1h", "2026-11-19T11:00:00.000000Z"),
            ("+30min", "2026-11-19T12:30:00.000000Z"),
            ("-1h30min", "2026-11-19T10:30:00.000000Z"),
            ("-1h 30min", "2026-11-19T10:30:00.000000Z"),
            ("-2d", "2026-11-17T12:00:00.000000Z"),
            ("-1w", "2026-11-12T12:00:00.000000Z"),
            ("-90s", "2026-11-19T11:58:30.000000Z"),
            ("-5m", "2026-11-19T11:55:00.000000Z"),
            ("-250ms", "2026-11-19T11:59:59.750000Z"),
            ("1h ago", "2026-11-19T11:00:00.000000Z"),
            ("2 days ago", "2026-11-17T12:00:00.000000Z"),
            ("1h30min ago", "2026-11-19T10:30:00.000000Z"),
            ("@1795089600", "2026-11-19T12:00:00.000000Z"),
            ("@1795089600.25", "2026-11-19T12:00:00.250000Z"),
            ("@0", "1970-01-01T00:00:00.000000Z"),
        ] {
            assert_eq!(p(&c, s), want, "{s}");
        }
        assert_eq!(c.parse_micros("@1.5").unwrap(), 1_500_000);
    }

    #[test]
    fn local_times_in_a_gap_or_twice_are_errors_naming_the_offsets() {
        let c = berlin();
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST.
        let e = c.parse("2026-03-29 02:30").unwrap_err();
        assert!(e.why.contains("does not exist"), "{e}");
        assert!(e.why.contains("+01") && e.why.contains("+02"), "{e}");
        assert_eq!(p(&c, "2026-03-29 01:59:59"), "2026-03-29T00:59:59.000000Z");
        assert_eq!(p(&c, "2026-03-29 03:00"), "2026-03-29T01:00:00.000000Z");
        // 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 is twice.
        let e = c.parse("2026-10-25 02:30").unwrap_err();
        assert!(e.why.contains("happens twice"), "{e}");
        assert!(e.why.contains("02:30:00+02"), "{e}");
        assert!(e.why.contains("02:30:00+01"), "{e}");
        assert_eq!(
            p(&c, "2026-10-25 02:30+02:00"),
            "2026-10-25T00:30:00.000000Z"
        );
        assert_eq!(
            p(&c, "2026-10-25 02:30+01:00"),
            "2026-10-25T01:30:00.000000Z"
        );
        // A day alone is its first instant, gap or not.
        assert_eq!(p(&c, "2026-03-29"), "2026-03-28T23:00:00.000000Z");
        // A relative time is an exact span, whatever the clocks do.
        let before = Clock::fixed(1_774_746_000_000_000, BERLIN).unwrap(); // 2026-03-29T01:00Z
        assert_eq!(p(&before, "-1d"), "2026-03-28T01:00:00.000000Z");
    }

    #[test]
    fn garbage_is_refused_and_the_error_names_the_forms() {
        let c = berlin();
        for bad in [
            "",
            "   ",
            "yesterday-ish",
            "last thursday",
            "soon",
            "2026-11-19 14:00 garbage",
            "2026-11-19 14:00 UTC UTC",
            "2026-11-19 14:00Z UTC",
            "2026-11-19x",
            "2026-11-19T",
            "2026-11-19T14",
            "2026-02-30",
            "2026-13-01",
            "26-11-19",
            "2026-1-19",
            "25:00",
            "14:60",
            "14:00:60",
            "14:0",
            "14",
            "14:00:00.1234567",
            "14:00 tomorrow",
            "today yesterday",
            "yesterday 14:00 15:00",
            "2026-11-19 14:00 +25:00",
            "2026-11-19 14:00 +1",
            "2026-11-19 14:00+01:00:00",
            "-1",
            "-",
            "+",
            "-1x",
            "-1h-30min",
            "-h",
            "+1h ago",
            "ago",
            " ago",
            "-99999999999999h",
            "-9999999999999w",
            "-9999999999w",
            "-3000000d",
            "@",
            "@-1",
            "@1e3",
            "@ 1",
            "@1.",
            "@.5",
            "@1.1234567",
            "@99999999999999999999",
            "@253402300800",
            "now now",
            "NOW",
            "2026-11-19\u{1b}[2J",
            "2026-11-19\n14:00",
            "２０２６-11-19",
        ] {
            let e = c.parse(bad).expect_err(bad);
            let msg = e.to_string();
            assert!(
                msg.contains("yesterday")
                    && msg.contains("@UNIXSECONDS")
                    && msg.contains("RFC 3339"),
                "{bad:?}: {msg}"
            );
            assert!(!msg.contains('\u{1b}'), "{msg}");
        }
        let long = format!("2026-11-19 14:00{}", " ".repeat(100) + "x");
        assert!(c.parse(&long).is_err());
        // Near the end of the range is fine.
        assert_eq!(p(&c, "@253402200000"), "9999-12-30T20:00:00.000000Z");
    }

    /// Pseudo-random texts built from the forms' pieces: never a panic, and
    /// whatever is accepted reads back as itself in the records' format.
    #[test]
    fn hostile_mixtures_never_panic_and_answers_round_trip() {
        const PIECES: &[&str] = &[
            "2026-11-19",
            "2026-03-29",
            "2026-10-25",
            "9999-12-31",
            "0000-01-01",
            "T",
            "t",
            " ",
            "  ",
            "14:00",
            "02:30",
            "23:59:59",
            "00:00:00.000001",
            ".5",
            ":",
            "-",
            "+",
            "Z",
            "z",
            " UTC",
            "+01:00",
            "-0500",
            "+25",
            "@",
            "1",
            "0",
            "99999999999",
            ".",
            "h",
            "min",
            "m",
            "s",
            "d",
            "w",
            "ago",
            " ago",
            "now",
            "today",
            "yesterday",
            "tomorrow",
            "\u{1b}",
            "é",
            "\0",
            "x",
        ];
        let c = berlin();
        let utc = Clock::fixed(NOON, "UTC").unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut s = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for k in 0..(x % 5 + 1) {
                s.push_str(PIECES[((x >> (8 * k + 3)) % PIECES.len() as u64) as usize]);
            }
            if let Ok(t) = c.parse(&s) {
                accepted += 1;
                assert_eq!(utc.parse(&t).as_ref(), Ok(&t), "{s:?}");
                assert_eq!(c.parse(&t).as_ref(), Ok(&t), "{s:?}");
            }
        }
        assert!(accepted > 100, "{accepted}");
    }

    #[test]
    fn zones_by_name_rule_or_utc() {
        assert_eq!(Clock::fixed(NOON, "UTC").unwrap().zone_name(), "UTC");
        let utc = Clock::fixed(NOON, "UTC").unwrap();
        assert_eq!(p(&utc, "2026-11-19 14:00"), "2026-11-19T14:00:00.000000Z");
        assert!(Clock::fixed(NOON, "Not/A_Zone").is_err());
        assert!(Clock::fixed(i64::MAX, "UTC").is_err());
        // New York (EST5EDT rule): 2026-11-01 01:30 happens twice.
        let ny = Clock::fixed(NOON, "EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(p(&ny, "2026-11-19 09:00"), "2026-11-19T14:00:00.000000Z");
        assert!(ny.parse("2026-11-01 01:30").is_err());
    }
}
