//! How an actor's messages cross the network: [`Wire`], a table of encode and decode
//! functions for its message, request and reply types, built by `#[actor]` from the
//! serde derives it generates. The receiving node decodes with the target process's own
//! table, so no global type registry is needed.

use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

use crate::actor::Actor;

/// A message that could not be encoded or decoded.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The actor's messages cannot cross the network (no `Wire` table: a hand-written
    /// actor without one).
    #[error("actor `{0}` has no wire format: its messages cannot cross the network")]
    NotRemote(&'static str),
    /// Encoding failed (e.g. a `local` handler's message sent to a remote process).
    #[error("cannot encode: {0}")]
    Encode(String),
    /// The bytes are not a message of the target's type.
    #[error("cannot decode as the target's type: {0}")]
    Decode(String),
}

type Encode<T> = fn(&T, &mut Vec<u8>) -> Result<(), WireError>;
type Decode<T> = fn(&[u8]) -> Result<T, WireError>;

/// Encode and decode functions for an actor's three message types.
pub struct Wire<A: Actor> {
    /// Appends an encoded message to a buffer.
    pub encode_message: Encode<A::Message>,
    /// Decodes a message.
    pub decode_message: Decode<A::Message>,
    /// Appends an encoded request.
    pub encode_call: Encode<A::Call>,
    /// Decodes a request.
    pub decode_call: Decode<A::Call>,
    /// Appends an encoded reply.
    pub encode_reply: Encode<A::Reply>,
    /// Decodes a reply.
    pub decode_reply: Decode<A::Reply>,
}

impl<A: Actor> Wire<A>
where
    A::Message: Serialize + DeserializeOwned,
    A::Call: Serialize + DeserializeOwned,
    A::Reply: Serialize + DeserializeOwned,
{
    /// The native format: serde + postcard.
    pub const POSTCARD: Wire<A> = Wire {
        encode_message: encode::<A::Message>,
        decode_message: decode::<A::Message>,
        encode_call: encode::<A::Call>,
        decode_call: decode::<A::Call>,
        encode_reply: encode::<A::Reply>,
        decode_reply: decode::<A::Reply>,
    };
}

fn encode<T: Serialize>(value: &T, buf: &mut Vec<u8>) -> Result<(), WireError> {
    let taken = std::mem::take(buf);
    match postcard::to_extend(value, taken) {
        Ok(full) => {
            *buf = full;
            Ok(())
        }
        Err(err) => Err(WireError::Encode(err.to_string())),
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(WireError::Decode(format!("{} trailing bytes", rest.len()))),
        Err(err) => Err(WireError::Decode(err.to_string())),
    }
}

/// The wire table of `A`, or the error saying it has none.
pub(crate) fn of<A: Actor>() -> Result<&'static Wire<A>, WireError> {
    A::wire().ok_or(WireError::NotRemote(std::any::type_name::<A>()))
}

/// Picks the postcard table when the actor's types allow it, and `None` otherwise
/// (an actor with `local` handlers whose types cannot be serialized stays local-only),
/// without a trait bound the user would have to satisfy. Used by `#[actor]`:
/// `(&WireProbe::<Self>::new()).wire()`.
#[doc(hidden)]
pub struct WireProbe<A>(std::marker::PhantomData<A>);

impl<A> WireProbe<A> {
    /// A probe for `A`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        WireProbe(std::marker::PhantomData)
    }
}

/// The preferred case: every message type is serializable.
#[doc(hidden)]
pub trait ViaPostcard<A: Actor> {
    /// The postcard table.
    fn wire(&self) -> Option<&'static Wire<A>>;
}

impl<A: Actor> ViaPostcard<A> for WireProbe<A>
where
    A::Message: Serialize + DeserializeOwned,
    A::Call: Serialize + DeserializeOwned,
    A::Reply: Serialize + DeserializeOwned,
{
    fn wire(&self) -> Option<&'static Wire<A>> {
        Some(&Wire::<A>::POSTCARD)
    }
}

/// The fallback: no wire format.
#[doc(hidden)]
pub trait NoWire<A: Actor> {
    /// No table.
    fn wire(&self) -> Option<&'static Wire<A>> {
        None
    }
}

impl<A: Actor> NoWire<A> for &WireProbe<A> {}

/// Decodes `bytes` as a `T` (what the generated `Actor::message_from_wire` calls).
#[doc(hidden)]
pub fn decode_as<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    decode(bytes)
}

/// How an untyped message of a registered type is encoded for another node.
#[derive(Clone, Copy)]
pub struct MessageEncoder {
    /// The type's name, which the receiving actor matches against the types it handles.
    pub kind: &'static str,
    /// Encodes a value of the type (given as `&dyn Any`).
    pub encode: fn(&dyn std::any::Any, &mut Vec<u8>) -> Result<(), WireError>,
}

type Registry = parking_lot::RwLock<rustc_hash::FxHashMap<std::any::TypeId, MessageEncoder>>;

fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Lets messages of type `T` sent without an actor type (`node.send(pid, msg)`,
/// `ctx.send(pid, msg)`) cross to processes on other nodes, as Go Ergo's
/// `RegisterTypeOf` does. The receiving process takes it if it handles `T`
/// (`#[handle_info] fn f(&mut self, msg: T)`), matched by the type's name: both nodes
/// must build `T` from the same source. Typed sends through an `ActorRef` need no
/// registration.
pub fn register_message<T: Serialize + std::any::Any + Send>() {
    fn encode<T: Serialize + 'static>(
        value: &dyn std::any::Any,
        buf: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        match value.downcast_ref::<T>() {
            Some(value) => self::encode(value, buf),
            None => Err(WireError::Encode("a message of another type".into())),
        }
    }
    registry().write().insert(
        std::any::TypeId::of::<T>(),
        MessageEncoder {
            kind: std::any::type_name::<T>(),
            encode: encode::<T>,
        },
    );
}

/// The encoder of a registered message type (see [`register_message`]).
pub fn message_encoder(type_id: std::any::TypeId) -> Option<MessageEncoder> {
    registry().read().get(&type_id).copied()
}
