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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .flow import Solution, solve
from .problem import SCALE, Instance

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
