"""Fairness options on top of the optimal assignment.

**Randomised assignment with a cap** (Jecmen et al., "Mitigating manipulation in peer review
via randomized reviewer assignments", NeurIPS 2020): no pair is assigned with probability
above q, so nobody can be sure to get (or to be given) a chosen proposal. Two steps:

1. the fractional problem: each pair at most q of a review, needs and loads as before,
   total affinity maximal. It is a min-cost flow with every quantity counted in
   ``UNITS`` (q = pair_cap/UNITS), solved and certified by the same solver;
2. an integral assignment drawn from it by dependent rounding on the bipartite graph
   (Gandhi, Khuller, Parthasarathy, Srinivasan, J. ACM 2006): along a cycle or a
   maximal path of fractional pairs, alternately add and remove the same amount, chosen
   at random so that each pair's expectation is unchanged. Each proposal keeps exactly
   its need (its fractional pairs sum to a whole number, so it is never a path's end),
   each reviewer ends at the floor or ceiling of their fractional load, and every pair's
   probability is its fractional share, at most q. All in integers, seeded: the same seed
   gives the same assignment.

The expected total affinity is the fractional optimum; its price is the difference to
the deterministic optimum.

**A floor for every proposal** (max-min fairness, in the spirit of the FairFlow and FairIR
solvers of the OpenReview matcher; Kobren, Saha, McCallum, KDD 2019). FairIR's floor is on
each proposal's *average* affinity, which makes the problem an integer program (NP-hard in
general; FairIR rounds a linear program and guarantees the floor only approximately). Here
the floor is the *bottleneck* one, which can be solved exactly and proved: the highest T
such that a valid assignment exists in which **every reviewer the solver chooses has
affinity at least T** with their proposal (so every proposal's average is at least T as
well), then the assignment of maximal total affinity among those. Pins are kept whatever
their affinity and do not count against the floor. Three steps:

1. the plain optimum (certified) gives a floor that is reached: its weakest pair;
2. a binary search over the distinct affinities of the solver's final graph, each a
   feasibility flow on the pairs at or above the threshold, finds the highest threshold
   that graph reaches (reached: a witness assignment exists);
3. the certified solver, with every pair below T+1 left out, proves that *no* assignment
   of the full problem reaches T+1 (its infeasibility proof covers every pair, pruned ones
   included); if one does after all, T rises to its weakest pair and the step repeats.
   Then the certified solver with the floor T gives the best total affinity at that
   floor. Affinities are compared as the scaled integers the solver uses.

The price of the floor is the plain optimum less that total.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from .candidates import DEFAULT_K, RESERVE, Candidates, top_candidates
from .flow import Solution, feasible_on, solve
from .problem import SCALE, AssignmentInfeasible, Instance, sorted_unique

UNITS = 100  # the cap is a whole percentage


@dataclass
class RandomisedAssignment:
    solution: Solution  # the sampled integral assignment (pairs, affinity, pinned, total)
    fractional: Solution  # the certified fractional optimum it was drawn from
    cap_percent: int
    seed: int

    @property
    def expected_total(self) -> float:
        """The expected total affinity of the draw (= the fractional optimum)."""
        return self.fractional.total / UNITS / SCALE

    @property
    def probabilities(self) -> dict[tuple[int, int], float]:
        f = self.fractional
        return {(int(i), int(j)): a / UNITS for (i, j), a in zip(f.pairs.tolist(), f.amount.tolist())}


def dependent_rounding(pairs: np.ndarray, amount: np.ndarray, units: int, rng) -> np.ndarray:
    """Round pair amounts (0..units) to 0 or units keeping each one's expectation and every
    node's sum where it is whole; returns the rounded amounts."""
    x = np.asarray(amount, dtype=np.int64).copy()
    nodes: dict[tuple[str, int], set[int]] = {}
    for e, (i, j) in enumerate(pairs.tolist()):
        if 0 < x[e] < units:
            nodes.setdefault(("p", i), set()).add(e)
            nodes.setdefault(("r", j), set()).add(e)

    def ends(e: int) -> tuple[tuple[str, int], tuple[str, int]]:
        return ("p", int(pairs[e, 0])), ("r", int(pairs[e, 1]))

    leaves = {v for v, es in nodes.items() if len(es) == 1}  # path ends

    def drop(e: int) -> None:
        for node in ends(e):
            nodes[node].discard(e)
            if not nodes[node]:
                del nodes[node]
                leaves.discard(node)
            elif len(nodes[node]) == 1:
                leaves.add(node)

    while nodes:
        # Start at the end of a path if there is one, else anywhere (there is a cycle).
        start = min(leaves) if leaves else next(iter(nodes))
        walk_nodes, walk_edges, seen = [start], [], {start: 0}
        node, came = start, None
        while True:
            options = [e for e in sorted(nodes.get(node, ())) if e != came]
            if not options:
                break  # a maximal path
            e = options[0]
            a, b = ends(e)
            nxt = b if a == node else a
            walk_edges.append(e)
            if nxt in seen:  # a cycle: keep only its edges
                walk_edges = walk_edges[seen[nxt]:]
                break
            seen[nxt] = len(walk_nodes)
            walk_nodes.append(nxt)
            node, came = nxt, e
        odd, even = walk_edges[0::2], walk_edges[1::2]
        alpha = min([units - x[e] for e in odd] + [x[e] for e in even])
        beta = min([x[e] for e in odd] + [units - x[e] for e in even])
        if rng.integers(0, alpha + beta) < beta:  # probability beta / (alpha + beta)
            x[odd] += alpha
            x[even] -= alpha
        else:
            x[odd] -= beta
            x[even] += beta
        for e in walk_edges:
            if x[e] in (0, units):
                drop(e)
    return x


