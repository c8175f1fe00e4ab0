//! The equity investor's 12-month limit and the values an equity commitment is made of.

use rust_decimal::Decimal;

use crate::error::{Error, Message};

pub use crate::config::InvestorLimitRule;

/// The computing half of the rule; its fields and parsing live with the settings, which
/// must not depend on any room.
impl InvestorLimitRule {
    /// The 12-month limit for an investor with this income and net worth.
    pub fn limit(&self, annual_income: Decimal, net_worth: Decimal) -> Decimal {
        let greater = annual_income.max(net_worth);
        let hundred = Decimal::from(100);
        let limit = if annual_income < self.threshold || net_worth < self.threshold {
            self.floor.max(greater * self.low_percent / hundred)
        } else {
            greater * self.high_percent / hundred
        };
        limit.min(self.cap).round_dp(2)
    }
}

/// A self-declared annual income or net worth: zero or more, at most [`DeclaredAmount::MAX`],
/// two decimals at most. The one parser for the API and the pledge form.
///
/// Accepted: `125000`, `125,000` (commas only between groups of three digits), `125000.50`,
/// with surrounding spaces. Refused: signs, exponents, `NaN`/`inf`, a bare `.5` or `5.`, more
/// than two decimals, and anything above the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredAmount(Decimal);

impl DeclaredAmount {
    /// The largest figure anyone may declare: ten billion.
    pub const MAX: Decimal = Decimal::from_parts(1_410_065_408, 2, 0, false, 0);

    /// Parses a declared figure as typed or sent.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let refused = || Error::Invalid(Message::Key("pledges.error.declaration"));
        let text = raw.trim();
        let (whole, cents) = match text.split_once('.') {
            Some((whole, cents)) => (whole, Some(cents)),
            None => (text, None),
        };
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        let grouped = {
            let mut groups = whole.split(',');
            let first = groups.next().unwrap_or_default();
            digits(first)
                && (!whole.contains(',') || first.len() <= 3)
                && groups.all(|g| g.len() == 3 && digits(g))
        };
        if !grouped || cents.is_some_and(|c| !digits(c) || c.len() > 2) {
            return Err(refused());
        }
        let plain: String = text.chars().filter(|c| *c != ',').collect();
        let value = plain.parse::<Decimal>().map_err(|_| refused())?;
        if value > Self::MAX {
            return Err(Error::Invalid(Message::Key(
                "pledges.error.declaration_too_large",
            )));
        }
        Ok(Self(value))
    }

    /// The figure.
    pub fn value(self) -> Decimal {
        self.0
    }
}

/// A number of shares: a positive whole number, at most a billion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shares(i64);

impl Shares {
    /// Refuses zero, negatives and absurd counts.
    pub fn new(count: i64) -> Result<Self, Error> {
        if !(1..=1_000_000_000).contains(&count) {
            return Err(Error::Invalid(Message::Key("pledges.error.shares")));
        }
        Ok(Self(count))
    }

    /// Parses a form field.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        raw.trim()
            .parse::<i64>()
            .map_err(|_| Error::Invalid(Message::Key("pledges.error.shares")))
            .and_then(Self::new)
    }

    /// The count.
    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    #[test]
    fn the_default_rule_follows_regulation_crowdfunding() {
        let rule = InvestorLimitRule::default();
        assert_eq!(rule.limit(d(30_000), d(20_000)), d(2_500), "the floor");
        assert_eq!(
            rule.limit(d(80_000), d(100_000)),
            d(5_000),
            "5% of the greater"
        );
        assert_eq!(
            rule.limit(d(150_000), d(100_000)),
            d(7_500),
            "either below: 5%"
        );
        assert_eq!(
            rule.limit(d(200_000), d(900_000)),
            d(90_000),
            "both above: 10%"
        );
        assert_eq!(rule.limit(d(200_000), d(5_000_000)), d(124_000), "capped");
    }

    #[test]
    fn a_rule_can_be_configured_as_five_numbers() {
        let rule = InvestorLimitRule::parse("1000, 2, 4, 50000, 60000").unwrap();
        assert_eq!(rule.limit(d(10_000), d(10_000)), d(1_000));
        assert_eq!(rule.limit(d(100_000), d(100_000)), d(4_000));
        assert!(InvestorLimitRule::parse("1,2,3").is_none());
        for refused in [
            "-1,5,10,124000,124000",
            "2500,101,10,124000,124000",
            "2500,5,150,124000,124000",
            "200000,5,10,124000,124000",
            "2500,5,ten,124000,124000",
        ] {
            assert!(
                InvestorLimitRule::from_setting(refused).is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn declared_amounts_have_one_strict_parser() {
        let accepted = [
            ("125000", "125000"),
            ("125,000", "125000"),
            ("125000.50", "125000.50"),
            ("1,234,567.5", "1234567.5"),
            (" 0 ", "0"),
            ("0.00", "0.00"),
            ("10000000000", "10000000000"),
            ("10,000,000,000.00", "10000000000.00"),
        ];
        for (raw, want) in accepted {
            let got = DeclaredAmount::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e:?}"));
            assert_eq!(got.value(), want.parse::<Decimal>().unwrap(), "{raw}");
        }
        let refused = [
            "",
            " ",
            "-1",
            "-0",
            "+5",
            "1e5",
            "1E5",
            "NaN",
            "nan",
            "inf",
            "Infinity",
            "12.345",
            ".5",
            "5.",
            "1,2345",
            "12,34",
            ",100",
            "100,",
            "1,,000",
            "12 000",
            "0x10",
            "1_000",
            "10000000000.01",
            "99999999999",
            "1.2.3",
            "١٢٣",
        ];
        for raw in refused {
            assert!(
                DeclaredAmount::parse(raw).is_err(),
                "{raw:?} must be refused"
            );
        }
        assert_eq!(DeclaredAmount::MAX, Decimal::from(10_000_000_000_i64));
    }

    #[test]
    fn share_counts_must_be_positive_and_sane() {
        assert!(Shares::parse("0").is_err());
        assert!(Shares::parse("-3").is_err());
        assert!(Shares::parse("1.5").is_err());
        assert!(Shares::parse("abc").is_err());
        assert!(Shares::parse("1000000001").is_err());
        assert_eq!(Shares::parse(" 12 ").unwrap().get(), 12);
    }
}
