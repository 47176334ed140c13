//! Text reports: the goroutine dump (as Go prints on SIGQUIT, and serves at
//! /debug/pprof/goroutine?debug=2), the count-by-stack form (?debug=1) and the leak report.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::leak::Leak;
use super::registry::{self, GoroutineInfo, State};
use super::symbol::{func_frame, resolve_stack};
use super::Frame;

/// The frames a goroutine shows, innermost first: where it waits (when recorded), then the
/// function it runs when the recorded stack does not already end there.
pub fn stack_of(g: &GoroutineInfo) -> Vec<Frame> {
    let mut frames = resolve_stack(&g.stack);
    if let Some(f) = func_frame(&g.func) {
        if frames.last().map(|l| &l.function) != Some(&f.function) {
            frames.push(f);
        }
    }
    frames
}

/// "chan receive, 2.5s" / "running" / "runnable".
pub fn state_text(g: &GoroutineInfo, now: i64) -> String {
    match &g.state {
        State::Running => "running".into(),
        State::Runnable => "runnable".into(),
        State::Waiting(r, since) => format!("{}, {}", r.as_str(), duration((now - since).max(0))),
    }
}

fn duration(ns: i64) -> String {
    match ns {
        n if n >= 60_000_000_000 => format!("{} minutes", n / 60_000_000_000),
        n if n >= 1_000_000_000 => format!("{:.1}s", n as f64 / 1e9),
        n => format!("{}ms", n / 1_000_000),
    }
}

fn header(out: &mut String, g: &GoroutineInfo, now: i64, leaked: bool) {
    let _ = write!(out, "goroutine {}", g.id);
    if let Some(n) = &g.name {
        let _ = write!(out, " \"{n}\"");
    }
    // As Go 1.26 marks them: "[chan receive (leaked)]".
    let mark = if leaked { " (leaked)" } else { "" };
    let _ = writeln!(out, " [{}{mark}]:", state_text(g, now));
}

fn frames(out: &mut String, frames: &[Frame]) {
    for f in frames {
        let _ = writeln!(out, "{}", f.function);
        if !f.file.is_empty() {
            let _ = writeln!(out, "\t{}:{}", f.file, f.line);
        }
    }
}

fn created_at(out: &mut String, g: &GoroutineInfo) {
    if let Some((file, line)) = g.site.file_line() {
        let _ = writeln!(out, "created at {file}:{line}");
    }
}

/// One goroutine as the dump shows it: header, frames, where it was started, a blank line.
fn goroutine_text(out: &mut String, g: &GoroutineInfo, now: i64, leaked: bool) {
    header(out, g, now, leaked);
    frames(out, &stack_of(g));
    created_at(out, g);
    out.push('\n');
}

/// Every goroutine, each with its state, how long it has waited, its stack and where it was
/// started (Go's SIGQUIT dump).
pub fn dump_text() -> String {
    let leaked: Vec<u64> = super::leak::leaked().iter().map(|g| g.id).collect();
    let now = crate::now_ns();
    let gs = registry::snapshot();
    let mut out = String::new();
    for g in &gs {
        goroutine_text(&mut out, g, now, leaked.contains(&g.id));
    }
    out
}

/// Goroutines grouped by stack, with counts (/debug/pprof/goroutine?debug=1).
pub fn by_stack_text() -> String {
    let gs = registry::snapshot();
    let mut groups: BTreeMap<Vec<Frame>, usize> = BTreeMap::new();
    for g in &gs {
        *groups.entry(stack_of(g)).or_default() += 1;
    }
    let mut sorted: Vec<_> = groups.into_iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.1));
    let mut out = format!("goroutine profile: total {}\n", gs.len());
    for (stack, n) in sorted {
        let _ = writeln!(out, "{n} @");
        for f in &stack {
            let _ = writeln!(out, "#\t{}\t{}:{}", f.function, f.file, f.line);
        }
        out.push('\n');
    }
    out
}

/// The leak report of `leak::find`.
pub fn leaks_text(leaks: &[Leak]) -> String {
    let now = crate::now_ns();
    let mut out = String::new();
    let unreachable = leaks.iter().filter(|l| l.unreachable).count();
    if unreachable > 0 {
        let _ = writeln!(
            out,
            "goro: {unreachable} leaked goroutine(s): blocked on channels only leaked goroutines can reach\n"
        );
    }
    for l in leaks.iter().filter(|l| l.unreachable) {
        goroutine_text(&mut out, &l.goroutine, now, true);
    }
    let long = leaks.len() - unreachable;
    if long > 0 {
        let _ = writeln!(
            out,
            "goro: {long} goroutine(s) blocked longer than the threshold\n"
        );
    }
    for l in leaks.iter().filter(|l| !l.unreachable) {
        goroutine_text(&mut out, &l.goroutine, now, false);
    }
    out
}

static SIGNAL_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn on_dump_signal(_: libc::c_int) {
    let fd = SIGNAL_PIPE.load(std::sync::atomic::Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe just drops this request.
        unsafe { libc::write(fd, b"d".as_ptr().cast(), 1) };
    }
}

/// Prints a dump to stderr each time `sig` arrives ("SIGUSR1", "SIGQUIT", "USR2" or a
/// number). The handler only writes a byte to a pipe (async-signal-safe); a thread of its
/// own reads it and writes the dump.
pub fn on_signal(sig: &str) -> Result<(), String> {
    let name = sig.trim().trim_start_matches("SIG").to_ascii_uppercase();
    let signo = match name.as_str() {
        "QUIT" => libc::SIGQUIT,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "HUP" => libc::SIGHUP,
        n => n
            .parse::<i32>()
            .map_err(|_| format!("unknown signal {sig:?}"))?,
    };
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills the two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err("pipe2 failed".into());
    }
    let reader = fds[0];
    // SAFETY: clear O_NONBLOCK on the read end only (the thread blocks on it).
    unsafe { libc::fcntl(reader, libc::F_SETFL, 0) };
    SIGNAL_PIPE.store(fds[1], std::sync::atomic::Ordering::Relaxed);
    std::thread::Builder::new()
        .name("goro-dump-signal".into())
        .spawn(move || loop {
            let mut b = [0u8; 16];
            // SAFETY: reads into our buffer.
            let n = unsafe { libc::read(reader, b.as_mut_ptr().cast(), b.len()) };
            if n <= 0 {
                return;
            }
            let text = dump_text();
            eprint!(
                "goro: goroutine dump ({} goroutines)\n\n{text}",
                crate::num_goroutine()
            );
        })
        .map_err(|e| e.to_string())?;
    // SAFETY: installs a handler that only calls write(2).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_dump_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(signo, &sa, std::ptr::null_mut()) != 0 {
            return Err(format!("cannot handle signal {signo}"));
        }
    }
    Ok(())
}
