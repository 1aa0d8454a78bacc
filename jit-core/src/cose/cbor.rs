//! The strict CBOR subset signed objects use (docs/token-format.md §1.2).
//!
//! [`validate`] checks in one allocation-free pass that bytes are
//! well-formed, deterministically encoded CBOR of the allowed kinds. After it
//! succeeds, [`Reader`] walks the same bytes without re-checking encoding
//! rules (but still bounds-checked: nothing here can panic). [`Enc`] is the
//! one encoder, used by the issuer and by the verifier's re-encoding check.

/// Maximum nesting depth of any item (a top-level scalar has depth 1).
pub const MAX_DEPTH: usize = 8;

/// Why bytes are not acceptable CBOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CborError {
    /// Not well-formed, or an item kind tokens never contain.
    Malformed(&'static str),
    /// Well-formed but not deterministically encoded.
    NotCanonical(&'static str),
    /// A map key appears twice.
    DuplicateKey,
    /// Bytes follow the item.
    TrailingBytes,
}

/// Read one head at `pos`: (major type, argument, position after the head).
/// Enforces shortest form and definite lengths.
fn head(buf: &[u8], pos: usize) -> Result<(u8, u64, usize), CborError> {
    let first = *buf.get(pos).ok_or(CborError::Malformed("truncated"))?;
    let major = first >> 5;
    let ai = first & 0x1f;
    if major == 7 {
        return match ai {
            20 | 21 => Ok((7, u64::from(ai), pos + 1)),
            _ => Err(CborError::Malformed(
                "float, null, undefined or simple value (only false and true are allowed)",
            )),
        };
    }
    // (bytes of argument, smallest value that needs this many bytes)
    let (len, min) = match ai {
        0..=23 => return Ok((major, u64::from(ai), pos + 1)),
        24 => (1usize, 24u64),
        25 => (2, 256),
        26 => (4, 65536),
        27 => (8, 1 << 32),
        28..=30 => return Err(CborError::Malformed("reserved additional information")),
        _ => {
            return Err(match major {
                2..=5 => CborError::NotCanonical("indefinite length"),
                _ => CborError::Malformed("indefinite length on a type that has none"),
            })
        }
    };
    let bytes = buf
        .get(pos + 1..pos + 1 + len)
        .ok_or(CborError::Malformed("truncated"))?;
    let mut v: u64 = 0;
    for &b in bytes {
        v = (v << 8) | u64::from(b);
    }
    if v < min {
        return Err(CborError::NotCanonical(
            "integer, length or tag not in shortest form",
        ));
    }
    Ok((major, v, pos + 1 + len))
}

/// Skip a string body of `len` bytes at `pos`.
fn body(buf: &[u8], pos: usize, len: u64) -> Result<(usize, &[u8]), CborError> {
    let len = usize::try_from(len).map_err(|_| CborError::Malformed("truncated"))?;
    let end = pos
        .checked_add(len)
        .ok_or(CborError::Malformed("truncated"))?;
    let s = buf.get(pos..end).ok_or(CborError::Malformed("truncated"))?;
    Ok((end, s))
}

/// Validate one item at `pos`; returns the position after it.
fn item(buf: &[u8], pos: usize, depth: usize, tag_ok: bool) -> Result<usize, CborError> {
    if depth > MAX_DEPTH {
        return Err(CborError::Malformed("nested too deeply"));
    }
    let (major, arg, mut p) = head(buf, pos)?;
    match major {
        0 | 1 | 7 => Ok(p),
        2 => Ok(body(buf, p, arg)?.0),
        3 => {
            let (end, s) = body(buf, p, arg)?;
            std::str::from_utf8(s).map_err(|_| CborError::Malformed("text string is not UTF-8"))?;
            Ok(end)
        }
        4 => {
            // Every item takes at least one byte: a count beyond the input is truncated.
            if arg > (buf.len() - p) as u64 {
                return Err(CborError::Malformed("truncated"));
            }
            for _ in 0..arg {
                p = item(buf, p, depth + 1, false)?;
            }
            Ok(p)
        }
        5 => {
            if arg > ((buf.len() - p) / 2) as u64 {
                return Err(CborError::Malformed("truncated"));
            }
            let map_start = p;
            let mut prev: Option<(usize, usize)> = None;
            for _ in 0..arg {
                let k0 = p;
                p = item(buf, p, depth + 1, false)?;
                let key = &buf[k0..p];
                if let Some((a, b)) = prev {
                    let prev_key = &buf[a..b];
                    if key == prev_key {
                        return Err(CborError::DuplicateKey);
                    }
                    if key < prev_key {
                        // Out of order: is it a repeat of an earlier key?
                        if earlier_key_equals(buf, map_start, k0, key) {
                            return Err(CborError::DuplicateKey);
                        }
                        return Err(CborError::NotCanonical("map keys not in canonical order"));
                    }
                }
                prev = Some((k0, p));
                p = item(buf, p, depth + 1, false)?;
            }
            Ok(p)
        }
        6 => {
            if !tag_ok {
                return Err(CborError::Malformed("tag not allowed here"));
            }
            item(buf, p, depth + 1, false)
        }
        _ => Err(CborError::Malformed("unknown major type")),
    }
}

/// Whether a key before `stop` in the (already validated) map at `start` equals `key`.
fn earlier_key_equals(buf: &[u8], start: usize, stop: usize, key: &[u8]) -> bool {
    let mut p = start;
    while p < stop {
        let Ok(kend) = item(buf, p, 1, false) else {
            return false;
        };
        if &buf[p..kend] == key {
            return true;
        }
        let Ok(vend) = item(buf, kend, 1, false) else {
            return false;
        };
        p = vend;
    }
    false
}

/// Validate that `buf` is exactly one deterministically encoded item of the
/// allowed kinds; a tag is allowed only as the outermost item if `tag_ok`.
pub fn validate(buf: &[u8], tag_ok: bool) -> Result<(), CborError> {
    if buf.is_empty() {
        return Err(CborError::Malformed("empty"));
    }
    let end = item(buf, 0, 1, tag_ok)?;
    if end != buf.len() {
        return Err(CborError::TrailingBytes);
    }
    Ok(())
}

/// A cursor over validated CBOR.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A decoded head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is -1 - n.
    Nint(u64),
    /// Byte string of this length.
    Bytes(u64),
    /// Text string of this length.
    Text(u64),
    /// Array of this many items.
    Array(u64),
    /// Map of this many pairs.
    Map(u64),
    /// Tag.
    Tag(u64),
    /// false / true.
    Bool(bool),
}

