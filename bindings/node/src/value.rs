//! Values crossing threads. A JS value travels through a native channel as a `Msg`: the
//! primitives as themselves (no serializer: they are the common case and cost a few ns), and
//! everything else as the bytes of `v8.serialize`, which the JS layer makes and reads back
//! (N-API has no structured clone). So a value received in another thread is a copy, with
//! structured-clone meaning, as postMessage would give.

use napi::{Env, JsUnknown, Result, ValueType};

/// One JS value, owned by the channel while it is in flight.
pub enum Msg {
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// `v8.serialize` output; received as a Buffer, which the JS layer deserializes.
    Ser(Vec<u8>),
}

impl Msg {
    /// From a JS value; objects arrive here already serialized into a Buffer by the JS layer.
    pub fn from_js(v: JsUnknown) -> Result<Msg> {
        Ok(match v.get_type()? {
            ValueType::Undefined => Msg::Undefined,
            ValueType::Null => Msg::Null,
            // SAFETY: the type was just checked.
            ValueType::Boolean => Msg::Bool(unsafe { v.cast::<napi::JsBoolean>() }.get_value()?),
            ValueType::Number => Msg::Num(unsafe { v.cast::<napi::JsNumber>() }.get_double()?),
            ValueType::String => {
                Msg::Str(unsafe { v.cast::<napi::JsString>() }.into_utf8()?.into_owned()?)
            }
            ValueType::Object if v.is_buffer()? => {
                Msg::Ser(unsafe { v.cast::<napi::JsBuffer>() }.into_value()?.to_vec())
            }
            _ => {
                return Err(napi::Error::new(
                    napi::Status::InvalidArg,
                    "goro: internal: value not encoded",
                ))
            }
        })
    }

    /// Into a JS value (a Buffer for serialized values).
    pub fn into_js(self, env: &Env) -> Result<JsUnknown> {
        Ok(match self {
            Msg::Undefined => env.get_undefined()?.into_unknown(),
            Msg::Null => env.get_null()?.into_unknown(),
            Msg::Bool(b) => env.get_boolean(b)?.into_unknown(),
            Msg::Num(n) => env.create_double(n)?.into_unknown(),
            Msg::Str(s) => env.create_string_from_std(s)?.into_unknown(),
            Msg::Ser(b) => env.create_buffer_with_data(b)?.into_raw().into_unknown(),
        })
    }
}
