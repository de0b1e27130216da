//! The credential vault's 52-byte header (docs/security.md § Credential vault). The header
//! is also the AES-GCM associated data, so its bytes are authenticated by the caller
//! (Python, with the `cryptography` package); this module only lays them out and refuses
//! a header this build cannot read before any key is derived from it.
//!
//! ```text
//! offset size field
//! 0      8    magic b"PNVAULT\0"
//! 8      2    format version, u16 LE (1)
//! 10     1    KDF id (2 = Argon2id v0x13)
//! 11     1    reserved, 0
//! 12     4    Argon2 memory cost, KiB, u32 LE
//! 16     4    Argon2 time cost (passes), u32 LE
//! 20     4    Argon2 parallelism (lanes), u32 LE
//! 24     16   salt
//! 40     12   AES-GCM nonce
//! 52     ...  ciphertext, then the 16-byte tag
//! ```
//!
//! Invariant: a `KdfParams` or `Header` value always holds parameters inside the bounds
//! below, so a tampered header can never make the caller's KDF allocate more than
//! `MAX_MEMORY_KIB` or run more than `MAX_TIME_COST` passes.

use std::fmt;

pub const MAGIC: [u8; 8] = *b"PNVAULT\0";
pub const VERSION: u16 = 1;
pub const KDF_ARGON2ID: u8 = 2;
pub const SALT_SIZE: usize = 16;
pub const NONCE_SIZE: usize = 12;
pub const HEADER_SIZE: usize = 52;
pub const TAG_SIZE: usize = 16;
pub const MAX_MEMORY_KIB: u32 = 1 << 20;
pub const MAX_TIME_COST: u32 = 64;
pub const MAX_PARALLELISM: u32 = 16;
/// Argon2 needs at least 8 KiB of memory per lane.
pub const MIN_MEMORY_KIB_PER_LANE: u32 = 8;

/// Argon2id cost parameters, always within bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    memory_kib: u32,
    time_cost: u32,
    parallelism: u32,
}

/// A KDF parameter out of its bounds (`got` as given; callers with wider integers pass them
/// unchanged so the message shows the real value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdfError {
    pub field: &'static str,
    pub lo: u32,
    pub hi: u32,
    pub got: i128,
}

impl fmt::Display for KdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KdfParams.{} must be an int in [{}, {}], got {}", self.field, self.lo, self.hi, self.got)
    }
}

impl std::error::Error for KdfError {}

fn bounded(field: &'static str, v: i128, lo: u32, hi: u32) -> Result<u32, KdfError> {
    u32::try_from(v).ok().filter(|x| (lo..=hi).contains(x)).ok_or(KdfError { field, lo, hi, got: v })
}

impl KdfParams {
    /// Checks, in this order, parallelism in 1..=16, time cost in 1..=64 and memory in
    /// 8 × parallelism ..= 1 GiB (in KiB).
    pub fn new(memory_kib: i128, time_cost: i128, parallelism: i128) -> Result<Self, KdfError> {
        let parallelism = bounded("parallelism", parallelism, 1, MAX_PARALLELISM)?;
        let time_cost = bounded("time_cost", time_cost, 1, MAX_TIME_COST)?;
        let memory_kib =
            bounded("memory_kib", memory_kib, MIN_MEMORY_KIB_PER_LANE * parallelism, MAX_MEMORY_KIB)?;
        Ok(KdfParams { memory_kib, time_cost, parallelism })
    }

    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    pub fn time_cost(&self) -> u32 {
        self.time_cost
    }

    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }
}

/// The fields of a vault header (magic, version, KDF id and reserved byte are implied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kdf: KdfParams,
    pub salt: [u8; SALT_SIZE],
    pub nonce: [u8; NONCE_SIZE],
}

/// A header argument of the wrong length (encoding side: a caller's mistake).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldError {
    Salt { len: usize },
    Nonce { len: usize },
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Salt { len } => write!(f, "a vault salt is {SALT_SIZE} bytes, got {len}"),
            FieldError::Nonce { len } => write!(f, "a vault nonce is {NONCE_SIZE} bytes, got {len}"),
        }
    }
}

