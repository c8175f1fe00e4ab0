//! Paths: what each file of the crate names, of the crate and of the web crates, resolved
//! to absolute module paths.

use std::collections::BTreeSet;

use crate::lex::{is_ident, lex, line_of};

/// What a file of the crate refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// An absolute path inside the crate, as module segments (`["projects", "api", "x"]`).
    Crate(Vec<String>),
    /// An outside crate (`axum`, `askama`).
    External(String),
}

/// The module path of a file: `src/projects/repo.rs` is `["projects", "repo"]`,
/// `src/projects/mod.rs` is `["projects"]`, `src/lib.rs` is `[]`.
pub(crate) fn module_of(path: &str) -> Vec<String> {
    let rel = path.trim_start_matches("src/").trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod") | Some("lib") | Some("main")
    ) {
        parts.pop();
    }
    parts
}

/// Outside crates the layering rule is about.
pub(crate) const WEB_CRATES: &[&str] = &["axum", "axum_extra", "askama"];

/// Every path a file names that starts with `crate`, `$crate`, `self`, `super`, a child module
/// it declares (`mod api;`), or a web crate, resolved, with its line. `use` trees
/// (`crate::{a, b::{c, d}}`) are expanded.
pub(crate) fn references(path: &str, text: &str) -> Vec<(usize, Target)> {
    let lexed = lex(text);
    let code = &lexed.code;
    let here = module_of(path);
    let code_text: String = code.iter().collect();
    let children: BTreeSet<String> = child_modules(&code_text);
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if !is_ident(code[i]) || (i > 0 && is_ident(code[i - 1])) {
            i += 1;
            continue;
        }
        let word_end = i + code[i..].iter().take_while(|&&c| is_ident(c)).count();
        let word: String = code[i..word_end].iter().collect();
        let after_colons = preceded_by_colons(code, i);
        let starts = match word.as_str() {
            "crate" | "super" | "self" => !after_colons,
            w if WEB_CRATES.contains(&w) => !after_colons,
            w if children.contains(w) => !after_colons && !preceded_by_mod(code, i),
            _ => false,
        };
        let mut after = word_end;
        skip_space(code, &mut after);
        let followed_by_path = code.get(after) == Some(&':') && code.get(after + 1) == Some(&':');
        let is_use_of_crate = WEB_CRATES.contains(&word.as_str()) && preceded_by_use(code, i);
        if starts && (followed_by_path || is_use_of_crate) {
            let line = line_of(code, i);
            let mut at = i;
            for segments in use_tree(code, &mut at, Vec::new()) {
                if let Some(target) = resolve(&here, &children, &segments) {
                    found.push((line, target));
                }
            }
            i = at.max(word_end);
        } else {
            i = word_end;
        }
    }
    found
}

/// Whether the code just before `i` is `::` (so the word there is inside a longer path).
pub(crate) fn preceded_by_colons(code: &[char], i: usize) -> bool {
    let before: String = code[..i].iter().rev().take(8).collect();
    before.trim_start().starts_with("::")
}

/// Whether the code just before `i` is the keyword `word`.
pub(crate) fn preceded_by_word(code: &[char], i: usize, word: &str) -> bool {
    let mut end = i;
    while end > 0 && code[end - 1].is_whitespace() {
        end -= 1;
    }
    let start = end.saturating_sub(word.chars().count());
    code[start..end].iter().copied().eq(word.chars()) && !(start > 0 && is_ident(code[start - 1]))
}

/// Whether the word at `i` is a module being declared.
pub(crate) fn preceded_by_mod(code: &[char], i: usize) -> bool {
    preceded_by_word(code, i, "mod")
}

/// Whether the word at `i` starts a `use` declaration.
pub(crate) fn preceded_by_use(code: &[char], i: usize) -> bool {
    preceded_by_word(code, i, "use")
}

/// The modules a file declares as its children (`mod api;`, `pub(crate) mod pages;`,
/// `mod tests {`).
pub(crate) fn child_modules(code: &str) -> BTreeSet<String> {
    let words: Vec<&str> = code
        .split(|c: char| !is_ident(c))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|pair| pair[0] == "mod")
        .map(|pair| pair[1].to_owned())
        .collect()
}

