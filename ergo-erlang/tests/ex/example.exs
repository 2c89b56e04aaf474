# The control node of tests/elixir.rs: an Elixir GenServer registered as :example, the
# twin of the Rust `Example` actor.
defmodule Example do
  use GenServer

  @impl true
  def init(_), do: {:ok, []}

  @impl true
  def handle_call(:hi, _from, s), do: {:reply, :hello, s}
  def handle_call({:add, a, b}, _from, s), do: {:reply, a + b, s}
  def handle_call(:notes, _from, s), do: {:reply, Enum.reverse(s), s}
  def handle_call(:spawn, _from, s) do
    {:ok, pid} = GenServer.start(Example, [])
    {:reply, pid, s}
  end

  @impl true
  def handle_cast({:note, x}, s), do: {:noreply, [x | s]}
end

{:ok, _} = GenServer.start(Example, [], name: :example)
IO.puts("READY")
Process.sleep(:infinity)
