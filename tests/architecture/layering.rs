//! Layering: domain code below the web, and the web layer below the rooms.

use std::collections::BTreeSet;

use crate::paths::{module_of, references, Target};
use crate::{is_room, is_web_part, Source};

/// The modules every room stands on: they know no room and no web.
const FOUNDATION: &[&str] = &[
    "cache", "config", "db", "error", "i18n", "ids", "keys", "net", "tables",
];

/// Every place a domain file names the web layer, every place `http` names a room other than
/// `accounts` (or the application state), and every place a foundation module names a room or
/// the web, as `file:line: what`.
pub(crate) fn layering_violations(sources: &[Source]) -> Vec<String> {
    let mut found = Vec::new();
    for source in sources {
        let module = module_of(&source.path);
        let Some(top) = module.first() else { continue };
        let foundation = FOUNDATION.contains(&top.as_str());
        let domain_room =
            foundation || is_room(top) && !module.get(1).is_some_and(|second| is_web_part(second));
        let http = top == "http";
        if !domain_room && !http {
            continue;
        }
        let mut seen = BTreeSet::new();
        for (line, target) in references(&source.path, &source.text) {
            let problem = match (&target, domain_room) {
                (Target::External(name), true) => Some(format!("uses `{name}`")),
                (Target::External(_), false) => None,
                (Target::Crate(m), true) => match m.first().map(String::as_str) {
                    Some(t @ ("http" | "app" | "router")) => Some(format!("uses `crate::{t}`")),
                    Some(t) if is_room(t) && m.get(1).is_some_and(|s| is_web_part(s)) => {
                        Some(format!("uses the web part `crate::{t}::{}`", m[1]))
                    }
                    Some(t) if foundation && is_room(t) => {
                        Some(format!("uses the room `crate::{t}` (rooms stand on it)"))
                    }
                    _ => None,
                },
                (Target::Crate(m), false) => match m.first().map(String::as_str) {
                    Some("app") => Some("uses `crate::app` (the web layer stands below it)".into()),
                    Some("router") => Some("uses `crate::router`".into()),
                    Some("accounts") if m.get(1).is_some_and(|s| is_web_part(s)) => {
                        Some(format!("uses the web part `crate::accounts::{}`", m[1]))
                    }
                    Some(t) if is_room(t) && t != "accounts" => Some(format!(
                        "uses the room `crate::{t}` (only accounts may be used)"
                    )),
                    _ => None,
                },
            };
            if let Some(problem) = problem {
                let what = format!("{}:{line}: {problem}", source.path);
                if seen.insert(what.clone()) {
                    found.push(what);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources;

    #[test]
    pub(crate) fn the_layering_check_names_each_forbidden_import() {
        let files = sources(&[
        ("src/projects/repo.rs", "use crate::error::Result;\nuse crate::http::error::Error;\n"),
        ("src/projects/show.rs", "fn f(s: &crate::app::AppState) {}\nuse super::pages::View;\n"),
        ("src/pledges/desk.rs", "use axum::extract::State;\n#[derive(askama::Template)]\nstruct P;"),
        ("src/pledges/api.rs", "use axum::Json; use crate::http::error::Error; use crate::app::AppState;"),
        ("src/http/mod.rs", "use crate::accounts::CurrentUser;\nuse crate::projects::Project;\nuse crate::app::AppState;"),
        ("src/i18n.rs", "use crate::ids::UserId;\nuse axum::http::HeaderMap;\nuse crate::money::Money;"),
    ]);
        let found = layering_violations(&files);
        assert_eq!(
            found,
            [
                "src/projects/repo.rs:2: uses `crate::http`",
                "src/projects/show.rs:1: uses `crate::app`",
                "src/projects/show.rs:2: uses the web part `crate::projects::pages`",
                "src/pledges/desk.rs:1: uses `axum`",
                "src/pledges/desk.rs:2: uses `askama`",
                "src/http/mod.rs:2: uses the room `crate::projects` (only accounts may be used)",
                "src/http/mod.rs:3: uses `crate::app` (the web layer stands below it)",
                "src/i18n.rs:2: uses `axum`",
                "src/i18n.rs:3: uses the room `crate::money` (rooms stand on it)",
            ],
            "a room's web part may use the web layer; its domain may not"
        );
    }
}
