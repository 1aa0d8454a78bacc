//! The writer state file: two fixed 256-byte slots (docs/log-format.md, "The state file").

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use zeroize::Zeroize;

/// Size of one slot.
pub const SLOT: usize = 256;
/// Size of the state file.
pub const STATE_LEN: u64 = 2 * SLOT as u64;
const MAGIC: &[u8; 8] = b"JITLOGS1";
const CTX_SLOT: &str = "jit log state slot v1";

/// The decoded state.
#[derive(Clone, PartialEq, Eq)]
pub struct State {
    /// `seq` of the head (last) record.
    pub seq: u64,
    /// Hash of the head record.
    pub head: [u8; 32],
    /// `k_{seq+1}`.
    pub key: [u8; 32],
    /// The log's id.
    pub log_id: [u8; 16],
    /// Device of the current log file.
    pub dev: u64,
    /// Inode of the current log file.
    pub ino: u64,
    /// Size of the log file after the head record.
    pub size: u64,
    /// `key_id` of the initial key (16 bytes).
    pub key_id: [u8; 16],
}

impl Drop for State {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("seq", &self.seq)
            .field("head", &super::record::hex(&self.head))
            .field("key", &"<redacted>")
            .field("log_id", &super::record::hex(&self.log_id))
            .field("ino", &self.ino)
            .field("size", &self.size)
            .finish()
    }
}

/// Why a state file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// I/O.
    #[error("cannot read it: {0}")]
    Io(#[from] io::Error),
    /// Neither slot is valid.
    #[error("no valid slot (corrupt)")]
    Corrupt,
    /// Two valid slots that do not follow each other.
    #[error("inconsistent: valid slots for seq {0} and {1}, which do not follow each other")]
    Inconsistent(u64, u64),
}

impl State {
    /// Encode into one slot.
    pub fn encode(&self) -> [u8; SLOT] {
        let mut s = [0u8; SLOT];
        s[0..8].copy_from_slice(MAGIC);
        s[8..16].copy_from_slice(&self.seq.to_le_bytes());
        s[16..48].copy_from_slice(&self.head);
        s[48..80].copy_from_slice(&self.key);
        s[80..96].copy_from_slice(&self.log_id);
        s[96..104].copy_from_slice(&self.dev.to_le_bytes());
        s[104..112].copy_from_slice(&self.ino.to_le_bytes());
        s[112..120].copy_from_slice(&self.size.to_le_bytes());
        s[120..136].copy_from_slice(&self.key_id);
        let c = blake3::derive_key(CTX_SLOT, &s[..224]);
        s[224..256].copy_from_slice(&c);
        s
    }

