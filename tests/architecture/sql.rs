//! SQL: the tables and views a room's string literals name, and those the migrations create.

use std::collections::{BTreeMap, BTreeSet};

use crate::lex::lex;
use crate::paths::module_of;
use crate::{is_room, Source};

/// Words that can follow FROM, JOIN, INTO, UPDATE or TABLE without being a table.
pub(crate) const SQL_WORDS: &[&str] = &[
    "SELECT",
    "SET",
    "ONLY",
    "LATERAL",
    "OF",
    "SKIP",
    "NOWAIT",
    "LOCKED",
    "AS",
    "IF",
    "NOT",
    "EXISTS",
    "WHERE",
    "ON",
    "USING",
    "VALUES",
    "DEFAULT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "AND",
    "OR",
    "NULL",
    "TRUE",
    "FALSE",
    "ROWS",
    "FIRST",
    "NEXT",
    "DISTINCT",
    "ALL",
    "UNNEST",
    "NATURAL",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "CROSS",
    "ORDER",
    "GROUP",
    "LIMIT",
    "OFFSET",
    "RETURNING",
    "WITH",
    "TABLE",
    "INTO",
];

/// SQL keywords (upper case) that name a table after them (`DELETE FROM a USING b`,
/// `TRUNCATE b`; `JOIN b USING (id)` is a column list and names nothing).
pub(crate) const TABLE_KEYWORDS: &[&str] = &[
    "FROM", "JOIN", "INTO", "UPDATE", "TABLE", "USING", "TRUNCATE",
];

/// The tables and views one SQL string names, in order. The names
/// of its common table expressions (`WITH x AS (...)`) and functions (`FROM unnest(...)`) are
/// not tables.
pub(crate) fn tables_named(sql: &str) -> Vec<String> {
    let tokens = sql_tokens(sql);
    let ctes: BTreeSet<String> = tokens
        .windows(3)
        .filter(|w| {
            is_sql_ident(&w[0])
                && w[1].eq_ignore_ascii_case("AS")
                && (w[2] == "(" || w[2] == "MATERIALIZED")
        })
        .map(|w| w[0].to_lowercase())
        .collect();
    let mut names = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !TABLE_KEYWORDS.contains(&tokens[i].as_str()) {
            i += 1;
            continue;
        }
        // `UPDATE` inside `FOR UPDATE`, `DO UPDATE SET` names nothing.
        if tokens[i] == "UPDATE"
            && i > 0
            && (tokens[i - 1] == "FOR" || tokens[i - 1] == "DO" || tokens[i - 1] == "KEY")
        {
            i += 1;
            continue;
        }
        // `extract(epoch FROM created_at)`, `substring(title FROM 3)`: an argument, no table.
        if tokens[i] == "FROM"
            && i > 1
            && tokens[i - 2] == "("
            && is_sql_ident(&tokens[i - 1])
            && !SQL_WORDS.contains(&tokens[i - 1].to_uppercase().as_str())
        {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        // `FROM a x, b y`: every item of a comma list.
        while let Some(token) = tokens.get(j) {
            if !is_sql_ident(token) || SQL_WORDS.contains(&token.to_uppercase().as_str()) {
                break;
            }
            let mut name = token.to_lowercase();
            j += 1;
            if tokens.get(j).map(String::as_str) == Some(".") {
                // `public.users` is a table; `EXTRACT(EPOCH FROM p.deadline)` is a column.
                if name != "public" || !tokens.get(j + 1).is_some_and(|t| is_sql_ident(t)) {
                    break;
                }
                name = tokens[j + 1].to_lowercase();
                j += 2;
            }
            if tokens.get(j).map(String::as_str) == Some("(") {
                // A function (`FROM unnest(...)`); `INSERT INTO t (cols)` is taken below.
                break;
            }
            if !ctes.contains(&name) {
                names.push(name);
            }
            // An alias, then maybe a comma and the next item.
            if tokens.get(j).is_some_and(|t| t.eq_ignore_ascii_case("AS")) {
                j += 1;
            }
            if tokens.get(j).is_some_and(|t| {
                is_sql_ident(t)
                    && !SQL_WORDS.contains(&t.to_uppercase().as_str())
                    && !TABLE_KEYWORDS.contains(&t.as_str())
            }) {
                j += 1;
            }
            if tokens.get(j).map(String::as_str) == Some(",") && tokens[i] == "FROM" {
                j += 1;
                continue;
            }
            break;
        }
        // `INSERT INTO t (a, b)`: the name before the column list is a table.
        if tokens[i] == "INTO" {
            if let (Some(name), Some("(")) =
                (tokens.get(i + 1), tokens.get(i + 2).map(String::as_str))
            {
                if is_sql_ident(name) && !ctes.contains(&name.to_lowercase()) {
                    names.push(name.to_lowercase());
                }
            }
        }
        i += 1;
    }
    names
}

