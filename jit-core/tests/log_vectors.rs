//! The committed vectors in docs/vectors/log/ verify exactly as expected.json says.

use jit_core::log::verify::{self, Options, SealKey};
use std::path::PathBuf;

#[test]
fn committed_vectors_match_expected() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors/log");
    let expected: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    assert!(expected.len() >= 10);
    for c in expected {
        let files: Vec<PathBuf> = c["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| dir.join(f.as_str().unwrap()))
            .collect();
        let opts = Options {
            seal_key: (c["seal_key"] == true)
                .then(|| SealKey::read(&dir.join("seal-key.initial")).unwrap()),
            state: c["state"]
                .as_str()
                .map(|s| verify::read_state(&dir.join(s)).unwrap()),
            ..Default::default()
        };
        let r = verify::verify_files(&files, &opts).unwrap();
        let got: Vec<serde_json::Value> = r
            .findings
            .iter()
            .map(|f| serde_json::json!({"class": f.class, "kind": f.kind, "line": f.line, "seq": f.seq}))
            .collect();
        assert_eq!(serde_json::json!(r.outcome), c["outcome"], "{}", c["name"]);
        assert_eq!(serde_json::json!(got), c["findings"], "{}", c["name"]);
    }
}
