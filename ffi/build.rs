//! Generates include/goro.h from the documented `extern "C"` functions, and gives libgoro.so
//! its soname.

use std::path::PathBuf;

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libgoro.so.0");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let include = dir.join("../include");
    if !include.is_dir() {
        // Built from a package without the repository around it: no header to refresh.
        return;
    }
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("ffi/cbindgen.toml");
    let bindings = match cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
    {
        Ok(b) => b,
        Err(e) => panic!("cbindgen: {e}"),
    };
    let mut raw = Vec::new();
    bindings.write(&mut raw);
    let text = with_banners(&String::from_utf8(raw).expect("cbindgen writes UTF-8"));
    let path = include.join("goro.h");
    // Rewritten only when it changed, so that C builds depending on it are not redone.
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&path, text).expect("write include/goro.h");
    }
}

/// The header's sections, each named by its first declaration: the constants, the types
/// (cbindgen writes every type before the functions), then the functions in CONTRACT.md's order.
const SECTIONS: &[(&str, &str)] = &[
    ("GORO_OK", "Status codes and flags"),
    ("goro_chan", "Handles and types"),
    ("goro_maxprocs", "Runtime and goroutines"),
    ("goro_chan_new", "Channels"),
    ("goro_select", "Select"),
    ("goro_after", "Timers"),
    ("goro_wg_new", "Sync: WaitGroup and Mutex"),
    ("goro_pool_new", "Worker pool"),
    ("goro_ctx_background", "Contexts and error groups"),
    (
        "goro_set_traceback",
        "Seeing inside: dumps, profiles, leak reports, counters",
    ),
    (
        "goro_fd_wait",
        "I/O that parks the goroutine, not the thread",
    ),
];

/// Puts a banner comment before the doc comment of each section's first declaration.
fn with_banners(h: &str) -> String {
    let lines: Vec<&str> = h.lines().collect();
    // Which lines are comment (cbindgen writes `/*` and `*/` on lines of their own).
    let mut in_comment = Vec::with_capacity(lines.len());
    let mut open = false;
    for l in &lines {
        let t = l.trim();
        if t.starts_with("/*") {
            open = true;
        }
        in_comment.push(open);
        if t.ends_with("*/") {
            open = false;
        }
    }
    let mut banner_at = std::collections::BTreeMap::new();
    for (name, title) in SECTIONS {
        let decl = (0..lines.len()).find(|&i| {
            !in_comment[i]
                && lines[i]
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|w| w == *name)
        });
        let Some(mut i) = decl else { continue };
        // Back over the declaration's doc comment.
        if i > 0 && lines[i - 1].trim_end().ends_with("*/") {
            while i > 0 && !lines[i - 1].trim_start().starts_with("/*") {
                i -= 1;
            }
            i = i.saturating_sub(1);
        }
        banner_at.insert(i, *title);
    }
    let mut out = String::with_capacity(h.len() + 1024);
    for (i, l) in lines.iter().enumerate() {
        if let Some(title) = banner_at.get(&i) {
            let rule = "=".repeat(84usize.saturating_sub(title.len()));
            out.push_str(&format!("/* ==== {title} {rule} */\n\n"));
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}
