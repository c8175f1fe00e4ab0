//! The platform fee.

use rust_decimal::{Decimal, RoundingStrategy};

/// The platform fee on `total` at `bps` basis points, rounded to the cent, half away from zero
/// (100.10 at 5% is 5.005, charged as 5.01). The founder receives `total - fee`, so the two
/// always add up to exactly what was collected.
pub fn platform_fee(total: Decimal, bps: u32) -> Decimal {
    (total * Decimal::from(bps) / Decimal::from(10_000))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn the_fee_rounds_half_away_from_zero_to_the_cent() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(platform_fee(d("100.10"), 500), d("5.01"));
        assert_eq!(platform_fee(d("100.00"), 500), d("5.00"));
        assert_eq!(platform_fee(d("0.10"), 500), d("0.01"));
        assert_eq!(platform_fee(d("0.09"), 500), d("0.00"));
        assert_eq!(platform_fee(d("12345.67"), 0), d("0.00"));
        assert_eq!(platform_fee(d("12345.67"), 10_000), d("12345.67"));
    }
}
