//! `NativeChan`: a core channel seen from JS. Two flavors, as the element says:
//! - `Msg`: JS values (see value.rs), for channels shared between JS threads;
//! - `Bytes(n)`: fixed-size byte elements, for a C `goro_chan*` fed by native goroutines;
//!   values come out as Buffers of n bytes.
//! The JS layer (lib/chan.js) uses this only once a channel is shared or native; a channel
//! used inside one JS thread never calls into native code.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use goro_core::{Chan, Deadline, Error, RawChan};
use napi::{Env, JsBigInt, JsBuffer, JsUnknown, Result};

use crate::status::set_status;
use crate::value::Msg;

/// Status codes in the status cell, read by lib/native.js.
pub const OK: i32 = 0;
pub const WOULD_BLOCK: i32 = 1;
pub const CLOSED: i32 = 2;

/// What one element of the channel is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    Msg,
    Bytes(usize),
}

/// The channel and its flavor; shared by every JS handle in every thread.
pub struct Shared {
    pub raw: Arc<RawChan>,
    pub elem: Elem,
    /// JS handles (in any thread) plus unopened tokens. A wait on a channel of JS values that
    /// only its own handle can reach can never be settled: it must not keep Node alive.
    holders: AtomicUsize,
    /// Loops with waits on this channel, told when `holders` drops (wake.rs, keep-alive).
    pub(crate) watchers: Mutex<Vec<Weak<dyn Watch>>>,
}

/// A loop that wants to hear when a channel loses holders.
pub trait Watch: Send + Sync {
    fn holders_dropped(&self);
}

impl Shared {
    fn new(raw: Arc<RawChan>, elem: Elem) -> Arc<Shared> {
        Arc::new(Shared {
            raw,
            elem,
            holders: AtomicUsize::new(0),
            watchers: Mutex::new(Vec::new()),
        })
    }

    /// Whether someone other than one handle may still use the channel: another handle or a
    /// token; for a C channel, C code we cannot see, so always.
    pub fn hopeful(&self) -> bool {
        self.elem != Elem::Msg || self.holders.load(Ordering::Acquire) > 1
    }

    fn hold(self: &Arc<Self>) -> Arc<Self> {
        self.holders.fetch_add(1, Ordering::AcqRel);
        self.clone()
    }

    fn release(&self) {
        if self.holders.fetch_sub(1, Ordering::AcqRel) <= 2 {
            let ws: Vec<_> = self.watchers.lock().unwrap().drain(..).collect();
            for w in ws.iter().filter_map(Weak::upgrade) {
                w.holders_dropped();
            }
        }
    }
}

/// A buffer for one value in flight: the source of a send, the target of a receive. Boxed, so
/// the channel may write into it from another thread while it sits in a map.
pub enum Slot {
    Msg(Box<MaybeUninit<Msg>>, bool),
    Bytes(Vec<u128>),
}

impl Slot {
    pub fn empty(elem: Elem) -> Slot {
        match elem {
            Elem::Msg => Slot::Msg(Box::new(MaybeUninit::uninit()), false),
            Elem::Bytes(n) => Slot::Bytes(vec![0u128; n.div_ceil(16)]),
        }
    }

    /// A slot holding `v`, to send.
    pub fn from_js(elem: Elem, v: JsUnknown) -> Result<Slot> {
        match elem {
            Elem::Msg => Ok(Slot::Msg(
                Box::new(MaybeUninit::new(Msg::from_js(v)?)),
                true,
            )),
            Elem::Bytes(n) => {
                let bad = || {
                    napi::Error::new(
                        napi::Status::InvalidArg,
                        format!("goro: this channel carries Buffers of {n} bytes"),
                    )
                };
                if !v.is_buffer()? {
                    return Err(bad());
                }
                // SAFETY: checked just above.
                let b = unsafe { v.cast::<JsBuffer>() }.into_value()?;
                if b.len() != n {
                    return Err(bad());
                }
                let mut s = Slot::empty(elem);
                // SAFETY: the slot has room for n bytes.
                unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), s.ptr(), n) };
                Ok(s)
            }
        }
    }

    pub fn ptr(&mut self) -> *mut u8 {
        match self {
            Slot::Msg(b, _) => b.as_mut_ptr().cast(),
            Slot::Bytes(v) => v.as_mut_ptr().cast(),
        }
    }

    /// After a send completed: the channel owns the value now.
    pub fn consumed(&mut self) {
        if let Slot::Msg(_, init) = self {
            *init = false;
        }
    }

    /// After a receive completed with a value: the slot holds it.
    pub fn filled(&mut self) {
        if let Slot::Msg(_, init) = self {
            *init = true;
        }
    }

    /// Takes the value out as JS.
    pub fn take_js(&mut self, env: &Env, elem: Elem) -> Result<JsUnknown> {
        match self {
            Slot::Msg(b, init) => {
                if !*init {
                    return Ok(env.get_undefined()?.into_unknown());
                }
                *init = false;
                // SAFETY: `init` said it holds a Msg; it is now marked empty.
                unsafe { b.assume_init_read() }.into_js(env)
            }
            Slot::Bytes(v) => {
                let Elem::Bytes(n) = elem else { unreachable!() };
                // SAFETY: the slot holds n bytes.
                let bytes = unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), n) };
                Ok(env
                    .create_buffer_with_data(bytes.to_vec())?
                    .into_raw()
                    .into_unknown())
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Slot::Msg(b, true) = self {
            // SAFETY: marked initialized: a value that nobody took.
            unsafe { b.assume_init_drop() };
        }
    }
}

