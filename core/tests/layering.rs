//! Layering: no cycle among core's top-level modules (issue 10, item 4).
//!
//! The layers, bottom up (core/src/lib.rs has the map): `loom`, `handshake`, `reason`,
//! `hooks`, `maxprocs`, `clock`; `park`; `goroutine`, `stack`; `sched`; `chan`; `wait`;
//! `select`, `sync`, `time`, `pool`, `context`; `trace`. A module may name modules below it, never above: an upward call
//! goes through a hook the upper layer installs (`hooks/`, `goroutine/scheduler.rs`).
//!
//! How: read every file under core/src, strip comments, string and char literals, collect
//! each path that starts with `crate::` or `super::` (including `use crate::{a, b::c}`
//! groups), resolve it to the top-level module it names (through lib.rs's re-exports for
//! `crate::name`), and keep the references that cross from one top-level module to another.
//! Items defined in lib.rs itself (`Error`, `go`, `run`) belong to no layer. Then: remove the
//! allowed edges below, find strongly connected components, and fail naming a cycle and the
//! file:line of every reference on it.
//!
//! A textual check, not the compiler's: a path written some other way (a macro building it,
//! a `use` of a `use`) is missed. It errs towards seeing too much: a reference in test code
//! counts.
//!
//! Rejected: `cargo modules` or rustdoc JSON (tools the CI machines do not have, for a check
//! that a few dozen lines of text scanning do well enough), and a rank per module checked
//! edge by edge (it would have to be kept in step with every new module; "no cycle" is the
//! property that matters, and the error names the cycle to break).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// An edge allowed for now: `from` may name `to`, but only in `files` (paths under core/src),
/// and, when `paths` is not empty, only through references that start with one of them.
struct Known {
    from: &'static str,
    to: &'static str,
    files: &'static [&'static str],
    paths: &'static [&'static str],
}

/// Edges the layering allows for now. An entry that no reference needs any more fails the
/// test: delete it then.
///
/// BOOT, the only ones left: the runtime starts lazily, on first use, and starting it means
/// starting every layer: the first goroutine's spawn starts the scheduler, and the
/// scheduler's start starts trace's environment features (GORO_TRACEBACK, GORO_DUMP_SIGNAL,
/// GORO_DEBUG_ADDR). Whatever is used first must make that call, and `goroutine::spawn` is
/// public (C, Python and the Pool call it directly), so these two calls go upward by name.
/// Allowed exactly, one path each; every other call from these modules upward goes through
/// the tables `sched` and `trace` install. (goroutine/spawn.rs lists the designs rejected.)
const KNOWN_EDGES: &[Known] = &[
    Known {
        from: "goroutine",
        to: "sched",
        files: &["goroutine/spawn.rs"],
        paths: &["crate::sched::init"],
    },
    Known {
        from: "sched",
        to: "trace",
        files: &["sched/mod.rs"],
        paths: &["crate::trace::init_from_env"],
    },
];

/// One reference from a file to another top-level module.
#[derive(Clone, Debug)]
struct Site {
    file: String,
    line: usize,
    path: String,
}

type Graph = BTreeMap<String, BTreeMap<String, Vec<Site>>>;

#[test]
fn no_cycle_among_top_level_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect_rs(&src, &mut files);
    assert!(
        files.len() > 20,
        "found only {} files under {src:?}",
        files.len()
    );
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(p).unwrap())
        })
        .collect();
    let graph = build_graph(&sources);
    if std::env::var_os("LAYERING_PRINT").is_some() {
        // LAYERING_PRINT=1 cargo test -p goro-core --test layering -- --nocapture
        for (from, tos) in &graph {
            for (to, sites) in tos {
                let s = &sites[0];
                println!(
                    "{from} -> {to}  ({} refs; first {}:{}: {})",
                    sites.len(),
                    s.file,
                    s.line,
                    s.path
                );
            }
        }
    }
    if let Err(e) = check(&graph, KNOWN_EDGES) {
        panic!("{e}");
    }
}

