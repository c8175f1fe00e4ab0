//! Listing values, parsed once at the edge: slugs, titles, money, deadlines, tiers, offerings.

use rust_decimal::Decimal;
use time::OffsetDateTime;

use super::ProjectId;
use crate::config::Currencies;
use crate::error::{Error, Message};

fn invalid(key: &'static str) -> Error {
    Error::Invalid(Message::Key(key))
}

/// Longest campaign, counted from launch.
pub const MAX_CAMPAIGN_DAYS: i64 = 90;

/// A URL slug: lower-case ASCII letters and digits in hyphen-separated runs, 1 to 80 long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// Accepts a slug as typed (case is folded, surrounding spaces dropped).
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let slug = raw.trim().to_ascii_lowercase();
        let valid = !slug.is_empty()
            && slug.len() <= 80
            && slug
                .split('-')
                .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()));
        if valid {
            Ok(Self(slug))
        } else {
            Err(invalid("projects.error.slug"))
        }
    }

    /// Derives a slug from a title: ASCII words joined by hyphens; a title without any (a
    /// Chinese one, say) gets `project-<first 8 hex of the id>`, since we do not transliterate.
    pub fn derive(title: &str, id: ProjectId) -> Self {
        let mut slug = String::new();
        for word in title
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            if slug.len() + word.len() + 1 > 60 {
                break;
            }
            if !slug.is_empty() {
                slug.push('-');
            }
            slug.push_str(&word.to_ascii_lowercase());
        }
        let short = &id.to_string()[..8];
        if slug.is_empty() {
            Self(format!("project-{short}"))
        } else {
            Self(slug)
        }
    }

    /// The slug with the id's first hex digits appended, to make a derived slug unique.
    pub fn with_suffix(&self, id: ProjectId) -> Self {
        let short = &id.to_string()[..8];
        let base: String = self.0.chars().take(70).collect();
        Self(format!("{}-{short}", base.trim_end_matches('-')))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Trimmed text with a length in characters between `min` and `max`.
pub fn text(raw: &str, min: usize, max: usize, key: &'static str) -> Result<String, Error> {
    let value = raw.trim();
    let chars = value.chars().count();
    if chars < min
        || chars > max
        || value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(invalid(key));
    }
    Ok(value.to_owned())
}

/// A project title: 1 to 120 characters, without bidirectional controls (they would let a title
/// display as something other than what it is).
pub fn title(raw: &str) -> Result<String, Error> {
    if raw.chars().any(crate::accounts::domain::is_bidi_control) {
        return Err(invalid("projects.error.title_bidi"));
    }
    text(raw, 1, 120, "projects.error.title")
}

/// A summary: at most 300 characters.
pub fn summary(raw: &str) -> Result<String, Error> {
    text(raw, 0, 300, "projects.error.summary")
}

/// A story in Markdown: at most 50,000 characters.
pub fn story(raw: &str) -> Result<String, Error> {
    text(raw, 0, 50_000, "projects.error.story")
}

/// The categories a project may be listed under.
pub const CATEGORIES: &[&str] = &[
    "technology",
    "design",
    "games",
    "food",
    "film",
    "music",
    "publishing",
    "art",
    "health",
    "education",
    "environment",
    "community",
];

/// One of `CATEGORIES`.
pub fn category(raw: &str) -> Result<&'static str, Error> {
    let raw = raw.trim();
    CATEGORIES
        .iter()
        .find(|c| **c == raw)
        .copied()
        .ok_or_else(|| invalid("projects.error.category"))
}

/// One of the platform's currencies (`SUPPORTED_CURRENCIES`), in any case; the default one
/// when empty. Any other code would open escrow and wallet accounts nobody can fund.
pub fn currency(raw: Option<&str>, supported: &Currencies) -> Result<String, Error> {
    let code = raw
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(supported.default_code())
        .to_ascii_uppercase();
    if supported.contains(&code) {
        Ok(code)
    } else {
        Err(invalid("projects.error.currency"))
    }
}