def randomised(instance: Instance, cap_percent: int, seed: int, **options) -> RandomisedAssignment:
    """The certified fractional optimum with each pair at most cap_percent %, and one
    integral assignment drawn from it with this seed."""
    fractional = solve(instance, units=UNITS, pair_cap=int(cap_percent), **options)
    rng = np.random.default_rng(seed)
    rounded = dependent_rounding(fractional.pairs, fractional.amount, UNITS, rng)
    keep = rounded == UNITS
    pairs, affinity, pinned = fractional.pairs[keep], fractional.affinity[keep], fractional.pinned[keep]
    total = int(np.rint(affinity * SCALE).astype(np.int64).sum())
    drawn = Solution(pairs=pairs, affinity=affinity, pinned=pinned, total=total, dual_bound=total,
                     certified=False, rounds=fractional.rounds, arcs=fractional.arcs, phases=fractional.phases)
    return RandomisedAssignment(drawn, fractional, int(cap_percent), int(seed))


# --------------------------------------------------------------------------- the floor


@dataclass
class FloorAssignment:
    solution: Solution  # the best assignment whose chosen pairs all reach the floor
    plain: Solution  # the plain optimum, without the floor
    floor: int | None  # scaled; the highest floor a valid assignment reaches (None: nothing to choose)
    proved: bool  # the certified solver proved that no valid assignment reaches floor + 1
    probes: int = 0  # thresholds tried
    seconds: dict = field(default_factory=dict)

    @property
    def cost(self) -> int:
        """Total affinity (scaled) given up for the floor."""
        return self.plain.total - self.solution.total


def with_floor(instance: Instance, floor: int) -> Instance:
    """The same instance (its arrays shared, not copied) with pairs below ``floor`` left out."""
    floored = copy.copy(instance)
    floored.floor = int(floor)
    return floored


def without_groups(instance: Instance) -> Instance:
    """The same instance without its diversity constraint (to measure what it costs)."""
    plain = copy.copy(instance)
    plain.groups = None
    plain.group = np.full(instance.m, -1, dtype=np.int64)
    plain.n_groups = 0
    plain.group_blocked = type(instance.group_blocked)((instance.n, instance.m), dtype=bool)
    return plain


