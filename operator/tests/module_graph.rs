//! No module of either crate imports a module that imports it back: the layers run one way
//! (`main → cli → controller → reconcile → stack → diff → resource → desired → validate →
//! contract`; in the trigger, `dispatch → flows → ports → keys → delivery → template → config`).
//! Read from the sources: every `crate::<module>` a top-level module's non-test code names is
//! an edge, and the graph must have no cycle. Test code (`#[cfg(test)]` modules and the files
//! they declare) may reach across layers: tests exercise them together.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source of a module file with its comments and `#[cfg(test)]` modules taken out, and the
/// files those test modules declare (`#[cfg(test)] mod x;`).
fn production_code(text: &str, dir: &Path, test_files: &mut BTreeSet<PathBuf>) -> String {
    let mut code = String::new();
    for line in text.lines() {
        code.push_str(without_comment(line));
        code.push('\n');
    }
    let mut out = String::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        let after = after
            .strip_prefix("pub(crate) ")
            .or_else(|| after.strip_prefix("pub "))
            .unwrap_or(after);
        let Some(module) = after.strip_prefix("mod ") else {
            rest = &rest[at + 1..];
            continue;
        };
        let name: String = module
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let module = module[name.len()..].trim_start();
        if let Some(after_declaration) = module.strip_prefix(';') {
            test_files.insert(dir.join(format!("{name}.rs")));
            test_files.insert(dir.join(&name));
            rest = after_declaration;
            continue;
        }
        // An inline test module: skip to its closing brace.
        let body = module.strip_prefix('{').unwrap();
        let mut depth = 1;
        let mut end = body.len();
        for (i, c) in body.char_indices() {
            depth += match c {
                '{' => 1,
                '}' => -1,
                _ => 0,
            };
            if depth == 0 {
                end = i + 1;
                break;
            }
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

/// A line without its `//` comment; a `//` inside a URL (`https://`) is not one.
fn without_comment(line: &str) -> &str {
    let mut from = 0;
    while let Some(at) = line[from..].find("//") {
        let at = from + at;
        if !line[..at].ends_with(':') {
            return &line[..at];
        }
        from = at + 2;
    }
    line
}

/// The first names of a `use` group's paths: `{a::X, b, c::{Y, Z}}` gives `a`, `b`, `c`.
fn group_heads(group: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(&group[start..i]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    heads
        .into_iter()
        .map(|p| p.trim().split("::").next().unwrap_or_default().trim())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The crate's top-level module graph: which top-level modules each one's code names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let top: BTreeSet<String> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_owned();
            (p.is_dir() || p.extension()? == "rs").then_some(name)
        })
        .filter(|n| n != "lib" && n != "main")
        .collect();
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    // Declaring files before declared ones (`x/mod.rs` declares its siblings), so a test
    // module's files are known before they are read.
    files.sort_by_key(|p| (p.components().count(), !p.ends_with("mod.rs"), p.clone()));
    let mut test_files = BTreeSet::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let owner = relative.components().next().unwrap().as_os_str();
        let owner = Path::new(owner)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if !top.contains(&owner) || test_files.iter().any(|t| file.starts_with(t)) {
            continue;
        }
        // The folder a file's `mod x;` declarations live in.
        let module_dir = match file.file_stem().unwrap().to_str().unwrap() {
            "mod" => file.parent().unwrap().to_path_buf(),
            stem => file.parent().unwrap().join(stem),
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let code = production_code(&text, &module_dir, &mut test_files);
        let named = edges.entry(owner.clone()).or_default();
        // `crate::x`, and from a file n folders deep, `super::…::x` with n `super`s.
        let depth = relative.components().count() - usize::from(file.ends_with("mod.rs"));
        let mut roots = vec!["crate::".to_owned()];
        if depth > 0 {
            roots.push("super::".repeat(depth));
        }
        for root in &roots {
            let mut rest = code.as_str();
            while let Some(at) = rest.find(root.as_str()) {
                let before = rest[..at].chars().last();
                rest = &rest[at + root.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue; // a deeper `super::super::` seen from a shallower root
                }
                let names = match rest.strip_prefix('{') {
                    Some(group) => group_heads(group),
                    None => vec![
                        rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap(),
                    ],
                };
                for name in names {
                    if top.contains(name) && name != owner {
                        named.insert(name.to_owned());
                    }
                }
            }
        }
    }
    edges
}

/// Every cycle's modules (a strongly connected component of more than one).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(m) = todo.pop() {
            for next in edges.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        edges.keys().map(|m| (m, reaches(m))).collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for (m, from_m) in &reach {
        let cycle: Vec<String> = from_m
            .iter()
            .filter(|n| *n != *m && reach.get(n).is_some_and(|r| r.contains(*m)))
            .cloned()
            .chain([(*m).clone()])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if cycle.len() > 1 {
            found.insert(cycle);
        }
    }
    found.into_iter().collect()
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    for krate in ["operator", "triggers"] {
        let src = common::repo_file(&format!("{krate}/src"));
        let edges = graph(&src);
        assert!(edges.len() > 5, "{krate}: read {} modules", edges.len());
        let found = cycles(&edges);
        let detail: Vec<String> = found
            .iter()
            .flatten()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|m| format!("{m} -> {:?}", edges[m]))
            .collect();
        assert!(
            found.is_empty(),
            "{krate}: cycles {found:?}\n{}",
            detail.join("\n")
        );
    }
}

/// The reader finds what it must: a cycle planted in a made-up crate is reported, and test code
/// is not counted.
#[test]
fn the_reader_sees_a_planted_cycle_and_ignores_test_code() {
    let dir = std::env::temp_dir().join(format!("module-graph-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("b")).unwrap();
    let write = |path: &str, text: &str| std::fs::write(src.join(path), text).unwrap();
    write(
        "lib.rs",
        "pub mod a; pub mod b; pub mod c; pub mod d; pub mod e;",
    );
    write(
        "a.rs",
        "use crate::b::X;\n#[cfg(test)]\nmod tests { use crate::c::Y; }\n",
    );
    write("b/mod.rs", "mod inner;\n#[cfg(test)]\nmod checks;\n");
    write(
        "b/inner.rs",
        "use crate::{a::{Z, W}, c};\n// crate::e in a comment\nconst U: &str = \"https://x\"; use crate::d::V;\n",
    );
    write("b/checks.rs", "use crate::e::W;\n");
    write("c.rs", "pub struct Y;\n");
    write("d.rs", "pub struct V;\n");
    std::fs::create_dir_all(src.join("e")).unwrap();
    write("e/mod.rs", "mod deep;\n");
    write("e/deep.rs", "use super::super::c::Y;\n");
    let edges = graph(&src);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(edges["a"], BTreeSet::from(["b".to_owned()]));
    let b: BTreeSet<String> = ["a", "c", "d"].map(str::to_owned).into();
    assert_eq!(
        edges["b"], b,
        "a nested group, a URL before a path, no test code"
    );
    assert_eq!(edges["e"], BTreeSet::from(["c".to_owned()]), "super::super");
    assert_eq!(cycles(&edges), vec![vec!["a".to_owned(), "b".to_owned()]]);
}