pub(crate) fn is_sql_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn sql_tokens(sql: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '\'' {
            // A SQL string literal: its words are no table names.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            tokens.push("'…'".into());
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c.is_whitespace() || c == '\\' {
            i += 1;
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens
}

/// Whether a string literal is SQL: it has an upper-case statement keyword. Prose and
/// translation keys do not.
pub(crate) fn looks_like_sql(text: &str) -> bool {
    let tokens = sql_tokens(text);
    tokens.iter().any(|t| {
        matches!(
            t.as_str(),
            "SELECT"
                | "INSERT"
                | "UPDATE"
                | "DELETE"
                | "WITH"
                | "FROM"
                | "JOIN"
                | "TRUNCATE"
                | "LOCK"
                | "CREATE"
        )
    })
}

/// Every table or view a file's SQL names that its room may not name, as `file:line: what`.
/// Modules that are no room (the demo, the router) may name no table at all; `db` runs the
/// migrations and is exempt.
pub(crate) fn foreign_tables(
    sources: &[Source],
    may_read: impl Fn(&str, &str) -> bool,
    known: impl Fn(&str) -> Option<&'static str>,
) -> Vec<String> {
    let mut found = Vec::new();
    for source in sources {
        let module = module_of(&source.path);
        let Some(top) = module.first() else { continue };
        if top == "db" || top == "tables" {
            continue;
        }
        for (line, text) in lex(&source.text).strings {
            if !looks_like_sql(&text) {
                continue;
            }
            for name in tables_named(&text) {
                let problem = match known(&name) {
                    None => Some(format!("names `{name}`, which src/tables.rs does not know")),
                    Some(owner) if !is_room(top) => {
                        Some(format!("`{top}` is no room but names `{name}` (owned by {owner})"))
                    }
                    Some(owner) if !may_read(top, &name) => Some(format!(
                        "the {top} room names `{name}`, owned by {owner}, which does not publish it to {top}"
                    )),
                    Some(_) => None,
                };
                if let Some(problem) = problem {
                    let what = format!("{}:{line}: {problem}", source.path);
                    if !found.contains(&what) {
                        found.push(what);
                    }
                }
            }
        }
    }
    found
}

/// The tables and views the migrations leave behind (created, not dropped, renames followed).
pub(crate) fn migrated_relations(migrations: &[(String, String)]) -> BTreeMap<String, String> {
    let mut relations = BTreeMap::new();
    for (file, sql) in migrations {
        let tokens: Vec<String> = sql_tokens(sql)
            .into_iter()
            .map(|t| t.to_uppercase())
            .collect();
        let raw = sql_tokens(sql);
        let mut i = 0;
        while i < tokens.len() {
            let at = |k: usize| tokens.get(i + k).map(String::as_str).unwrap_or("");
            if at(0) == "CREATE" {
                let mut j = i + 1;
                while matches!(
                    tokens.get(j).map(String::as_str),
                    Some("OR" | "REPLACE" | "MATERIALIZED" | "TEMP" | "TEMPORARY" | "UNLOGGED")
                ) {
                    j += 1;
                }
                if matches!(tokens.get(j).map(String::as_str), Some("TABLE" | "VIEW")) {
                    j += 1;
                    if tokens.get(j).map(String::as_str) == Some("IF") {
                        j += 3;
                    }
                    if let Some(name) = raw.get(j) {
                        relations.insert(name.to_lowercase(), file.clone());
                    }
                }
            } else if at(0) == "DROP" && matches!(at(1), "TABLE" | "VIEW") {
                let mut j = i + 2;
                if tokens.get(j).map(String::as_str) == Some("IF") {
                    j += 2;
                }
                if let Some(name) = raw.get(j) {
                    relations.remove(&name.to_lowercase());
                }
            } else if at(0) == "ALTER" && at(1) == "TABLE" {
                // ALTER TABLE x RENAME TO y
                let name = raw.get(i + 2).map(|n| n.to_lowercase());
                if at(3) == "RENAME" && at(4) == "TO" {
                    if let (Some(old), Some(new)) = (name, raw.get(i + 5)) {
                        relations.remove(&old);
                        relations.insert(new.to_lowercase(), file.clone());
                    }
                }
            }
            i += 1;
        }
    }
    relations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources;

    #[test]
    pub(crate) fn sql_names_its_tables_but_not_its_functions_columns_or_common_table_expressions() {
        assert_eq!(
        tables_named(
            "WITH due AS (SELECT id FROM projects WHERE deadline < now() FOR UPDATE SKIP LOCKED)
             SELECT p.title, u.display_name FROM due JOIN projects p ON p.id = due.id
             LEFT JOIN public_profiles u ON u.id = p.founder_id, unnest($1::uuid[]) AS x(id)
             WHERE EXTRACT(EPOCH FROM p.deadline) > extract(epoch FROM created_at)"
        ),
        ["projects", "projects", "public_profiles"]
    );
        assert_eq!(
            tables_named(
                "INSERT INTO pledges (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET id = $1"
            ),
            ["pledges"]
        );
        assert_eq!(
            tables_named("UPDATE reward_tiers SET claimed = claimed + 1"),
            ["reward_tiers"]
        );
        assert_eq!(
            tables_named("DELETE FROM sessions WHERE id = $1"),
            ["sessions"]
        );
        assert_eq!(
            tables_named("DELETE FROM sessions s USING users u WHERE s.user_id = u.id"),
            ["sessions", "users"]
        );
        assert_eq!(
            tables_named("SELECT 1 FROM pledges JOIN projects USING (project_id)"),
            ["pledges", "projects"]
        );
        assert_eq!(tables_named("TRUNCATE ledger_nodes"), ["ledger_nodes"]);
        assert_eq!(
            tables_named("SELECT 1 FROM users a, sessions s"),
            ["users", "sessions"]
        );
        assert!(!looks_like_sql("Transfer from the wallet into escrow"));
    }

    #[test]
    pub(crate) fn the_table_check_names_each_foreign_table_and_the_file_line() {
        let files = sources(&[
            (
                "src/projects/repo.rs",
                "fn f() {\n    sqlx::query(\"SELECT title FROM projects\");\n    \
             sqlx::query(\"SELECT display_name FROM users WHERE id = $1\");\n    \
             sqlx::query(\"SELECT name FROM public_profiles\");\n}",
            ),
            (
                "src/pledges/desk.rs",
                "const Q: &str = r#\"SELECT * FROM reward_tiers JOIN nowhere ON true\"#;",
            ),
            (
                "src/demo.rs",
                "const Q: &str = \"INSERT INTO projects (id) VALUES ($1)\";",
            ),
        ]);
        let owners: BTreeMap<&str, &'static str> = BTreeMap::from([
            ("projects", "projects"),
            ("reward_tiers", "projects"),
            ("users", "accounts"),
            ("public_profiles", "accounts"),
        ]);
        let found = foreign_tables(
            &files,
            |room, name| match name {
                "public_profiles" => room == "projects" || room == "accounts",
                _ => owners.get(name) == Some(&room),
            },
            |name| owners.get(name).copied(),
        );
        assert_eq!(
        found,
        [
            "src/projects/repo.rs:3: the projects room names `users`, owned by accounts, which does not publish it to projects",
            "src/pledges/desk.rs:1: the pledges room names `reward_tiers`, owned by projects, which does not publish it to pledges",
            "src/pledges/desk.rs:1: names `nowhere`, which src/tables.rs does not know",
            "src/demo.rs:1: `demo` is no room but names `projects` (owned by projects)",
        ]
    );
    }

    #[test]
    pub(crate) fn the_migration_reader_follows_creates_drops_and_renames() {
        let migrations = vec![
            (
                "migrations/0001.sql".to_owned(),
                "CREATE TABLE users (id uuid);\n-- CREATE TABLE commented (x int);\n\
             CREATE TABLE IF NOT EXISTS old_name (x int);\nCREATE TABLE gone (x int);"
                    .to_owned(),
            ),
            (
                "migrations/0002.sql".to_owned(),
                "ALTER TABLE old_name RENAME TO new_name;\nDROP TABLE IF EXISTS gone;\n\
             CREATE OR REPLACE VIEW public_profiles AS SELECT id FROM users;"
                    .to_owned(),
            ),
        ];
        let names: Vec<String> = migrated_relations(&migrations).into_keys().collect();
        assert_eq!(names, ["new_name", "public_profiles", "users"]);
    }
}
