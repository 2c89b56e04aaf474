//! ergo: Erlang/OTP-style actors for Rust.
//!
//! Re-exports the runtime ([`ergo_runtime`]) and the `#[actor]` macros. Write an actor
//! as an `impl` block with [`macro@actor`] and its handler attributes; spawn it on a
//! [`Node`]; talk to it through the typed handle every [`ActorRef`] derefs to.
//!
//! The crate's README, compiled as a doctest:
//!
#![doc = include_str!("../../README.md")]

/// The `mimalloc` feature makes mimalloc the program's global allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use ergo_macros::{actor, handle_call, handle_cast, handle_info, init, supervisor, terminate};

pub use ergo_otp::{
    ApplicationChange, ApplicationError, ApplicationExt, ApplicationInfo, ApplicationSpec,
    ApplicationState, StartMode, DEFAULT_WEIGHT,
};
pub use ergo_runtime::dist::{NetError, RemoteError};
/// OTP's system messages on any process (`sys:get_state/1`, `sys:suspend/1`, ...).
pub use ergo_runtime::system;
#[doc(hidden)]
pub use ergo_runtime::wire;
pub use ergo_runtime::{
    register_message, Actor, ActorFuture, ActorRef, Alias, Atom, CallError, CallFuture, Context,
    Down, Exit, ForeignReason, Handles, HasHandle, LinkError, LookupError, NameError, NoInitArgs,
    Node, NodeBuilder, NodeError, NodeInfo, NodeMonitor, Pid, Priority, ProcessInfo, ProcessState,
    ProcessSummary, Reason, Ref, ReplyTo, Request, SendError, SpawnError, SpawnOptions, Step,
    Target, TimerRef, Wire, WireError, DEFAULT_CALL_TIMEOUT, DEFAULT_INIT_TIMEOUT,
};

/// Testing actors on real nodes (the `testing` feature; for dev-dependencies): bounded
/// waits, message-count probes, clusters of networked nodes on 127.0.0.1 (with `net`),
/// and nodes that follow tokio's paused clock (`#[tokio::test(start_paused = true)]`).
///
/// On a paused clock, virtual time moves only while every process of the node is idle:
/// half an hour of timers takes no real time, and comes out the same on every run.
///
/// ```
/// use std::time::Duration;
/// use ergo::prelude::*;
///
/// #[derive(Default)]
/// struct Alarm {
///     rang: bool,
/// }
///
/// #[derive(Debug)]
/// struct Ring;
///
/// #[actor]
/// impl Alarm {
///     #[handle_cast]
///     fn set(&mut self, ctx: &mut Context<Self>, minutes: u64) {
///         ctx.send_after(&ctx.myself(), Ring, Duration::from_secs(60 * minutes));
///     }
///
///     #[handle_info(local)]
///     fn ring(&mut self, _ring: Ring) {
///         self.rang = true;
///     }
///
///     #[handle_call]
///     fn rang(&mut self) -> bool {
///         self.rang
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// // In a test: #[tokio::test(start_paused = true)]
/// let node = Node::builder("alarm@127.0.0.1").start().await.unwrap();
/// let alarm = node.spawn(Alarm::default()).await.unwrap();
/// let start = tokio::time::Instant::now();
/// alarm.set(30).unwrap();
/// tokio::time::sleep_until(start + Duration::from_secs(29 * 60)).await;
/// assert_eq!(alarm.rang().await, Ok(false));
/// tokio::time::sleep_until(start + Duration::from_secs(31 * 60)).await;
/// assert_eq!(alarm.rang().await, Ok(true));
/// node.stop().await.unwrap();
/// # }
/// ```
#[cfg(feature = "testing")]
pub use ergo_testing as testing;

/// Supervision trees: strategies, restart policies, child specs, typed child handles.
pub use ergo_otp::supervisor;

/// Typed publish/subscribe between processes.
pub use ergo_otp::events;

/// A pool of workers behind one address (round robin, replaced when they die).
pub use ergo_otp::pool;

