//! Procedural macros of ergo: `#[actor]` and its handler attributes.
//!
//! Use them through the `ergo` crate (`use ergo::prelude::*;`), which re-exports them.
//! The crate is built as `serde_derive` is: `parse` reads the tokens, `model`
//! lowers each handler, `check` enforces the rules (every error collected in a
//! `ctxt::Ctxt` and reported at the user's span), and `codegen` emits the code.

mod check;
mod codegen;
mod ctxt;
mod model;
mod parse;
mod reserved;
mod supervisor;
mod web;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::ItemImpl;

use crate::ctxt::Ctxt;
use crate::parse::Kind;

/// Turns an inherent `impl` block into an actor (a GenServer).
///
/// Mark its methods with [`macro@handle_call`] (requests answered with a reply),
/// [`macro@handle_cast`] (fire-and-forget requests), [`macro@handle_info`] (plain
/// messages: any type sent with `send`, monitor `Down`s, trapped `Exit`s),
/// [`macro@init`] (optional, runs at spawn) and [`macro@terminate`] (optional, runs at
/// the end). Methods without an attribute stay ordinary methods.
///
/// Every handler takes `&mut self`, may take `ctx: &mut Context<Self>` anywhere among
/// its parameters, and may be `async`. A call handler returns its reply `T`, or
/// `Result<T, E>` (the caller gets `Err(CallError::Handler(e))`), or takes a
/// `reply: ReplyTo<T>` token instead of returning, to answer later (possibly from
/// another process; dropping it unanswered tells the caller at once). Cast and info
/// handlers return nothing, or `Result<(), E>` with `E: Display`: an `Err` stops the
/// process with `Reason::Error`. Any handler stops the process with `ctx.stop(reason)`
/// (a call handler's reply is still sent: reply-then-stop).
///
/// Call, cast and info arguments, and replies, travel as messages: they must be owned,
/// `Send`, and serializable (`serde::Serialize + Deserialize`) so they can cross the
/// network. `#[handle_call(local)]` (and `cast`, `info`) lifts the serde requirement
/// for a handler whose messages never leave the node, e.g. one carrying a `ReplyTo`.
///
/// # Example
///
/// ```
/// use ergo::prelude::*;
///
/// #[derive(Default)]
/// pub struct Counter {
///     count: u64,
/// }
///
/// #[actor]
/// impl Counter {
///     /// Adds `n`; returns the new count.
///     #[handle_call]
///     fn add(&mut self, n: u64) -> u64 {
///         self.count += n;
///         self.count
///     }
///
///     #[handle_call]
///     fn checked_sub(&mut self, n: u64) -> Result<u64, String> {
///         self.count = self.count.checked_sub(n).ok_or("below zero")?;
///         Ok(self.count)
///     }
///
///     #[handle_cast]
///     fn reset(&mut self) {
///         self.count = 0;
///     }
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Node::builder("doc@127.0.0.1").start().await?;
/// let counter = node.spawn(Counter::default()).await?;
/// assert_eq!(counter.add(5).await?, 5);
/// assert_eq!(counter.checked_sub(9).await, Err(CallError::Handler("below zero".to_string())));
/// counter.reset()?;
/// assert_eq!(counter.add(1).timeout(std::time::Duration::from_secs(1)).await?, 1);
/// node.stop().await?;
/// # Ok(()) }
/// ```
///
/// # Handlers must not block
///
/// Processes run on ergo's scheduler threads, one per core, a message at a time. A
/// handler that blocks — `std::thread::sleep`, blocking file or socket I/O, a long
/// computation, waiting on a `std::sync` lock or channel — holds its scheduler thread
/// for as long: with as many such handlers as cores, *every* process on the node
/// waits, even ones that have nothing to do with them. Instead:
///
/// - await: an `async` handler waiting on a tokio timer, socket or channel frees the
///   thread (the process itself reads no other message until it is done);
/// - `ctx.spawn_blocking(job)` runs `job` on tokio's blocking thread pool and sends its
///   result back to the process as a message; the process goes on handling messages;
/// - `ctx.spawn_blocking_reply(reply, job)` does the same for a call: the handler takes
///   its `ReplyTo` token and the caller gets the job's result.
///
/// ```
/// use ergo::prelude::*;
///
/// /// The result of a blocking job, delivered as a message.
/// struct Digest(u64);
///
/// #[derive(Default)]
/// struct Hasher {
///     last: Option<u64>,
/// }
///
/// #[actor]
/// impl Hasher {
///     /// Hashes off the scheduler; the result comes back as a `Digest` message.
///     #[handle_cast]
///     fn hash(&mut self, ctx: &mut Context<Self>, data: Vec<u8>) {
///         ctx.spawn_blocking(move || Digest(data.iter().map(|b| *b as u64).sum()));
///     }
///
///     #[handle_info(local)]
///     fn digest(&mut self, d: Digest) {
///         self.last = Some(d.0);
///     }
///
///     #[handle_call]
///     fn last(&mut self) -> Option<u64> {
///         self.last
///     }
///
///     /// Blocking I/O answering a call: the caller awaits the job's result.
///     #[handle_call]
///     fn size(&mut self, ctx: &mut Context<Self>, path: String, reply: ReplyTo<Option<u64>>) {
///         ctx.spawn_blocking_reply(reply, move || std::fs::metadata(path).ok().map(|m| m.len()));
///     }
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Node::builder("doc@127.0.0.1").start().await?;
/// let hasher = node.spawn(Hasher::default()).await?;
/// hasher.hash(vec![1, 2, 3])?;
/// while hasher.last().await?.is_none() {
///     tokio::task::yield_now().await;
/// }
/// assert_eq!(hasher.last().await?, Some(6));
/// assert_eq!(hasher.size("/no/such/file".into()).await?, None);
/// node.stop().await?;
/// # Ok(()) }
/// ```
///
/// # What it expands to
///
/// Beside the impl block (emitted unchanged, minus the handler attributes):
///
/// ```text
/// pub enum CounterCall { Add(u64), CheckedSub(u64) }                 // serde derives
/// pub enum CounterReply { Add(u64), CheckedSub(Result<u64, String>) } // serde derives
/// pub enum CounterMessage { Reset }                                  // casts and infos
///
/// impl ergo::Actor for Counter {
///     type Message = CounterMessage; type Call = CounterCall;
///     type Reply = CounterReply;     type Args = ();   // the #[init] arguments
///     fn handle_call(&mut self, ctx, req, reply) -> Step<Self> {
///         match req {
///             CounterCall::Add(n) => { reply.send(CounterReply::Add(Counter::add(self, n))); Step::Continue }
///             ..
///         }
///     }
///     fn handle_message(..) { match msg { CounterMessage::Reset => .. } }
///     fn message_from_any(..) { /* tries CounterMessage, then every #[handle_info] type */ }
/// }
/// impl ergo::Handles<CounterMessage> for Counter { .. } // and one per #[handle_info] type
///
/// #[repr(transparent)]
/// pub struct CounterHandle(ActorRef<Counter>);  // ActorRef<Counter> derefs to it
/// impl CounterHandle {
///     pub fn add(&self, n: u64) -> Request<Counter, u64>;              // .await → Result<u64, CallError>
///     pub fn checked_sub(&self, n: u64) -> Request<Counter, u64, String>; // Err → CallError::Handler
///     pub fn reset(&self) -> Result<(), SendError<CounterMessage>>;
/// }
/// ```
///
/// The generated names are the actor's name plus `Call`, `Reply`, `Message` and
/// `Handle`; the variants are the handler names in UpperCamelCase.
///
/// # Arguments
///
/// `#[actor(crate = path)]`: where the `ergo` crate is, if it is not `::ergo`.
///
/// # Erlang and Elixir callers
///
/// The generated `Actor` impl also maps Erlang terms (`ergo::erlang::Term`) onto the
/// handlers, so `gen_server:call({Name, Node}, Req)` / `GenServer.call` and
/// `gen_server:cast` reach a registered actor:
///
/// - handler `name` without arguments takes the atom `name` or the tuple `{name}`;
/// - handler `name` with n arguments takes `{name, A1, .., An}`, each argument read
///   with `ergo::erlang::FromTerm` (a term of the wrong shape matches nothing);
/// - a handler whose only argument is a `Term` takes, whole, any term no other handler
///   of its kind took (`{echo, 1, 2, 3}` reaches `fn echo(&mut self, t: Term)` whole);
/// - calls go to `#[handle_call]`s, `{'$gen_cast', Msg}` to `#[handle_cast]`s, plain
///   messages (`Pid ! Msg`) to `#[handle_info]`s whose type reads from the term (a
///   `Term` info handler takes the rest);
/// - the reply goes back with `ergo::erlang::IntoTerm`: `String` → binary,
///   `Charlist` → charlist, `()` → `ok`, `Result<T, E>` → `{ok, T}` / `{error, E}`;
///   an unknown call is answered `{error, {unknown_call, Req}}`.
///
/// Types without `FromTerm` / `IntoTerm` compile: their handlers are unreachable from
/// Erlang. `local` handlers are never reachable from Erlang.
///
/// # Generic actors
///
/// Not supported: the generated enums need concrete types, so `impl<T> Worker<T>` is
/// rejected with an error. Wrap the generic type in a concrete struct, or implement
/// `ergo::Actor` by hand.
#[proc_macro_attribute]
pub fn actor(args: TokenStream, input: TokenStream) -> TokenStream {
    expand_actor(args.into(), input.into()).into()
}

