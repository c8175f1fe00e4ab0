//! Full-text search that works for Chinese: PostgreSQL's parsers do not segment Chinese, so Rust
//! splits runs of CJK characters into unigrams and bigrams at write time and at query time, and
//! the 'simple' configuration indexes the resulting tokens in a GIN index.

/// Whether `c` is written without spaces between words (Han, kana, Hangul).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF
        | 0x20000..=0x2FA1F)
}

/// A run of text of one script.
enum Run {
    Word(String),
    Cjk(Vec<char>),
}

fn runs(text: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut cjk = Vec::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(Run::Word(std::mem::take(&mut word)));
            }
            cjk.push(c);
        } else if c.is_alphanumeric() {
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
            word.push(c);
        } else {
            if !word.is_empty() {
                out.push(Run::Word(std::mem::take(&mut word)));
            }
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
        }
    }
    if !word.is_empty() {
        out.push(Run::Word(word));
    }
    if !cjk.is_empty() {
        out.push(Run::Cjk(cjk));
    }
    out
}

/// The text to store through `to_tsvector('simple', ...)`: words as they are, CJK runs as
/// unigrams and bigrams.
pub fn document(text: &str) -> String {
    let mut tokens: Vec<String> = Vec::new();
    for run in runs(text) {
        match run {
            Run::Word(w) => tokens.push(w),
            Run::Cjk(chars) => {
                tokens.extend(chars.iter().map(char::to_string));
                tokens.extend(chars.windows(2).map(|w| w.iter().collect::<String>()));
            }
        }
    }
    tokens.join(" ")
}

/// A `to_tsquery('simple', ...)` expression for what a visitor typed, or `None` when nothing
/// searchable is left. Every token must match: words by prefix, CJK runs by their bigrams (a
/// single character by itself). Tokens are letters and digits only, so nothing else reaches the
/// query syntax.
pub fn query(text: &str) -> Option<String> {
    let mut terms: Vec<String> = Vec::new();
    for run in runs(text) {
        match run {
            Run::Word(w) => terms.push(format!("'{w}':*")),
            Run::Cjk(chars) if chars.len() == 1 => terms.push(format!("'{}'", chars[0])),
            Run::Cjk(chars) => terms.extend(
                chars
                    .windows(2)
                    .map(|w| format!("'{}'", w.iter().collect::<String>())),
            ),
        }
    }
    terms.truncate(32);
    (!terms.is_empty()).then(|| terms.join(" & "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_runs_become_unigrams_and_bigrams() {
        assert_eq!(document("古树茶 Tea"), "古 树 茶 古树 树茶 tea");
    }

    #[test]
    fn a_query_needs_every_bigram_and_prefixes_words() {
        assert_eq!(query("树茶 lan").as_deref(), Some("'树茶' & 'lan':*"));
        assert_eq!(query("茶").as_deref(), Some("'茶'"));
        assert_eq!(query("  '&|!  ").as_deref(), None);
    }
}