/// One-use tokens from `share()`: each keeps its channel alive until opened.
fn tokens() -> &'static Mutex<HashMap<u64, Arc<Shared>>> {
    static T: OnceLock<Mutex<HashMap<u64, Arc<Shared>>>> = OnceLock::new();
    T.get_or_init(Default::default)
}
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

fn status_of(e: Error) -> i32 {
    match e {
        Error::Closed => CLOSED,
        _ => WOULD_BLOCK,
    }
}

#[napi]
pub struct NativeChan {
    pub(crate) shared: Arc<Shared>,
}

impl Drop for NativeChan {
    fn drop(&mut self) {
        self.shared.release();
    }
}

#[napi]
impl NativeChan {
    /// A channel of JS values with room for `cap`.
    #[napi(constructor)]
    pub fn new(cap: u32) -> Result<NativeChan> {
        let c = Chan::<Msg>::new(cap as usize)
            .ok_or_else(|| napi::Error::new(napi::Status::GenericFailure, "goro: out of memory"))?;
        Ok(NativeChan {
            shared: Shared::new(c.raw().clone(), Elem::Msg).hold(),
        })
    }

    /// Adopts a C `goro_chan*` (its address, as from the C API of this same runtime): takes a
    /// reference of its own. Values are Buffers of the channel's element size.
    #[napi(factory)]
    pub fn from_address(addr: JsBigInt) -> Result<NativeChan> {
        let (a, lossless) = addr.get_u64()?;
        if a == 0 || !lossless {
            return Err(napi::Error::new(
                napi::Status::InvalidArg,
                "goro: fromNative needs the address of a goro_chan, as a non-zero BigInt",
            ));
        }
        let p = a as usize as *const RawChan;
        // SAFETY: the caller vouches that this is a live goro_chan handle (an Arc<RawChan>
        // made by the C API); we take a reference of our own.
        let raw = unsafe {
            Arc::increment_strong_count(p);
            Arc::from_raw(p)
        };
        let n = raw.elem_size();
        Ok(NativeChan {
            shared: Shared::new(raw, Elem::Bytes(n)).hold(),
        })
    }

    /// A one-use token for postMessage; the channel stays alive until it is opened.
    #[napi]
    pub fn share(&self) -> String {
        let id = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        tokens().lock().unwrap().insert(id, self.shared.hold());
        format!("goro-chan:{id}")
    }

    /// Opens a token made by `share` (in any thread). Null if unknown or already opened.
    #[napi(factory)]
    pub fn open(token: String) -> Result<NativeChan> {
        let id = token
            .strip_prefix("goro-chan:")
            .and_then(|s| s.parse::<u64>().ok());
        let shared = id.and_then(|id| tokens().lock().unwrap().remove(&id));
        match shared {
            // The token's hold passes to the new handle.
            Some(shared) => Ok(NativeChan { shared }),
            None => Err(napi::Error::new(
                napi::Status::InvalidArg,
                "goro: Chan.open: unknown or already used token",
            )),
        }
    }

    /// Element size for a byte channel; -1 for a channel of JS values.
    #[napi(getter)]
    pub fn elem_size(&self) -> i32 {
        match self.shared.elem {
            Elem::Msg => -1,
            Elem::Bytes(n) => n as i32,
        }
    }

    /// Sends without waiting: OK, WOULD_BLOCK or CLOSED.
    #[napi]
    pub fn try_send(&self, v: JsUnknown) -> Result<i32> {
        let sh = &self.shared;
        if sh.elem == Elem::Msg {
            // The common case without a heap slot: the value lives on the stack meanwhile.
            let m = std::mem::ManuallyDrop::new(Msg::from_js(v)?);
            // SAFETY: `m` is one element of this channel; on success the channel owns it.
            return match unsafe { sh.raw.send((&*m as *const Msg).cast(), Deadline::NoWait) } {
                Ok(()) => Ok(OK),
                Err(e) => {
                    // Not sent: the JS side keeps the object's key (it retries or forgets).
                    let mut m = std::mem::ManuallyDrop::into_inner(m);
                    m.disarm();
                    drop(m);
                    Ok(status_of(e))
                }
            };
        }
        let mut slot = Slot::from_js(sh.elem, v)?;
        // SAFETY: the slot holds one element of this channel's size.
        match unsafe { sh.raw.send(slot.ptr(), Deadline::NoWait) } {
            Ok(()) => {
                slot.consumed();
                Ok(OK)
            }
            Err(e) => Ok(status_of(e)),
        }
    }

