# The Elixir client of tests/elixir.rs: the same code against the ergo node and the
# control Elixir node (names in argv), one `R <which> <answer>` line each, then DONE.
defmodule Client do
  def run(node) do
    hi = GenServer.call({:example, node}, :hi)
    sum = GenServer.call({:example, node}, {:add, 2, 40})
    :ok = GenServer.cast({:example, node}, {:note, "first"})
    :ok = GenServer.cast({:example, node}, {:note, "second"})
    notes = GenServer.call({:example, node}, :notes)
    listed = node in Node.list(:hidden) or node in Node.list()

    unknown =
      try do
        GenServer.call({:no_such_name, node}, :hi, 1000)
      catch
        :exit, {reason, _} -> {:exit, reason}
      end

    pid = GenServer.call({:example, node}, :spawn)
    ref = Process.monitor(pid)
    stop = GenServer.stop(pid, {:shutdown, :bye})
    down = receive do
      {:DOWN, ^ref, :process, ^pid, reason} -> reason
    after
      5000 -> :no_down
    end

    rpc =
      try do
        :erpc.call(node, :nomod, :nofun, [])
      catch
        kind, reason -> {kind, reason}
      end

    {hi, sum, notes, listed, unknown, is_pid(pid), stop, down, rpc}
  end
end

[rust, elixir] = System.argv() |> Enum.map(&String.to_atom/1)
IO.puts("R rust #{inspect(Client.run(rust))}")
IO.puts("R elixir #{inspect(Client.run(elixir))}")
IO.puts("DONE")
