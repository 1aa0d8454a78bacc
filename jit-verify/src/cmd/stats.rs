//! `jit-verify stats`: counts per user, host, command and denial reason.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use jit_core::log::query::{self, Stats};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<i32> {
    let Args { json, files } = a;
    let mut st = Stats::default();
    st.unparsable_lines = query::for_each_record(&files, |_, _, r| {
        st.add(r);
        Ok(())
    })?;
    let mut out = std::io::stdout().lock();
    if json {
        let mut v = serde_json::to_value(&st)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("json_version".into(), crate::JSON_VERSION.into());
        }
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
        return Ok(0);
    }
    writeln!(
        out,
        "records {}  decisions {}  allowed {}  denied {}  break-glass {}  recoveries {}",
        st.records, st.decisions, st.allowed, st.denied, st.break_glass, st.recoveries
    )?;
    for (title, m) in [
        ("per user", &st.per_user),
        ("per host", &st.per_host),
        ("per command", &st.per_command),
        ("denials by reason", &st.denials_by_reason),
    ] {
        writeln!(out, "\n{title}:")?;
        let mut v: Vec<_> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (k, n) in v {
            writeln!(out, "  {n:>8}  {k}")?;
        }
    }
    let s = &st.sessions;
    writeln!(
        out,
        "\nsessions: {} closed, total {:.1}s, mean {:.1}s, max {:.1}s",
        s.count, s.total_secs, s.mean_secs, s.max_secs
    )?;
    if st.unparsable_lines > 0 {
        writeln!(out, "unparsable lines skipped: {}", st.unparsable_lines)?;
    }
    Ok(0)
}