def shared_groups(solution: Solution, groups: np.ndarray) -> int:
    """How many proposals this assignment gives two reviewers (or more) of one group."""
    g = np.asarray(groups)[solution.pairs[:, 1]]
    mine = g >= 0
    keys = solution.pairs[mine, 0] * (int(g.max(initial=0)) + 1) + g[mine]
    unique, counts = np.unique(keys, return_counts=True)
    return len(sorted_unique(unique[counts > 1] // (int(g.max(initial=0)) + 1)))


def weakest_pair(solution: Solution) -> int | None:
    """The lowest scaled affinity among the pairs the solver chose (pins aside)."""
    free = solution.affinity[~solution.pinned]
    return int(np.rint(free * SCALE).astype(np.int64).min()) if len(free) else None


def worst_average(solution: Solution, n: int) -> float | None:
    """The lowest average affinity of a proposal's reviewers (pins included), for display."""
    if not len(solution.pairs):
        return None
    count = np.bincount(solution.pairs[:, 0], minlength=n)
    total = np.bincount(solution.pairs[:, 0], weights=solution.affinity, minlength=n)
    has = count > 0
    return float((total[has] / count[has]).min())


def floor_assignment(instance: Instance, candidates: Candidates | None = None, progress=None,
                     plain: Solution | None = None, step=None, **options) -> FloorAssignment:
    """The highest floor every chosen pair reaches, proved, and the best assignment at it.

    ``step(i)`` (optional) is called as each of its four steps begins: the plain optimum,
    the search, the proof, the best assignment at the floor."""

    def begin(i: int) -> None:
        if step is not None:
            step(i)

    def report(round_: int, fraction: float | None) -> None:
        if progress is not None:
            progress("floor", round_, fraction)

    seconds: dict[str, float] = {}
    if candidates is None:
        t0 = time.perf_counter()
        candidates = top_candidates(instance, options.get("k", DEFAULT_K) + options.get("reserve", RESERVE))
        seconds["candidates"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    begin(0)
    if plain is None:
        plain = solve(instance, candidates=candidates, progress=progress, **options)
    seconds["plain"] = time.perf_counter() - t0
    floor = weakest_pair(plain)
    if floor is None:
        return FloorAssignment(plain, plain, None, True, 0, seconds)
    # 2. The highest threshold the final graph reaches.
    t0 = time.perf_counter()
    begin(1)
    arc_p, arc_r, arc_a = plain.graph
    pin_count = np.bincount(instance.pin_pairs[:, 0], minlength=instance.n) if len(instance.pin_pairs) \
        else np.zeros(instance.n, np.int64)
    rest = instance.need - pin_count
    # No floor above any proposal's rest-th best candidate is possible.
    listed = np.where(rest > 0, np.take_along_axis(
        candidates.value, np.clip(rest - 1, 0, candidates.value.shape[1] - 1)[:, None], axis=1)[:, 0], -1)
    high = int(listed[rest > 0].min()) if (rest > 0).any() and (listed[rest > 0] >= 0).all() \
        else int(arc_a.max(initial=floor))
    values = sorted_unique(arc_a[(arc_a > floor) & (arc_a <= high)])
    probes = 0
    lo, hi = -1, len(values)  # values[:lo+1] reached, values[hi:] not reached on the graph
    poll = (lambda: report(probes, None)) if progress else None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        probes += 1
        report(probes, None)
        keep = arc_a >= values[mid]
        if feasible_on(instance, arc_p[keep], arc_r[keep], poll=poll):
            lo = mid
        else:
            hi = mid
    if lo >= 0:
        floor = int(values[lo])
    seconds["search"] = time.perf_counter() - t0
    # 3. Prove that no assignment of the full problem reaches floor + 1.
    t0 = time.perf_counter()
    begin(2)
    proved = False
    while not proved:
        probes += 1
        report(probes, None)
        above = with_floor(instance, floor + 1)
        try:
            better = solve(above, candidates=candidates.restricted(above), progress=progress, **options)
        except AssignmentInfeasible:
            proved = True
        else:  # the pruned graph missed it: rise to what was found, and try again
            floor = weakest_pair(better)
    seconds["proof"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    begin(3)
    at_floor = with_floor(instance, floor)
    solution = solve(at_floor, candidates=candidates.restricted(at_floor), progress=progress, **options)
    seconds["best_at_floor"] = time.perf_counter() - t0
    return FloorAssignment(solution, plain, floor, proved, probes, seconds)
