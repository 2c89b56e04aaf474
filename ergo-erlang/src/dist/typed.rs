//! Typed messages between ergo nodes over Erlang distribution: a typed `ActorRef` to a
//! Rust actor on another ergo node reached this way sends `{'$ergo_send', Priority,
//! <<Wire>>}` and calls with `{'$gen_call', From, {'$ergo_call', Priority, <<Wire>>}}`,
//! answered `{'$ergo_reply', <<Wire>>}` or `{'$ergo_error', Why}`; the payload is the
//! actor's own wire encoding, decoded by the target process as from the native network.

use std::sync::Arc;

use ergo_runtime::dist::{NetError, RemoteError};
use ergo_runtime::{Pid, Priority};

use crate::term::Term;

use super::Shared;

const SEND: &str = "$ergo_send";
const CALL: &str = "$ergo_call";
const REPLY: &str = "$ergo_reply";
const ERROR: &str = "$ergo_error";
/// A typed lookup, asked of the peer's `net_kernel`: `{'$ergo_lookup', Name}`.
pub(crate) const LOOKUP: &str = "$ergo_lookup";

fn priority_term(priority: Priority) -> Term {
    Term::Integer(match priority {
        Priority::Urgent => 0,
        Priority::High => 1,
        Priority::Normal => 2,
        Priority::Low => 3,
    })
}

fn priority_of(term: &Term) -> Priority {
    match term {
        Term::Integer(0) => Priority::Urgent,
        Term::Integer(1) => Priority::High,
        Term::Integer(3) => Priority::Low,
        _ => Priority::Normal,
    }
}

/// The message a typed send travels as.
pub(crate) fn send_term(priority: Priority, bytes: Vec<u8>) -> Term {
    Term::tuple([
        Term::atom(SEND),
        priority_term(priority),
        Term::Binary(bytes),
    ])
}

/// The request a typed call travels as.
pub(crate) fn call_term(priority: Priority, bytes: Vec<u8>) -> Term {
    Term::tuple([
        Term::atom(CALL),
        priority_term(priority),
        Term::Binary(bytes),
    ])
}

/// Delivers a typed send to `to` if `msg` is one; false if it is not.
pub(crate) fn deliver_send(shared: &Arc<Shared>, to: Pid, msg: &Term) -> bool {
    let Some([kind, priority, Term::Binary(bytes)]) = msg.as_tuple() else {
        return false;
    };
    if !kind.is_atom(SEND) {
        return false;
    }
    if let Err(e) = shared.dist.deliver_wire(to, bytes, priority_of(priority)) {
        tracing::debug!(%to, error = %e, "typed message over Erlang distribution refused");
    }
    true
}

/// Starts a typed call on `to` if `req` is one, the answer (a term) going to
/// `reply`; gives `reply` back if `req` is not a typed call.
pub(crate) fn deliver_call<R: FnOnce(Term) + Send + 'static>(
    shared: &Arc<Shared>,
    to: Pid,
    req: &Term,
    reply: R,
) -> Option<R> {
    let Some([kind, priority, Term::Binary(bytes)]) = req.as_tuple() else {
        return Some(reply);
    };
    if !kind.is_atom(CALL) {
        return Some(reply);
    }
    let reply = Arc::new(parking_lot::Mutex::new(Some(reply)));
    let answer = {
        let reply = reply.clone();
        Box::new(move |result: Result<Vec<u8>, RemoteError>| {
            if let Some(reply) = reply.lock().take() {
                reply(answer_term(result));
            }
        })
    };
    if let Err(e) = shared
        .dist
        .call_wire(to, bytes, priority_of(priority), answer)
    {
        if let Some(reply) = reply.lock().take() {
            reply(answer_term(Err(e)));
        }
    }
    None
}

fn answer_term(result: Result<Vec<u8>, RemoteError>) -> Term {
    match result {
        Ok(bytes) => Term::tuple([Term::atom(REPLY), Term::Binary(bytes)]),
        Err(e) => Term::tuple([Term::atom(ERROR), Term::atom(error_name(&e))]),
    }
}

fn error_name(e: &RemoteError) -> &'static str {
    match e {
        RemoteError::NoProcess => "noproc",
        RemoteError::MailboxFull => "mailbox_full",
        RemoteError::NoReply => "no_reply",
        _ => "rejected",
    }
}

/// The encoded reply in the answer to a typed call.
pub(crate) fn reply_bytes(answer: &Term) -> Result<Vec<u8>, NetError> {
    match answer.as_tuple() {
        Some([kind, Term::Binary(bytes)]) if kind.is_atom(REPLY) => Ok(bytes.clone()),
        Some([kind, why]) if kind.is_atom(ERROR) => Err(NetError::Remote(match why.as_atom() {
            Some("noproc") => RemoteError::NoProcess,
            Some("mailbox_full") => RemoteError::MailboxFull,
            Some("no_reply") => RemoteError::NoReply,
            _ => RemoteError::Rejected(format!("{why}")),
        })),
        _ => Err(NetError::Remote(RemoteError::Rejected(format!(
            "not a typed reply: {answer}"
        )))),
    }
}

/// The request of a typed lookup of `name`.
pub(crate) fn lookup_term(name: &str) -> Term {
    Term::tuple([Term::atom(LOOKUP), Term::atom(name)])
}

/// The answer to a typed lookup: `{Pid, <<ActorType>>}` or `undefined`.
pub(crate) fn found_term(shared: &Arc<Shared>, name: &Term) -> Term {
    let found = name
        .as_atom()
        .and_then(|name| shared.dist.lookup(ergo_runtime::Atom::new(name)));
    match found {
        Some((pid, kind)) => Term::tuple([
            Term::Pid(crate::term::ErlPid::from_pid(pid)),
            Term::binary(kind),
        ]),
        None => Term::atom("undefined"),
    }
}

/// The pid and actor type in the answer to a typed lookup.
pub(crate) fn found(answer: &Term) -> Result<Option<(Pid, String)>, NetError> {
    match answer.as_tuple() {
        Some([Term::Pid(pid), Term::Binary(kind)]) => Ok(Some((
            pid.to_pid(),
            String::from_utf8_lossy(kind).into_owned(),
        ))),
        _ if answer.is_atom("undefined") => Ok(None),
        _ => Err(NetError::Remote(RemoteError::Rejected(format!(
            "not a lookup answer: {answer}"
        )))),
    }
}