/// A positive amount with at most two decimals, below 10^18 (what NUMERIC(20,2) holds).
pub fn money(amount: Decimal, key: &'static str) -> Result<Decimal, Error> {
    let max = Decimal::from(1_000_000_000_000_000_000u64);
    if amount <= Decimal::ZERO || amount >= max || amount.normalize().scale() > 2 {
        return Err(invalid(key));
    }
    Ok(amount.round_dp(2))
}

/// A deadline as a draft may carry it: in the future, and no further than a campaign can last
/// if launched now. Approval checks it again against the actual launch time.
pub fn deadline(
    at: OffsetDateTime,
    now: OffsetDateTime,
    min_campaign_seconds: u64,
) -> Result<OffsetDateTime, Error> {
    check_campaign(now, at, min_campaign_seconds)?;
    Ok(at)
}

/// Whether a campaign from `launch` to `deadline` is allowed.
pub fn check_campaign(
    launch: OffsetDateTime,
    deadline: OffsetDateTime,
    min_campaign_seconds: u64,
) -> Result<(), Error> {
    let length = deadline - launch;
    if length < time::Duration::seconds(min_campaign_seconds.min(i64::MAX as u64) as i64)
        || length <= time::Duration::ZERO
    {
        return Err(invalid("projects.error.deadline_soon"));
    }
    if length > time::Duration::days(MAX_CAMPAIGN_DAYS) {
        return Err(invalid("projects.error.deadline_far"));
    }
    Ok(())
}

/// Parses an RFC 3339 time, or a form's `YYYY-MM-DDTHH:MM` / `YYYY-MM-DD` (taken as UTC; a bare
/// date means the end of that day).
pub fn parse_time(raw: &str) -> Result<OffsetDateTime, Error> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let raw = raw.trim();
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(t);
    }
    let minute = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    if let Ok(t) = time::PrimitiveDateTime::parse(raw, &minute) {
        return Ok(t.assume_utc());
    }
    let day = format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(raw, &day) {
        return Ok(d
            .with_hms(23, 59, 59)
            .map_err(|_| invalid("projects.error.time"))?
            .assume_utc());
    }
    Err(invalid("projects.error.time"))
}

/// The security an equity offering sells.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
    sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum SecurityType {
    OrdinaryShares,
    ConvertibleNote,
}

impl SecurityType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityType::OrdinaryShares => "ordinary_shares",
            SecurityType::ConvertibleNote => "convertible_note",
        }
    }

    /// Parses a submitted name.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw.trim() {
            "ordinary_shares" => Ok(SecurityType::OrdinaryShares),
            "convertible_note" => Ok(SecurityType::ConvertibleNote),
            _ => Err(invalid("projects.error.security_type")),
        }
    }
}

/// A reward tier, checked.
#[derive(Debug, Clone)]
pub struct NewTier {
    pub title: String,
    pub description: String,
    pub price: Decimal,
    pub quantity_limit: Option<i32>,
    pub delivery_month: Option<time::Date>,
    pub ships: bool,
    /// Its shipping prices per region (none for a tier that does not ship).
    pub shipping: crate::projects::shipping::ShippingPrices,
}

impl NewTier {
    /// The tier with its shipping prices, checked against whether it ships.
    pub fn with_shipping(
        self,
        prices: &[(crate::projects::shipping::Region, Decimal)],
    ) -> Result<Self, Error> {
        let shipping = crate::projects::shipping::ShippingPrices::parse(self.ships, prices)?;
        Ok(Self { shipping, ..self })
    }