    /// Receives without waiting: the value, with OK in the status cell; or WOULD_BLOCK, or
    /// CLOSED once closed and drained (value undefined).
    #[napi]
    pub fn try_recv(&self, env: Env) -> Result<JsUnknown> {
        let sh = &self.shared;
        if sh.elem == Elem::Msg {
            let mut m = MaybeUninit::<Msg>::uninit();
            // SAFETY: room for one element; Ok(true) means it was written.
            let r = unsafe { sh.raw.recv(m.as_mut_ptr().cast(), Deadline::NoWait) };
            // SAFETY: called only for Ok(true): written by the channel.
            return try_recv_result(&env, r, || unsafe { m.assume_init() }.into_js(&env));
        }
        let mut slot = Slot::empty(sh.elem);
        // SAFETY: the slot has room for one element.
        let r = unsafe { sh.raw.recv(slot.ptr(), Deadline::NoWait) };
        try_recv_result(&env, r, || {
            slot.filled();
            slot.take_js(&env, sh.elem)
        })
    }

    /// Closes: OK, or CLOSED the second time.
    #[napi]
    pub fn close(&self) -> i32 {
        match self.shared.raw.close() {
            Ok(()) => OK,
            Err(_) => CLOSED,
        }
    }

    #[napi(getter)]
    pub fn length(&self) -> u32 {
        self.shared.raw.len() as u32
    }

    #[napi(getter)]
    pub fn capacity(&self) -> u32 {
        self.shared.raw.cap() as u32
    }
}

// Rust-side tests: no N-API here (it exists only inside Node), so they cover the parts that
// do not touch JS: holders and tokens (keep-alive), and slots owning values exactly once.
#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as Counter;

    struct Poked(Counter);
    impl Watch for Poked {
        fn holders_dropped(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn holders_count_handles_and_tokens() {
        let a = NativeChan::new(1).unwrap();
        assert!(
            !a.shared.hopeful(),
            "a channel only its own handle reaches is hopeless"
        );
        let token = a.share();
        assert!(
            a.shared.hopeful(),
            "an unopened token could still be opened elsewhere"
        );
        let b = NativeChan::open(token.clone()).unwrap();
        assert!(Arc::ptr_eq(&a.shared, &b.shared));
        assert!(NativeChan::open(token).is_err(), "a token opens once");
        assert!(NativeChan::open("goro-chan:nope".into()).is_err());

        let w = Arc::new(Poked(Counter::new(0)));
        let weak: Weak<dyn Watch> = Arc::downgrade(&w) as Weak<dyn Watch>;
        a.shared.watchers.lock().unwrap().push(weak);
        drop(b);
        assert!(!a.shared.hopeful());
        assert_eq!(
            w.0.load(Ordering::SeqCst),
            1,
            "waiting loops hear of the lost holder"
        );
    }

    #[test]
    fn values_left_in_slots_and_channels_are_dropped_once() {
        let c = NativeChan::new(4).unwrap();
        let mut s = Slot::Msg(Box::new(MaybeUninit::new(Msg::Str("x".repeat(100)))), true);
        // SAFETY: the slot holds one Msg.
        unsafe { c.shared.raw.send(s.ptr(), Deadline::NoWait) }.unwrap();
        s.consumed(); // the channel owns it now; dropping the slot must not drop it again
        drop(s);
        let mut r = Slot::empty(Elem::Msg);
        // SAFETY: room for one Msg.
        assert_eq!(
            unsafe { c.shared.raw.recv(r.ptr(), Deadline::NoWait) },
            Ok(true)
        );
        r.filled();
        match &r {
            // SAFETY: filled just above.
            Slot::Msg(b, true) => {
                assert!(matches!(unsafe { b.assume_init_ref() }, Msg::Str(s) if s.len() == 100))
            }
            _ => panic!("slot not filled"),
        }
        drop(r); // drops the received string (a double drop would crash under the allocator)
        let mut t = Slot::Msg(Box::new(MaybeUninit::new(Msg::Ser(vec![1, 2, 3]))), true);
        // SAFETY: as above.
        unsafe { c.shared.raw.send(t.ptr(), Deadline::NoWait) }.unwrap();
        t.consumed();
        drop(c); // the channel drops the value still buffered
    }
}

/// A try_recv's answer: the value (status OK), or undefined with CLOSED or the error's status.
fn try_recv_result(
    env: &Env,
    r: std::result::Result<bool, goro_core::Error>,
    value: impl FnOnce() -> Result<JsUnknown>,
) -> Result<JsUnknown> {
    match r {
        Ok(true) => {
            set_status(OK);
            value()
        }
        Ok(false) => {
            set_status(CLOSED);
            Ok(env.get_undefined()?.into_unknown())
        }
        Err(e) => {
            set_status(status_of(e));
            Ok(env.get_undefined()?.into_unknown())
        }
    }
}
