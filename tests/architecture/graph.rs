//! The graph of top-level modules, each room's web part its own node, and its cycles.

use std::collections::{BTreeMap, BTreeSet};

use crate::paths::{module_of, references, Target};
use crate::{is_room, is_web_part, Source};

/// `pages` and `web`.
pub(crate) fn node_of(module: &[String]) -> Option<String> {
    let top = module.first()?;
    match module.get(1) {
        Some(second) if is_room(top) && is_web_part(second) => Some(format!("{top}.web")),
        _ => Some(top.clone()),
    }
}

/// The node of a file; `None` for `main.rs`, the binary, which stands outside the library.
pub(crate) fn node_of_file(path: &str, top_modules: &BTreeSet<String>) -> Option<String> {
    if path == "src/main.rs" {
        return None;
    }
    let module = module_of(path);
    if module.is_empty() {
        return Some("lib".into());
    }
    debug_assert!(top_modules.contains(&module[0]));
    node_of(&module)
}

/// The top-level modules of a set of sources (`src/x.rs` or `src/x/`).
pub(crate) fn top_modules(sources: &[Source]) -> BTreeSet<String> {
    sources
        .iter()
        .filter_map(|s| module_of(&s.path).first().cloned())
        .collect()
}

/// One edge of the graph with the first place that makes it.
pub(crate) type Edges = BTreeMap<String, BTreeMap<String, String>>;

/// `node -> node -> "file:line"` for every reference between two different nodes.
pub(crate) fn module_graph(sources: &[Source]) -> Edges {
    let tops = top_modules(sources);
    let mut edges: Edges = BTreeMap::new();
    for source in sources {
        let Some(from) = node_of_file(&source.path, &tops) else {
            continue;
        };
        edges.entry(from.clone()).or_default();
        for (line, target) in references(&source.path, &source.text) {
            let Target::Crate(module) = target else {
                continue;
            };
            if !module.first().is_some_and(|t| tops.contains(t)) {
                continue; // an item of lib.rs (`crate::Application`), not a module
            }
            let Some(to) = node_of(&module) else { continue };
            if to != from {
                edges
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| format!("{}:{line}", source.path));
            }
        }
    }
    edges
}

/// Every cycle group of the graph (strongly connected components of more than one node),
/// each with one concrete cycle through it, written `a -> b (file:line) -> ... -> a`.
pub(crate) fn cycles(edges: &Edges) -> Vec<String> {
    let nodes: Vec<&String> = edges
        .keys()
        .chain(edges.values().flat_map(|m| m.keys()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Tarjan's algorithm, iteratively small enough for a few dozen nodes to recurse.
    struct Tarjan<'a> {
        edges: &'a Edges,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        groups: Vec<Vec<&'a str>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            if let Some(targets) = self.edges.get(v) {
                for w in targets.keys() {
                    let w = w.as_str();
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let low = self.low[v].min(self.low[w]);
                        self.low.insert(v, low);
                    } else if self.on_stack.contains(w) {
                        let low = self.low[v].min(self.index[w]);
                        self.low.insert(v, low);
                    }
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w);
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.groups.push(group);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for v in &nodes {
        if !tarjan.index.contains_key(v.as_str()) {
            tarjan.visit(v);
        }
    }
    tarjan
        .groups
        .iter()
        .map(|group| {
            let members: BTreeSet<&str> = group.iter().copied().collect();
            let start = group[0];
            format!(
                "cycle among {{{}}}: {}",
                group.join(", "),
                shortest_cycle(edges, start, &members)
            )
        })
        .collect()
}

/// The shortest way from `start` back to itself inside `members`, with each edge's evidence.
pub(crate) fn shortest_cycle(edges: &Edges, start: &str, members: &BTreeSet<&str>) -> String {
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen = BTreeSet::from([start]);
    'search: while let Some(v) = queue.pop_front() {
        for w in edges.get(v).into_iter().flat_map(|m| m.keys()) {
            let w = w.as_str();
            if !members.contains(w) {
                continue;
            }
            if w == start {
                previous.insert(start, v);
                break 'search;
            }
            if seen.insert(w) {
                previous.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let mut path = vec![start];
    let mut at = previous[start];
    while at != start {
        path.push(at);
        at = previous[at];
    }
    path.push(start);
    path.reverse();
    let mut text = start.to_owned();
    for pair in path.windows(2) {
        text.push_str(&format!(" -> {} ({})", pair[1], edges[pair[0]][pair[1]]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources;

    #[test]
    pub(crate) fn the_cycle_check_finds_a_cycle_through_a_rooms_web_part() {
        let files = sources(&[
            ("src/lib.rs", "pub mod http; pub mod projects;"),
            ("src/http/mod.rs", "use crate::projects::pages::Chrome;"),
            ("src/projects/mod.rs", "pub mod pages; pub mod repo;"),
            (
                "src/projects/repo.rs",
                "// use crate::http; is only a comment\nfn f() {}",
            ),
            (
                "src/projects/pages.rs",
                "fn f() {}\nuse crate::http::error::Error;",
            ),
        ]);
        let edges = module_graph(&files);
        let found = cycles(&edges);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0],
            "cycle among {http, projects.web}: \
         http -> projects.web (src/http/mod.rs:1) -> http (src/projects/pages.rs:2)",
            "each step names the file and line that makes it"
        );
        let acyclic = sources(&[
            ("src/lib.rs", "pub mod http; pub mod projects;"),
            (
                "src/projects/pages.rs",
                "use crate::http::error::Error; use crate::projects::Project;",
            ),
            ("src/projects/mod.rs", "pub mod pages;"),
            ("src/http/mod.rs", "use crate::accounts::CurrentUser;"),
        ]);
        assert!(cycles(&module_graph(&acyclic)).is_empty());
    }
}
