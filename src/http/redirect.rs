//! Where a redirect that takes a `next` may go: only a printable path on this site.
//!
//! Browsers strip tabs and line breaks from a `Location`, read a backslash as a slash, and some
//! fold Unicode slashes to `/`, so `/\t/evil.example` or `/\evil.example` would leave the site.
//! A `next` is therefore accepted only when it starts with exactly one `/`, holds nothing but
//! printable ASCII without a backslash, and still looks like that once percent-decoded;
//! anything else falls back to the home page. An accepted value is always a valid header value.

/// Where a refused `next` goes instead.
pub const SAFE_DEFAULT: &str = "/";

/// Characters that read as a slash or a backslash to a person or to some URL parser.
const SLASH_LOOK_ALIKES: [char; 8] = [
    '\u{2044}', // fraction slash
    '\u{2215}', // division slash
    '\u{29F5}', // reverse solidus operator
    '\u{29F8}', // big solidus
    '\u{29F9}', // big reverse solidus
    '\u{FE68}', // small reverse solidus
    '\u{FF0F}', // fullwidth solidus
    '\u{FF3C}', // fullwidth reverse solidus
];

/// `next` when it is a printable path on this site, else [`SAFE_DEFAULT`].
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if is_site_path(path) => path,
        _ => SAFE_DEFAULT,
    }
}

/// Whether `path` stays on this site, as sent and once percent-decoded.
fn is_site_path(path: &str) -> bool {
    let printable = path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    printable && starts_with_one_slash(path) && decoded_is_harmless(path)
}

fn starts_with_one_slash(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\")
}

/// A client or proxy that decodes the path once more must not find a way off the site either.
fn decoded_is_harmless(path: &str) -> bool {
    let decoded = percent_decode(path);
    starts_with_one_slash(&decoded)
        && !decoded
            .chars()
            .any(|c| c.is_control() || c == '\\' || SLASH_LOOK_ALIKES.contains(&c))
}

/// Percent-decodes `text` (invalid escapes kept as they are, invalid UTF-8 replaced).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_printable_site_paths_are_followed() {
        let kept = [
            "/",
            "/projects",
            "/projects?q=solar&page=2",
            "/projects/solar-lamp#tiers",
            "/projects?q=%E4%B8%AD%E6%96%87",
            "/a/b//c",
            "/login?next=%2Fwallet",
        ];
        for path in kept {
            assert_eq!(safe_next(Some(path)), path, "{path:?} should be kept");
        }
        let refused = [
            "",
            "projects",
            "https://evil.example",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\r/evil.example",
            "/\n/evil.example",
            "/\0/evil.example",
            "/\u{7f}/evil.example",
            "/\u{1b}/evil.example",
            "/ /evil.example",
            "/a\\b",
            "/\u{2215}evil.example",
            "/\u{FF0F}evil.example",
            "/\u{FF3C}evil.example",
            "/é",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%0D%0ASet-Cookie:x=1",
            "/%00",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%E2%88%95evil.example",
            "/%EF%BC%8Fevil.example",
        ];
        for path in refused {
            assert_eq!(
                safe_next(Some(path)),
                SAFE_DEFAULT,
                "{path:?} should be refused"
            );
        }
        assert_eq!(safe_next(None), SAFE_DEFAULT);
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes_as_they_are() {
        assert_eq!(percent_decode("/a%20b"), "/a b");
        assert_eq!(percent_decode("/100%"), "/100%");
        assert_eq!(percent_decode("/%zz%4"), "/%zz%4");
    }
}