    /// Checks every field of a tier.
    pub fn parse(
        title: &str,
        description: &str,
        price: Decimal,
        quantity_limit: Option<i64>,
        delivery_month: Option<&str>,
        ships: bool,
    ) -> Result<Self, Error> {
        let quantity_limit = match quantity_limit {
            None => None,
            Some(n) if (1..=1_000_000).contains(&n) => Some(n as i32),
            Some(_) => return Err(invalid("projects.error.quantity_limit")),
        };
        let delivery_month = match delivery_month.map(str::trim).filter(|m| !m.is_empty()) {
            None => None,
            Some(m) => Some(parse_month(m)?),
        };
        Ok(Self {
            title: text(title, 1, 120, "projects.error.tier_title")?,
            description: text(description, 0, 5000, "projects.error.tier_description")?,
            price: money(price, "projects.error.tier_price")?,
            quantity_limit,
            delivery_month,
            ships,
            shipping: Default::default(),
        })
    }
}

/// `YYYY-MM` as the first day of that month.
pub fn parse_month(raw: &str) -> Result<time::Date, Error> {
    let (year, month) = raw
        .split_once('-')
        .ok_or_else(|| invalid("projects.error.delivery_month"))?;
    let year: i32 = year
        .parse()
        .map_err(|_| invalid("projects.error.delivery_month"))?;
    let month: u8 = month
        .parse()
        .map_err(|_| invalid("projects.error.delivery_month"))?;
    let month =
        time::Month::try_from(month).map_err(|_| invalid("projects.error.delivery_month"))?;
    if !(2000..=2100).contains(&year) {
        return Err(invalid("projects.error.delivery_month"));
    }
    time::Date::from_calendar_date(year, month, 1)
        .map_err(|_| invalid("projects.error.delivery_month"))
}

/// An equity offering, checked.
#[derive(Debug, Clone)]
pub struct NewOffering {
    pub price_per_share: Decimal,
    pub min_shares: i64,
    pub max_shares: i64,
    pub min_shares_per_investor: i64,
    pub pre_money_valuation: Decimal,
    pub security_type: SecurityType,
    pub risk_warning: String,
}

impl NewOffering {
    /// Checks an offering: positive prices and counts, `min <= max`, a risk warning.
    pub fn parse(
        price_per_share: Decimal,
        min_shares: i64,
        max_shares: i64,
        min_shares_per_investor: Option<i64>,
        pre_money_valuation: Decimal,
        security_type: &str,
        risk_warning: &str,
    ) -> Result<Self, Error> {
        let min_per_investor = min_shares_per_investor.unwrap_or(1);
        if min_shares < 1 || max_shares < min_shares || max_shares > 1_000_000_000_000 {
            return Err(invalid("projects.error.shares"));
        }
        if min_per_investor < 1 || min_per_investor > max_shares {
            return Err(invalid("projects.error.min_per_investor"));
        }
        let offering = Self {
            price_per_share: money(price_per_share, "projects.error.price_per_share")?,
            min_shares,
            max_shares,
            min_shares_per_investor: min_per_investor,
            pre_money_valuation: money(pre_money_valuation, "projects.error.valuation")?,
            security_type: SecurityType::parse(security_type)?,
            risk_warning: text(risk_warning, 1, 10_000, "projects.error.risk_warning")?,
        };
        offering.goal()?;
        Ok(offering)
    }