/// The checker must see a cycle when there is one: two modules naming each other, one
/// through a `use` group and one through `super::` from a top-level file.
#[test]
fn finds_a_planted_cycle() {
    let sources = vec![
        (
            "lib.rs".to_string(),
            "pub mod a;\npub mod b;\npub use a::Thing;\n".to_string(),
        ),
        (
            "a/mod.rs".to_string(),
            "// crate::b in a comment is not a reference\nuse crate::{b::f, Error};\n".to_string(),
        ),
        (
            "b.rs".to_string(),
            "fn g() { let s = \"crate::a\"; super::Thing::new(); }\n".to_string(),
        ),
    ];
    let graph = build_graph(&sources);
    let err = check(&graph, &[]).expect_err("a -> b -> a is a cycle");
    assert!(err.contains("a -> b") || err.contains("b -> a"), "{err}");
    assert!(
        err.contains("a/mod.rs:2") && err.contains("b.rs:1"),
        "{err}"
    );
    // Allowing one of the two edges breaks it.
    let allow = [Known {
        from: "b",
        to: "a",
        files: &["b.rs"],
        paths: &["super::Thing"],
    }];
    check(&graph, &allow).expect("b -> a allowed");
    // An allowance limited to another path does not.
    let narrow = [Known {
        from: "b",
        to: "a",
        files: &["b.rs"],
        paths: &["crate::a::other"],
    }];
    check(&graph, &narrow).expect_err("the allowance does not cover super::Thing");
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
}

/// The module path of a file: `sched/worker.rs` is [sched, worker], `sched/mod.rs` [sched],
/// `park.rs` [park], `lib.rs` [].
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

fn build_graph(sources: &[(String, String)]) -> Graph {
    let modules: BTreeSet<String> = sources
        .iter()
        .filter_map(|(rel, _)| module_path(rel).first().cloned())
        .collect();
    let reexports = root_reexports(sources, &modules);
    let mut graph = Graph::new();
    for (rel, text) in sources {
        let here = module_path(rel);
        let Some(top) = here.first().cloned() else {
            continue; // lib.rs: the root wires the layers, it is not one
        };
        let code = strip(text);
        let inline = inline_mods(&code);
        for (pos, path, names) in references(&code) {
            let depth = inline.iter().filter(|r| r.contains(&pos)).count();
            for target in resolve(&here, depth, &path, &names, &modules, &reexports) {
                if target != top {
                    let line = code[..pos].matches('\n').count() + 1;
                    graph
                        .entry(top.clone())
                        .or_default()
                        .entry(target)
                        .or_default()
                        .push(Site {
                            file: rel.clone(),
                            line,
                            path: match names.is_empty() {
                                true => path.clone(),
                                false => format!("{path}::{{{}}}", names.join(", ")),
                            },
                        });
                }
            }
        }
    }
    graph
}

/// Names lib.rs re-exports (`pub use chan::{Chan, RawChan};`), to the module they come from.
fn root_reexports(
    sources: &[(String, String)],
    modules: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some((_, lib)) = sources.iter().find(|(rel, _)| rel == "lib.rs") else {
        return out;
    };
    let code = strip(lib);
    for stmt in code.split(';') {
        let Some(i) = stmt.find("use ") else { continue };
        let body = stmt[i + 4..].trim().trim_start_matches("crate::");
        let Some((module, rest)) = body.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        let rest = rest.trim().trim_start_matches('{').trim_end_matches('}');
        for item in rest.split(',') {
            let name = item
                .split_whitespace()
                .last()
                .unwrap_or("")
                .rsplit("::")
                .next()
                .unwrap();
            if !name.is_empty() {
                out.insert(name.to_string(), module.to_string());
            }
        }
    }
    out
}

