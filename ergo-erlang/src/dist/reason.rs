//! Exit reasons between ergo ([`Reason`]) and Erlang (terms).

use ergo_runtime::{ForeignReason, Reason};

use crate::term::Term;

/// Text that reads as a plain Erlang atom (`boom`, `my_error`).
fn plain_atom(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The Erlang reason for an ergo one. A process that died of `Kill` is `killed`, as in
/// Erlang; `Panic(m)` is `{panic, <<m>>}`; `Error(e)` is the atom `e` when it reads as
/// one, else `{error, <<e>>}`; a [`Reason::Foreign`] term is the term itself.
pub fn reason_to_term(reason: &Reason) -> Term {
    match reason {
        Reason::Normal => Term::atom("normal"),
        Reason::Shutdown | Reason::MaxRestartIntensity => Term::atom("shutdown"),
        Reason::Kill => Term::atom("killed"),
        Reason::NoProcess => Term::atom("noproc"),
        Reason::NoConnection => Term::atom("noconnection"),
        Reason::Timeout => Term::atom("timeout"),
        Reason::Panic(m) => Term::tuple([Term::atom("panic"), Term::binary(m)]),
        Reason::Error(e) if plain_atom(e) => Term::atom(e),
        Reason::Error(e) => Term::tuple([Term::atom("error"), Term::binary(e)]),
        Reason::Foreign(f) => match crate::etf::decode(&f.encoded) {
            Ok(term) => term,
            // Not a term (another runtime's encoding): its text.
            Err(_) => Term::tuple([Term::atom("error"), Term::binary(&f.text)]),
        },
    }
}

/// The ergo reason for an Erlang one. `kill` becomes the untrappable [`Reason::Kill`]
/// only when `untrappable` (an `exit(Pid, kill)`), never for a link that broke. A term
/// with no ergo counterpart (`{shutdown, tcp_closed}`, `{bad, #{code => 1}}`) is kept
/// whole as a [`Reason::Foreign`], so it reaches Erlang again unchanged.
pub fn term_to_reason(term: &Term, untrappable: bool) -> Reason {
    match term.as_atom() {
        Some("normal") => Reason::Normal,
        Some("shutdown") => Reason::Shutdown,
        Some("kill") if untrappable => Reason::Kill,
        Some("noproc") => Reason::NoProcess,
        Some("noconnection") => Reason::NoConnection,
        Some("timeout") => Reason::Timeout,
        Some(other) => Reason::Error(other.to_owned()),
        None => match term.as_tuple() {
            Some([tag, Term::Binary(m)]) if tag.is_atom("panic") => {
                Reason::Panic(String::from_utf8_lossy(m).into_owned())
            }
            Some([tag, Term::Binary(m)])
                if tag.is_atom("error") && std::str::from_utf8(m).is_ok_and(|t| !plain_atom(t)) =>
            {
                Reason::Error(String::from_utf8_lossy(m).into_owned())
            }
            _ => foreign(term),
        },
    }
}

/// A term as a [`Reason::Foreign`].
pub fn foreign(term: &Term) -> Reason {
    let shutdown = matches!(term.as_tuple(), Some([tag, _]) if tag.is_atom("shutdown"));
    match crate::etf::encode(term) {
        Ok(encoded) => Reason::Foreign(Box::new(ForeignReason {
            text: term.to_string(),
            encoded,
            shutdown,
        })),
        Err(_) => Reason::Error(term.to_string()),
    }
}

impl From<Term> for Reason {
    /// The ergo reason for an Erlang term (as [`term_to_reason`] for a link exit):
    /// `ctx.stop(Reason::from(term))` exits with that term as Erlang sees it.
    fn from(term: Term) -> Reason {
        term_to_reason(&term, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for r in [
            Reason::Normal,
            Reason::Shutdown,
            Reason::NoProcess,
            Reason::NoConnection,
            Reason::Timeout,
            Reason::Panic("oops".into()),
            Reason::Error("boom".into()),
            Reason::Error("not an atom!".into()),
            foreign(&Term::tuple([
                Term::atom("shutdown"),
                Term::atom("tcp_closed"),
            ])),
            foreign(&Term::tuple([
                Term::atom("bad"),
                Term::Map(vec![(Term::atom("code"), Term::Integer(1))]),
            ])),
        ] {
            assert_eq!(term_to_reason(&reason_to_term(&r), false), r);
        }
        assert_eq!(reason_to_term(&Reason::Kill), Term::atom("killed"));
        assert_eq!(term_to_reason(&Term::atom("kill"), true), Reason::Kill);
        assert_eq!(
            term_to_reason(&Term::atom("kill"), false),
            Reason::Error("kill".into())
        );
        let shut = term_to_reason(
            &Term::tuple([Term::atom("shutdown"), Term::atom("tcp_closed")]),
            false,
        );
        assert!(!shut.is_failure());
        assert_eq!(shut.to_string(), "{shutdown,tcp_closed}");
        // `{error, <<"boom">>}` stays that term (the atom `boom` is `Error("boom")`).
        let t = Term::tuple([Term::atom("error"), Term::binary("boom")]);
        assert_eq!(reason_to_term(&term_to_reason(&t, false)), t);
    }
}
