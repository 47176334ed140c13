//! `NativeChan`: a core channel seen from JS. Two flavors, as the element says:
//! - `Msg`: JS values (see value.rs), for channels shared between JS threads;
//! - `Bytes(n)`: fixed-size byte elements, for a C `goro_chan*` fed by native goroutines;
//!   values come out as Buffers of n bytes.
//!
//! The JS layer (lib/chan.js) uses this only once a channel is shared or native; a channel
//! used inside one JS thread never calls into native code.

use std::sync::Arc;

use goro_core::{Chan, Deadline, Error, RawChan};
use napi::bindgen_prelude::External;
use napi::{Env, JsBigInt, JsBuffer, JsUnknown, Result};

use crate::shared::{Elem, Res, Shared};
use crate::status::{of_case, of_result, set_status};
use crate::value::Msg;
use crate::{err, invalid};

/// A buffer for one value in flight: the source of a send, the target of a receive. On the
/// heap, so the channel may write into it from another thread while it sits in a map. It has
/// room for one element as `elem` says (a Msg, or n bytes); `full`: a value is in it (and, a
/// Msg, is ours to drop).
pub struct Slot {
    buf: Vec<u128>,
    elem: Elem,
    full: bool,
}

impl Slot {
    pub fn empty(elem: Elem) -> Slot {
        let n = match elem {
            Elem::Msg => std::mem::size_of::<Msg>(),
            Elem::Bytes(n) => n,
        };
        let buf = vec![0; n.div_ceil(16)];
        Slot {
            buf,
            elem,
            full: false,
        }
    }

    /// A slot holding `v`, to send.
    pub fn from_js(elem: Elem, v: JsUnknown) -> Result<Slot> {
        let mut s = Slot::empty(elem);
        match elem {
            // SAFETY: room for a Msg, aligned (u128's alignment is at least Msg's).
            Elem::Msg => unsafe { s.ptr().cast::<Msg>().write(Msg::from_js(v)?) },
            Elem::Bytes(n) => {
                let b = match v.is_buffer()? {
                    // SAFETY: is_buffer said this value is a Buffer, which is what we cast to.
                    true => Some(unsafe { v.cast::<JsBuffer>() }.into_value()?),
                    false => None,
                };
                match b {
                    // SAFETY: the slot has room for n bytes.
                    Some(b) if b.len() == n => unsafe {
                        std::ptr::copy_nonoverlapping(b.as_ptr(), s.ptr(), n)
                    },
                    _ => {
                        return Err(invalid(format!(
                            "this channel carries Buffers of {n} bytes"
                        )))
                    }
                }
            }
        }
        s.full = true;
        Ok(s)
    }

    pub fn ptr(&mut self) -> *mut u8 {
        self.buf.as_mut_ptr().cast()
    }

    /// After the operation completed: a sent value is the channel's now (false); a receive
    /// filled the slot (true).
    pub fn set_full(&mut self, full: bool) {
        self.full = full;
    }

    /// Takes the value out as JS (undefined if there is none).
    pub fn take_js(&mut self, env: &Env) -> Result<JsUnknown> {
        if !std::mem::take(&mut self.full) {
            return Ok(env.get_undefined()?.into_unknown());
        }
        match self.elem {
            // SAFETY: it was full: it holds a Msg, ours now that it is marked empty.
            Elem::Msg => unsafe { self.ptr().cast::<Msg>().read() }.into_js(env),
            Elem::Bytes(n) => {
                // SAFETY: it was full: n bytes.
                let b = unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), n) };
                Ok(env
                    .create_buffer_with_data(b.to_vec())?
                    .into_raw()
                    .into_unknown())
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.full && self.elem == Elem::Msg {
            // SAFETY: full: a Msg that nobody took.
            unsafe { std::ptr::drop_in_place(self.ptr().cast::<Msg>()) };
        }
    }
}

#[napi]
pub struct NativeChan {
    pub(crate) shared: Arc<Shared>,
    pub(crate) raw: Arc<RawChan>,
    pub(crate) elem: Elem,
}

impl Drop for NativeChan {
    fn drop(&mut self) {
        self.shared.release();
    }
}

/// A send's status: case 0, not ok when the channel is closed (as a select's send case).
fn send_status(r: std::result::Result<(), Error>) -> i32 {
    of_result(match r {
        Ok(()) => Ok(true),
        Err(Error::Closed) => Ok(false),
        Err(e) => Err(e),
    })
}

impl NativeChan {
    fn wrap(shared: Arc<Shared>) -> Result<NativeChan> {
        Ok(NativeChan {
            raw: shared
                .raw()
                .expect("a channel token opens a channel")
                .clone(),
            elem: shared.elem(),
            shared,
        })
    }
}

#[napi]
impl NativeChan {
    /// A channel of JS values with room for `cap`.
    #[napi(constructor)]
    pub fn new(cap: u32) -> Result<NativeChan> {
        let c = Chan::<Msg>::new(cap as usize).ok_or_else(|| err("out of memory"))?;
        NativeChan::wrap(Shared::new(Res::Msg(c)))
    }

