//! Seeing inside, from Node: the core's dumps, profiles, leak reports, debug endpoint and
//! counters (core/src/trace), plus what only the JS layer knows: its go() tasks (`JsTask`, a
//! core `Task`) and the waits it measures itself (`recordWait`).
//!
//! The switch cell: one static i32 that every JS thread sees as an Int32Array (an external
//! ArrayBuffer over the same memory), so a wait in any thread checks "is anything on?" with
//! one typed-array load and no native call. Bits: TASKS (go() tasks tracked: start site, wait
//! states), BLOCK and MUTEX (the block / mutex profile wants JS frames). Written only by the
//! setters here.

use std::sync::atomic::{AtomicI32, Ordering};

use goro_core::goroutine::WaitReason;
use goro_core::trace::{self, registry::Task, Frame};
use napi::bindgen_prelude::Buffer;
use napi::{Env, JsTypedArray, Result};

use crate::err;

static SWITCH: AtomicI32 = AtomicI32::new(0);

const TASKS: i32 = 1;
const BLOCK: i32 = 2;
const MUTEX: i32 = 4;

fn set_bit(bit: i32, on: bool) {
    if on {
        SWITCH.fetch_or(bit, Ordering::Relaxed);
    } else {
        SWITCH.fetch_and(!bit, Ordering::Relaxed);
    }
}

/// The switch cell as an Int32Array over the static (lib/trace.js keeps it).
#[napi]
pub fn trace_switch(env: Env) -> Result<JsTypedArray> {
    // SAFETY: a static: it outlives every ArrayBuffer made over it, and nothing frees it (the
    // finalizer does nothing). JS only reads it; native writes are aligned 32-bit stores.
    let ab = unsafe {
        env.create_arraybuffer_with_borrowed_data(
            SWITCH.as_ptr() as *mut u8,
            std::mem::size_of::<i32>(),
            (),
            |_, _| {},
        )
    }?;
    ab.into_raw()
        .into_typedarray(napi::TypedArrayType::Int32, 1, 0)
}

/// Turns go() task tracking on or off (lib/trace.js decides when).
#[napi]
pub fn trace_tasks(on: bool) {
    set_bit(TASKS, on);
}

/// Whether the core wants host frames at waits (GORO_TRACEBACK, or a profile set elsewhere).
#[napi]
pub fn trace_core_enabled() -> bool {
    trace::block::wants_frames()
}

#[napi]
pub fn set_block_profile_rate(ns: i64) {
    trace::block::set_block_profile_rate(ns);
    set_bit(BLOCK, ns > 0);
}

/// Returns the fraction before the call; a negative n only reads.
#[napi]
pub fn set_mutex_profile_fraction(n: i64) -> i64 {
    let old = trace::block::set_mutex_profile_fraction(n);
    if n >= 0 {
        set_bit(MUTEX, n > 0);
    }
    old
}

#[napi]
pub fn set_traceback(on: bool) {
    trace::block::set_traceback(on);
}

#[napi]
pub fn dump() -> String {
    trace::dump::dump_text()
}

#[napi]
pub fn profile(kind: String) -> Result<Buffer> {
    match trace::profile(&kind) {
        Ok(b) => Ok(b.into()),
        Err(goro_core::Error::WouldBlock) => Err(err(
            "no CPU profile yet: startCpuProfile() and stopCpuProfile() first",
        )),
        Err(_) => Err(err(format!(
            "unknown profile kind {kind:?} (goroutine, goroutineleak, block, mutex, cpu)"
        ))),
    }
}

/// The goroutineleak profile: the core's leaked goroutines and the go() tasks `ids` (those
/// whose wait the garbage collector took: lib/trace.js `stuck`).
#[napi]
pub fn profile_leaks(ids: Vec<f64>) -> Buffer {
    let ids: Vec<u64> = ids.into_iter().map(|i| i as u64).collect();
    trace::goroutineleak_profile(&ids).into()
}

#[napi]
pub fn start_cpu_profile(hz: i32) -> Result<()> {
    trace::cpu::start(hz).map_err(|e| match e {
        goro_core::Error::WouldBlock => err("a CPU profile is already running"),
        goro_core::Error::Invalid => {
            err(format!("startCpuProfile(hz): hz must be 1..1000, got {hz}"))
        }
        e => err(e),
    })
}

#[napi]
pub fn stop_cpu_profile() -> Result<Buffer> {
    trace::cpu::stop().map_err(|_| err("no CPU profile is running"))?;
    trace::cpu::last_profile()
        .map(Into::into)
        .ok_or_else(|| err("no CPU profile"))
}

