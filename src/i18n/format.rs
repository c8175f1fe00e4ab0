//! How numbers, money and times are written for a reader: one money format per language (the
//! currency signs of CLDR, digits grouped by thousands, two decimals), times in the reader's
//! zone, and the ledger's own times in UTC with their offset.

use rust_decimal::Decimal;
use time::OffsetDateTime;

use super::Lang;

/// A reader's time zone: an IANA name from the bundled time-zone database.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

/// The zone of a reader who chose none: China's for Chinese, UTC for English.
pub fn default_zone_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "Asia/Shanghai",
        Lang::En => "UTC",
    }
}

/// Zones offered in the settings, in the order shown (any IANA name is accepted).
pub const COMMON_ZONES: &[&str] = &[
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Moscow",
    "Africa/Johannesburg",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
];

impl Zone {
    /// The zone called `name`, if the database knows it.
    pub fn named(name: &str) -> Option<Zone> {
        if name.is_empty() || name.len() > 64 {
            return None;
        }
        let tz = jiff::tz::db().get(name).ok()?;
        Some(Zone {
            name: name.to_owned(),
            tz,
        })
    }

    /// The reader's chosen zone when it is valid, else the language's default.
    pub fn for_reader(chosen: Option<&str>, lang: Lang) -> Zone {
        chosen
            .and_then(Zone::named)
            .or_else(|| Zone::named(default_zone_name(lang)))
            .unwrap_or_else(|| Zone {
                name: "UTC".into(),
                tz: jiff::tz::TimeZone::UTC,
            })
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Wall-clock fields of `at` in this zone, and the zone's offset then, in seconds.
    fn local(&self, at: OffsetDateTime) -> (OffsetDateTime, i32) {
        let instant = jiff::Timestamp::from_second(at.unix_timestamp())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let offset = self.tz.to_offset(instant).seconds();
        let shifted = time::UtcOffset::from_whole_seconds(offset)
            .map(|o| at.to_offset(o))
            .unwrap_or(at);
        (shifted, offset)
    }
}

const EN_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `UTC`, `UTC+8`, `UTC-3:30`: an offset a person reads, appended to `out`.
fn push_offset(out: &mut String, seconds: i32) {
    out.push_str("UTC");
    if seconds == 0 {
        return;
    }
    out.push(if seconds < 0 { '-' } else { '+' });
    let minutes = seconds.unsigned_abs() / 60;
    push_number(out, minutes / 60, 1);
    if minutes % 60 != 0 {
        out.push(':');
        push_number(out, minutes % 60, 2);
    }
}

/// Appends `n` in decimal with at least `width` digits. Times are written by hand rather than
/// with `format!`: a page of the discussion writes sixty of them, and the formatting machinery
/// was the largest single cost of such a page.
fn push_number(out: &mut String, n: u32, width: usize) {
    let mut digits = [0u8; 10];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for _ in len..width {
        out.push('0');
    }
    for &digit in digits[..len].iter().rev() {
        out.push(char::from(digit));
    }
}

fn push_year(out: &mut String, year: i32) {
    if year < 0 {
        out.push('-');
    }
    push_number(out, year.unsigned_abs(), 1);
}

/// The date of `local` (already in the reader's zone), appended to `out`.
fn push_date(out: &mut String, lang: Lang, local: OffsetDateTime) {
    let month = u8::from(local.month());
    match lang {
        Lang::En => {
            out.push_str(EN_MONTHS[usize::from(month) - 1]);
            out.push(' ');
            push_number(out, local.day().into(), 1);
            out.push_str(", ");
            push_year(out, local.year());
        }
        Lang::Zh => {
            push_year(out, local.year());
            out.push('年');
            push_number(out, month.into(), 1);
            out.push('月');
            push_number(out, local.day().into(), 1);
            out.push('日');
        }
    }
}

/// A date in the reader's language and zone: `Dec 1, 2026` or `2026年12月1日`.
pub fn date(lang: Lang, zone: &Zone, at: OffsetDateTime) -> String {
    let (local, _) = zone.local(at);
    let mut out = String::with_capacity(16);
    push_date(&mut out, lang, local);
    out
}

/// A moment in the reader's language and zone, to the minute, with the zone's offset:
/// `Dec 1, 2026, 19:33 UTC+8` or `2026年12月1日 19:33 (UTC+8)`.
pub fn moment(lang: Lang, zone: &Zone, at: OffsetDateTime) -> String {
    let (local, offset) = zone.local(at);
    let mut out = String::with_capacity(40);
    push_date(&mut out, lang, local);
    out.push_str(match lang {
        Lang::En => ", ",
        Lang::Zh => " ",
    });
    push_number(&mut out, local.hour().into(), 2);
    out.push(':');
    push_number(&mut out, local.minute().into(), 2);
    match lang {
        Lang::En => {
            out.push(' ');
            push_offset(&mut out, offset);
        }
        Lang::Zh => {
            out.push('（');
            push_offset(&mut out, offset);
            out.push('）');
        }
    }
    out
}

/// A ledger time: UTC to the second, saying so (`2026-12-01 11:33:59 UTC+00:00`), the same in
/// both languages since the ledger's entries are written in UTC.
pub fn ledger_time(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC+00:00",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

/// Digits grouped by thousands: `1234567` -> `1,234,567`.
pub fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The sign a language writes before an amount in `currency` (CLDR), if it has one.
fn currency_sign(lang: Lang, currency: &str) -> Option<&'static str> {
    let sign = match (lang, currency) {
        (Lang::Zh, "CNY") => "¥",
        (Lang::En, "CNY") => "CN¥",
        (Lang::Zh, "USD") => "US$",
        (Lang::En, "USD") => "$",
        (Lang::Zh, "JPY") => "JP¥",
        (Lang::En, "JPY") => "¥",
        (_, "HKD") => "HK$",
        (_, "EUR") => "€",
        (_, "GBP") => "£",
        _ => return None,
    };
    Some(sign)
}

/// An amount as this language writes money: `¥1,234.50` in Chinese, `CN¥1,234.50` in English,
/// `CHF 1,234.50` for a currency without a sign.
pub fn money(lang: Lang, amount: Decimal, currency: &str) -> String {
    let rounded =
        amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let text = format!("{:.2}", rounded.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let whole = whole
        .parse::<u64>()
        .map(grouped)
        .unwrap_or_else(|_| whole.to_owned());
    let number = format!("{whole}.{cents}");
    let minus = if negative { "-" } else { "" };
    match currency_sign(lang, currency) {
        Some(sign) => format!("{minus}{sign}{number}"),
        None => format!("{minus}{currency} {number}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn money_has_one_format_per_language() {
        assert_eq!(money(Lang::Zh, dec("1234567.5"), "CNY"), "¥1,234,567.50");
        assert_eq!(money(Lang::En, dec("1234567.5"), "CNY"), "CN¥1,234,567.50");
        assert_eq!(money(Lang::En, dec("0"), "USD"), "$0.00");
        assert_eq!(money(Lang::Zh, dec("-12.345"), "CNY"), "-¥12.35");
        assert_eq!(money(Lang::En, dec("999.99"), "CHF"), "CHF 999.99");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn a_moment_is_written_in_the_readers_zone() {
        let at = time::macros::datetime!(2026-12-01 19:33:59.82191 UTC);
        let shanghai = Zone::named("Asia/Shanghai").unwrap();
        assert_eq!(
            moment(Lang::Zh, &shanghai, at),
            "2026年12月2日 03:33（UTC+8）"
        );
        let utc = Zone::for_reader(None, Lang::En);
        assert_eq!(moment(Lang::En, &utc, at), "Dec 1, 2026, 19:33 UTC");
        let india = Zone::named("Asia/Kolkata").unwrap();
        assert_eq!(moment(Lang::En, &india, at), "Dec 2, 2026, 01:03 UTC+5:30");
        let new_york = Zone::named("America/New_York").unwrap();
        assert_eq!(date(Lang::En, &new_york, at), "Dec 1, 2026");
        assert_eq!(date(Lang::Zh, &new_york, at), "2026年12月1日");
        let newfoundland = Zone::named("America/St_Johns").unwrap();
        assert_eq!(
            moment(Lang::Zh, &newfoundland, at),
            "2026年12月1日 16:03（UTC-3:30）"
        );
        let early = time::macros::datetime!(0987-01-05 04:05:00 UTC);
        assert_eq!(moment(Lang::En, &utc, early), "Jan 5, 987, 04:05 UTC");
    }

    #[test]
    fn an_unknown_zone_falls_back_to_the_languages_default() {
        assert!(Zone::named("Mars/Olympus_Mons").is_none());
        assert_eq!(
            Zone::for_reader(Some("Mars/Olympus_Mons"), Lang::Zh).name(),
            "Asia/Shanghai"
        );
        assert_eq!(
            Zone::for_reader(Some("Europe/Berlin"), Lang::Zh).name(),
            "Europe/Berlin"
        );
    }

    #[test]
    fn every_common_zone_is_known() {
        for name in COMMON_ZONES {
            assert!(Zone::named(name).is_some(), "{name}");
        }
    }

    #[test]
    fn ledger_times_are_utc_with_their_offset() {
        let at = time::macros::datetime!(2026-12-01 19:33:59.82191 +08:00);
        assert_eq!(ledger_time(at), "2026-12-01 11:33:59 UTC+00:00");
    }
}