    /// Adopts a C `goro_chan*` (its address, as from the C API of this same runtime): takes a
    /// reference of its own. Values are Buffers of the channel's element size.
    #[napi(factory)]
    pub fn from_address(addr: JsBigInt) -> Result<NativeChan> {
        let (a, lossless) = addr.get_u64()?;
        if a == 0 || !lossless {
            return Err(invalid(
                "fromNative needs the address of a goro_chan, as a non-zero BigInt",
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
        NativeChan::wrap(Shared::new(Res::Bytes(raw, n)))
    }

    /// A one-use token for postMessage; the channel stays alive until it is opened.
    #[napi]
    pub fn share(&self) -> String {
        self.shared.share("chan")
    }

    /// Opens a token made by `share` (in any thread), once.
    #[napi(factory)]
    pub fn open(token: String) -> Result<NativeChan> {
        NativeChan::wrap(Shared::open(&token, "chan")?)
    }

    /// Element size for a byte channel; -1 for a channel of JS values.
    #[napi(getter)]
    pub fn elem_size(&self) -> i32 {
        match self.elem {
            Elem::Msg => -1,
            Elem::Bytes(n) => n as i32,
        }
    }

    /// This channel as an External for `chanTrySend` / `chanTryRecv`, its calls that do not
    /// wait (see `Fast`).
    #[napi]
    pub fn fast(&self) -> External<Fast> {
        External::new(Fast {
            shared: self.shared.clone(),
            raw: self.raw.clone(),
            elem: self.elem,
        })
    }

    /// Closes: 1, or 0 the second time (closed already).
    #[napi]
    pub fn close(&self) -> i32 {
        of_case(0, self.raw.close().is_ok())
    }

    #[napi(getter)]
    pub fn length(&self) -> u32 {
        self.raw.len() as u32
    }

    #[napi(getter)]
    pub fn capacity(&self) -> u32 {
        self.raw.cap() as u32
    }
}

/// What the hot calls need of a channel, in an External: a method call on a class instance
/// pays `napi_unwrap` for `this` (a private-property lookup in V8's runtime, not an inline
/// cache), which profiled at a quarter of a W5x select loop; an External's pointer is read
/// directly. lib/chan.js keeps one next to its NativeChan. Holds no holder count: the
/// NativeChan beside it does (shared.rs).
pub struct Fast {
    shared: Arc<Shared>,
    raw: Arc<RawChan>,
    elem: Elem,
}

/// Sends without waiting; returns the status (status.rs: 1 sent, 0 closed, WouldBlock).
#[napi]
pub fn chan_try_send(c: External<Fast>, v: JsUnknown) -> Result<i32> {
    if let Res::Msg(m) = &c.shared.res {
        return Ok(match m.try_send(Msg::from_js(v)?) {
            Ok(()) => of_case(0, true),
            Err(mut e) => {
                // Not sent: the JS side keeps the object's key (it retries or forgets).
                e.value.disarm();
                send_status(Err(e.error))
            }
        });
    }
    let mut slot = Slot::from_js(c.elem, v)?;
    // SAFETY: the slot holds one element of this channel's size.
    let r = unsafe { c.raw.send(slot.ptr(), Deadline::NoWait) };
    slot.set_full(r.is_err());
    Ok(send_status(r))
}

/// Receives without waiting: the value (undefined unless received), its status in the
/// status cell (1 received, 0 closed and drained, WouldBlock).
#[napi]
pub fn chan_try_recv(env: Env, c: External<Fast>) -> Result<JsUnknown> {
    if let Res::Msg(m) = &c.shared.res {
        let r = m.try_recv();
        set_status(of_result(r.as_ref().map(Option::is_some).map_err(|e| *e)));
        return match r {
            Ok(Some(m)) => m.into_js(&env),
            _ => Ok(env.get_undefined()?.into_unknown()),
        };
    }
    let mut slot = Slot::empty(c.elem);
    // SAFETY: the slot has room for one element.
    let r = unsafe { c.raw.recv(slot.ptr(), Deadline::NoWait) };
    set_status(of_result(r));
    slot.set_full(r == Ok(true));
    slot.take_js(&env)
}

// Rust-side tests: no N-API here (it exists only inside Node), so they cover the parts that
// do not touch JS: holders and tokens (keep-alive), and slots owning values exactly once.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::Watch;
    use std::sync::atomic::{AtomicUsize as Counter, Ordering};
    use std::sync::Weak;

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
        let m = crate::sync::NativeSync::new_mutex();
        assert!(
            NativeChan::open(m.share()).is_err(),
            "a Mutex's token opens no channel"
        );

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

    fn full(m: Msg) -> Slot {
        let mut s = Slot::empty(Elem::Msg);
        // SAFETY: room for one Msg.
        unsafe { s.ptr().cast::<Msg>().write(m) };
        s.set_full(true);
        s
    }

    #[test]
    fn values_left_in_slots_and_channels_are_dropped_once() {
        let c = NativeChan::new(4).unwrap();
        let mut s = full(Msg::Str("x".repeat(100)));
        // SAFETY: the slot holds one Msg.
        unsafe { c.raw.send(s.ptr(), Deadline::NoWait) }.unwrap();
        s.set_full(false); // the channel owns it now; dropping the slot must not drop it again
        drop(s);
        let mut r = Slot::empty(Elem::Msg);
        // SAFETY: room for one Msg.
        assert_eq!(unsafe { c.raw.recv(r.ptr(), Deadline::NoWait) }, Ok(true));
        r.set_full(true);
        // SAFETY: filled just above.
        let got = unsafe { &*r.ptr().cast::<Msg>() };
        assert!(matches!(got, Msg::Str(s) if s.len() == 100));
        drop(r); // drops the received string (a double drop would crash under the allocator)
        let mut t = full(Msg::Ser(vec![1, 2, 3]));
        // SAFETY: as above.
        unsafe { c.raw.send(t.ptr(), Deadline::NoWait) }.unwrap();
        t.set_full(false);
        drop(c); // the channel drops the value still buffered
    }
}