/// Starts the debug endpoint; returns the address bound ("127.0.0.1:PORT").
#[napi]
pub fn debug_serve(addr: String) -> Result<String> {
    trace::http::serve(&addr).map_err(|_| err(format!("debugServe: cannot listen on {addr:?}")))
}

/// One leaked goroutine, as lib/trace.js hands it out.
#[napi(object)]
pub struct LeakInfo {
    pub id: i64,
    pub name: Option<String>,
    /// "chan receive", "running", ...
    pub state: String,
    /// How long it has waited, in ms (0 when not waiting).
    pub waited_ms: f64,
    /// The function it runs.
    pub func: String,
    /// "file:line" where it was started, if known.
    pub started_at: Option<String>,
    /// Blocked on channels nothing else can reach (else: blocked longer than the threshold).
    pub unreachable: bool,
    /// A go() task of the JS layer (else a native goroutine).
    pub task: bool,
}

impl From<trace::row::Row> for LeakInfo {
    fn from(r: trace::row::Row) -> LeakInfo {
        LeakInfo {
            id: r.id as i64,
            started_at: r.started_text(),
            name: r.name,
            state: r.waiting_for.unwrap_or(r.state).to_string(),
            waited_ms: r.waited_ns as f64 / 1e6,
            func: r.func.function.to_string(),
            unreachable: r.unreachable,
            task: r.task,
        }
    }
}

/// Leaked goroutines (see core trace::leak::find) and their report text.
#[napi]
pub fn leaks(threshold_ms: f64) -> Vec<LeakInfo> {
    let rows = trace::row::leak_rows((threshold_ms * 1e6) as i64, false);
    rows.into_iter().map(Into::into).collect()
}

#[napi]
pub fn leak_report(threshold_ms: f64) -> String {
    trace::dump::leaks_text(&trace::leak::find((threshold_ms * 1e6) as i64))
}

/// Every goroutine now (native and JS tasks), as `leaks` shows them (the testing helper's
/// before/after comparison).
#[napi]
pub fn goroutines() -> Vec<LeakInfo> {
    trace::row::rows(false)
        .into_iter()
        .map(Into::into)
        .collect()
}

#[napi(object)]
pub struct CountersInfo {
    pub goroutines: i64,
    pub workers: i64,
    pub active_workers: i64,
    pub handoffs: i64,
    pub switches: i64,
    pub parks: i64,
    pub steals: i64,
    pub stack_reserved_bytes: f64,
    pub timers: i64,
}

#[napi]
pub fn counters() -> CountersInfo {
    let c = trace::counters();
    CountersInfo {
        goroutines: c.goroutines,
        workers: c.workers as i64,
        active_workers: c.active_workers as i64,
        handoffs: c.handoffs as i64,
        switches: c.switches as i64,
        parks: c.parks as i64,
        steals: c.steals as i64,
        stack_reserved_bytes: c.stack_reserved_bytes as f64,
        timers: c.timers as i64,
    }
}

thread_local! {
    /// This JS thread's go() tasks now registered, by goroutine id. A Worker's tasks are
    /// unregistered when its thread ends (the map is dropped with it).
    static TASKS_HERE: std::cell::RefCell<std::collections::HashMap<u64, Task>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Registers a go() task as a goroutine running `func`, started at file:line; returns its id
/// (a plain number: no JS object, no finalizer per task).
#[napi]
pub fn task_start(func: String, file: Option<String>, line: Option<u32>) -> f64 {
    let site = file.map(|f| Frame::new("", &f, line.unwrap_or(0)));
    let t = Task::register(Frame::new(&func, "", 0), site);
    let id = t.id();
    TASKS_HERE.with(|m| m.borrow_mut().insert(id, t));
    id as f64
}

/// What task `id` waits on now: a WaitReason's number (status.rs `wait_reasons`; 0: nothing).
#[napi]
pub fn task_wait(id: f64, r: u32) {
    TASKS_HERE.with(|m| {
        if let Some(t) = m.borrow().get(&(id as u64)) {
            t.set_wait(WaitReason::from_u8(r.min(255) as u8));
        }
    });
}

/// Task `id` ended: unregisters it.
#[napi]
pub fn task_end(id: f64) {
    let t = TASKS_HERE.with(|m| m.borrow_mut().remove(&(id as u64)));
    drop(t);
}

/// A wait the JS layer measured: its frames innermost first, as three parallel arrays.
#[napi]
pub fn record_wait(
    funcs: Vec<String>,
    files: Vec<String>,
    lines: Vec<u32>,
    delay_ms: f64,
    mutex: bool,
) {
    let stack = funcs
        .iter()
        .zip(files.iter())
        .zip(lines.iter())
        .map(|((f, file), &line)| Frame::new(f, file, line))
        .collect();
    trace::block::record_wait(stack, (delay_ms * 1e6) as i64, mutex);
}