/// Blanks comments, string literals and char literals, keeping byte offsets and newlines.
fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"') => {
                // A raw string r"..." or r#"..."#, unless `r` ends an identifier.
                let ident_before = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if ident_before || b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let start = i + 2 + hashes;
                let end = text[start..]
                    .find(&close)
                    .map_or(b.len(), |n| start + n + close.len());
                blank(&mut out, i, end);
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i, (j + 1).min(b.len()));
                i = j + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
                let end = if b.get(i + 1) == Some(&b'\\') {
                    text[i + 2..].find('\'').map(|n| i + 2 + n + 1)
                } else if b.get(i + 2) == Some(&b'\'') {
                    Some(i + 3)
                } else {
                    None
                };
                match end {
                    Some(e) => {
                        blank(&mut out, i, e);
                        i = e;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were replaced")
}

/// Byte ranges of inline `mod name { ... }` blocks (a `super::` inside one climbs one level
/// more).
fn inline_mods(code: &str) -> Vec<std::ops::Range<usize>> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(n) = code[from..].find("mod ") {
        let at = from + n;
        from = at + 4;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let rest = &code[at + 4..];
        let name_len = rest
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        let after = rest[name_len..].trim_start();
        if name_len == 0 || !after.starts_with('{') {
            continue; // `mod x;`: a file of its own
        }
        let open = at + 4 + name_len + (rest[name_len..].len() - after.len());
        let mut depth = 0;
        for (k, &c) in b[open..].iter().enumerate() {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push(open..open + k);
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Every `crate::...` or `super::...` path: (offset, the path as written, and for a group
/// `crate::{a, b::c}` the first segment of each member).
fn references(code: &str) -> Vec<(usize, String, Vec<String>)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    for kw in ["crate", "super"] {
        let mut from = 0;
        while let Some(n) = code[from..].find(kw) {
            let at = from + n;
            from = at + kw.len();
            let before_ok = at == 0
                || !(b[at - 1].is_ascii_alphanumeric()
                    || b[at - 1] == b'_'
                    || b[at - 1] == b':'
                    || b[at - 1] == b'$');
            if !before_ok || !code[at + kw.len()..].starts_with("::") {
                continue;
            }
            // The path: segments of identifiers, `super` and `::`.
            let mut end = at;
            while end < b.len()
                && (b[end].is_ascii_alphanumeric() || b[end] == b'_' || b[end] == b':')
            {
                end += 1;
            }
            let path = code[at..end].trim_end_matches(':').to_string();
            let mut names = Vec::new();
            if code[at..end].ends_with("::") && code[end..].trim_start().starts_with('{') {
                let open = end + (code[end..].len() - code[end..].trim_start().len());
                let mut depth = 0;
                let mut member = String::new();
                for &c in &b[open..] {
                    match c {
                        b'{' => {
                            depth += 1;
                            if depth > 1 {
                                member.push('{');
                            }
                        }
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            member.push('}');
                        }
                        b',' if depth == 1 => {
                            names.push(std::mem::take(&mut member));
                        }
                        _ => member.push(c as char),
                    }
                }
                names.push(member);
                names = names
                    .iter()
                    .map(|m| {
                        m.trim()
                            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            .next()
                            .unwrap_or("")
                            .to_string()
                    })
                    .filter(|m| !m.is_empty())
                    .collect();
            }
            out.push((at, path, names));
            from = end.max(from);
        }
    }
    out
}

/// The top-level modules a reference names: none for items of lib.rs, several for a group.
fn resolve(
    here: &[String],
    inline_depth: usize,
    path: &str,
    group: &[String],
    modules: &BTreeSet<String>,
    reexports: &BTreeMap<String, String>,
) -> Vec<String> {
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let (mut base, rest): (Vec<String>, &[&str]) = if segs[0] == "crate" {
        (Vec::new(), &segs[1..])
    } else {
        let supers = segs.iter().take_while(|s| **s == "super").count();
        let mut base = here.to_vec();
        // Inline modules add levels below the file's own module; climb those first.
        let climb_file = supers.saturating_sub(inline_depth);
        for _ in 0..climb_file {
            base.pop();
        }
        (base, &segs[supers..])
    };
    if !base.is_empty() {
        return vec![base.swap_remove(0)];
    }
    // At the crate root: the next segment (or each group member) says which module.
    let firsts: Vec<&str> = match rest.first() {
        Some(s) => vec![*s],
        None => group.iter().map(String::as_str).collect(),
    };
    firsts
        .into_iter()
        .filter_map(|s| {
            if modules.contains(s) {
                Some(s.to_string())
            } else {
                reexports.get(s).cloned()
            }
        })
        .collect()
}

/// Fails with a cycle, if the graph minus the allowed references has one; or with an allowed
/// edge no reference needs any more.
fn check(graph: &Graph, known: &[Known]) -> Result<(), String> {
    let allowed = |from: &str, to: &str, s: &Site| {
        known.iter().any(|k| {
            k.from == from
                && k.to == to
                && k.files.contains(&s.file.as_str())
                && (k.paths.is_empty() || k.paths.iter().any(|p| s.path.starts_with(p)))
        })
    };
    for k in known {
        let used = graph
            .get(k.from)
            .and_then(|t| t.get(k.to))
            .is_some_and(|sites| sites.iter().any(|s| allowed(k.from, k.to, s)));
        if !used {
            return Err(format!(
                "layering: the allowed edge {} -> {} (files {:?}, paths {:?}) is no longer used: \
                 remove it from KNOWN_EDGES in core/tests/layering.rs",
                k.from, k.to, k.files, k.paths
            ));
        }
    }
    // What remains once the allowed references are taken out.
    let mut rest: BTreeMap<&str, BTreeMap<&str, Vec<&Site>>> = BTreeMap::new();
    for (from, tos) in graph {
        for (to, sites) in tos {
            let left: Vec<&Site> = sites.iter().filter(|s| !allowed(from, to, s)).collect();
            if !left.is_empty() {
                rest.entry(from).or_default().insert(to, left);
            }
        }
    }
    for scc in sccs(&rest) {
        if scc.len() > 1 {
            let cycle = cycle_in(&rest, &scc);
            let mut msg = format!(
                "layering: module cycle {} (core/tests/layering.rs says how to break one):\n",
                cycle.join(" -> ")
            );
            for w in cycle.windows(2) {
                for s in &rest[w[0].as_str()][w[1].as_str()] {
                    msg += &format!(
                        "  {} -> {}: {}:{}: {}\n",
                        w[0], w[1], s.file, s.line, s.path
                    );
                }
            }
            return Err(msg);
        }
    }
    Ok(())
}

/// Strongly connected components (Tarjan's algorithm).
fn sccs<'a>(g: &BTreeMap<&'a str, BTreeMap<&'a str, Vec<&Site>>>) -> Vec<Vec<&'a str>> {
    struct T<'a, 'g> {
        g: &'g BTreeMap<&'a str, BTreeMap<&'a str, Vec<&'g Site>>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(t: &mut T<'a, '_>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        let next: Vec<&'a str> =
            t.g.get(v)
                .map_or(Vec::new(), |m| m.keys().copied().collect());
        for w in next {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(w);
                comp.push(w);
                if w == v {
                    break;
                }
            }
            comp.sort();
            t.out.push(comp);
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    let nodes: Vec<&str> = g.keys().copied().collect();
    for v in nodes {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// One cycle through the component's first module, as a closed path [a, b, ..., a]
/// (breadth-first, so the shortest).
fn cycle_in(g: &BTreeMap<&str, BTreeMap<&str, Vec<&Site>>>, scc: &[&str]) -> Vec<String> {
    let start = scc[0];
    let inside: BTreeSet<&str> = scc.iter().copied().collect();
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in g
            .get(v)
            .map_or(Vec::new(), |m| m.keys().copied().collect())
            .iter()
        {
            if !inside.contains(w) {
                continue;
            }
            if w == start {
                let mut path = vec![start.to_string()];
                let mut at = v;
                while at != start {
                    path.push(at.to_string());
                    at = prev[at];
                }
                path.push(start.to_string());
                path.reverse();
                return path;
            }
            if !prev.contains_key(w) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    unreachable!("a strongly connected component of two or more has a cycle")
}
