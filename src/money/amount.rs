//! Amounts of money, parsed once at the edge.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Message};

/// A positive amount with at most two decimals, up to [`Money::MAX`]. Stored as `NUMERIC(20,2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Money(Decimal);

impl Money {
    /// The largest amount accepted in one go (one hundred million): anything larger is a typo or
    /// an attack, never a pledge.
    pub const MAX: Decimal = Decimal::from_parts(1_410_065_408, 2, 0, false, 2);

    /// Parses text such as `128`, `128.5` or `128.50`. Refuses non-numbers, zero, negatives,
    /// more than two decimals and amounts above [`Money::MAX`], each with its own message.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let text = raw.trim();
        let well_formed = !text.is_empty()
            && text.len() <= 40
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
            && text.chars().any(|c| c.is_ascii_digit());
        if !well_formed {
            return Err(invalid("money.error.not_a_number"));
        }
        match Decimal::from_str(text) {
            Ok(value) => Self::try_from(value),
            Err(_) => Err(invalid(unparsable_reason(text))),
        }
    }

    /// The amount.
    pub fn value(self) -> Decimal {
        self.0
    }

    /// The amount with exactly two decimals, as shown and as published.
    pub fn to_fixed(self) -> String {
        format!("{:.2}", self.0)
    }
}

impl TryFrom<Decimal> for Money {
    type Error = Error;

    fn try_from(value: Decimal) -> Result<Self, Error> {
        if value <= Decimal::ZERO {
            return Err(invalid("money.error.not_positive"));
        }
        if value.normalize().scale() > 2 {
            return Err(invalid("money.error.too_many_decimals"));
        }
        if value > Self::MAX {
            return Err(invalid("money.error.too_large"));
        }
        let mut value = value;
        value.rescale(2);
        Ok(Self(value))
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

/// Why a plain number did not fit a `Decimal`: too many digits before or after the point.
fn unparsable_reason(text: &str) -> &'static str {
    let plain = text.split('.').count() <= 2
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && !text.starts_with('.');
    match text.split_once('.') {
        _ if !plain => "money.error.not_a_number",
        Some((whole, _)) if whole.len() <= 9 => "money.error.too_many_decimals",
        _ => "money.error.too_large",
    }
}

fn invalid(key: &'static str) -> Error {
    Error::Invalid(Message::Key(key))
}

/// An amount as clients send it: a JSON string (`"12.50"`, preferred) or a JSON number.
/// In the OpenAPI document it is described as a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AmountInput {
    Text(String),
    Number(serde_json::Number),
}

impl AmountInput {
    /// Parses the amount with [`Money::parse`].
    pub fn parse(&self) -> Result<Money, Error> {
        match self {
            AmountInput::Text(text) => Money::parse(text),
            AmountInput::Number(number) => match number.as_f64() {
                // Exponent notation is not accepted as text, but a huge JSON number is "too
                // large" rather than "not a number" to the person who sent it.
                Some(f) if f > 1e8 => Err(invalid("money.error.too_large")),
                Some(f) if f <= 0.0 => Err(invalid("money.error.not_positive")),
                _ => Money::parse(&number.to_string()),
            },
        }
    }

    /// The text as sent, for comparing two requests.
    pub fn canonical(&self) -> String {
        match self.parse() {
            Ok(money) => money.to_fixed(),
            Err(_) => match self {
                AmountInput::Text(text) => text.clone(),
                AmountInput::Number(number) => number.to_string(),
            },
        }
    }
}

/// Formats any stored amount with two decimals.
pub fn fixed(value: Decimal) -> String {
    format!("{value:.2}")
}

/// Serialises an amount as a string with two decimals (`"0.00"`, which the database's zero
/// would otherwise lose): `#[serde(serialize_with = "crate::money::amount::two_places")]`.
pub fn two_places<S: serde::Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fixed(*value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_with_up_to_two_decimals_are_accepted_and_kept_with_two() {
        assert_eq!(Money::parse("128").unwrap().to_fixed(), "128.00");
        assert_eq!(Money::parse(" 0.5 ").unwrap().to_fixed(), "0.50");
        assert_eq!(Money::parse("12.30").unwrap().to_fixed(), "12.30");
        assert_eq!(Money::parse("12.300").unwrap().to_fixed(), "12.30");
        assert_eq!(
            Money::parse("100000000").unwrap().to_fixed(),
            "100000000.00"
        );
    }

    #[test]
    fn bad_amounts_are_refused_each_with_a_clear_message() {
        let key = |raw: &str| match Money::parse(raw) {
            Err(Error::Invalid(Message::Key(k))) => k,
            other => panic!("{raw}: {other:?}"),
        };
        assert_eq!(key("0"), "money.error.not_positive");
        assert_eq!(key("0.00"), "money.error.not_positive");
        assert_eq!(key("-5"), "money.error.not_positive");
        assert_eq!(key("1.001"), "money.error.too_many_decimals");
        assert_eq!(key("100000000.01"), "money.error.too_large");
        assert_eq!(key("1e30"), "money.error.not_a_number");
        assert_eq!(
            key("99999999999999999999999999999999"),
            "money.error.too_large"
        );
        for raw in ["", "abc", "12,50", "NaN", "inf", "１２", "1.2.3", "--1"] {
            assert_eq!(key(raw), "money.error.not_a_number", "{raw}");
        }
    }

    #[test]
    fn json_numbers_are_parsed_like_text() {
        let n: AmountInput = serde_json::from_str("12.5").unwrap();
        assert_eq!(n.parse().unwrap().to_fixed(), "12.50");
        let n: AmountInput = serde_json::from_str("1e300").unwrap();
        assert!(n.parse().is_err());
    }
}