/// Parses a path or `use` tree at `at` and returns every full path it names.
pub(crate) fn use_tree(code: &[char], at: &mut usize, prefix: Vec<String>) -> Vec<Vec<String>> {
    let mut prefix = prefix;
    loop {
        skip_space(code, at);
        match code.get(*at) {
            Some('{') => {
                *at += 1;
                let mut all = Vec::new();
                loop {
                    skip_space(code, at);
                    match code.get(*at) {
                        Some('}') => {
                            *at += 1;
                            break;
                        }
                        Some(',') => *at += 1,
                        None => break,
                        _ => {
                            let before = *at;
                            all.extend(use_tree(code, at, prefix.clone()));
                            if *at == before {
                                *at += 1;
                            }
                        }
                    }
                }
                return all;
            }
            Some('*') => {
                *at += 1;
                return vec![prefix];
            }
            Some(&c) if is_ident(c) => {
                let end = *at + code[*at..].iter().take_while(|&&c| is_ident(c)).count();
                let word: String = code[*at..end].iter().collect();
                *at = end;
                if word == "self" && !prefix.is_empty() {
                    // `crate::projects::{self, api}`: `self` is the prefix itself.
                } else {
                    prefix.push(word);
                }
                let mut probe = *at;
                skip_space(code, &mut probe);
                if code.get(probe) == Some(&':') && code.get(probe + 1) == Some(&':') {
                    *at = probe + 2;
                    let mut after = *at;
                    skip_space(code, &mut after);
                    if code.get(after) == Some(&'<') {
                        return vec![prefix];
                    }
                } else {
                    return vec![prefix];
                }
            }
            _ => return vec![prefix],
        }
    }
}

pub(crate) fn skip_space(code: &[char], at: &mut usize) {
    while code.get(*at).is_some_and(|c| c.is_whitespace()) {
        *at += 1;
    }
}

/// An absolute target for a path named in the module `here`.
pub(crate) fn resolve(
    here: &[String],
    children: &BTreeSet<String>,
    segments: &[String],
) -> Option<Target> {
    let first = segments.first()?;
    if WEB_CRATES.contains(&first.as_str()) {
        return Some(Target::External(first.clone()));
    }
    let mut absolute: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "self" => here.to_vec(),
        "super" => here.to_vec(),
        name if children.contains(name) => here.to_vec(),
        _ => return None,
    };
    let mut rest = segments;
    if first == "crate" || first == "self" {
        rest = &segments[1..];
    }
    while let Some(s) = rest.first() {
        if s == "super" {
            absolute.pop();
            rest = &rest[1..];
        } else {
            break;
        }
    }
    absolute.extend(rest.iter().cloned());
    Some(Target::Crate(absolute))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(crate) fn use_trees_and_relative_paths_are_resolved() {
        let refs = references(
            "src/projects/repo.rs",
            "use crate::{accounts::{self, domain::User}, http::error::Error};\n\
         use super::api::ListQuery;\nfn f() { crate::ledger::append(); let x = axum::Json(1); }\n\
         use askama::Template;",
        );
        let targets: Vec<(usize, Target)> = refs;
        let crate_paths: Vec<String> = targets
            .iter()
            .filter_map(|(_, t)| match t {
                Target::Crate(m) => Some(m.join("::")),
                Target::External(_) => None,
            })
            .collect();
        assert_eq!(
            crate_paths,
            [
                "accounts",
                "accounts::domain::User",
                "http::error::Error",
                "projects::api::ListQuery",
                "ledger::append"
            ]
        );
        assert!(targets.contains(&(3, Target::External("axum".into()))));
        assert!(targets.contains(&(4, Target::External("askama".into()))));
        let in_mod = references(
            "src/projects/mod.rs",
            "pub mod pages;\npub use pages::home;\n",
        );
        assert_eq!(
            in_mod,
            [(
                2,
                Target::Crate(vec!["projects".into(), "pages".into(), "home".into()])
            )],
            "a child module named by a relative path; its declaration is no import"
        );
    }
}
