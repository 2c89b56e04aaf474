%% A gen_server and helpers for ergo-erlang's tests: started on a real OTP node.
-module(ergo_test).
-behaviour(gen_server).
-export([start/0, init/1, handle_call/3, handle_cast/2, handle_info/2, say/2, wait_forever/0]).

say(Fmt, Args) -> io:format(Fmt ++ "~n", Args).

start() -> gen_server:start({local, erl_server}, ?MODULE, [], []).

init([]) -> {ok, #{}}.

handle_call({add, A, B}, _From, S) -> {reply, A + B, S};
handle_call(self_pid, _From, S) -> {reply, self(), S};
handle_call(halt_node, _From, _S) -> erlang:halt(0);
handle_call(Req, _From, S) -> {reply, Req, S}.

handle_cast(Msg, S) -> say("CAST ~w", [Msg]), {noreply, S}.

handle_info(Msg, S) -> say("INFO ~w", [Msg]), {noreply, S}.

wait_forever() -> receive after infinity -> ok end.
