//! Byte primitives of the ledger's records and state encoding: little-endian integers,
//! `u32`-length-prefixed strings and bytes, decimals as 16-byte mantissas. The reader
//! never panics and names what is truncated or malformed.

use crate::dec::Dec;
use crate::error::{ErrorCode, LedgerError};

pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub fn put_dec(out: &mut Vec<u8>, v: Dec) {
    out.extend_from_slice(&v.mantissa().to_le_bytes());
}
pub fn put_bytes(out: &mut Vec<u8>, v: &[u8]) {
    // Lengths are bounded by the journal's entry size (u32) long before this saturates.
    put_u32(out, u32::try_from(v.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(v);
}
pub fn put_str(out: &mut Vec<u8>, v: &str) {
    put_bytes(out, v.as_bytes());
}
pub fn put_opt_str(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        Some(s) => {
            put_u8(out, 1);
            put_str(out, s);
        }
        None => put_u8(out, 0),
    }
}
pub fn put_opt_dec(out: &mut Vec<u8>, v: Option<Dec>) {
    match v {
        Some(d) => {
            put_u8(out, 1);
            put_dec(out, d);
        }
        None => put_u8(out, 0),
    }
}
pub fn put_opt_i64(out: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(d) => {
            put_u8(out, 1);
            put_i64(out, d);
        }
        None => put_u8(out, 0),
    }
}

pub struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { bytes, what }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], LedgerError> {
        if self.bytes.len() < n {
            return Err(LedgerError::decode(format!("{} is truncated", self.what)));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], LedgerError> {
        let b = self.take(N)?;
        b.try_into().map_err(|_| LedgerError::decode(format!("{} is truncated", self.what)))
    }
    pub fn u8(&mut self) -> Result<u8, LedgerError> {
        Ok(u8::from_le_bytes(self.array()?))
    }
    /// The leading schema-version byte of a `what` ("ledger record", "ledger state"):
    /// 1..=`newest`; a newer one is `ErrorCode::Version` (upgrade pinnacle).
    pub fn schema_version(&mut self, newest: u8) -> Result<u8, LedgerError> {
        let version = self.u8()?;
        let what = self.what;
        if version > newest {
            return Err(LedgerError::new(
                ErrorCode::Version,
                format!("{what} schema version {version} is newer than this reader's ({newest}): upgrade pinnacle"),
            ));
        }
        if version == 0 {
            return Err(LedgerError::decode(format!("{what} schema version 0 does not exist")));
        }
        Ok(version)
    }
    pub fn u32(&mut self) -> Result<u32, LedgerError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64, LedgerError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64, LedgerError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub fn dec(&mut self) -> Result<Dec, LedgerError> {
        let m = i128::from_le_bytes(self.array()?);
        if m == i128::MIN {
            return Err(LedgerError::decode(format!("{} holds an out-of-range decimal", self.what)));
        }
        Ok(Dec::from_mantissa(m))
    }
    pub fn bytes(&mut self) -> Result<Vec<u8>, LedgerError> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    pub fn string(&mut self) -> Result<String, LedgerError> {
        String::from_utf8(self.bytes()?)
            .map_err(|_| LedgerError::decode(format!("{} holds a string that is not UTF-8", self.what)))
    }
    fn flag(&mut self) -> Result<bool, LedgerError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(LedgerError::decode(format!("{} holds a bad presence flag {b}", self.what))),
        }
    }
    pub fn bool(&mut self) -> Result<bool, LedgerError> {
        self.flag()
    }
    pub fn opt_string(&mut self) -> Result<Option<String>, LedgerError> {
        Ok(if self.flag()? { Some(self.string()?) } else { None })
    }
    pub fn opt_dec(&mut self) -> Result<Option<Dec>, LedgerError> {
        Ok(if self.flag()? { Some(self.dec()?) } else { None })
    }
    pub fn opt_i64(&mut self) -> Result<Option<i64>, LedgerError> {
        Ok(if self.flag()? { Some(self.i64()?) } else { None })
    }
    /// Refuses trailing bytes.
    pub fn finish(self) -> Result<(), LedgerError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(LedgerError::decode(format!("{} has {} trailing bytes", self.what, self.bytes.len())))
        }
    }
}
