//! The supervisor behaviour, generic over the actor type holding the state: the
//! `Actor` methods of [`Supervisor`](crate::supervisor::Supervisor) and of every type
//! `supervisor!` generates call these.

use crate::supervisor::message::{Op, SupervisorMessage, SupervisorRequest};
use crate::supervisor::state::Here;
use crate::supervisor::SupervisorActor;
use ergo_runtime::Context;
use ergo_runtime::Step;
use ergo_runtime::{Exit, Reason};

fn here<S: SupervisorActor>(ctx: &Context<S>) -> Here {
    Here {
        node: ctx.node().clone(),
        me: ctx.pid(),
    }
}

/// `Actor::init`: traps exits and starts the children in order. A child that fails to
/// start stops the ones already started and fails the supervisor's spawn.
pub async fn init<S: SupervisorActor>(actor: &mut S, ctx: &mut Context<S>) -> Result<(), Reason> {
    ctx.trap_exit(true);
    let here = here(ctx);
    actor
        .supervisor_state()
        .start(&here)
        .await
        .map_err(Reason::error)
}

/// `Actor::handle_message`.
pub fn handle_message<S: SupervisorActor>(
    actor: &mut S,
    ctx: &mut Context<S>,
    msg: SupervisorMessage,
) -> Step<S> {
    let op = match msg {
        SupervisorMessage::Shutdown => {
            return Step::run_async(|mut actor: S, mut ctx: Context<S>| async move {
                actor.supervisor_state().stop_all(&here(&ctx)).await;
                ctx.stop(Reason::Shutdown);
                (actor, ctx)
            })
        }
        SupervisorMessage::Request(SupervisorRequest(op)) => op,
    };
    match op {
        Op::Inspect(f) => {
            f(actor.supervisor_state(), ctx.node());
            Step::Continue
        }
        Op::Delete(id, answer) => {
            let _ = answer.send(actor.supervisor_state().delete_child(id));
            Step::Continue
        }
        op => Step::run_async(|mut actor: S, mut ctx: Context<S>| async move {
            let here = here(&ctx);
            let state = actor.supervisor_state();
            match op {
                Op::StartChild(spec, answer) => {
                    let _ = answer.send(state.add_child(&here, spec).await);
                }
                Op::StartInstance(args, answer) => {
                    let _ = answer.send(state.start_instance(&here, args).await);
                }
                Op::Terminate(key, answer) => {
                    let _ = answer.send(state.terminate_child(&here, key).await);
                }
                Op::Restart(id, answer) => {
                    let _ = answer.send(state.restart_child(&here, id).await);
                }
                Op::Stop(reason, answer) => {
                    state.stop_all(&here).await;
                    let _ = answer.send(Ok(()));
                    ctx.stop(reason);
                }
                Op::Inspect(_) | Op::Delete(..) => unreachable!("handled synchronously"),
            }
            (actor, ctx)
        }),
    }
}

/// `Actor::handle_exit`: a child's exit drives the strategy; other exits are ignored
/// (an exit from the parent never gets here: it terminates the supervisor).
pub fn handle_exit<S: SupervisorActor>(
    actor: &mut S,
    _ctx: &mut Context<S>,
    exit: Exit,
) -> Step<S> {
    if !actor.supervisor_state().is_child(exit.from) {
        tracing::debug!(from = %exit.from, reason = %exit.reason, "supervisor: exit from a non-child ignored");
        return Step::Continue;
    }
    Step::run_async(|mut actor: S, mut ctx: Context<S>| async move {
        let here = here(&ctx);
        if let Some(reason) = actor.supervisor_state().on_exit(&here, exit).await {
            ctx.stop(reason);
        }
        (actor, ctx)
    })
}

/// `Actor::terminate`: logs. An orderly stop has stopped the children already; an
/// abrupt one (killed, or an exit from the parent) leaves them to their links.
pub fn terminate<S: SupervisorActor>(_actor: &mut S, ctx: &mut Context<S>, reason: &Reason) {
    tracing::debug!(pid = %ctx.pid(), %reason, "supervisor terminated");
}
