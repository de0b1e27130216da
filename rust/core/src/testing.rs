//! Test support: simulated power loss, held syncs and crashes inside atomic-file writes (the hooks `sys` calls live in the
//! leaf module `sync_hooks`; this module only re-exports their controls) and the opening
//! scan over an in-memory image, for fuzzing.

use std::path::Path;

pub use crate::sync_hooks::{
    crash_atomic_writes_at, durable_image, durable_syncs, hold_syncs, track_durability, wait_for_held_syncs,
    CrashPoint, CRASH_EXIT_CODE,
};

/// Runs the opening scan over an in-memory file image (for fuzzing): the header is chosen
/// from the first page, then every entry is verified under `mode`.
pub fn scan_image(
    image: &[u8],
    mode: crate::RecoveryMode,
) -> crate::Result<crate::journal::recovery::RecoveryReport> {
    use crate::format::header::{choose, HEADER_SIZE};
    let path = Path::new("<image>");
    if image.len() < HEADER_SIZE {
        return Err(crate::Error::corruption(path, image.len() as u64, "image too short"));
    }
    let h = choose(image).map_err(|e| crate::Error::corruption(path, 0, format!("{e:?}")))?;
    crate::journal::recovery::scan(image, &h.header, mode, path).map(|s| s.report)
}