fn expand_actor(args: TokenStream2, input: TokenStream2) -> TokenStream2 {
    let mut item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(err) => {
            if syn::parse2::<syn::Item>(input.clone()).is_ok() {
                // Another kind of item: say where `#[actor]` goes.
                let err = syn::Error::new(
                    err.span(),
                    "`#[actor]` goes on an inherent impl block holding the handlers: \
                     `#[actor] impl Counter { #[handle_call] fn add(&mut self, n: u64) -> u64 { .. } }`",
                )
                .into_compile_error();
                return quote!(#err #input);
            }
            // A syntax error inside the block: give the tokens back (without the handler
            // attributes, which would each fail on their own) so rustc reports the real
            // error where it is, and the IDE still sees the methods.
            return strip_handler_attrs(input);
        }
    };
    let cx = Ctxt::new();
    let args = parse::actor_args(&cx, args);
    let krate = args
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::ergo));
    let web = web::expand(&cx, &mut item, &krate);
    let raw = parse::handlers(&cx, &mut item);
    let stub = check::impl_block(&cx, &item);
    let actor = if stub {
        model::lower(&args, &item.self_ty, raw)
    } else {
        None
    };
    let valid = actor.as_ref().map(|actor| check::actor(&cx, actor));
    let model = actor.as_ref().zip(valid.as_deref());
    match (cx.check(), &actor) {
        (Ok(()), Some(actor)) => {
            let code = codegen::expand(&item, actor);
            let worker = web.then(|| {
                let (call, reply) = (actor.item("Call"), actor.item("Reply"));
                web::worker_impl(&krate, &item.self_ty, &call, &reply)
            });
            quote!(#code #worker)
        }
        (Err(err), _) => codegen::fallback(&item, &krate, stub, model, err),
        (Ok(()), None) => codegen::fallback(
            &item,
            &krate,
            false,
            None,
            syn::Error::new_spanned(&item.self_ty, "`#[actor]` could not read this type"),
        ),
    }
}

