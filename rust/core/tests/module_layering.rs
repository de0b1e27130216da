//! Module dependencies point one way. Reads the `src/**/*.rs` of pinnacle-core,
//! pinnacle-book and pinnacle-security, collects every `crate::`/`super::` path outside
//! comments and `#[cfg(test)]` modules, resolves it to the module it names (a root
//! re-export such as `crate::OrderBook` to the module it comes from) and asserts that
//! neither the module graph nor the graph of top-level modules (a submodule counted as
//! its top-level module) has a cycle, and that every top-level edge goes down the
//! layering listed here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// pinnacle-core's top-level modules, lowest first: a module may import only modules
/// listed before it.
const CORE_LAYERS: &[&str] = &[
    "decimal",
    "kinds",
    "locks",
    "error",
    "format",
    "sync_hooks",
    "sys",
    "fork",
    "options",
    "atomic_file",
    "journal",
    "wal",
    "testing",
];

/// pinnacle-book's modules, lowest first.
const BOOK_LAYERS: &[&str] = &[
    "grid",
    "meta",
    "strid",
    "types",
    "error",
    "ids",
    "hash",
    "order",
    "index",
    "level",
    "wire",
    "ops",
    "book",
    "plan",
    "matching",
    "apply",
    "invariants",
    "traverse",
    "snapshot",
    "snapshot_file",
    "journaled",
    "shadow",
];

/// pinnacle-security's modules, lowest first (independent layouts: none imports another).
const SECURITY_LAYERS: &[&str] = &["vault", "ratelimit", "backup_entries"];

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Module path (`journal::sync`) of each source file; `lib.rs` is the root `""`.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src).unwrap().with_extension("");
                let mut segs: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
                if segs.last().is_some_and(|s| s == "mod" || s == "lib") {
                    segs.pop();
                }
                out.insert(segs.join("::"), p);
            }
        }
    }
    out
}

/// The code of a file without comments, string literals' contents and `#[cfg(test)]` items.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<usize> = None;
    let mut depth = 0usize;
    let mut pending_cfg_test = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("");
        let trimmed = line.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
            continue;
        }
        if pending_cfg_test && skip_depth.is_none() && !trimmed.is_empty() {
            skip_depth = Some(depth);
            pending_cfg_test = false;
        }
        for c in line.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        match skip_depth {
            Some(d) if depth <= d && (trimmed.ends_with('}') || trimmed.ends_with(';')) => skip_depth = None,
            Some(_) => {}
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Expands a use tree (`a::{b, c::d}`) into its paths.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or("");
        return vec![path.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect()];
    };
    let prefix: Vec<String> = tree[..open].split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    let mut out = Vec::new();
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        for rest in expand(p) {
            let mut full = prefix.clone();
            full.extend(rest.into_iter().filter(|s| s != "self"));
            out.push(full);
        }
    }
    out
}

/// Every `crate::`/`super::` path in `code`, made absolute (segments from the crate root).
fn paths(module: &str, code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let parent: Vec<String> = {
        let mut m: Vec<String> = module.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
        m.pop();
        m
    };
    for anchor in ["crate::", "super::"] {
        let mut at = 0;
        while let Some(i) = code[at..].find(anchor) {
            let i = at + i;
            at = i + anchor.len();
            if code[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[at..];
            let end = if rest.starts_with('{') || code[..i].trim_end().ends_with("use") {
                rest.find(';').unwrap_or(rest.len())
            } else {
                rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len())
            };
            for p in expand(&rest[..end]) {
                let mut full = if anchor == "super::" { parent.clone() } else { Vec::new() };
                full.extend(p);
                out.push(full);
            }
        }
    }
    out
}

/// The module a path names: its longest prefix that is a module, or, for a root item,
/// the module the root re-exports it from. None for items defined in lib.rs itself.
fn resolve(
    path: &[String],
    mods: &BTreeMap<String, PathBuf>,
    reexports: &BTreeMap<String, String>,
) -> Option<String> {
    for n in (1..=path.len()).rev() {
        let p = path[..n].join("::");
        if mods.contains_key(&p) {
            return Some(p);
        }
    }
    reexports.get(path.first()?).cloned()
}

fn graph(src: &Path) -> Graph {
    let mods = modules(src);
    let root = code(&std::fs::read_to_string(&mods[""]).unwrap());
    let mut reexports = BTreeMap::new();
    for stmt in root.split(';') {
        if let Some(tree) = stmt.trim().strip_prefix("pub use ") {
            for p in expand(tree) {
                let name = p.last().unwrap().clone();
                let m = resolve(&p, &mods, &BTreeMap::new()).expect("a root re-export names a module");
                reexports.insert(name, m);
            }
        }
    }
    let mut g = Graph::new();
    for (m, file) in mods.iter().filter(|(m, _)| !m.is_empty()) {
        let text = code(&std::fs::read_to_string(file).unwrap());
        let deps = g.entry(m.clone()).or_default();
        for p in paths(m, &text) {
            if let Some(t) = resolve(&p, &mods, &reexports) {
                if t != *m && !t.is_empty() {
                    deps.insert(t);
                }
            }
        }
    }
    g
}

fn top(m: &str) -> String {
    m.split("::").next().unwrap().to_owned()
}

fn collapse(g: &Graph) -> Graph {
    let mut out = Graph::new();
    for (m, deps) in g {
        let e = out.entry(top(m)).or_default();
        e.extend(deps.iter().map(|d| top(d)).filter(|d| *d != top(m)));
    }
    out
}

/// A cycle of `g`, if it has one.
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let at = stack.iter().position(|s| s == n).unwrap();
                let mut c = stack[at..].to_vec();
                c.push(n.to_owned());
                return Some(c);
            }
            _ => {}
        }
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    g.keys().find_map(|n| visit(n, g, &mut state, &mut Vec::new()))
}

fn render(g: &Graph) -> String {
    g.iter()
        .map(|(m, d)| format!("  {m} -> {}\n", d.iter().cloned().collect::<Vec<_>>().join(", ")))
        .collect()
}

fn check(crate_dir: &str, layers: &[&str]) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate_dir).join("src");
    let g = graph(&src);
    println!("{crate_dir} modules:\n{}", render(&g));
    assert_eq!(cycle(&g), None, "{crate_dir}: module cycle; graph:\n{}", render(&g));
    let t = collapse(&g);
    assert_eq!(cycle(&t), None, "{crate_dir}: top-level module cycle; graph:\n{}", render(&t));
    let rank = |m: &str| {
        layers
            .iter()
            .position(|l| *l == m)
            .unwrap_or_else(|| panic!("{crate_dir}: module {m} is not in the layering"))
    };
    for (m, deps) in &t {
        for d in deps {
            assert!(rank(d) < rank(m), "{crate_dir}: {m} imports {d}, which the layering puts above it");
        }
    }
}

#[test]
fn core_modules_depend_one_way() {
    check("core", CORE_LAYERS);
}

#[test]
fn book_modules_depend_one_way() {
    check("book", BOOK_LAYERS);
}

#[test]
fn security_modules_depend_one_way() {
    check("security", SECURITY_LAYERS);
}