    /// The funding goal of an offering: the minimum raise, `min_shares * price_per_share`.
    pub fn goal(&self) -> Result<Decimal, Error> {
        self.price_per_share
            .checked_mul(Decimal::from(self.min_shares))
            .ok_or_else(|| invalid("projects.error.shares"))
            .and_then(|g| money(g, "projects.error.shares"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::dec;

    mod rust_decimal_macros_free {
        /// Decimal from text, for tests.
        pub fn dec(s: &str) -> rust_decimal::Decimal {
            s.parse().unwrap()
        }
    }

    fn id() -> ProjectId {
        ProjectId(uuid::Uuid::from_u128(
            0xabcdef12_0000_0000_0000_000000000000,
        ))
    }

    #[test]
    fn titles_with_bidirectional_controls_are_refused() {
        let cases = [
            ("Solar lantern", Ok(())),
            ("太阳能灯", Ok(())),
            ("لمبة شمسية", Ok(())),
            ("lamp\u{202E}gpj.exe", Err("projects.error.title_bidi")),
            ("\u{202A}lamp", Err("projects.error.title_bidi")),
            ("\u{202B}lamp", Err("projects.error.title_bidi")),
            ("lamp\u{202C}", Err("projects.error.title_bidi")),
            ("\u{202D}lamp", Err("projects.error.title_bidi")),
            ("la\u{2066}mp", Err("projects.error.title_bidi")),
            ("la\u{2067}mp", Err("projects.error.title_bidi")),
            ("la\u{2068}mp", Err("projects.error.title_bidi")),
            ("la\u{2069}mp", Err("projects.error.title_bidi")),
            ("lamp\u{200E}", Err("projects.error.title_bidi")),
            ("lamp\u{200F}", Err("projects.error.title_bidi")),
            ("lamp\u{061C}", Err("projects.error.title_bidi")),
        ];
        for (raw, expected) in cases {
            match (title(raw), expected) {
                (Ok(_), Ok(())) => {}
                (Err(Error::Invalid(Message::Key(key))), Err(want)) => {
                    assert_eq!(key, want, "{raw:?}");
                }
                (got, want) => panic!("{raw:?}: got {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn a_slug_is_derived_from_an_english_title() {
        assert_eq!(
            Slug::derive("Solar Lantern 2.0: Light for All!", id()).as_str(),
            "solar-lantern-2-0-light-for-all"
        );
    }

    #[test]
    fn a_chinese_title_gets_a_slug_from_the_id() {
        assert_eq!(
            Slug::derive("云南古树茶园", id()).as_str(),
            "project-abcdef12"
        );
    }

    #[test]
    fn slugs_with_bad_characters_are_refused() {
        assert!(Slug::parse("Good-Slug-1").is_ok());
        for bad in ["", "-a", "a--b", "a_b", "茶", "a/b", &"x".repeat(81)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_needs_a_positive_amount_with_two_decimals_at_most() {
        assert!(money(dec("10.50"), "k").is_ok());
        assert!(money(dec("0"), "k").is_err());
        assert!(money(dec("-1"), "k").is_err());
        assert!(money(dec("1.005"), "k").is_err());
    }

    #[test]
    fn a_campaign_must_last_between_the_minimum_and_ninety_days() {
        let now = OffsetDateTime::now_utc();
        assert!(check_campaign(now, now + time::Duration::days(30), 86_400).is_ok());
        assert!(check_campaign(now, now + time::Duration::hours(2), 86_400).is_err());
        assert!(check_campaign(now, now + time::Duration::days(91), 0).is_err());
        assert!(check_campaign(now, now - time::Duration::days(1), 0).is_err());
    }

    #[test]
    fn an_offering_goal_is_its_minimum_raise() {
        let o = NewOffering::parse(
            dec("2.50"),
            1000,
            5000,
            None,
            dec("1000000"),
            "ordinary_shares",
            "Risky.",
        )
        .unwrap();
        assert_eq!(o.goal().unwrap(), dec("2500.00"));
        assert!(
            NewOffering::parse(dec("2.50"), 10, 5, None, dec("1"), "ordinary_shares", "r").is_err()
        );
        assert!(NewOffering::parse(dec("2.50"), 1, 5, None, dec("1"), "bonds", "r").is_err());
        assert!(
            NewOffering::parse(dec("2.50"), 1, 5, None, dec("1"), "ordinary_shares", " ").is_err()
        );
    }

    #[test]
    fn form_times_are_read_as_utc() {
        assert_eq!(parse_time("2030-01-02").unwrap().hour(), 23);
        assert!(parse_time("2030-01-02T10:30").is_ok());
        assert!(parse_time("2030-01-02T10:30:00+08:00").is_ok());
        assert!(parse_time("next week").is_err());
    }
}
