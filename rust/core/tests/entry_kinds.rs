//! The entry-kind registry (`pinnacle_core::kinds`): no two registered kinds collide, the
//! ranges are disjoint and hold their kinds, and every kind the repository writes is
//! registered. The last is a source scan of `rust/*/src` and `python/pinnacle`: every
//! journal append names its kind by a constant (or a literal) that resolves to a
//! registered kind, or passes a caller's `kind` through; every `KIND` constant of a
//! record type and every Python `*KIND*` literal is registered; the simulator takes its
//! kinds from the registry, not from literals of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_core::kinds::{self, KindRange, RANGES, REGISTERED, USER};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// Non-test Rust code: comments dropped, and everything from the first `#[cfg(test)]`
/// on (test modules close each file in this repository).
fn rust_code(p: &Path) -> String {
    let text = std::fs::read_to_string(p).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn registered(kind: u16) -> bool {
    kinds::lookup(kind).is_some()
}

#[test]
fn registered_kinds_and_ranges_do_not_collide() {
    let mut numbers = BTreeSet::new();
    let mut names = BTreeSet::new();
    for k in REGISTERED {
        assert!(numbers.insert(k.kind), "kind {} registered twice", k.kind);
        assert!(names.insert(k.name), "name {:?} registered twice", k.name);
        let range = kinds::range_of(k.kind).unwrap_or_else(|| panic!("{} is in no range", k.name));
        assert_eq!(range.name, k.range, "{} ({}) lies in range {}", k.name, k.kind, range.name);
        assert_ne!(range.name, USER.name, "{}: pinnacle never registers a user kind", k.name);
        assert_eq!(kinds::kind_name(k.kind), k.name);
    }
    let pairs: Vec<(&KindRange, &KindRange)> = RANGES.iter().zip(RANGES.iter().skip(1)).collect();
    for (a, b) in pairs {
        assert!(
            a.first <= a.last && a.last < b.first,
            "ranges {} and {} overlap or are out of order",
            a.name,
            b.name
        );
    }
    let range_names: BTreeSet<_> = RANGES.iter().map(|r| r.name).collect();
    assert_eq!(range_names.len(), RANGES.len(), "two ranges share a name");
    for needed in ["ledger", "audit", "ratelimit", "marketdata", "user"] {
        assert!(range_names.contains(needed), "no range reserved for {needed}");
    }
}

/// `const NAME: u16 = EXPR;` of every scanned Rust file.
fn rust_consts(code: &[(PathBuf, String)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, text) in code {
        for part in text.split("const ").skip(1) {
            let Some((name, rest)) = part.split_once(": u16 =") else { continue };
            let Some((expr, _)) = rest.split_once(';') else { continue };
            out.insert(name.trim().to_owned(), expr.trim().to_owned());
        }
    }
    out
}

/// The value of a kind expression: a literal, or a path whose last segment is a scanned
/// constant (`kinds::BOOK_OP`, `OP_KIND`).
fn resolve(expr: &str, consts: &BTreeMap<String, String>, depth: u8) -> Option<u16> {
    let expr = expr.trim();
    if let Ok(v) = expr.parse::<u16>() {
        return Some(v);
    }
    let last = expr.rsplit("::").next()?;
    resolve(consts.get(last)?, consts, depth.checked_sub(1)?)
}

/// First argument of every call `NAME(` in `text`.
fn first_args<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let pat = format!("{name}(");
    let mut out = Vec::new();
    for (i, _) in text.match_indices(&pat) {
        let before = text[..i].chars().next_back();
        let joined = !name.starts_with('.') && before.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if joined || text[..i].ends_with("fn ") {
            continue;
        }
        let rest = &text[i + pat.len()..];
        out.push(rest.split([',', ')']).next().unwrap_or("").trim());
    }
    out
}

#[test]
fn every_kind_the_rust_code_writes_is_registered() {
    let mut paths = Vec::new();
    for krate in ["core", "book", "security", "python"] {
        files(&repo().join("rust").join(krate).join("src"), "rs", &mut paths);
    }
    let code: Vec<(PathBuf, String)> = paths.into_iter().map(|p| (p.clone(), rust_code(&p))).collect();
    let consts = rust_consts(&code);
    let mut sites = 0;
    for (p, text) in &code {
        for call in ["append", "append_deferred", "append_flagged", "append_batch"] {
            for arg in first_args(text, call) {
                // A caller's kind passed through (the raw journal API) or a record type's.
                if arg.chars().all(|c| c.is_ascii_lowercase() || c == '_') || arg.ends_with("::KIND") {
                    continue;
                }
                let v = resolve(arg, &consts, 8);
                assert!(
                    v.is_some_and(registered),
                    "{}: {call}({arg}, ..) writes an unregistered kind",
                    p.display()
                );
                sites += 1;
            }
        }
        for part in text.split("const KIND: u16 =").skip(1) {
            let expr = part.split(';').next().unwrap_or("");
            let v = resolve(expr, &consts, 8);
            assert!(
                v.is_some_and(registered),
                "{}: a record journaled under unregistered {expr}",
                p.display()
            );
            sites += 1;
        }
    }
    assert!(sites >= 2, "the scan found {sites} kind-writing sites: it no longer sees the code");
}

#[test]
fn every_kind_the_python_package_writes_is_registered() {
    let mut paths = Vec::new();
    files(&repo().join("python/pinnacle"), "py", &mut paths);
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap();
        let sim = p.components().any(|c| c.as_os_str() == "sim");
        for line in text.lines() {
            let Some((name, value)) = line.split_once('=') else { continue };
            let (name, value) = (name.trim(), value.split('#').next().unwrap_or("").trim());
            let bound = name.starts_with("MAX_") || name.starts_with("MIN_");
            let is_kind_name = (name == "KIND" || name.starts_with("KIND_") || name.ends_with("_KIND"))
                && !bound
                && name.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            let Ok(v) = value.parse::<u16>() else { continue };
            if is_kind_name {
                assert!(
                    !sim,
                    "{}: {name} = {v}: the simulator takes its kinds from the registry",
                    p.display()
                );
                assert!(registered(v), "{}: {name} = {v} is not a registered kind", p.display());
            }
        }
        for call in [".append", ".append_many"] {
            for arg in first_args(&text, call) {
                if let Ok(v) = arg.parse::<u16>() {
                    assert!(registered(v), "{}: {call}({v}, ..) writes an unregistered kind", p.display());
                }
            }
        }
    }
    let ledger = std::fs::read_to_string(repo().join("python/pinnacle/sim/ledger.py")).unwrap();
    assert!(ledger.contains("entry_kinds()"), "the simulator's ledger reads its kinds from the registry");
}
