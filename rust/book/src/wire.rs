//! Little-endian primitives shared by the op codec and the snapshot format.
//!
//! The reader never indexes out of bounds and never allocates more than the
//! bytes it has already checked are present.

use crate::error::CodecError;
use crate::types::{OrderId, Side, StrId, MAX_ID_LEN};

pub(crate) const ID_TAG_INT: u8 = 0;
pub(crate) const ID_TAG_STR: u8 = 1;

/// Smallest encoded id: tag + 1-byte length + 1 byte of string.
pub(crate) const MIN_ID_LEN: usize = 3;

pub(crate) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// `0 u64` or `1 len:u8 bytes`. `StrId` guarantees `len <= 64`, so the length
/// always fits in a byte.
pub(crate) fn put_id(out: &mut Vec<u8>, id: &OrderId) {
    match id {
        OrderId::Int(v) => {
            out.push(ID_TAG_INT);
            put_u64(out, *v);
        }
        OrderId::Str(s) => {
            let bytes = s.as_bytes();
            out.push(ID_TAG_STR);
            out.push(bytes.len() as u8);
            out.extend_from_slice(bytes);
        }
    }
}

pub(crate) fn id_len(id: &OrderId) -> usize {
    match id {
        OrderId::Int(_) => 9,
        OrderId::Str(s) => 2 + s.as_bytes().len(),
    }
}

/// Cursor over a byte slice. Invariant: `pos <= buf.len()`.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        // `pos` never passes the end of `buf` (it only advances by what was taken).
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let Some(taken) = rest.get(..n) else {
            return Err(CodecError::UnexpectedEnd { offset: self.pos, needed: n - rest.len() });
        };
        self.pos += n;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, CodecError> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, CodecError> {
        self.array().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, CodecError> {
        self.array().map(u64::from_le_bytes)
    }

    pub(crate) fn i64(&mut self) -> Result<i64, CodecError> {
        self.array().map(i64::from_le_bytes)
    }

    pub(crate) fn side(&mut self) -> Result<Side, CodecError> {
        let b = self.u8()?;
        Side::from_u8(b).ok_or(CodecError::InvalidSide(b))
    }

    /// A value that must be > 0 (price).
    pub(crate) fn price(&mut self) -> Result<i64, CodecError> {
        let v = self.i64()?;
        if v <= 0 {
            return Err(CodecError::InvalidPrice(v));
        }
        Ok(v)
    }

    /// A value that must be > 0 (quantity).
    pub(crate) fn qty(&mut self) -> Result<i64, CodecError> {
        let v = self.i64()?;
        if v <= 0 {
            return Err(CodecError::InvalidQuantity(v));
        }
        Ok(v)
    }

    /// Length is checked against 1..=64 and against the remaining bytes
    /// before the string is allocated.
    pub(crate) fn id(&mut self) -> Result<OrderId, CodecError> {
        match self.u8()? {
            ID_TAG_INT => self.u64().map(OrderId::Int),
            ID_TAG_STR => {
                let len = usize::from(self.u8()?);
                if len == 0 || len > MAX_ID_LEN {
                    return Err(CodecError::InvalidIdLength(len));
                }
                let bytes = self.take(len)?;
                let s = std::str::from_utf8(bytes).map_err(|_| CodecError::InvalidUtf8)?;
                StrId::new(s).map(OrderId::Str).map_err(|_| CodecError::InvalidIdLength(len))
            }
            t => Err(CodecError::UnknownIdTag(t)),
        }
    }

    /// Errors unless every byte has been consumed.
    pub(crate) fn finish(&self) -> Result<(), CodecError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(CodecError::TrailingBytes { count }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_bounds() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Ok(0x0201));
        assert_eq!(r.u32(), Err(CodecError::UnexpectedEnd { offset: 2, needed: 3 }));
        assert_eq!(r.remaining(), 1, "failed read consumes nothing");
        assert_eq!(r.take(usize::MAX), Err(CodecError::UnexpectedEnd { offset: 2, needed: usize::MAX - 1 }));
        assert_eq!(r.finish(), Err(CodecError::TrailingBytes { count: 1 }));
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.finish(), Ok(()));
        assert!(r.u8().is_err());
    }

    #[test]
    fn id_roundtrip_and_limits() {
        for id in [OrderId::Int(0), OrderId::Int(u64::MAX), OrderId::string("x").unwrap()] {
            let mut out = Vec::new();
            put_id(&mut out, &id);
            assert_eq!(out.len(), id_len(&id));
            let mut r = Reader::new(&out);
            assert_eq!(r.id(), Ok(id));
            assert_eq!(r.finish(), Ok(()));
        }
        // Declared length longer than the input: error, no allocation.
        assert!(matches!(Reader::new(&[1, 64, b'a']).id(), Err(CodecError::UnexpectedEnd { .. })));
        assert_eq!(Reader::new(&[1, 200]).id(), Err(CodecError::InvalidIdLength(200)));
        assert_eq!(Reader::new(&[7]).id(), Err(CodecError::UnknownIdTag(7)));
    }
}
