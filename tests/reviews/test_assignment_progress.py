"""The solver reports its phases as it goes and stops, inside a phase too, when the
progress callback raises (which is how a cancelled job stops)."""
from __future__ import annotations

import os

import numpy as np
import pytest

from cfp.reviews.assignment import DenseAffinity, Instance, solve
from cfp.reviews.assignment.mcf import min_cost_flow


class Stop(Exception):
    pass


def instance(n=2500, m=800, seed=3):
    rng = np.random.default_rng(seed)
    return Instance(DenseAffinity(rng.random((n, m)) ** 4), need=3, max_load=12,
                    conflicts=np.stack([rng.integers(0, n, 500), rng.integers(0, m, 500)], axis=1))


def children() -> list[str]:
    pid = os.getpid()
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return listing.read().split()


def test_progress_goes_through_the_phases_and_changes_nothing():
    calls = []
    with_progress = solve(instance(), progress=lambda *args: calls.append(args))
    plain = solve(instance())
    assert with_progress.certified and with_progress.gap == 0
    assert with_progress.total == plain.total
    phases = [c[0] for c in calls]
    assert phases[0] == "candidates" and "flow" in phases and "certificate" in phases
    # Candidates first (one report per block of proposals, growing), then the rounds.
    candidates = [c[2] for c in calls if c[0] == "candidates"]
    assert len(candidates) >= 3 and candidates == sorted(candidates) and candidates[-1] == 1.0
    assert phases.index("flow") > max(i for i, p in enumerate(phases) if p == "candidates")
    rounds = [c[1] for c in calls if c[0] != "candidates"]
    assert rounds == sorted(rounds) and rounds[-1] == with_progress.rounds
    for name in ("candidates", "flow", "certificate"):
        assert with_progress.phases[name] > 0 and name in with_progress.phases["peak_mib"]


@pytest.mark.parametrize("phase", ["candidates", "flow", "certificate"])
def test_a_raise_stops_the_solve_inside_that_phase(phase):
    seen = []

    def progress(name, round_, fraction):
        seen.append(name)
        if name == phase and (phase != "candidates" or fraction):
            raise Stop

    before = children()  # processes of other tests (a session's worker) are not the solve's
    with pytest.raises(Stop):
        solve(instance(), progress=progress)
    assert seen[-1] == phase and children() == before


def test_the_flow_solve_is_stopped_while_it_runs():
    """The solve runs in a child process; the parent polls while it waits and kills the
    child when the poll raises: nothing is left behind."""
    rng = np.random.default_rng(0)
    n, m, k = 20_000, 6_000, 20
    tails = np.r_[np.repeat(np.arange(n), k), n + np.arange(m)]
    heads = np.r_[n + rng.integers(0, m, n * k), np.full(m, n + m)]
    caps = np.r_[np.ones(n * k, np.int64), np.full(m, 8)]
    costs = np.r_[-rng.integers(0, 10**6, n * k), np.zeros(m, np.int64)]
    supplies = np.r_[np.full(n, 2), np.zeros(m, np.int64), [-2 * n]]
    polls = []

    def poll():
        polls.append(1)
        raise Stop

    before = children()  # processes of other tests (a session's worker) are not the solve's
    with pytest.raises(Stop):
        min_cost_flow(tails, heads, caps, costs, supplies, poll=poll, interval=0)
    assert polls == [1] and children() == before
    optimal, alone = min_cost_flow(tails, heads, caps, costs, supplies)
    optimal_forked, forked = min_cost_flow(tails, heads, caps, costs, supplies, poll=lambda: None)
    assert optimal and optimal_forked and (alone * costs).sum() == (forked * costs).sum()
