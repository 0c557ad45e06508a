//! The rules that keep the code's layers apart, checked on the source
//! itself so that a change that breaks one fails here, not in review:
//!
//! - every Apache/APR call sits in `src/apache`;
//! - every libc function call sits in `src/unix`;
//! - every raw CPython call sits in the core crate's `python/ffi`;
//! - no module imports another that imports it back, directly or not;
//! - no source file passes 600 lines, and the C shim stays a shim.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file with `extension` under `dir`, sorted.
fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The code of a Rust file without its comments (line comments, and the
/// doc comments that name calls in prose) and without its unit tests, which
/// may reach across layers to set things up.
fn code_of(path: &Path) -> String {
    let mut text = std::fs::read_to_string(path).unwrap();
    if let Some(tests) = text.find("#[cfg(test)]\nmod tests") {
        text.truncate(tests);
    }
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
        .replace("crates/wsgi/../../", "")
}

/// Lines of `path` where `code` calls a function named `prefix...`.
fn calls(code: &str, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find(prefix) {
            let after = &rest[at + prefix.len()..];
            let name_end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..name_end];
            let is_call = after[name_end..].trim_start().starts_with('(');
            // A function's name starts lower case; types and constants do not.
            if is_call && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
                found.push(format!("line {}: {}{name}", n + 1, prefix));
            }
            rest = &after[name_end..];
        }
    }
    found
}

fn rust_sources() -> Vec<PathBuf> {
    let mut all = files(&repo().join("src"), "rs");
    all.extend(files(&repo().join("crates/wsgi/src"), "rs"));
    all
}

/// Calls of functions named `prefixes...` in every Rust source file
/// outside `home`, the one folder that may make them.
fn calls_outside(home: &str, prefixes: &[&str]) -> String {
    let mut outside = Vec::new();
    for path in rust_sources() {
        let name = relative(&path);
        if name.starts_with(home) {
            continue;
        }
        let code = code_of(&path);
        for prefix in prefixes {
            for call in calls(&code, prefix) {
                outside.push(format!("{name} {call}"));
            }
        }
    }
    outside.join("\n")
}

#[test]
fn apache_and_apr_calls_sit_in_src_apache() {
    let outside = calls_outside(
        "src/apache/",
        &["bindings::ap_", "bindings::apr_", "bindings::wsgi_shim_"],
    );
    assert!(
        outside.is_empty(),
        "Apache/APR calls outside src/apache:\n{outside}"
    );
}

#[test]
fn libc_calls_sit_in_src_unix() {
    let outside = calls_outside("src/unix/", &["libc::"]);
    assert!(
        outside.is_empty(),
        "libc calls outside src/unix:\n{outside}"
    );
}

#[test]
fn raw_cpython_calls_sit_in_python_ffi() {
    let outside = calls_outside("crates/wsgi/src/python/ffi", &["ffi::Py", "ffi::_Py"]);
    assert!(
        outside.is_empty(),
        "raw CPython calls outside python/ffi:\n{outside}"
    );
}

#[test]
fn no_source_file_passes_600_lines() {
    let mut sources = rust_sources();
    sources.extend(files(&repo().join("src/shim"), "c"));
    sources.extend(files(&repo().join("tests"), "rs"));
    let long: Vec<String> = sources
        .iter()
        .map(|p| {
            (
                relative(p),
                std::fs::read_to_string(p).unwrap().lines().count(),
            )
        })
        .filter(|(_, lines)| *lines > 600)
        .map(|(name, lines)| format!("{name}: {lines} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "files over 600 lines:\n{}",
        long.join("\n")
    );
    let shim = std::fs::read_to_string(repo().join("src/shim/mod_wsgi.c")).unwrap();
    assert!(
        shim.lines().count() < 150,
        "src/shim/mod_wsgi.c has {} lines; it should only forward to Apache's macros",
        shim.lines().count()
    );
}

/// A crate's modules, each with the file that holds it.
struct Crate {
    /// Module path (`daemon::client`, `` for the crate root) -> file.
    modules: BTreeMap<String, PathBuf>,
}

impl Crate {
    fn read(root: &Path, lib: &str) -> Crate {
        let mut modules = BTreeMap::new();
        for path in files(root, "rs") {
            let rel = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|l| l == "mod" || l == lib) {
                parts.pop();
            }
            modules.insert(parts.join("::"), path);
        }
        Crate { modules }
    }

    /// The module a path names, as the longest known module prefix.
    fn resolve(&self, path: &[String]) -> Option<String> {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].join("::"))
            .find(|candidate| self.modules.contains_key(candidate))
    }
}

