//! Sizes as people write them: `8B` parameters, `16GB` of memory.
//!
//! Memory is sold in powers of two (a "16 GB" laptop or a "24 GB" GPU holds
//! 16 or 24 GiB), so here `GB` and `GiB` both mean 2³⁰ bytes. Parameter
//! counts are decimal: `8B` is 8 × 10⁹.

use crate::SizingError;

/// A number with an optional suffix from `units` (matched case-insensitively),
/// e.g. `"1.5B"` → 1.5 × 10⁹.
fn parse_scaled(
    input: &str,
    what: &'static str,
    units: &[(&str, f64)],
) -> Result<f64, SizingError> {
    let err = |why| SizingError::Parse {
        what,
        input: input.to_string(),
        why,
    };
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().map_err(|_| err("expected a number"))?;
    let unit = unit.trim();
    let scale = units
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(unit))
        .map(|&(_, scale)| scale)
        .ok_or_else(|| err("unknown unit"))?;
    let value = number * scale;
    if !value.is_finite() || value >= u64::MAX as f64 {
        return Err(err("too large"));
    }
    if value < 1.0 {
        return Err(SizingError::Zero(what));
    }
    Ok(value)
}

/// A parameter count: `135M`, `8B`, `1.5B`, `70000000` (units K, M, B, T).
pub fn parse_count(input: &str) -> Result<u64, SizingError> {
    let units = [("", 1.0), ("K", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12)];
    Ok(parse_scaled(input, "parameter count", &units)?.round() as u64)
}

/// An amount of memory: `16GB`, `16GiB`, `512MB`, `24G` (binary units).
pub fn parse_memory(input: &str) -> Result<u64, SizingError> {
    let k = 1024.0;
    let units = [
        ("", 1.0),
        ("B", 1.0),
        ("K", k),
        ("KB", k),
        ("KiB", k),
        ("M", k * k),
        ("MB", k * k),
        ("MiB", k * k),
        ("G", k * k * k),
        ("GB", k * k * k),
        ("GiB", k * k * k),
        ("T", k * k * k * k),
        ("TB", k * k * k * k),
        ("TiB", k * k * k * k),
    ];
    Ok(parse_scaled(input, "memory size", &units)?.round() as u64)
}

/// `1.23 GiB`, `45.0 MiB`, `512 B`: the largest unit that keeps the number ≥ 1.
pub fn format_bytes(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} B"),
        _ => format!("{value:.2} {}", units[unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_decimal() {
        assert_eq!(parse_count("8B"), Ok(8_000_000_000));
        assert_eq!(parse_count("135m"), Ok(135_000_000));
        assert_eq!(parse_count("1.5B"), Ok(1_500_000_000));
        assert_eq!(parse_count("70000"), Ok(70_000));
    }

    #[test]
    fn memory_is_binary() {
        assert_eq!(parse_memory("16GB"), Ok(16 << 30));
        assert_eq!(parse_memory("16 GiB"), Ok(16 << 30));
        assert_eq!(parse_memory("512MB"), Ok(512 << 20));
        assert_eq!(parse_memory("1.5G"), Ok(3 << 29));
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        let err = parse_memory("8X").unwrap_err();
        assert!(
            matches!(
                err,
                SizingError::Parse {
                    why: "unknown unit",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("\"8X\""), "{err}");
        let err = parse_count("B").unwrap_err();
        assert!(matches!(
            err,
            SizingError::Parse {
                why: "expected a number",
                ..
            }
        ));
        assert_eq!(parse_count("0B"), Err(SizingError::Zero("parameter count")));
        assert!(parse_memory("1e400GB").is_err());
        assert!(parse_count("99999999999T").is_err());
    }

    #[test]
    fn bytes_print_in_the_largest_unit() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(46_080), "45.00 KiB");
        assert_eq!(format_bytes(3 << 29), "1.50 GiB");
    }
}
