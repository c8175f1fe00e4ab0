//! The language of a request, read from its headers (the web layer's half of `i18n`).

use axum::http::HeaderMap;

use crate::i18n::{preferred_from_accept_language, Lang, LANG_COOKIE};

impl Lang {
    /// The language for a request: the remembered choice, else the browser's preference.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        let cookie = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == LANG_COOKIE)
            .and_then(|(_, value)| Lang::from_code(value));
        if let Some(lang) = cookie {
            return lang;
        }
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(preferred_from_accept_language)
            .unwrap_or(Lang::Zh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lang_cookie_wins_over_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert("accept-language", "en".parse().unwrap());
        headers.insert("cookie", "a=b; lang=zh".parse().unwrap());
        assert_eq!(Lang::from_headers(&headers), Lang::Zh);
    }
}