/// The `crate::`, `super::` and child-module paths used in `code`,
/// with `use` groups (`use a::{b, c::d}`) expanded.
fn used_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut text = String::new();
    // Expand use trees first: they are the only place braces group paths.
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let is_word_start =
            at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let Some(end) = rest[at..].find(';') else {
            break;
        };
        if is_word_start {
            expand_use_tree(rest[at + 4..at + end].trim(), "", &mut paths);
        }
        text.push_str(&rest[..at]);
        rest = &rest[at + end + 1..];
    }
    text.push_str(rest);
    // Then every other path in the code.
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphabetic() || bytes[i] == b'_' {
            let preceded = i > 0
                && (bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b':');
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b':')
            {
                i += 1;
            }
            let path = &text[start..i];
            if !preceded && path.contains("::") {
                paths.push(
                    path.split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
        } else {
            i += 1;
        }
    }
    paths
}

fn expand_use_tree(tree: &str, prefix: &str, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = format!("{prefix}{}", &tree[..open]);
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_use_tree(&inner[start..i], &head, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand_use_tree(&inner[start..], &head, out);
    } else if !tree.is_empty() {
        let path = format!("{prefix}{}", tree.split(" as ").next().unwrap_or(tree));
        out.push(
            path.split("::")
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        );
    }
}

/// Which modules each module of the crate uses (not counting itself).
fn imports(krate: &Crate) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (module, file) in &krate.modules {
        let here: Vec<String> = module
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let parent = &here[..here.len().saturating_sub(1)];
        // Children are reached by plain names, relative to the module.
        let children_base = here.clone();
        let mut uses = BTreeSet::new();
        for path in used_paths(&code_of(file)) {
            let absolute: Vec<String> = match path.first().map(String::as_str) {
                Some("crate") => path[1..].to_vec(),
                Some("super") => {
                    let mut base = parent.to_vec();
                    let mut rest = &path[1..];
                    while rest.first().is_some_and(|s| s == "super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    base.extend(rest.iter().cloned());
                    base
                }
                Some("self") => {
                    let mut base = children_base.clone();
                    base.extend(path[1..].iter().cloned());
                    base
                }
                Some(first)
                    if krate.modules.contains_key(
                        &[children_base.clone(), vec![first.to_owned()]]
                            .concat()
                            .join("::"),
                    ) =>
                {
                    let mut base = children_base.clone();
                    base.extend(path.iter().cloned());
                    base
                }
                _ => continue,
            };
            if let Some(target) = krate.resolve(&absolute)
                && &target != module
                && !absolute.is_empty()
            {
                uses.insert(target);
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// The import circles of a graph, as lists of modules (Tarjan's strongly
/// connected components with more than one member).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

fn assert_no_circles(root: &str, lib: &str) {
    let krate = Crate::read(&repo().join(root), lib);
    let mut graph = imports(&krate);
    // A folder's mod.rs is its face: it declares and re-exports its
    // children, so its arrows down to them are not imports that can close a
    // circle; its children's arrows up to it are.
    for (module, uses) in graph.iter_mut() {
        uses.retain(|target| {
            let is_descendant = module.is_empty() || target.starts_with(&format!("{module}::"));
            !is_descendant
        });
    }
    let found = circles(&graph);
    let described: Vec<String> = found
        .iter()
        .map(|c| {
            let edges: Vec<String> = c
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| c.contains(b))
                        .map(move |b| format!("  {a} -> {b}"))
                })
                .collect();
            format!("{}:\n{}", c.join(", "), edges.join("\n"))
        })
        .collect();
    assert!(
        found.is_empty(),
        "import circles in {root}:\n{}",
        described.join("\n")
    );
}

#[test]
fn no_import_circles_in_the_module_crate() {
    assert_no_circles("src", "lib");
}

#[test]
fn no_import_circles_in_the_core_crate() {
    assert_no_circles("crates/wsgi/src", "lib");
}

#[test]
fn the_circle_finder_finds_circles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(circles(&graph), vec![vec!["a", "b", "c"]]);
    let mut paths = Vec::new();
    expand_use_tree("crate::{x::Y, z::{self, W}}", "", &mut paths);
    assert_eq!(
        paths,
        vec![
            vec!["crate", "x", "Y"],
            vec!["crate", "z", "self"],
            vec!["crate", "z", "W"]
        ]
    );
}