impl std::error::Error for FieldError {}

/// Why the start of a file is not a vault header this build reads. The messages are the
/// ones `VaultError` shows after the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadMagic,
    /// Shorter than a header and a tag (`len`: the file's size).
    Truncated {
        len: usize,
    },
    NewerVersion {
        version: u16,
    },
    /// Format 0, another KDF id, or a reserved byte that is not 0.
    Unsupported {
        version: u16,
        kdf_id: u8,
    },
    Kdf(KdfError),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadMagic => f.write_str("not a pinnacle credential vault (bad magic)"),
            DecodeError::Truncated { len } => {
                write!(f, "truncated vault: {len} bytes, at least {} needed", HEADER_SIZE + TAG_SIZE)
            }
            DecodeError::NewerVersion { version } => {
                write!(f, "vault format {version} was written by a newer pinnacle (this one reads {VERSION})")
            }
            DecodeError::Unsupported { version, kdf_id } => {
                write!(f, "unsupported vault header (format {version}, kdf {kdf_id}): the file is damaged")
            }
            DecodeError::Kdf(e) => {
                write!(f, "implausible KDF parameters in the header ({e}): the file is damaged")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

impl Header {
    /// A header from caller-supplied salt and nonce slices.
    pub fn new(kdf: KdfParams, salt: &[u8], nonce: &[u8]) -> Result<Self, FieldError> {
        let salt = salt.try_into().map_err(|_| FieldError::Salt { len: salt.len() })?;
        let nonce = nonce.try_into().map_err(|_| FieldError::Nonce { len: nonce.len() })?;
        Ok(Header { kdf, salt, nonce })
    }

    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        let parts: [&[u8]; 9] = [
            &MAGIC,
            &VERSION.to_le_bytes(),
            &[KDF_ARGON2ID],
            &[0],
            &self.kdf.memory_kib.to_le_bytes(),
            &self.kdf.time_cost.to_le_bytes(),
            &self.kdf.parallelism.to_le_bytes(),
            &self.salt,
            &self.nonce,
        ];
        let mut rest: &mut [u8] = &mut out;
        for p in parts {
            let (head, tail) = rest.split_at_mut(p.len());
            head.copy_from_slice(p);
            rest = tail;
        }
        out
    }

    /// The header of the whole vault file `file`, checked in this order: magic, size (a
    /// header and a tag), version (a newer one is named as such), KDF id and reserved
    /// byte, KDF bounds. Nothing is authenticated: the caller decrypts next, with the
    /// first `HEADER_SIZE` bytes as associated data.
    pub fn decode(file: &[u8]) -> Result<Self, DecodeError> {
        if file.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(DecodeError::BadMagic);
        }
        if file.len() < HEADER_SIZE + TAG_SIZE {
            return Err(DecodeError::Truncated { len: file.len() });
        }
        let mut r =
            Fields(file.get(MAGIC.len()..HEADER_SIZE).ok_or(DecodeError::Truncated { len: file.len() })?);
        let (version, kdf_id, reserved) = (u16::from_le_bytes(r.take()), r.byte(), r.byte());
        let (mem, time, lanes) =
            (u32::from_le_bytes(r.take()), u32::from_le_bytes(r.take()), u32::from_le_bytes(r.take()));
        let (salt, nonce) = (r.take(), r.take());
        if version > VERSION {
            return Err(DecodeError::NewerVersion { version });
        }
        if version != VERSION || kdf_id != KDF_ARGON2ID || reserved != 0 {
            return Err(DecodeError::Unsupported { version, kdf_id });
        }
        let kdf = KdfParams::new(mem.into(), time.into(), lanes.into()).map_err(DecodeError::Kdf)?;
        Ok(Header { kdf, salt, nonce })
    }
}

/// Fixed-size fields read in order from a slice known to hold them all (44 bytes after
/// the magic); a short slice yields zeros, which `decode` has already ruled out.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some((head, tail)) = self.0.split_first_chunk::<N>() {
            out = *head;
            self.0 = tail;
        }
        out
    }

    fn byte(&mut self) -> u8 {
        let [b] = self.take::<1>();
        b
    }
}
