//! Lexing Rust source: the code with comments and string contents blanked (newlines kept, so
//! offsets still give line numbers), and the string literals on their own.

/// A source split into its code (comments and string contents blanked, newlines kept, so
/// offsets still give line numbers) and its string literals with the line each starts on.
pub(crate) struct Lexed {
    pub(crate) code: Vec<char>,
    pub(crate) strings: Vec<(usize, String)>,
}

pub(crate) fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

pub(crate) fn lex(text: &str) -> Lexed {
    let chars: Vec<char> = text.chars().collect();
    let mut code = chars.clone();
    let mut strings = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let blank = |code: &mut Vec<char>, from: usize, to: usize| {
        for c in &mut code[from..to] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && next == Some('/') {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |p| i + p);
            blank(&mut code, i, end);
            i = end;
        } else if c == '/' && next == Some('*') {
            let start = i;
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            blank(&mut code, start, i);
        } else if c == '"' || raw_string_at(&chars, i).is_some() {
            let start_line = line;
            let (content_start, hashes) = match raw_string_at(&chars, i) {
                Some((quote, hashes)) => (quote + 1, Some(hashes)),
                None => (i + 1, None),
            };
            let mut j = content_start;
            let mut content = String::new();
            while let Some(&d) = chars.get(j) {
                match hashes {
                    None if d == '\\' => {
                        content.push(d);
                        if let Some(&e) = chars.get(j + 1) {
                            content.push(e);
                            if e == '\n' {
                                line += 1;
                            }
                        }
                        j += 2;
                        continue;
                    }
                    None if d == '"' => break,
                    Some(n) if d == '"' && (1..=n).all(|k| chars.get(j + k) == Some(&'#')) => break,
                    _ => {}
                }
                if d == '\n' {
                    line += 1;
                }
                content.push(d);
                j += 1;
            }
            let end = (j + 1 + hashes.unwrap_or(0)).min(chars.len());
            blank(&mut code, content_start, j.min(chars.len()));
            strings.push((start_line, content));
            i = end;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}', '"') or a lifetime ('a): only the former
            // is skipped, so a quote inside it cannot open a string.
            if next == Some('\\') {
                let end = chars[i + 2..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map_or(chars.len(), |p| i + 2 + p + 1);
                blank(&mut code, i + 1, end.saturating_sub(1));
                i = end;
            } else if chars.get(i + 2) == Some(&'\'') {
                blank(&mut code, i + 1, i + 2);
                i += 3;
            } else {
                i += 1;
            }
        } else if is_ident(c) {
            // The whole word at once: a raw string opens only at the start of one (checked
            // above), and `r#type` is an identifier.
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    Lexed { code, strings }
}

/// At `i`, a raw string opener `r#*"` (or `br`, `cr`): the index of its quote and its number
/// of hashes.
pub(crate) fn raw_string_at(chars: &[char], i: usize) -> Option<(usize, usize)> {
    if i > 0 && is_ident(chars[i - 1]) {
        return None;
    }
    let mut j = i;
    if matches!(chars.get(j), Some('b') | Some('c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some((j + hashes, hashes))
}

pub(crate) fn line_of(code: &[char], offset: usize) -> usize {
    code[..offset].iter().filter(|&&c| c == '\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(crate) fn the_lexer_keeps_strings_apart_from_code_and_drops_comments() {
        let lexed = lex(
        "let a = \"crate::http\"; // crate::app\n/* crate::router /* nested */ */ let c = '\"';\n\
         let r = r#\"SELECT \"x\" FROM users\"#; let l: &'static str = \"two\";",
    );
        let code: String = lexed.code.iter().collect();
        assert!(!code.contains("crate::"), "{code}");
        assert!(
            code.contains("let c") && code.contains("let l: &'static str"),
            "{code}"
        );
        let strings: Vec<&str> = lexed.strings.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(strings, ["crate::http", "SELECT \"x\" FROM users", "two"]);
        assert_eq!(lexed.strings[1].0, 3, "the line a string starts on");
    }
}