/// Messages and calls routed by a function to named routes.
pub use ergo_otp::router;

/// The native network between ergo nodes (the `net` feature, on by default): start it
/// with `Node::builder(..).network(NetOptions::new())`.
#[cfg(feature = "net")]
pub mod net {
    /// TLS and mutual TLS between nodes: certificates, trust, development helpers.
    pub use ergo_net::tls;
    pub use ergo_net::{
        Acceptor, CertManager, ClientAuth, RouteSecrets, TlsOptions, DEFAULT_FRAGMENT_SIZE,
    };
    pub use ergo_net::{
        NetBuilderExt, NetOptions, NetStats, NetworkExt, Registrar, RegistrarFuture, Route,
        SpawnPermission, DEFAULT_REGISTRAR_PORT, DEFAULT_WRITE_BUFFER,
    };
}

/// Meta processes (the `meta` feature): TCP servers and connections with framing, UDP
/// sockets, external OS programs — each a process that owns its socket or program,
/// delivers what it reads as messages and dies with its owner.
///
/// Blocking work that is not I/O needs no meta process: see
/// [`Context::spawn_blocking`] and [`Context::spawn_blocking_reply`].
///
/// An actor that owns an echo server (started in its init; it stops with the actor):
///
/// ```
/// use ergo::meta::tcp::{Framing, TcpEvent, TcpOptions};
/// use ergo::meta::{MetaError, MetaExt};
/// use ergo::prelude::*;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// #[derive(Default)]
/// struct Echo {
///     addr: Option<std::net::SocketAddr>,
/// }
///
/// #[actor]
/// impl Echo {
///     #[init]
///     async fn init(&mut self, ctx: &mut Context<Self>) -> Result<(), MetaError> {
///         // Frames of a 2-byte length and a payload.
///         let options = TcpOptions::default().framing(Framing::length_prefixed(2));
///         self.addr = Some(ctx.tcp_listen("127.0.0.1:0", options).await?.addr);
///         Ok(())
///     }
///
///     #[handle_call]
///     fn addr(&mut self) -> Option<std::net::SocketAddr> {
///         self.addr
///     }
///
///     #[handle_info(local)]
///     fn tcp(&mut self, event: TcpEvent) {
///         if let TcpEvent::Data { conn, data } = event {
///             let _ = conn.write(data);
///         }
///     }
/// }
///
/// # #[tokio::main] async fn main() {
/// let node = Node::builder("echo@127.0.0.1").start().await.unwrap();
/// let echo = node.spawn(Echo::default()).await.unwrap();
/// let addr = echo.addr().await.unwrap().unwrap();
/// let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
/// client.write_all(&[0, 2, b'h', b'i']).await.unwrap();
/// let mut back = [0u8; 4];
/// client.read_exact(&mut back).await.unwrap();
/// assert_eq!(&back, &[0, 2, b'h', b'i']);
/// node.stop().await.unwrap();
/// # }
/// ```
#[cfg(feature = "meta")]
pub mod meta {
    pub use ergo_meta::{port, tcp, udp, MetaError, MetaExt, MetaFuture, Recipient};
}