impl Head {
    /// A short name for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Head::Uint(_) | Head::Nint(_) => "integer",
            Head::Bytes(_) => "byte string",
            Head::Text(_) => "text string",
            Head::Array(_) => "array",
            Head::Map(_) => "map",
            Head::Tag(_) => "tag",
            Head::Bool(_) => "boolean",
        }
    }
}

const TRUNC: CborError = CborError::Malformed("truncated");

/// A map key as shown in a rejection message: `7`, `-1`, `"shell"`, or the
/// kind of item in parentheses; empty if it does not decode.
pub fn key_name(k: &[u8]) -> String {
    let mut kr = Reader::new(k);
    match kr.head() {
        Ok(Head::Uint(v)) => v.to_string(),
        Ok(Head::Nint(v)) => format!("-{}", u128::from(v) + 1),
        Ok(Head::Text(l)) => kr
            .text_body(l)
            .map(|s| format!("{s:?}"))
            .unwrap_or_default(),
        Ok(h) => format!("({})", h.kind()),
        Err(_) => String::new(),
    }
}

/// The first key of the map `map` (a validated item) that is neither one of
/// the unsigned integers `uints` (each below 24) nor one of the text strings
/// `texts` (each shorter than 24 bytes), as its encoded bytes; `None` when
/// every key is known. Both signed formats reject unknown keys before they
/// look at any value.
pub fn unknown_key<'a>(
    map: &'a [u8],
    uints: &[u8],
    texts: &[&str],
) -> Result<Option<&'a [u8]>, CborError> {
    let mut r = Reader::new(map);
    let Head::Map(n) = r.head()? else {
        return Err(CborError::Malformed("not a map"));
    };
    for _ in 0..n {
        let k = r.skip()?;
        let known = match k {
            [b] if *b < 24 => uints.contains(b),
            [h, rest @ ..] if (0x60..0x78).contains(h) => {
                std::str::from_utf8(rest).is_ok_and(|s| texts.contains(&s))
            }
            _ => false,
        };
        if !known {
            return Ok(Some(k));
        }
        r.skip()?;
    }
    Ok(None)
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    /// Whether everything has been read.
    pub fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }
    /// The current position.
    pub fn pos(&self) -> usize {
        self.pos
    }
    /// Read a head.
    pub fn head(&mut self) -> Result<Head, CborError> {
        let (major, arg, p) = head(self.buf, self.pos)?;
        self.pos = p;
        Ok(match major {
            0 => Head::Uint(arg),
            1 => Head::Nint(arg),
            2 => Head::Bytes(arg),
            3 => Head::Text(arg),
            4 => Head::Array(arg),
            5 => Head::Map(arg),
            6 => Head::Tag(arg),
            _ => Head::Bool(arg == 21),
        })
    }
    /// Read `len` raw bytes (a string body).
    pub fn take(&mut self, len: u64) -> Result<&'a [u8], CborError> {
        let (end, s) = body(self.buf, self.pos, len)?;
        self.pos = end;
        Ok(s)
    }
    /// Read the body of a text string whose head was read.
    pub fn text_body(&mut self, len: u64) -> Result<&'a str, CborError> {
        std::str::from_utf8(self.take(len)?)
            .map_err(|_| CborError::Malformed("text string is not UTF-8"))
    }
    /// Skip one whole item, returning its raw bytes.
    pub fn skip(&mut self) -> Result<&'a [u8], CborError> {
        let start = self.pos;
        let end = item(self.buf, self.pos, 1, true)?;
        self.pos = end;
        self.buf.get(start..end).ok_or(TRUNC)
    }
}