    /// Decode one slot; `None` when empty, wiped or damaged.
    pub fn decode(s: &[u8]) -> Option<State> {
        if s.len() != SLOT || &s[0..8] != MAGIC {
            return None;
        }
        let c = blake3::derive_key(CTX_SLOT, &s[..224]);
        if c[..] != s[224..256] {
            return None;
        }
        let u = |r: std::ops::Range<usize>| -> u64 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&s[r]);
            u64::from_le_bytes(b)
        };
        let mut head = [0u8; 32];
        head.copy_from_slice(&s[16..48]);
        let mut key = [0u8; 32];
        key.copy_from_slice(&s[48..80]);
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(&s[80..96]);
        let mut key_id = [0u8; 16];
        key_id.copy_from_slice(&s[120..136]);
        Some(State {
            seq: u(8..16),
            head,
            key,
            log_id,
            dev: u(96..104),
            ino: u(104..112),
            size: u(112..120),
            key_id,
        })
    }

    /// Decode the two-slot file content.
    pub fn from_bytes(b: &[u8]) -> Result<State, StateError> {
        State::slots_from_bytes(b).map(|(newer, _)| newer)
    }

    /// Read a state file. `Ok(None)` when it does not exist.
    pub fn read(path: &Path) -> Result<Option<State>, StateError> {
        Ok(State::read_slots(path)?.map(|(newer, _)| newer))
    }

    /// Decode the two-slot file content as `(newer, older)`: the state and,
    /// when both slots are valid, the one before it (the fallback when the
    /// newer names a record the log lost at a power cut).
    pub fn slots_from_bytes(b: &[u8]) -> Result<(State, Option<State>), StateError> {
        let a = b.get(..SLOT).and_then(State::decode);
        let c = b.get(SLOT..2 * SLOT).and_then(State::decode);
        match (a, c) {
            (None, None) => Err(StateError::Corrupt),
            (Some(x), None) | (None, Some(x)) => Ok((x, None)),
            (Some(x), Some(y)) => {
                let (lo, hi) = if x.seq < y.seq { (x, y) } else { (y, x) };
                if hi.seq != lo.seq.wrapping_add(1) || hi.seq % 2 == lo.seq % 2 {
                    return Err(StateError::Inconsistent(lo.seq, hi.seq));
                }
                Ok((hi, Some(lo)))
            }
        }
    }

    /// [`State::read_from`] with both slots: `(newer, older)`.
    pub fn slots_from(f: &File) -> Result<Option<(State, Option<State>)>, StateError> {
        let mut b = [0u8; 2 * SLOT];
        let mut n = 0;
        while n < b.len() {
            match f.read_at(&mut b[n..], n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let r = if n == 0 {
            Ok(None)
        } else {
            State::slots_from_bytes(&b[..n]).map(Some)
        };
        b.zeroize();
        r
    }

    /// [`State::read`] with both slots: `(newer, older)`.
    pub fn read_slots(path: &Path) -> Result<Option<(State, Option<State>)>, StateError> {
        match File::open(path) {
            Ok(f) => State::slots_from(&f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Read the state from an open state file (the writer's own descriptor).
    /// `Ok(None)` when the file is empty (created but never written, after a
    /// crash or a refused creation: the same as missing). Bytes after the two
    /// slots are ignored.
    pub fn read_from(f: &File) -> Result<Option<State>, StateError> {
        Ok(State::slots_from(f)?.map(|(newer, _)| newer))
    }

    /// The state of a flushed record (docs/log-format.md, "Durability"):
    /// write this state into its slot (`seq % 2`), `fdatasync`, then zero the
    /// other slot (which holds the previous key) and `fdatasync` again, so the
    /// previous key is off the device before the caller goes on. Each write
    /// changes one slot after the other is on disk: a torn sector leaves one
    /// valid slot. The log must be on disk up to this state's record.
    pub fn store(&self, f: &File) -> io::Result<()> {
        self.store_written(f)?;
        f.sync_data()?;
        let other = (1 - (self.seq % 2) as usize) * SLOT;
        f.write_all_at(&[0u8; SLOT], other as u64)?;
        f.sync_data()
    }

    /// The state of a written (not flushed) record: write this state into its
    /// slot only. The other slot, the state of the flushed record before it,
    /// stays valid: it is what a reader falls back to when a power cut loses
    /// this record from the log.
    pub fn store_written(&self, f: &File) -> io::Result<()> {
        let slot = (self.seq % 2) as usize;
        let mut enc = self.encode();
        let r = f.write_all_at(&enc, (slot * SLOT) as u64);
        enc.zeroize();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(seq: u64) -> State {
        State {
            seq,
            head: [seq as u8; 32],
            key: [7; 32],
            log_id: [1; 16],
            dev: 1,
            ino: 2,
            size: 3,
            key_id: [4; 16],
        }
    }

    #[test]
    fn slots_roundtrip_and_pick_newer() {
        let mut b = vec![0u8; 512];
        b[..256].copy_from_slice(&st(4).encode());
        assert_eq!(State::from_bytes(&b).unwrap().seq, 4);
        b[256..].copy_from_slice(&st(5).encode());
        assert_eq!(State::from_bytes(&b).unwrap().seq, 5);
        // a torn new slot falls back to the old one
        b[300] ^= 1;
        assert_eq!(State::from_bytes(&b).unwrap().seq, 4);
        // two slots that do not follow each other
        b[256..].copy_from_slice(&st(9).encode());
        assert!(matches!(
            State::from_bytes(&b),
            Err(StateError::Inconsistent(4, 9))
        ));
        assert!(matches!(
            State::from_bytes(&[0u8; 512]),
            Err(StateError::Corrupt)
        ));
        assert!(matches!(State::from_bytes(&[]), Err(StateError::Corrupt)));
    }
}
