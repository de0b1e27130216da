//! String order ids with inline storage for short values.
//!
//! Ids of up to [`INLINE_CAP`] bytes live inside the value itself (no heap
//! allocation, and comparing against a stored id reads no other memory);
//! longer ones are boxed. `StrId` stays 24 bytes, so `OrderId` does too.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Longest string order id (and symbol), in UTF-8 bytes.
pub const MAX_ID_LEN: usize = 64;

/// Longest id stored inline.
const INLINE_CAP: usize = 22;

/// Canonical: a value of at most `INLINE_CAP` bytes is always `Inline`, with
/// `buf[len..]` zeroed; `Heap` holds longer values only. Both hold
/// 1..=`MAX_ID_LEN` bytes of UTF-8.
#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE_CAP] },
    Heap(Box<str>),
}

/// A string order id: 1..=[`MAX_ID_LEN`] bytes of UTF-8, so every value is
/// encodable. Construct with [`StrId::new`].
#[derive(Clone)]
pub struct StrId(Repr);

impl StrId {
    /// Validates the length (1..=64 bytes); the error is the offending length.
    /// `StrId::new` (ids.rs) is the public form, with a `BookError`.
    pub(crate) fn checked(s: &str) -> Result<StrId, usize> {
        let bytes = s.as_bytes();
        if bytes.is_empty() || bytes.len() > MAX_ID_LEN {
            return Err(bytes.len());
        }
        if bytes.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            let Some(head) = buf.get_mut(..bytes.len()) else { return Err(bytes.len()) };
            head.copy_from_slice(bytes);
            return Ok(StrId(Repr::Inline { len: bytes.len() as u8, buf }));
        }
        Ok(StrId(Repr::Heap(s.into())))
    }

    /// The UTF-8 bytes of the id.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Heap(s) => s.as_bytes(),
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Inline bytes were copied from a `&str`, so this cannot fail.
            Repr::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            Repr::Heap(s) => s,
        }
    }
}

impl PartialEq for StrId {
    fn eq(&self, other: &StrId) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for StrId {}

/// Same order as `str` (UTF-8 byte order is code point order).
impl Ord for StrId {
    fn cmp(&self, other: &StrId) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for StrId {
    fn partial_cmp(&self, other: &StrId) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for StrId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
    }
}

impl fmt::Debug for StrId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for StrId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_behave_alike() {
        for len in [1, 21, 22, 23, 64] {
            let s: String = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let id = StrId::new(&s).unwrap();
            assert_eq!(id.as_str(), s);
            assert_eq!(id.as_bytes(), s.as_bytes());
            assert_eq!(id, StrId::new(&s).unwrap());
            assert_eq!(format!("{id}"), s);
            assert_eq!(format!("{id:?}"), format!("{s:?}"));
            assert!(matches!(id.0, Repr::Inline { .. }) == (s.len() <= INLINE_CAP));
        }
        let a = StrId::new("abc").unwrap();
        let long = StrId::new(&"abc".repeat(10)).unwrap();
        assert!(a < long && a != long);
        assert_eq!(std::mem::size_of::<crate::OrderId>(), 24);
    }
}