/// Removes `#[handle_call]`-like attributes from tokens that do not parse.
fn strip_handler_attrs(tokens: TokenStream2) -> TokenStream2 {
    use proc_macro2::{Delimiter, Group, TokenTree};
    let is_handler_attr = |tt: Option<&TokenTree>| match tt {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket => {
            let mut inner = g.stream().into_iter();
            let mut last = None;
            // The path's last identifier before any arguments: `ergo::handle_call(..)`.
            for tt in inner.by_ref() {
                match tt {
                    TokenTree::Ident(i) => last = Some(i.to_string()),
                    TokenTree::Punct(p) if p.as_char() == ':' => {}
                    _ => break,
                }
            }
            last.is_some_and(|name| {
                Kind::ALL.iter().any(|k| k.name() == name) || web::METHODS.contains(&name.as_str())
            })
        }
        _ => false,
    };
    let mut out = Vec::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(tt) = iter.next() {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '#' && is_handler_attr(iter.peek()) => {
                iter.next();
            }
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), strip_handler_attrs(g.stream()));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// Emits the item with an error saying that the web attribute `name` only works
/// inside `#[actor]`.
fn web_outside_actor(name: &str, item: TokenStream) -> TokenStream {
    let msg = format!(
        "`#[{name}]` only works on a method inside an `#[actor]` impl block: put `#[actor]` \
         on the `impl` block that holds this method (`#[actor] impl MyWorker {{ #[{name}(\"/path\")] fn .. }}`)"
    );
    let err = syn::Error::new(proc_macro2::Span::call_site(), msg).into_compile_error();
    let item = TokenStream2::from(item);
    quote!(#err #item).into()
}

/// Marks a web handler answering `GET` requests to a path (`#[get("/balance/:id")]`).
///
/// Only valid on a method of an [`macro@actor`] impl block, which then implements
/// `WebWorker`: serve it (or a pool of it) with `ergo::web::worker_router`. The method
/// takes the path's `:name` segments as arguments of the same names (any `FromStr`
/// type; a value that does not parse gets 400), and optionally `req: &WebRequest`
/// and `ctx: &mut Context<Self>`; it may be `async`; it returns anything that is
/// `IntoWebResponse` (`String`, `Json(v)`, `(StatusCode, T)`, `WebResponse`,
/// `Result` of these). A path that no handler matches gets 404; a path matched for
/// another method, 405. The actor gets a `web_request` call handler (a reserved name).
/// An example: `ergo::web::WebWorker`.
#[proc_macro_attribute]
pub fn get(_args: TokenStream, item: TokenStream) -> TokenStream {
    web_outside_actor("get", item)
}

/// Marks a web handler answering `POST` requests (see [`macro@get`]).
#[proc_macro_attribute]
pub fn post(_args: TokenStream, item: TokenStream) -> TokenStream {
    web_outside_actor("post", item)
}

/// Marks a web handler answering `PUT` requests (see [`macro@get`]).
#[proc_macro_attribute]
pub fn put(_args: TokenStream, item: TokenStream) -> TokenStream {
    web_outside_actor("put", item)
}

/// Marks a web handler answering `PATCH` requests (see [`macro@get`]).
#[proc_macro_attribute]
pub fn patch(_args: TokenStream, item: TokenStream) -> TokenStream {
    web_outside_actor("patch", item)
}

/// Marks a web handler answering `DELETE` requests (see [`macro@get`]).
#[proc_macro_attribute]
pub fn delete(_args: TokenStream, item: TokenStream) -> TokenStream {
    web_outside_actor("delete", item)
}

/// Emits the item with an error saying that `kind` only works inside `#[actor]`.
fn outside_actor(kind: Kind, item: TokenStream) -> TokenStream {
    let msg = format!(
        "`#[{0}]` only works on a method inside an `#[actor]` impl block: put `#[actor]` \
         on the `impl` block that holds this method (`#[actor] impl MyActor {{ #[{0}] fn .. }}`)",
        kind.name()
    );
    let err = syn::Error::new(proc_macro2::Span::call_site(), msg).into_compile_error();
    let item = TokenStream2::from(item);
    quote!(#err #item).into()
}

/// Marks a call handler: a request the caller awaits a reply to.
///
/// Only valid on a method of an [`macro@actor`] impl block; the actor macro reads and
/// removes it. The handle gets a method of the same name returning a `Request`
/// (`.timeout(d)` / `.priority(p)`, then `.await` → `Result<T, CallError<E>>`).
///
/// Forms: `fn f(&mut self, args..) -> T`, `-> Result<T, E>`, or
/// `fn f(&mut self, args.., reply: ReplyTo<T>)` to answer later; any of them `async`,
/// any of them with `ctx: &mut Context<Self>`. `#[handle_call(local)]`: arguments and
/// reply need not be serializable (the call never leaves the node).
///
/// ```
/// use ergo::prelude::*;
///
/// struct Greeter;
///
/// #[actor]
/// impl Greeter {
///     #[handle_call]
///     fn greet(&mut self, name: String) -> String {
///         format!("hello, {name}")
///     }
///
///     // Answers later: the token may be moved anywhere, even to another process.
///     #[handle_call]
///     fn greet_later(&mut self, name: String, reply: ReplyTo<String>) {
///         reply.send(format!("hello later, {name}"));
///     }
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Node::builder("doc@127.0.0.1").start().await?;
/// let greeter = node.spawn(Greeter).await?;
/// assert_eq!(greeter.greet("ann".into()).await?, "hello, ann");
/// assert_eq!(greeter.greet_later("bob".into()).await?, "hello later, bob");
/// node.stop().await?;
/// # Ok(()) }
/// ```
///
/// Expands (inside `#[actor]`) to a `GreeterCall::Greet(String)` request variant, a
/// `GreeterReply::Greet(String)` reply variant, a dispatch arm, and
/// `GreeterHandle::greet(&self, name: String) -> Request<Greeter, String>`. Alone, it
/// is a compile error.
#[proc_macro_attribute]
pub fn handle_call(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_actor(Kind::Call, item)
}

/// Marks a cast handler: a request without a reply.
///
/// Only valid on a method of an [`macro@actor`] impl block. The handle gets a method of
/// the same name that queues the message and returns `Result<(), SendError<..>>` at
/// once. Forms: `fn f(&mut self, args..)` or `-> Result<(), E>` (an `Err` stops the
/// process with `Reason::Error`); may be `async`, may take `ctx: &mut Context<Self>`.
/// `#[handle_cast(local)]`: arguments need not be serializable.
///
/// ```
/// use ergo::prelude::*;
///
/// #[derive(Default)]
/// struct Log(Vec<String>);
///
/// #[actor]
/// impl Log {
///     #[handle_cast]
///     fn push(&mut self, line: String) {
///         self.0.push(line);
///     }
///
///     #[handle_cast]
///     fn quit(&mut self, ctx: &mut Context<Self>) {
///         ctx.stop(Reason::Normal);
///     }
///
///     #[handle_call]
///     fn len(&mut self) -> usize {
///         self.0.len()
///     }
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Node::builder("doc@127.0.0.1").start().await?;
/// let log = node.spawn(Log::default()).await?;
/// log.push("one".into())?;
/// assert_eq!(log.len().await?, 1);
/// let monitor = node.monitor(log.pid())?;
/// log.quit()?;
/// assert_eq!(monitor.down().await.reason, Reason::Normal);
/// node.stop().await?;
/// # Ok(()) }
/// ```
///
/// Expands (inside `#[actor]`) to a `LogMessage::Push(String)` variant, a dispatch
/// arm, and `LogHandle::push(&self, line: String) -> Result<(), SendError<LogMessage>>`.
/// Alone, it is a compile error.
#[proc_macro_attribute]
pub fn handle_cast(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_actor(Kind::Cast, item)
}

/// Marks an info handler: a plain message of one type, sent with `send` (by other
/// processes, timers, ...), or the runtime's `Down` (a monitor fired) or `Exit` (an exit
/// signal, while trapping exits).
///
/// Only valid on a method of an [`macro@actor`] impl block. Form:
/// `fn f(&mut self, msg: T)`, optionally with `ctx: &mut Context<Self>`, optionally
/// `async`, returning nothing or `Result<(), E>`. The actor implements `Handles<T>`, so
/// `actor_ref.send(value)` compiles only for types it handles. `T` must be serializable
/// unless the handler is `#[handle_info(local)]`.
///
/// ```
/// use ergo::prelude::*;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Tick(u32);
///
/// #[derive(Default)]
/// struct Watcher {
///     ticks: u32,
///     downs: u32,
/// }
///
/// #[actor]
/// impl Watcher {
///     #[handle_info]
///     fn tick(&mut self, msg: Tick) {
///         self.ticks += msg.0;
///     }
///
///     #[handle_info]
///     fn down(&mut self, _down: Down) {
///         self.downs += 1;
///     }
///
///     #[handle_call]
///     fn ticks(&mut self) -> u32 {
///         self.ticks
///     }
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Node::builder("doc@127.0.0.1").start().await?;
/// let watcher = node.spawn(Watcher::default()).await?;
/// watcher.send(Tick(2))?;
/// assert_eq!(watcher.ticks().await?, 2);
/// node.stop().await?;
/// # Ok(()) }
/// ```
///
/// Expands (inside `#[actor]`) to a `WatcherMessage::Tick(Tick)` variant,
/// `impl Handles<Tick> for Watcher`, a downcast in `message_from_any`, and for `Down`
/// an override of `Actor::handle_down`. Alone, it is a compile error.
#[proc_macro_attribute]
pub fn handle_info(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_actor(Kind::Info, item)
}

/// Marks the actor's init: it runs once inside spawn, before any message.
///
/// Only valid on a method of an [`macro@actor`] impl block; at most one per actor.
/// Form: `fn f(&mut self, args..)`, optionally with `ctx: &mut Context<Self>`,
/// optionally `async`, returning nothing or `Result<(), E>` with `E: Display` (an
/// `Err` fails the spawn with `SpawnError::Init(Reason::Error(..))`). Its arguments are
/// the actor's `Args`, given to `spawn_with`: none → `()`, one → that type, several →
/// a tuple.
///
/// ```
/// use ergo::prelude::*;
///
/// struct Account {
///     balance: u64,
/// }
///
/// #[actor]
/// impl Account {
///     #[init]
///     async fn open(&mut self, deposit: u64) -> Result<(), String> {
///         if deposit == 0 {
///             return Err("an account opens with a deposit".into());
///         }
///         self.balance = deposit;
///         Ok(())
///     }
///
///     #[handle_call]
///     fn balance(&mut self) -> u64 {
///         self.balance
///     }
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Node::builder("doc@127.0.0.1").start().await?;
/// let account = node.spawn_with(Account { balance: 0 }, 10, SpawnOptions::new()).await?;
/// assert_eq!(account.balance().await?, 10);
/// let failed = node.spawn_with(Account { balance: 0 }, 0, SpawnOptions::new()).await;
/// assert!(failed.is_err());
/// node.stop().await?;
/// # Ok(()) }
/// ```
///
/// Expands (inside `#[actor]`) to `type Args = u64;` and an `Actor::init` that calls
/// `open`, mapping `Err(e)` to `Reason::error(e)`. Alone, it is a compile error.
#[proc_macro_attribute]
pub fn init(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_actor(Kind::Init, item)
}

/// Marks the actor's terminate: it runs when the process ends, whatever the reason.
///
/// Only valid on a method of an [`macro@actor`] impl block; at most one per actor.
/// Form: `fn f(&mut self)`, optionally with `ctx: &mut Context<Self>` and
/// `reason: &Reason`; not async.
///
/// ```
/// use ergo::prelude::*;
///
/// struct Noisy;
///
/// #[actor]
/// impl Noisy {
///     #[handle_cast]
///     fn quit(&mut self, ctx: &mut Context<Self>) {
///         ctx.stop(Reason::Shutdown);
///     }
///
///     #[terminate]
///     fn bye(&mut self, reason: &Reason) {
///         println!("terminating: {reason}");
///     }
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Node::builder("doc@127.0.0.1").start().await?;
/// let noisy = node.spawn(Noisy).await?;
/// noisy.quit()?;
/// node.stop().await?;
/// # Ok(()) }
/// ```
///
/// Expands (inside `#[actor]`) to an `Actor::terminate` that calls `bye(reason)`.
/// Alone, it is a compile error.
#[proc_macro_attribute]
pub fn terminate(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_actor(Kind::Terminate, item)
}

/// Declares a supervision tree: a supervisor type with its strategy, restart intensity
/// and children, each child named, typed, and registered under its name.
///
/// ```text
/// supervisor! {
///     /// docs
///     pub Name: strategy(intensity = 5, period = 5s, auto_shutdown = any_significant) {
///         child_name: ActorType,                      // ActorType::default()
///         #[restart(transient)] cache: Cache = Cache::new(100),
///         #[args(42)] #[shutdown(500ms)] worker: Worker,  // init arguments
///         #[restart(temporary)] #[significant] job: Job,
///         nested: OtherSup,                           // a supervisor is a child too
///     }
/// }
/// ```
///
/// Strategies: `one_for_one`, `all_for_one`, `rest_for_one`, `simple_one_for_one`
/// (exactly one child: the template of instances started with `start_<child>(args)`).
/// Options (all optional): `intensity` (default 5), `period` (`500ms`, `5s`, `1m`;
/// default 5 s), `auto_shutdown` (`never`, `any_significant`, `all_significant`).
/// Child attributes: `#[restart(permanent | transient | temporary)]` (default
/// permanent), `#[significant]`, `#[shutdown(brutal_kill | infinity | 500ms)]`,
/// `#[args(expr)]` (init arguments; default `()`).
///
/// Generates `struct Name` (spawn `Name::new()`), its `Actor` impl, and `NameHandle`,
/// reached from `ActorRef<Name>` by `Deref`, with one accessor per child returning a
/// `ChildRef<ActorType>` that follows the child across restarts.
///
/// ```
/// use ergo::prelude::*;
///
/// #[derive(Default)]
/// pub struct Counter(u64);
///
/// #[actor]
/// impl Counter {
///     #[handle_call]
///     fn add(&mut self, n: u64) -> u64 {
///         self.0 += n;
///         self.0
///     }
/// }
///
/// supervisor! {
///     pub AppSup: one_for_one(intensity = 3, period = 10s) {
///         counter: Counter,
///     }
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Node::builder("doc@127.0.0.1").start().await?;
/// let sup = node.spawn(AppSup::new()).await?;
/// let counter = sup.counter(); // ChildRef<Counter>, checked at compile time
/// assert_eq!(counter.get()?.add(2).await?, 2);
/// sup.stop().await?;
/// node.stop().await?;
/// # Ok(()) }
/// ```
#[proc_macro]
pub fn supervisor(input: TokenStream) -> TokenStream {
    supervisor::expand(input.into()).into()
}
