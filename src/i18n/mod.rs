//! Both languages: message catalogues and the choice of language for a request.
//!
//! Texts live in `locales/*.toml` (nested tables, looked up by dotted key). The language comes
//! from the `lang` cookie set by the toggle, else from `Accept-Language`, else Chinese.

pub mod format;

use std::collections::HashMap;
use std::sync::LazyLock;

/// A language the site speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

/// Name of the cookie that remembers the visitor's choice.
pub const LANG_COOKIE: &str = "lang";

impl Lang {
    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The short code used in the toggle's URL and cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The other language, offered by the toggle.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Parses a toggle code (`zh` or `en`).
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// This language's catalogue.
    pub fn catalogue(self) -> &'static Catalogue {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

/// The first of our languages in an `Accept-Language` header, by quality.
pub fn preferred_from_accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for item in header.split(',') {
        let mut parts = item.trim().split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = if tag == "zh" || tag.starts_with("zh-") {
            Lang::Zh
        } else if tag == "en" || tag.starts_with("en-") {
            Lang::En
        } else {
            continue;
        };
        if best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// One language's messages, by dotted key.
#[derive(Debug)]
pub struct Catalogue {
    lang: Lang,
    messages: HashMap<String, String>,
}

impl Catalogue {
    fn parse(lang: Lang, source: &str) -> Self {
        let table: toml::Table = source.parse().expect("message catalogue is valid TOML");
        let mut messages = HashMap::new();
        flatten("", &table, &mut messages);
        Self { lang, messages }
    }

    /// The message for `key`; the key itself when missing, so a gap shows rather than breaks.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.messages.get(key).map(String::as_str).unwrap_or(key)
    }

    /// The message for `key` with `{name}` placeholders filled in.
    pub fn fill(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.get(key).to_owned();
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// A count in words, singular or plural as the language needs: `{key}.one` for one (where
    /// the language has it), else `{key}.other`, with `{n}` the count, grouped by thousands.
    pub fn count(&self, key: &str, n: i64) -> String {
        let one = format!("{key}.one");
        let form = if n == 1 && self.messages.contains_key(&one) {
            one
        } else {
            format!("{key}.other")
        };
        let digits = format::grouped(n.unsigned_abs());
        let number = if n < 0 { format!("-{digits}") } else { digits };
        self.fill(&form, &[("n", &number)])
    }

    /// The message for `key` for as long as the catalogue lives (a missing key gives "").
    pub fn get_owned(&'static self, key: &str) -> &'static str {
        self.messages.get(key).map(String::as_str).unwrap_or("")
    }

    /// Whether the catalogue has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.messages.contains_key(key)
    }

    /// The language of this catalogue.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Every key, for the test that keeps both catalogues complete.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&full, inner, out),
            toml::Value::String(text) => {
                out.insert(full, text.clone());
            }
            other => {
                out.insert(full, other.to_string());
            }
        }
    }
}

static EN: LazyLock<Catalogue> =
    LazyLock::new(|| Catalogue::parse(Lang::En, include_str!("../../locales/en.toml")));
static ZH: LazyLock<Catalogue> =
    LazyLock::new(|| Catalogue::parse(Lang::Zh, include_str!("../../locales/zh-CN.toml")));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_keys() {
        // Only a language with a singular has the `one` form of a count.
        let singular = |key: &&str| key.starts_with("count.") && key.ends_with(".one");
        let mut en: Vec<&str> = Lang::En
            .catalogue()
            .keys()
            .filter(|k| !singular(k))
            .collect();
        let mut zh: Vec<&str> = Lang::Zh.catalogue().keys().collect();
        en.sort_unstable();
        zh.sort_unstable();
        assert_eq!(en, zh);
        assert!(en.len() > 20);
    }

    #[test]
    fn counts_take_the_plural_their_language_needs() {
        let en = Lang::En.catalogue();
        let zh = Lang::Zh.catalogue();
        assert_eq!(en.count("count.backers", 1), "1 backer");
        assert_eq!(en.count("count.backers", 1200), "1,200 backers");
        assert_eq!(zh.count("count.backers", 1), "1 位支持者");
    }

    #[test]
    fn accept_language_picks_the_best_of_our_languages() {
        assert_eq!(
            preferred_from_accept_language("en-US,en;q=0.9"),
            Some(Lang::En)
        );
        assert_eq!(
            preferred_from_accept_language("fr, zh-CN;q=0.8, en;q=0.5"),
            Some(Lang::Zh)
        );
        assert_eq!(preferred_from_accept_language("de"), None);
    }
}
