//! The architecture of `src/`, checked by reading the source: no cycle between top-level
//! modules (each room's web part counted as its own node), domain code below the web, each
//! room's SQL naming only its own tables and the views published for it, and no file too long
//! to hold in one's head. No database and no server: these are scanners over text, and each
//! scanner has tests of its own on small inline sources, so a green run means "nothing found",
//! not "nothing looked for".

mod graph;
mod layering;
mod lex;
mod paths;
mod sql;

use std::collections::BTreeSet;
use std::path::PathBuf;

use graph::{cycles, module_graph};
use layering::layering_violations;
use sql::{foreign_tables, migrated_relations};

/// The domain rooms of `DESIGN.md`, including those not built yet.
const ROOMS: &[&str] = &[
    "accounts",
    "projects",
    "pledges",
    "money",
    "settlement",
    "ledger",
    "supervision",
    "community",
    "market",
    "notify",
    "witness",
];

/// The longest a file under `src/` may be.
const MAX_LINES: usize = 700;

/// One Rust file of the crate, by its path from the crate root (`src/projects/repo.rs`).
struct Source {
    pub(crate) path: String,
    pub(crate) text: String,
}

/// The checkout whose `src/` and `migrations/` are read: this crate's, or the one named by
/// `ARCHITECTURE_CHECKOUT` (to look at another branch's tree without building it).
fn checkout() -> PathBuf {
    std::env::var_os("ARCHITECTURE_CHECKOUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Every `.rs` file under `src/`, sorted by path.
fn crate_sources() -> Vec<Source> {
    let root = &checkout();
    let mut files = Vec::new();
    let mut folders = vec![root.join("src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read src/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                let rel = path.strip_prefix(root).expect("under the crate");
                files.push(Source {
                    path: rel.to_string_lossy().replace('\\', "/"),
                    text,
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Whether a top-level module is a room.
fn is_room(name: &str) -> bool {
    ROOMS.contains(&name)
}

/// Whether a room's module is part of its web layer.
fn is_web_part(segment: &str) -> bool {
    matches!(segment, "api" | "pages" | "web")
}

fn crate_migrations() -> Vec<(String, String)> {
    let folder = checkout().join("migrations");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&folder)
        .expect("migrations/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| {
            let name = format!("migrations/{}", p.file_name().unwrap().to_string_lossy());
            (name, std::fs::read_to_string(&p).expect("read a migration"))
        })
        .collect();
    files.sort();
    files
}

/// Files under `src/` longer than the limit, as `file: N lines`.
fn long_files(sources: &[Source], limit: usize) -> Vec<String> {
    sources
        .iter()
        .map(|s| (s, s.text.lines().count()))
        .filter(|(_, lines)| *lines > limit)
        .map(|(s, lines)| format!("{}: {lines} lines (at most {limit})", s.path))
        .collect()
}

fn report(what: &str, problems: &[String]) -> String {
    format!("{} {what}:\n  {}", problems.len(), problems.join("\n  "))
}

// ---------------------------------------------------------------------------------------------
// The checks on `src/`.

#[test]
fn top_level_modules_form_no_cycle() {
    let sources = crate_sources();
    let edges = module_graph(&sources);
    assert!(
        edges.len() > 10,
        "the graph is suspiciously small: {edges:?}"
    );
    let cycles = cycles(&edges);
    let graph: Vec<String> = edges
        .iter()
        .map(|(from, to)| {
            format!(
                "{from:16} -> {}",
                to.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "{}\n\nthe graph:\n  {}",
        report("import cycles between top-level modules", &cycles),
        graph.join("\n  ")
    );
}

#[test]
fn domain_code_stands_below_the_web_and_http_below_the_rooms() {
    let problems = layering_violations(&crate_sources());
    assert!(
        problems.is_empty(),
        "{}",
        report("layering violations", &problems)
    );
}

#[test]
fn every_room_names_only_its_own_tables_and_the_views_published_to_it() {
    let problems = foreign_tables(&crate_sources(), zhonglian::tables::may_read, |name| {
        zhonglian::tables::owner(name).map(|t| t.room)
    });
    assert!(
        problems.is_empty(),
        "{}",
        report("foreign tables in SQL", &problems)
    );
}

#[test]
fn the_table_map_lists_exactly_the_tables_and_views_of_the_migrations() {
    let migrated = migrated_relations(&crate_migrations());
    assert!(migrated.contains_key("users") && migrated.contains_key("public_profiles"));
    let mapped: BTreeSet<&str> = zhonglian::tables::TABLES.iter().map(|t| t.name).collect();
    let mut problems = Vec::new();
    for (name, file) in &migrated {
        if !mapped.contains(name.as_str()) {
            problems.push(format!(
                "{file} creates `{name}`, which src/tables.rs does not map"
            ));
        }
    }
    for name in &mapped {
        if !migrated.contains_key(*name) {
            problems.push(format!(
                "src/tables.rs maps `{name}`, which no migration creates"
            ));
        }
    }
    for table in zhonglian::tables::TABLES {
        if !is_room(table.room) {
            problems.push(format!(
                "src/tables.rs gives `{}` to `{}`, which is no room",
                table.name, table.room
            ));
        }
        for reader in table.readers {
            if !is_room(reader) {
                problems.push(format!(
                    "src/tables.rs publishes `{}` to `{reader}`, which is no room",
                    table.name
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}",
        report("mismatches between the map and the migrations", &problems)
    );
}

#[test]
fn no_source_file_is_longer_than_700_lines() {
    let problems = long_files(&crate_sources(), MAX_LINES);
    assert!(
        problems.is_empty(),
        "{}",
        report("files too long", &problems)
    );
}

fn sources(files: &[(&str, &str)]) -> Vec<Source> {
    files
        .iter()
        .map(|(path, text)| Source {
            path: (*path).to_owned(),
            text: (*text).to_owned(),
        })
        .collect()
}

#[test]
fn the_size_check_names_long_files() {
    let long = "fn f() {}\n".repeat(701);
    let files = sources(&[("src/a.rs", &long), ("src/b.rs", "fn g() {}\n")]);
    assert_eq!(
        long_files(&files, MAX_LINES),
        ["src/a.rs: 701 lines (at most 700)"]
    );
}
