//! The opening scan over an arbitrary file image, under every recovery mode: never a
//! panic, an out-of-bounds read or an allocation driven by an unchecked length.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pinnacle_core::testing::scan_image;
use pinnacle_core::RecoveryMode;

fuzz_target!(|data: &[u8]| {
    for mode in [
        RecoveryMode::TolerateTail,
        RecoveryMode::Absolute,
        RecoveryMode::PointInTime,
        RecoveryMode::SkipCorrupted,
    ] {
        if let Ok(report) = scan_image(data, mode) {
            assert!(report.end_offset as usize <= data.len().max(4096));
        }
    }
});