/// The deterministic encoder. Callers emit map keys in canonical order.
#[derive(Debug, Default)]
pub struct Enc {
    /// The bytes written so far.
    pub out: Vec<u8>,
}

impl Enc {
    /// An encoder with room for `cap` bytes.
    pub fn with_capacity(cap: usize) -> Self {
        Enc {
            out: Vec::with_capacity(cap),
        }
    }
    /// Write a head in shortest form.
    pub fn head(&mut self, major: u8, v: u64) {
        let m = major << 5;
        if v < 24 {
            self.out.push(m | v as u8);
        } else if v < 256 {
            self.out.extend_from_slice(&[m | 24, v as u8]);
        } else if v < 65536 {
            self.out.push(m | 25);
            self.out.extend_from_slice(&(v as u16).to_be_bytes());
        } else if v < (1 << 32) {
            self.out.push(m | 26);
            self.out.extend_from_slice(&(v as u32).to_be_bytes());
        } else {
            self.out.push(m | 27);
            self.out.extend_from_slice(&v.to_be_bytes());
        }
    }
    /// A signed integer.
    pub fn int(&mut self, v: i64) {
        if v >= 0 {
            self.head(0, v as u64);
        } else {
            self.head(1, (-1 - v) as u64);
        }
    }
    /// A byte string.
    pub fn bytes(&mut self, b: &[u8]) {
        self.head(2, b.len() as u64);
        self.out.extend_from_slice(b);
    }
    /// A text string.
    pub fn text(&mut self, s: &str) {
        self.head(3, s.len() as u64);
        self.out.extend_from_slice(s.as_bytes());
    }
    /// An array head.
    pub fn array(&mut self, n: usize) {
        self.head(4, n as u64);
    }
    /// A map head.
    pub fn map(&mut self, n: usize) {
        self.head(5, n as u64);
    }
    /// `true` / `false`.
    pub fn bool(&mut self, b: bool) {
        self.out.push(if b { 0xf5 } else { 0xf4 });
    }
    /// A tag head.
    pub fn tag(&mut self, t: u64) {
        self.head(6, t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(b: &[u8]) -> Result<(), CborError> {
        validate(b, true)
    }

    #[test]
    fn unknown_key_names_the_first_key_not_listed() {
        let mut e = Enc::default();
        e.map(4);
        e.head(0, 1);
        e.bool(true);
        e.head(0, 7);
        e.bool(true);
        e.text("ab");
        e.bool(true);
        e.text("zz");
        e.bool(true);
        let m = e.out;
        assert_eq!(unknown_key(&m, &[1, 7], &["ab", "zz"]), Ok(None));
        assert_eq!(unknown_key(&m, &[1], &["ab", "zz"]), Ok(Some(&[0x07][..])));
        assert_eq!(unknown_key(&m, &[1, 7], &["ab"]), Ok(Some(&b"\x62zz"[..])));
        assert_eq!(
            unknown_key(&m, &[1, 7, 0x62], &["ab"]),
            Ok(Some(&b"\x62zz"[..]))
        );
    }

    #[test]
    fn accepts_canonical_items() {
        assert_eq!(v(&[0x00]), Ok(()));
        assert_eq!(v(&[0x17]), Ok(()));
        assert_eq!(v(&[0x18, 0x18]), Ok(()));
        assert_eq!(v(&[0x19, 0x01, 0x00]), Ok(()));
        assert_eq!(v(&[0xa2, 0x01, 0xf5, 0x02, 0xf4]), Ok(()));
        assert_eq!(v(&[0xd2, 0x80]), Ok(()));
        assert_eq!(v(&[0x62, b'h', b'i']), Ok(()));
    }

    #[test]
    fn rejects_non_minimal_heads() {
        assert!(matches!(v(&[0x18, 0x17]), Err(CborError::NotCanonical(_))));
        assert!(matches!(
            v(&[0x19, 0x00, 0xff]),
            Err(CborError::NotCanonical(_))
        ));
        assert!(matches!(
            v(&[0x1a, 0, 0, 0xff, 0xff]),
            Err(CborError::NotCanonical(_))
        ));
        assert!(matches!(
            v(&[0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::NotCanonical(_))
        ));
        // Non-minimal length of a byte string.
        assert!(matches!(
            v(&[0x58, 0x01, 0xaa]),
            Err(CborError::NotCanonical(_))
        ));
        // Non-minimal tag number.
        assert!(matches!(
            v(&[0xd8, 0x12, 0x80]),
            Err(CborError::NotCanonical(_))
        ));
    }

    #[test]
    fn rejects_indefinite_lengths() {
        for b in [
            &[0x9f, 0xff][..],
            &[0xbf, 0xff],
            &[0x5f, 0xff],
            &[0x7f, 0xff],
        ] {
            assert_eq!(
                v(b),
                Err(CborError::NotCanonical("indefinite length")),
                "{b:x?}"
            );
        }
        assert!(matches!(v(&[0xff]), Err(CborError::Malformed(_))));
    }

    #[test]
    fn rejects_duplicate_and_unsorted_keys() {
        assert_eq!(
            v(&[0xa2, 0x01, 0x00, 0x01, 0x00]),
            Err(CborError::DuplicateKey)
        );
        // Duplicate that is not adjacent: [1, 2, 1].
        assert_eq!(
            v(&[0xa3, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00]),
            Err(CborError::DuplicateKey)
        );
        assert!(matches!(
            v(&[0xa2, 0x02, 0x00, 0x01, 0x00]),
            Err(CborError::NotCanonical(_))
        ));
        // Bytewise order: 0x18 0x18 (24) sorts after 0x17 (23), text after ints.
        assert_eq!(v(&[0xa2, 0x17, 0x00, 0x18, 0x18, 0x00]), Ok(()));
        assert!(matches!(
            v(&[0xa2, 0x61, b'a', 0x00, 0x01, 0x00]),
            Err(CborError::NotCanonical(_))
        ));
    }

    #[test]
    fn rejects_other_kinds_trailing_and_truncation() {
        assert!(matches!(v(&[0xf6]), Err(CborError::Malformed(_)))); // null
        assert!(matches!(v(&[0xf9, 0, 0]), Err(CborError::Malformed(_)))); // half float
        assert!(matches!(
            v(&[0x81, 0xc1, 0x00]),
            Err(CborError::Malformed(_))
        )); // nested tag
        assert!(matches!(
            validate(&[0xc1, 0x00], false),
            Err(CborError::Malformed(_))
        ));
        assert_eq!(v(&[0x00, 0x00]), Err(CborError::TrailingBytes));
        assert!(matches!(
            v(&[0x62, b'a']),
            Err(CborError::Malformed("truncated"))
        ));
        assert!(matches!(
            v(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::Malformed(_))
        ));
        assert!(matches!(
            v(&[0x62, 0xff, 0xfe]),
            Err(CborError::Malformed(_))
        )); // bad UTF-8
        assert!(matches!(v(&[]), Err(CborError::Malformed(_))));
        assert!(matches!(v(&[0x1c]), Err(CborError::Malformed(_))));
        // Depth: 8 nested arrays are fine, 9 are not.
        let mut ok = vec![0x81; 7];
        ok.push(0x00);
        assert_eq!(v(&ok), Ok(()));
        let mut deep = vec![0x81; 8];
        deep.push(0x00);
        assert!(matches!(v(&deep), Err(CborError::Malformed(_))));
    }

    #[test]
    fn encoder_is_shortest_form_and_validates() {
        for n in [
            0u64,
            23,
            24,
            255,
            256,
            65535,
            65536,
            u32::MAX as u64,
            1 << 32,
            u64::MAX,
        ] {
            let mut e = Enc::default();
            e.head(0, n);
            assert_eq!(validate(&e.out, false), Ok(()), "{n}");
            let mut r = Reader::new(&e.out);
            assert_eq!(r.head(), Ok(Head::Uint(n)));
            assert!(r.at_end());
        }
        let mut e = Enc::default();
        e.int(-8);
        assert_eq!(e.out, [0x27]);
    }
}
