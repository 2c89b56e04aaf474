%% The BEAM twin of the Rust `Twin` actor in tests/parity.rs, and the client scenarios
%% that run the same Erlang code against the ergo node and a control BEAM node.
%% Each scenario returns a term with no pid, reference or node name in it, so the two
%% answers can be compared as text.
-module(ergo_twin).
-behaviour(gen_server).
-export([start/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).
-export([run/4, run/5, start_d/1, start_pg/0, double/1, fail/1, worker/1]).

%% ---- the twin: a gen_server registered as `twin` ----

start() ->
    {ok, _} = gen_server:start({local, twin}, ?MODULE, [], []),
    start_pg().

%% What the ergo node exposes to rpc/erpc and spawn, the BEAM way.
double(X) -> 2 * X.
fail(X) -> error({bad, X}).
worker(Tag) ->
    receive
        {'$gen_call', From, ping} -> gen_server:reply(From, {pong, Tag}), worker(Tag)
    end.

%% The default pg scope, unless it runs.
start_pg() ->
    case whereis(pg) of
        undefined -> {ok, _} = pg:start(pg), ok;
        _ -> ok
    end.

init([]) -> {ok, []}.

handle_call(self_pid, _From, S) ->
    {reply, self(), S};
handle_call(fresh, _From, S) ->
    {ok, P} = gen_server:start(?MODULE, [], []),
    {reply, P, S};
handle_call({slow, Ms, X}, From, S) ->
    spawn(fun() -> timer:sleep(Ms), gen_server:reply(From, X) end),
    {noreply, S};
handle_call(crash, _From, S) ->
    erlang:error(boom),
    {reply, never, S};
handle_call({stop_with, R}, _From, S) ->
    {stop, R, S};
handle_call({link_to, P}, _From, S) ->
    process_flag(trap_exit, true),
    {reply, link(P), S};
handle_call({monitor_pid, P}, _From, S) ->
    erlang:monitor(process, P),
    {reply, true, S};
handle_call({monitor_name, Name, Node}, _From, S) ->
    erlang:monitor(process, {Name, Node}),
    {reply, true, S};
handle_call({send_name, Name, Node, Msg}, _From, S) ->
    {Name, Node} ! Msg,
    {reply, true, S};
handle_call({lock, R}, _From, S) ->
    {reply, global:set_lock({R, twin}, [node()], 0), S};
handle_call({unlock, R}, _From, S) ->
    {reply, global:del_lock({R, twin}, [node()]), S};
handle_call({global_register, Name}, _From, S) ->
    {reply, global:register_name(Name, self()), S};
handle_call({global_whereis, Name}, _From, S) ->
    {reply, global:whereis_name(Name), S};
handle_call({pg_join, G}, _From, S) ->
    {reply, pg:join(G, self()), S};
handle_call({pg_members, G}, _From, S) ->
    {reply, pg:get_members(G), S};
handle_call({echo, X}, _From, S) ->
    {reply, X, S};
handle_call(seen, _From, S) ->
    {reply, lists:reverse(S), S};
handle_call(Req, _From, S) ->
    {reply, Req, S}.

handle_cast({exit_with, R}, S) -> {stop, R, S};
handle_cast({exit_with_later, _}, S) -> {noreply, [{exit, later} | S]};
handle_cast(_, S) -> {noreply, S}.

handle_info({'EXIT', _, R}, S) -> {noreply, [{exit, R} | S]};
handle_info({'DOWN', _, process, _, R}, S) -> {noreply, [{down, R} | S]};
handle_info(_, S) -> {noreply, S}.

%% A process on a third node: registered as Name, dies with {bye, X} on {hello, X}.
start_d(Name) ->
    P = spawn(fun() -> receive {hello, X} -> exit({bye, X}) end end),
    true = register(Name, P),
    P.

%% ---- the client ----

%% Runs each scenario against the ergo node and the control node, printing
%% `S <scenario> rust <answer>` and `S <scenario> beam <answer>`, then `DONE`. Third is
%% a node neither is connected to (for auto-connect).
run(Scenarios, Rust, Beam, Third) ->
    run(Scenarios, Rust, Beam, Third, []).

%% Mesh: [E1, F1, E2, F2], visible nodes for the cluster scenarios (E1 and F1 join the
%% ergo node's cluster, E2 and F2 the control node's).
run(Scenarios, Rust, Beam, Third, Mesh) ->
    case Mesh of
        [E1, F1, E2, F2] -> persistent_term:put(mesh, #{Rust => {E1, F1}, Beam => {E2, F2}});
        _ -> ok
    end,
    process_flag(trap_exit, true),
    persistent_term:put(third, Third),
    [begin
         io:format("S ~s rust ~w~n", [Sc, catch scenario(Sc, Rust)]),
         io:format("S ~s beam ~w~n", [Sc, catch scenario(Sc, Beam)])
     end || Sc <- Scenarios],
    io:format("DONE~n", []).

%% Polls F until it returns true (bounded: 250 x 20 ms).
until(F) -> until(F, 250).
until(_, 0) -> timeout;
until(F, N) ->
    case F() of
        {true, V} -> V;
        false -> timer:sleep(20), until(F, N - 1)
    end.

wait_true(F) ->
    until(fun() -> case F() of true -> {true, true}; _ -> false end end).

call_exit(Pid, Req) ->
    Mon = erlang:monitor(process, Pid),
    R = (catch gen_server:call(Pid, Req, 5000)),
    Down = receive {'DOWN', Mon, process, Pid, DR} -> DR after 5000 -> no_down end,
    case R of
        {'EXIT', {Reason, {gen_server, call, _}}} -> {exit, Reason, Reason =:= Down};
        Other -> {returned, Other, Down}
    end.

seen(T, N) ->
    until(fun() ->
                  S = gen_server:call(T, seen),
                  case length(S) >= N of
                      true -> {true, lists:sort(S)};
                      false -> false
                  end
          end).

flush() -> receive _ -> flush() after 0 -> ok end.

scenario("alias", Node) ->
    Fast = gen_server:call({twin, Node}, {slow, 10, fast}),
    Late = case catch gen_server:call({twin, Node}, {slow, 300, late}, 50) of
               {'EXIT', {timeout, _}} -> timeout;
               Other -> {returned, Other}
           end,
    timer:sleep(600),
    Stray = receive M -> {stray, M} after 0 -> none end,
    {Fast, Late, Stray};
scenario("crash", Node) ->
    T = gen_server:call({twin, Node}, fresh),
    {exit, _, Same} = call_exit(T, crash),
    Same;
scenario("stop_in_call", Node) ->
    [call_exit(gen_server:call({twin, Node}, fresh), {stop_with, R})
     || R <- [normal, shutdown, {shutdown, tcp_closed}, {bad, #{code => 1}}]];
scenario("reasons_to_erlang", Node) ->
    [begin
         T = gen_server:call({twin, Node}, fresh),
         link(T),
         Mon = erlang:monitor(process, T),
         gen_server:cast(T, {exit_with, R}),
         E = receive {'EXIT', T, ER} -> ER after 5000 -> no_exit end,
         D = receive {'DOWN', Mon, process, T, DR} -> DR after 5000 -> no_down end,
         {E, D}
     end || R <- [normal, shutdown, {shutdown, tcp_closed}, {bad, #{code => 1}},
                  "text", boom]];
scenario("killed", Node) ->
    T = gen_server:call({twin, Node}, fresh),
    link(T),
    Mon = erlang:monitor(process, T),
    exit(T, kill),
    E = receive {'EXIT', T, ER} -> ER after 5000 -> no_exit end,
    D = receive {'DOWN', Mon, process, T, DR} -> DR after 5000 -> no_down end,
    {E, D};
scenario("reasons_from_erlang", Node) ->
    [begin
         T = gen_server:call({twin, Node}, fresh),
         P = spawn(fun() -> receive {die, Why} -> exit(Why) end end),
         true = gen_server:call(T, {link_to, P}),
         true = gen_server:call(T, {monitor_pid, P}),
         P ! {die, R},
         seen(T, 2)
     end || R <- [normal, shutdown, {shutdown, tcp_closed}, {bad, #{code => 1}},
                  "text", boom, {panic, <<"oops">>}]];
scenario("rpc", Node) ->
    {rpc:call(Node, nomod, nofun, [1]), rpc:call(Node, nomod, nofun, [], 5000),
     try erpc:call(Node, nomod, nofun, [1]) catch C:R -> {C, R} end};
scenario("sys", Node) ->
    T = gen_server:call({twin, Node}, fresh),
    P = spawn(fun() -> receive _ -> ok end end),
    %% A system message is handled in order with the messages before it.
    gen_server:cast(T, {exit_with_later, P}),
    State = case catch sys:get_state(T) of
                {'EXIT', E} -> {exit, E};
                S when is_binary(S) -> binary:match(S, <<"exit">>) =/= nomatch;
                S -> lists:member({exit, later}, S)
            end,
    %% The state as a term (the Rust twin implements StateTerm).
    StateIsTerm = is_list(sys:get_state(T)),
    {status, SP, {module, Mod}, [_, SysState, _, _, Misc]} = sys:get_status(T),
    Suspend = sys:suspend(T),
    {status, _, _, [_, SysState2 | _]} = sys:get_status(T),
    WhileSuspended = case catch gen_server:call(T, self_pid, 100) of
                         {'EXIT', {timeout, _}} -> timeout;
                         O -> {answered, O}
                     end,
    Resume = sys:resume(T),
    After = gen_server:call(T, self_pid) =:= T,
    Stray = receive M -> {stray, M} after 0 -> none end,
    Mon = erlang:monitor(process, T),
    Stop = gen_server:stop(T),
    D1 = receive {'DOWN', Mon, process, T, R1} -> R1 after 5000 -> no_down end,
    T2 = gen_server:call({twin, Node}, fresh),
    Mon2 = erlang:monitor(process, T2),
    Stop2 = gen_server:stop(T2, {shutdown, bye}, infinity),
    D2 = receive {'DOWN', Mon2, process, T2, R2} -> R2 after 5000 -> no_down end,
    Gone = (catch gen_server:stop(T2)),
    {State, StateIsTerm, SP =:= T, Mod, SysState, is_list(Misc), Suspend, SysState2, WhileSuspended,
     Resume, After, Stray, Stop, D1, Stop2, D2, Gone};
scenario("global", Node) ->
    {E, F} = maps:get(Node, persistent_term:get(mesh)),
    %% A name registered on E and on the node before they meet: a conflict. The node
    %% that sorts first resolves it (here the node: E's name sorts last), keeping the
    %% process on the node that sorts first and killing the other.
    Pc = rpc:call(E, erlang, spawn, [timer, sleep, [infinity]]),
    yes = rpc:call(E, global, register_name, [{c, Node}, Pc]),
    Tc = gen_server:call({twin, Node}, fresh),
    yes = gen_server:call(Tc, {global_register, {c, Node}}),
    McE = erlang:monitor(process, Pc),
    McT = erlang:monitor(process, Tc),
    %% E joins the node's cluster: global:sync/0 returns on E.
    true = rpc:call(E, net_kernel, connect_node, [Node]),
    SyncE = rpc:call(E, global, sync, [], 10000),
    {Kept, Killed, KilledM} = case node(Pc) < node(Tc) of
                                  true -> {Pc, Tc, McT};
                                  false -> {Tc, Pc, McE}
                              end,
    KeptOnE = until(fun() -> case rpc:call(E, global, whereis_name, [{c, Node}]) of
                                 Kept -> {true, true};
                                 _ -> false
                             end end),
    KeptOnNode = until(fun() -> case gen_server:call({twin, Node}, {global_whereis, {c, Node}}) of
                                    Kept -> {true, true};
                                    _ -> false
                                end end),
    KilledWhy = receive {'DOWN', KilledM, process, Killed, Why} -> Why after 10000 -> alive end,
    Conflict = {KeptOnE, KeptOnNode, KilledWhy},
    %% A name registered on E resolves on the node, and one the node registers on E.
    Pe = rpc:call(E, erlang, spawn, [timer, sleep, [infinity]]),
    RegE = rpc:call(E, global, register_name, [{e, Node}, Pe]),
    SeenOnNode = until(fun() -> case gen_server:call({twin, Node}, {global_whereis, {e, Node}}) of
                                   Pe -> {true, true};
                                   _ -> false
                               end end),
    T = gen_server:call({twin, Node}, fresh),
    RegNode = gen_server:call(T, {global_register, {t, Node}}),
    Again = gen_server:call(T, {global_register, {e, Node}}),
    SeenOnE = rpc:call(E, global, whereis_name, [{t, Node}]) =:= T,
    %% F connects to E only: it is meshed with the node, and sees its names.
    true = rpc:call(F, net_kernel, connect_node, [E]),
    SyncF = rpc:call(F, global, sync, [], 10000),
    Meshed = wait_true(fun() -> lists:member(Node, rpc:call(F, erlang, nodes, [])) end),
    SyncF2 = rpc:call(F, global, sync, [], 10000),
    SeenOnF = rpc:call(F, global, whereis_name, [{t, Node}]) =:= T,
    Pf = rpc:call(F, erlang, spawn, [timer, sleep, [infinity]]),
    RegF = rpc:call(F, global, register_name, [{f, Node}, Pf]),
    SeenFOnNode = until(fun() -> case gen_server:call({twin, Node}, {global_whereis, {f, Node}}) of
                                     Pf -> {true, true};
                                     _ -> false
                                 end end),
    %% A name goes when its process ends, on both sides.
    exit(T, kill),
    Gone = wait_true(fun() -> rpc:call(F, global, whereis_name, [{t, Node}]) =:= undefined end),
    exit(Pf, kill),
    GoneF = wait_true(fun() -> gen_server:call({twin, Node}, {global_whereis, {f, Node}}) =:= undefined end),
    {SyncE, Conflict, RegE, SeenOnNode, RegNode, Again, SeenOnE, SyncF, Meshed, SyncF2, SeenOnF,
     RegF, SeenFOnNode, Gone, GoneF};
scenario("locks", Node) ->
    Me = self(),
    %% global:set_lock from another process of this node, with 0 retries.
    Try = fun(Id) ->
                  P = spawn(fun() -> Me ! {self(), global:set_lock(Id, [Node], 0)} end),
                  receive {P, R} -> R after 15000 -> timeout end
          end,
    Id = {res, Me},
    Locked = global:set_lock(Id, [Node], 0),
    Refused = Try({res, other}),
    SameRequester = Try(Id),
    Deleted = global:del_lock(Id, [Node]),
    %% The holders that ended released their holds: another requester gets the lock.
    Freed = until(fun() -> case global:set_lock({res, third}, [Node], 0) of
                               true -> {true, true};
                               false -> false
                           end end),
    true = global:del_lock({res, third}, [Node]),
    %% A lock the node itself takes (from Rust: Distribution::set_lock).
    ByNode = gen_server:call({twin, Node}, {lock, res2}),
    HeldByNode = global:set_lock({res2, client}, [Node], 0),
    Unlocked = gen_server:call({twin, Node}, {unlock, res2}),
    AfterUnlock = global:set_lock({res2, client}, [Node], 0),
    true = global:del_lock({res2, client}, [Node]),
    Trans = global:trans({res3, Me}, fun() -> in_trans end, [Node], 0),
    {Locked, Refused, SameRequester, Deleted, Freed, ByNode, HeldByNode, Unlocked, AfterUnlock,
     Trans};
scenario("pg", Node) ->
    {E, _} = maps:get(Node, persistent_term:get(mesh)),
    ok = rpc:call(E, ergo_twin, start_pg, []),
    true = rpc:call(E, net_kernel, connect_node, [Node]),
    T = gen_server:call({twin, Node}, fresh),
    Join = gen_server:call(T, {pg_join, grp}),
    Pe = rpc:call(E, erlang, spawn, [timer, sleep, [infinity]]),
    JoinE = rpc:call(E, pg, join, [grp, Pe]),
    Both = lists:sort([T, Pe]),
    Members = fun(Want) ->
                      {wait_true(fun() -> lists:sort(rpc:call(E, pg, get_members, [grp])) =:= Want end),
                       wait_true(fun() -> lists:sort(gen_server:call({twin, Node}, {pg_members, grp})) =:= Want end)}
              end,
    Joined = Members(Both),
    exit(Pe, kill),
    AfterE = Members([T]),
    exit(T, kill),
    AfterT = Members([]),
    {Join, JoinE, Joined, AfterE, AfterT};
scenario("fragments", Node) ->
    %% Over the 64 MiB frame limit both ways. The first call goes while the client
    %% is still connecting (a BEAM node sends what it queued then whole, not in
    %% fragments); the second on the connection that is up, in fragments.
    Big = binary:copy(<<"0123456789abcdef">>, (70 bsl 20) div 16),
    Back = gen_server:call({twin, Node}, {echo, {Big, [Big]}}, 60000),
    Small = gen_server:call({twin, Node}, {echo, small}),
    Back2 = gen_server:call({twin, Node}, {echo, Big}, 60000),
    %% Under the limit, binaries large enough to be written from where they are.
    Mid = binary:copy(<<"0123456789abcdef">>, 100000 div 16),
    Term = {Mid, [Mid, small], #{Mid => Mid, k => Mid}},
    Back3 = gen_server:call({twin, Node}, {echo, Term}),
    {Small, byte_size(Big), Back =:= {Big, [Big]}, Back2 =:= Big, Back3 =:= Term};
scenario("exposed", Node) ->
    Rpc = rpc:call(Node, ergo_twin, double, [21]),
    Erpc = erpc:call(Node, ergo_twin, double, [21]),
    RpcFail = case rpc:call(Node, ergo_twin, fail, [1]) of
                  {badrpc, {'EXIT', {R, _Stack}}} -> {badrpc, R};
                  O -> O
              end,
    ErpcFail = try erpc:call(Node, ergo_twin, fail, [1]) catch C:{exception, E, _} -> {C, E} end,
    P = spawn(Node, ergo_twin, worker, [w1]),
    Pong = gen_server:call(P, ping),
    Mon = erlang:monitor(process, P),
    exit(P, kill),
    Down = receive {'DOWN', Mon, process, P, DR} -> DR after 5000 -> no_down end,
    L = spawn_link(Node, ergo_twin, worker, [w2]),
    Pong2 = gen_server:call(L, ping),
    exit(L, kill),
    LinkExit = receive {'EXIT', L, LR} -> LR after 5000 -> no_exit end,
    {Rpc, Erpc, RpcFail, ErpcFail, is_pid(P), node(P) =:= Node, Pong, Down, Pong2, LinkExit};
scenario("auto_connect", Node) ->
    D = persistent_term:get(third),
    Name = list_to_atom("d_" ++ atom_to_list(Node)),
    P = rpc:call(D, ergo_twin, start_d, [Name]),
    T = gen_server:call({twin, Node}, fresh),
    true = gen_server:call(T, {monitor_name, Name, D}),
    true = gen_server:call(T, {link_to, P}),
    true = gen_server:call(T, {send_name, Name, D, {hello, 1}}),
    flush(),
    seen(T, 2).