/// The web stack (the `meta` or `web` feature): HTTP served by WebWorker actors (with
/// `#[get("/path/:id")]`-style handlers) behind a pool, WebSocket and server-sent
/// events connections as meta processes, all on an axum router an application can
/// mount beside its own routes.
///
/// ```
/// use ergo::prelude::*;
/// use ergo::pool::{Pool, PoolOptions};
/// use ergo::web::{worker_router, Json, StatusCode, WebOptions, WebRequest, WebServer};
///
/// #[derive(Default)]
/// struct Bank {
///     balances: std::collections::HashMap<u64, i64>,
/// }
///
/// #[actor]
/// impl Bank {
///     #[get("/balance/:id")]
///     fn balance(&mut self, id: u64) -> Json<i64> {
///         Json(self.balances.get(&id).copied().unwrap_or(0))
///     }
///
///     #[post("/deposit/:id")]
///     fn deposit(&mut self, id: u64, req: &WebRequest) -> Result<String, (StatusCode, String)> {
///         let amount: i64 = req.text().unwrap_or("").trim().parse()
///             .map_err(|_| (StatusCode::BAD_REQUEST, "an amount, please".to_string()))?;
///         let balance = self.balances.entry(id).or_default();
///         *balance += amount;
///         Ok(balance.to_string())
///     }
/// }
///
/// # #[tokio::main] async fn main() {
/// let node = Node::builder("web@127.0.0.1").start().await.unwrap();
/// let bank = node.spawn(Pool::new(PoolOptions::new(Bank::default).size(1))).await.unwrap();
/// let app = worker_router(bank.clone(), WebOptions::default());
/// let http = WebServer::start(&node, "127.0.0.1:0", bank.pid(), app).await.unwrap();
/// # let _ = http.addr;
/// // GET http://{http.addr}/balance/7 answers `0`; the server stops with the pool.
/// # node.stop().await.unwrap();
/// # }
/// ```
#[cfg(feature = "meta")]
pub mod web {
    pub use ergo_macros::{delete, get, patch, post, put};
    pub use ergo_meta::web::*;
}

/// Erlang/Elixir interoperability (the `erlang` feature, on by default): terms, EPMD,
/// the distribution protocol.
#[cfg(feature = "erlang")]
pub use ergo_erlang as erlang;

/// Seeing inside a running node (the `observer` feature, off by default): the
/// Observer web UI, Prometheus metrics, health probes, logging and cron.
#[cfg(feature = "observer")]
pub use ergo_observer as observer;

/// For transport implementers: the trait a network to other nodes implements, the
/// encoded envelopes it carries, and the entry points it calls when something arrives
/// for a local process or a peer is lost. Applications do not need this module.
pub mod dev {
    pub use ergo_runtime::dist::{
        Answer, BoxFuture, Dist, Payload, RemoteTarget, Transport, WireReply,
    };
    pub use ergo_runtime::{AnyReply, Plugin};
}

/// What most programs need: `use ergo::prelude::*;`.
pub mod prelude {
    #[doc(no_inline)]
    pub use ergo_macros::{
        actor, handle_call, handle_cast, handle_info, init, supervisor, terminate,
    };
    #[cfg(feature = "meta")]
    #[doc(no_inline)]
    pub use ergo_macros::{delete, get, patch, post, put};
    #[cfg(feature = "net")]
    #[doc(no_inline)]
    pub use ergo_net::{NetBuilderExt, NetworkExt};
    #[doc(no_inline)]
    pub use ergo_otp::events::{Event, EventDemand, EventDown, EventOptions, EventsExt};
    #[doc(no_inline)]
    pub use ergo_otp::supervisor::{
        ChildRef, ChildSpec, Restart, Strategy, Supervisor, SupervisorError, SupervisorExt,
        SupervisorRef, SupervisorSpec,
    };
    #[doc(no_inline)]
    pub use ergo_otp::{ApplicationExt, ApplicationSpec};
    #[doc(no_inline)]
    pub use ergo_runtime::{
        Actor, ActorRef, CallError, Context, Down, Exit, LookupError, Node, NodeMonitor, Pid,
        Priority, Reason, Ref, ReplyTo, SendError, SpawnError, SpawnOptions, Step, Target,
    };
}

/// Not public API: what the code generated by `#[actor]` refers to.
#[doc(hidden)]
pub mod __private {
    pub use serde;

    /// Boxes a reply for an untyped caller; the `Send` bound comes from `Actor::Reply`,
    /// so a non-`Send` reply is reported once, at the user's type.
    pub fn box_reply<A: crate::Actor>(reply: A::Reply) -> Box<dyn std::any::Any + Send> {
        Box::new(reply)
    }

