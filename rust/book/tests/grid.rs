//! Exact decimal grid arithmetic: parsing, canonical text, conversion to steps and back.

use pinnacle_book::grid::{canonical_grid, parse_decimal, Decimal, DecimalError, Grid};

fn d(value: i128, scale: u32) -> Result<Decimal, DecimalError> {
    Ok(Decimal { value, scale })
}

#[test]
fn decimals_parse_exactly_and_normalised() {
    assert_eq!(parse_decimal("0.01"), d(1, 2));
    assert_eq!(parse_decimal("100.2500"), d(10025, 2));
    assert_eq!(parse_decimal("1e-8"), d(1, 8));
    assert_eq!(parse_decimal("2.5E3"), d(2500, 0));
    assert_eq!(parse_decimal("1E+2"), d(100, 0));
    assert_eq!(parse_decimal(" -3 "), d(-3, 0));
    assert_eq!(parse_decimal(".5"), d(5, 1));
    assert_eq!(parse_decimal("5."), d(5, 0));
    assert_eq!(parse_decimal("-0"), d(0, 0));
    assert_eq!(parse_decimal("0E-30"), d(0, 0));
    // Trailing zeros beyond 38 digits are not significant.
    assert_eq!(parse_decimal(&format!("0.1{}", "0".repeat(60))), d(1, 1));
    assert_eq!(parse_decimal(&format!("{}1", "0".repeat(60))), d(1, 0));
    for bad in ["abc", ".", "1.2.3", "", "+", "-", "1e", "e5", "1e+", "NaN", "inf", "1_000", "0x10", "1e2.5"]
    {
        assert_eq!(parse_decimal(bad), Err(DecimalError::NotANumber), "{bad:?}");
    }
}

#[test]
fn huge_exponents_are_computed_not_looped() {
    // Each of these returns at once (a loop over the exponent would take seconds).
    assert_eq!(parse_decimal("0e999999999999999999999"), d(0, 0));
    assert_eq!(parse_decimal("0e2147483647"), d(0, 0));
    for big in ["1e2147483647", "1e99999999999999999999", "1e39"] {
        assert_eq!(parse_decimal(big), Err(DecimalError::OutOfRange), "{big}");
    }
    for tiny in ["1e-2147483648", "1e-99999999999999999", "1e-39"] {
        assert_eq!(parse_decimal(tiny), Err(DecimalError::TooManyDecimals), "{tiny}");
    }
    assert_eq!(parse_decimal("1e38"), d(10i128.pow(38), 0));
    assert_eq!(parse_decimal(&"9".repeat(39)), Err(DecimalError::OutOfRange));
    assert_eq!(parse_decimal(&"9".repeat(38)).map(|d| d.scale), Ok(0));
}

#[test]
fn grids_are_positive_with_at_most_18_decimals_and_canonical() {
    assert_eq!(canonical_grid("0.0100", "1e0").unwrap(), ("0.01".to_string(), "1".to_string()));
    assert_eq!(canonical_grid("2.5E1", "0.000000000000000001").unwrap().0, "25");
    assert_eq!(canonical_grid("1", "0.000000000000000001").unwrap().1, "0.000000000000000001");
    for bad in ["0", "-0.01", "0.0000000000000000001", "abc", "18446744073709551616", "1e9999"] {
        let e = canonical_grid(bad, "1").unwrap_err().to_string();
        assert!(e.starts_with("tick_size must be a positive decimal with at most 18 decimals"), "{e}");
    }
    assert!(canonical_grid("1", "0").unwrap_err().to_string().starts_with("lot_size"));
    // The largest mantissa that fits u64.
    assert_eq!(Grid::parse("18446744073709551615", "t").unwrap().text(), "18446744073709551615");
}

#[test]
fn values_convert_to_steps_exactly_or_are_refused() {
    let tick = Grid::parse("0.05", "tick_size").unwrap();
    assert_eq!(tick.units_of_text("100.25", "price"), Ok(2005));
    assert_eq!(tick.units_of_text("-0.1", "price"), Ok(-2));
    assert_eq!(tick.units_of_text("1e2", "price"), Ok(2000));
    assert_eq!(tick.units_of_text("0", "price"), Ok(0));
    assert_eq!(tick.units_of_int(3, "price"), Ok(60));
    let off = tick.units_of_text("100.26", "price").unwrap_err().to_string();
    assert_eq!(off, "price 100.26 is not a multiple of 0.05");
    assert!(tick.units_of_text("0.025", "price").is_err(), "more decimals than the grid");
    assert_eq!(tick.units_of_text("x", "price").unwrap_err().to_string(), "price x is not a number");
    let lot = Grid::parse("1", "lot_size").unwrap();
    assert_eq!(lot.units_of_int(i64::MAX, "quantity"), Ok(i64::MAX));
    assert_eq!(lot.units_of_text("9223372036854775807", "quantity"), Ok(i64::MAX));
    assert_eq!(lot.units_of_text("-9223372036854775808", "quantity"), Ok(i64::MIN));
    // Overflow of i64 (but not of i128), of i128, and of the scaling multiplication.
    for big in ["9223372036854775808", "1e30", "1e38"] {
        let e = lot.units_of_text(big, "quantity").unwrap_err().to_string();
        assert!(e.ends_with("is out of range"), "{big}: {e}");
    }
    let fine = Grid::parse("1e-18", "tick_size").unwrap();
    assert!(fine.units_of_int(i64::MAX, "price").unwrap_err().to_string().ends_with("out of range"));
    assert!(fine.units_of_text("1e30", "price").unwrap_err().to_string().ends_with("out of range"));
    assert!(lot
        .units_of_text("1e99999999999", "quantity")
        .unwrap_err()
        .to_string()
        .ends_with("out of range"));
}

#[test]
fn floats_convert_within_a_relative_tolerance() {
    let tick = Grid::parse("0.01", "tick_size").unwrap();
    assert_eq!(tick.units_of_float(100.1, "price"), Ok(10010));
    assert_eq!(tick.units_of_float(0.3, "price"), Ok(30));
    assert!(tick.units_of_float(100.001, "price").is_err());
    assert!(tick.units_of_float(f64::NAN, "price").unwrap_err().to_string().contains("finite"));
    assert!(tick.units_of_float(f64::INFINITY, "price").is_err());
    assert!(tick.units_of_float(1e17, "price").unwrap_err().to_string().ends_with("out of range"));
}

#[test]
fn steps_format_back_exactly() {
    let tick = Grid::parse("0.25", "tick_size").unwrap();
    assert_eq!(tick.format(401), "100.25");
    assert_eq!(tick.format(4), "1");
    assert_eq!(tick.format(-2), "-0.5");
    assert_eq!(tick.format(0), "0");
    assert_eq!(tick.float_of(401), 100.25);
    let fine = Grid::parse("0.000000000000000001", "tick_size").unwrap();
    assert_eq!(fine.format(i64::MIN), "-9.223372036854775808");
    assert_eq!(Grid::parse("10", "lot_size").unwrap().format(i64::MAX), "92233720368547758070");
    // Every text a grid formats parses back to the same steps.
    for units in [-1_000_003i64, -1, 0, 1, 7, 123_456_789, i64::MAX / 1000] {
        assert_eq!(tick.units_of_text(&tick.format(units), "price"), Ok(units));
    }
}
