//! Decimal grids and the tick/lot sidecar: parsing arbitrary text never panics or hangs
//! (huge exponents included), a value the grid accepts formats back to the same steps,
//! and an accepted sidecar re-encodes to a sidecar that decodes to the same grid.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pinnacle_book::grid::{parse_decimal, Grid};
use pinnacle_book::meta::{decode_meta, encode_meta};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (step, value) = text.split_once('|').unwrap_or((&text, "1"));
    let _ = parse_decimal(&text);
    if let Ok(grid) = Grid::parse(step, "tick_size") {
        assert_eq!(Grid::parse(&grid.text(), "tick_size"), Ok(grid));
        if let Ok(units) = grid.units_of_text(value, "price") {
            assert_eq!(grid.units_of_text(&grid.format(units), "price"), Ok(units));
        }
    }
    if let Ok(m) = decode_meta(data, "S", "fuzz") {
        let again = encode_meta("S", &m.tick_size, &m.lot_size).unwrap();
        let back = decode_meta(&again, "S", "fuzz").unwrap();
        assert_eq!((back.tick_size, back.lot_size, back.checksummed), (m.tick_size, m.lot_size, true));
    }
});
