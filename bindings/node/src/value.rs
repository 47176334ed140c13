//! Values crossing threads. A JS value travels through a native channel as a `Msg`: the
//! primitives as themselves (no serializer: they are the common case and cost a few ns), and
//! objects as the bytes of `v8.serialize`, made and read back by the JS layer (N-API has no
//! structured clone). So a value received in another thread is a copy, with structured-clone
//! meaning, as postMessage would give.
//!
//! Within one thread the value itself is passed, even on a shared channel: the sending
//! thread keeps the object in a table under a key (lib/native.js `held`) and the message
//! carries the key beside the bytes. A receiver in the same thread gets the key back and takes
//! the object itself; elsewhere the bytes are deserialized. Each thread's `Origin` collects the
//! keys of its messages that ended anywhere else (received in another thread, or dropped),
//! which the JS side sweeps from its table now and then, without any cross-thread wake.

use std::sync::{Arc, Mutex};

use napi::{Env, JsUnknown, Result, ValueType};

/// A JS thread, as the origin of object messages.
#[derive(Default)]
pub struct Origin {
    forgotten: Mutex<Vec<u32>>,
}

thread_local! {
    static ORIGIN: Arc<Origin> = Arc::new(Origin::default());
}

/// Keys of this thread's object messages that ended elsewhere (lib/native.js sweeps them).
#[napi]
pub fn take_forgotten() -> Vec<u32> {
    ORIGIN.with(|o| std::mem::take(&mut *o.forgotten.lock().unwrap()))
}

/// An object in flight: its structured-clone bytes, and its key in the sending thread.
pub struct Obj {
    ser: Vec<u8>,
    key: u32,
    origin: Arc<Origin>,
    /// Whether dropping it tells the origin that the object will not come back.
    armed: bool,
}

impl Drop for Obj {
    fn drop(&mut self) {
        if self.armed {
            self.origin.forgotten.lock().unwrap().push(self.key);
        }
    }
}

/// One JS value, owned by the channel while it is in flight.
pub enum Msg {
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// A Buffer (a byte channel's element, or bytes without a key).
    Ser(Vec<u8>),
    /// An object: `[bytes, key]` from lib/native.js `encode`.
    Obj(Obj),
}

impl Msg {
    /// From a JS value; objects arrive here already encoded by the JS layer.
    pub fn from_js(v: JsUnknown) -> Result<Msg> {
        Ok(match v.get_type()? {
            ValueType::Undefined => Msg::Undefined,
            ValueType::Null => Msg::Null,
            ValueType::Boolean => {
                // SAFETY: get_type said Boolean, the type we cast to.
                Msg::Bool(unsafe { v.cast::<napi::JsBoolean>() }.get_value()?)
            }
            ValueType::Number => {
                // SAFETY: get_type said Number, the type we cast to.
                Msg::Num(unsafe { v.cast::<napi::JsNumber>() }.get_double()?)
            }
            ValueType::String => {
                // SAFETY: get_type said String, the type we cast to.
                let s = unsafe { v.cast::<napi::JsString>() };
                Msg::Str(s.into_utf8()?.into_owned()?)
            }
            ValueType::Object if v.is_buffer()? => {
                // SAFETY: is_buffer said Buffer, the type we cast to.
                Msg::Ser(unsafe { v.cast::<napi::JsBuffer>() }.into_value()?.to_vec())
            }
            ValueType::Object if v.is_array()? => {
                // SAFETY: get_type said Object (an array is one), the type we cast to.
                let a = unsafe { v.cast::<napi::JsObject>() };
                let ser = a.get_element::<napi::JsBuffer>(0)?.into_value()?.to_vec();
                let key = a.get_element::<napi::JsNumber>(1)?.get_uint32()?;
                Msg::Obj(Obj {
                    ser,
                    key,
                    origin: ORIGIN.with(Arc::clone),
                    armed: true,
                })
            }
            _ => return Err(crate::invalid("internal: value not encoded")),
        })
    }

    /// A send that did not happen: the JS side still owns the key (it retries or forgets it).
    pub fn disarm(&mut self) {
        if let Msg::Obj(o) = self {
            o.armed = false;
        }
    }

    /// Into a JS value: a Buffer for bytes; for an object, `[key]` in its own thread (the JS
    /// layer takes the object itself), else its bytes as a Buffer (deserialized by JS).
    pub fn into_js(self, env: &Env) -> Result<JsUnknown> {
        Ok(match self {
            Msg::Undefined => env.get_undefined()?.into_unknown(),
            Msg::Null => env.get_null()?.into_unknown(),
            Msg::Bool(b) => env.get_boolean(b)?.into_unknown(),
            Msg::Num(n) => env.create_double(n)?.into_unknown(),
            Msg::Str(s) => env.create_string_from_std(s)?.into_unknown(),
            Msg::Ser(b) => env.create_buffer_with_data(b)?.into_raw().into_unknown(),
            Msg::Obj(mut o) => {
                if ORIGIN.with(|me| Arc::ptr_eq(me, &o.origin)) {
                    o.armed = false;
                    let mut a = env.create_array_with_length(1)?;
                    a.set_element(0, env.create_uint32(o.key)?)?;
                    a.into_unknown()
                } else {
                    // Dropping `o` (armed) tells the origin to forget the object.
                    let bytes = std::mem::take(&mut o.ser);
                    env.create_buffer_with_data(bytes)?
                        .into_raw()
                        .into_unknown()
                }
            }
        })
    }
}
