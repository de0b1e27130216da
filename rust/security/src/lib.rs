//! The byte layouts of pinnacle's security layer (`pinnacle.security`), owned here like
//! every other byte pinnacle puts on disk: the credential vault's header, the rate
//! limiter's consumption record and the incremental backup's entry stream. No Python and
//! no cryptography: encryption, key derivation and MACs stay with vetted libraries in
//! Python; this crate lays out and checks the bytes around them (docs/security.md).
//!
//! Every decoder takes arbitrary bytes, never panics, and names what is wrong.

pub mod backup_entries;
pub mod ratelimit;
pub mod vault;

pub use backup_entries::{StreamEntry, StreamError};
pub use ratelimit::{Consumption, ConsumptionError};
pub use vault::{
    DecodeError as VaultHeaderError, FieldError as VaultFieldError, Header as VaultHeader, KdfError,
    KdfParams,
};