    /// What the generated Erlang term conversions refer to.
    #[cfg(feature = "erlang")]
    pub use ergo_erlang::macro_support as erlang;

    use crate::CallError;

    /// A message argument, reply or init argument: it moves to another process.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be moved into another process",
        label = "not `Send + 'static`",
        note = "message arguments, replies and init arguments move to another process (and thread): they must be `Send + 'static` (use `Arc` for `Rc`, owned data for references)"
    )]
    pub trait Sendable: Send + 'static {}
    impl<T: Send + 'static> Sendable for T {}

    /// Asserts [`Sendable`] at the user's type.
    pub fn assert_sendable<T: Sendable>() {}

    /// A handler error that stops the process.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be the error of a handler that stops the process",
        label = "does not implement `Display`",
        note = "an `Err(e)` from an init, cast or info handler stops the process with `Reason::Error(e.to_string())`: implement `std::fmt::Display` for `{Self}` (a call handler's `Err` goes to the caller instead)"
    )]
    pub trait StopError: core::fmt::Display {}
    impl<T: core::fmt::Display> StopError for T {}

    /// The reason a handler's (or init's) `Err(e)` stops the process with.
    pub fn stop_reason<E: StopError>(err: E) -> crate::Reason {
        crate::Reason::error(err)
    }

    /// Answers a call (a function, so a reply that is not `Send` is reported at the
    /// handler's return type).
    pub fn send_reply<R: Sendable>(to: crate::ReplyTo<R>, reply: R) {
        to.send(reply)
    }

    /// How the generated enums (de)serialize each field: the field attributes name
    /// these functions at the user's type, so a type that is not serializable is
    /// reported there.
    pub mod wire {
        use serde::de::DeserializeOwned;
        use serde::{Deserializer, Serialize, Serializer};

        /// A message argument or reply that can be serialized.
        #[diagnostic::on_unimplemented(
            message = "`{Self}` cannot travel in a message: it does not implement `serde::Serialize`",
            label = "not serializable",
            note = "message arguments and replies may cross the network: derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or mark the handler `local` (`#[handle_call(local)]`, `#[handle_cast(local)]`, `#[handle_info(local)]`) if its messages never leave this node"
        )]
        pub trait WireSerialize: Serialize {}
        impl<T: Serialize + ?Sized> WireSerialize for T {}

        /// A message argument or reply that can be deserialized.
        #[diagnostic::on_unimplemented(
            message = "`{Self}` cannot travel in a message: it does not implement `serde::Deserialize`",
            label = "not deserializable",
            note = "message arguments and replies may cross the network: derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or mark the handler `local` (`#[handle_call(local)]`, `#[handle_cast(local)]`, `#[handle_info(local)]`) if its messages never leave this node"
        )]
        pub trait WireDeserialize: DeserializeOwned {}
        impl<T: DeserializeOwned> WireDeserialize for T {}

        /// Serializes a message argument or reply.
        pub fn serialize<T: WireSerialize, S: Serializer>(
            value: &T,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            value.serialize(s)
        }

        /// Refuses to serialize a `local` handler's argument or reply.
        pub fn refuse_serialize<T, S: Serializer>(_: &T, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom(
                "a `local` handler's message cannot cross the network",
            ))
        }

        /// Refuses to deserialize a `local` handler's argument or reply.
        pub fn refuse_deserialize<'de, T, D: Deserializer<'de>>(_: D) -> Result<T, D::Error> {
            Err(serde::de::Error::custom(
                "a `local` handler's message cannot cross the network",
            ))
        }

        /// Deserializes a message argument or reply.
        pub fn deserialize<'de, T: WireDeserialize, D: Deserializer<'de>>(
            d: D,
        ) -> Result<T, D::Error> {
            T::deserialize(d)
        }
    }

    /// The reply enum held another handler's variant (a bug, or a raw request).
    pub fn wrong_reply<E>(handler: &'static str) -> CallError<E> {
        CallError::BadRequest(format!("the reply is not one of `{handler}`"))
    }
}
