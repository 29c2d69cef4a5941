"""One min-cost flow solve that the caller can stop within a second.

OR-Tools holds the interpreter lock for the whole solve (several seconds on a national
call), so nothing in the process can look at a cancel flag meanwhile. With a ``poll``
callable the solve runs in a forked child (copy-on-write: the arc arrays are not copied)
and the parent calls ``poll()`` every half second while it waits; if ``poll`` raises, the
child is killed and the exception goes on. Without ``poll`` it runs in the process."""
from __future__ import annotations

import os
import select
import signal

import numpy as np

POLL_SECONDS = 0.5


def _solve_here(tails, heads, caps, costs, supplies) -> tuple[bool, np.ndarray]:
    from ortools.graph.python import min_cost_flow

    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    flow.set_nodes_supplies(np.arange(len(supplies)), supplies)
    optimal = flow.solve() == flow.OPTIMAL
    x = flow.flows(np.arange(len(tails))) if optimal else np.zeros(0, np.int64)
    return optimal, np.asarray(x, dtype=np.int64)


def min_cost_flow(tails, heads, caps, costs, supplies, poll=None, interval: float = POLL_SECONDS) -> tuple[bool, np.ndarray]:
    """(optimal?, flow on each arc)."""
    if poll is None:
        return _solve_here(tails, heads, caps, costs, supplies)
    import ortools.graph.python.min_cost_flow  # noqa: F401  (imported before the fork, not in the child)

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: solve, send the answer, leave without any cleanup
        code = 1
        try:
            os.close(read_end)
            optimal, x = _solve_here(tails, heads, caps, costs, supplies)
            data = memoryview(bytes([optimal]) + x.tobytes())
            while data:
                data = data[os.write(write_end, data):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    try:
        while True:
            ready, _w, _x = select.select([read_end], [], [], interval)
            if ready:
                chunk = os.read(read_end, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
            else:
                poll()
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(read_end)
        _pid, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if not data or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        raise RuntimeError("the min-cost flow solver stopped without an answer")
    return bool(data[0]), np.frombuffer(data, dtype=np.int64, offset=1).copy()
