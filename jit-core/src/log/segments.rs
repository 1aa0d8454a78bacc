//! Which files make up which log: inputs given as files or directories,
//! grouped into logs (one chain each) by the log id of their first record.

use super::query::QueryError;
use std::path::PathBuf;

/// The files of `inputs` ([`super::source::walk`]): a file as given; a
/// directory walked recursively, entries in byte order of their names,
/// taking regular files only. Symbolic links met inside a directory are
/// skipped, to files as well as to directories (a link can point anywhere,
/// or at a file already read: name a link's target directly to read it). A
/// file reached twice (the same device and inode) is read once.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, QueryError> {
    Ok(super::source::walk(inputs)?.0)
}

impl From<super::source::SourceError> for QueryError {
    fn from(e: super::source::SourceError) -> Self {
        match e {
            super::source::SourceError::Io { path, source } => QueryError::Io { path, source },
        }
    }
}

/// Group files by the `log_id` of their first record and order each group
/// by first `seq`, oldest first ([`super::source::group_segments`], the one
/// grouping rule of `log`, `fleet`, `query` and the ledger commands).
/// Groups are in log-id order.
pub fn group_segments(files: &[PathBuf]) -> Result<Vec<Vec<PathBuf>>, QueryError> {
    Ok(super::source::group_segments(files)?)
}

/// The log id of a log's segments (hex), from its first segment's first
/// record; `None` if it holds no readable record.
pub fn log_id_of(files: &[PathBuf]) -> Result<Option<String>, QueryError> {
    match files.first() {
        Some(f) => Ok(super::source::first_record(f)?.0),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_walked_in_name_order_without_following_links() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("b-host/sub")).unwrap();
        std::fs::create_dir_all(root.join("a-host")).unwrap();
        for f in [
            "a-host/audit.log.1",
            "a-host/audit.log",
            "b-host/sub/x",
            "c",
        ] {
            std::fs::write(root.join(f), f).unwrap();
        }
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("elsewhere"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("b-host/linked-dir")).unwrap();
        std::os::unix::fs::symlink(root.join("c"), root.join("b-host/linked-file")).unwrap();
        let got = expand_inputs(&[root.to_path_buf(), root.join("c")]).unwrap();
        let rel: Vec<String> = got
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            rel,
            [
                "a-host/audit.log",
                "a-host/audit.log.1",
                "b-host/sub/x",
                "c"
            ]
        );
        // A link named on the command line is followed.
        let got = expand_inputs(&[root.join("b-host/linked-dir")]).unwrap();
        assert_eq!(got.len(), 1);
        assert!(expand_inputs(&[root.join("missing")]).is_err());
    }
}
