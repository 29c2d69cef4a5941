"""The solver: min-cost flow on the pruned graph, certified over every pair."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace

import numpy as np
from flask_babel import gettext as _
from scipy import sparse

from .candidates import (
    DEFAULT_K,
    PER_ROW,
    RESERVE,
    Candidates,
    _in_order,
    _spare_arcs,
    _split,
    top_candidates,
)
from .mcf import min_cost_flow
from .problem import (
    BLOCK,
    SCALE,
    AssignmentInfeasible,
    Instance,
    Reason,
    diagnose,
    scaled,
    sorted_unique,
)


@dataclass
class Solution:
    pairs: np.ndarray  # p × 2 (proposal, reviewer), pins included
    affinity: np.ndarray  # p, float (scaled back)
    pinned: np.ndarray  # p, bool
    total: int  # scaled total affinity (pins included)
    dual_bound: int  # scaled upper bound on the total from the certificate
    certified: bool
    rounds: int
    arcs: int
    phases: dict = field(default_factory=dict)  # seconds per phase of the solve
    # The fractional problem (solve with units > 1): each pair's share, out of `units`;
    # totals are then in SCALE/units.
    amount: np.ndarray | None = None
    units: int = 1
    # The final graph's pairs (proposal, reviewer, scaled affinity): the floor's search
    # looks for thresholds on it before proving them over every pair.
    graph: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def gap(self) -> int:
        return self.dual_bound - self.total

def _potentials(num_nodes: int, tail: np.ndarray, head: np.ndarray, cost: np.ndarray, poll=None) -> np.ndarray:
    """Shortest distances from a virtual root (0 to every node) on a graph without negative
    cycles: Bellman-Ford, vectorised, relaxing only arcs out of nodes that just changed."""
    order = np.argsort(head, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    dist = np.zeros(num_nodes, dtype=np.int64)
    frontier = np.ones(num_nodes, dtype=bool)
    for _round in range(num_nodes + 1):
        if poll is not None:
            poll()
        active = frontier[tail]
        if not active.any():
            return dist
        t, h, c = tail[active], head[active], cost[active]
        cand = dist[t] + c
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
        best = np.minimum.reduceat(cand, starts)
        heads = h[starts]
        better = best < dist[heads]
        frontier = np.zeros(num_nodes, dtype=bool)
        frontier[heads[better]] = True
        dist[heads[better]] = best[better]
    raise RuntimeError("negative cycle in the residual graph: the flow is not optimal")


def solve(instance: Instance, k: int = DEFAULT_K, candidates: Candidates | None = None,
          progress=None, max_rounds: int = 100, reserve: int = RESERVE, units: int = 1,
          pair_cap: int | None = None) -> Solution:
    """The assignment of maximal total affinity, proved optimal by a dual certificate.

    The graph starts with each proposal's top ``k`` reviewers; the next ``reserve`` ones are
    kept aside (index and affinity) so the certificate can check them without recomputing
    affinities; every other pair is covered by the bound ``left_out_best`` or, failing
    that, by recomputing that proposal's row.

    With ``units`` > 1 it solves the fractional problem in which a pair takes at most
    ``pair_cap``/``units`` of a review (every need and load counted in units): the first
    step of a randomised assignment. The same certificate proves that optimum.

    With ``instance.groups``, a proposal takes at most one reviewer of each group: the
    pairs to a group's reviewers go through a node (proposal, group) of capacity one
    review, whose price joins the certificate (a_ij <= u_i + z_ig + y_j for every pair).
    With ``instance.floor``, pairs below it are left out everywhere.

    ``progress(phase, round, fraction)`` is called often (at least every second of work
    or so) with the phase ("candidates", "flow", "certificate", "repair"), the round and
    the fraction of the phase done (None when unknown); it may raise to stop the solve."""

    def report(phase: str, round_: int, fraction: float | None) -> None:
        if progress is not None:
            progress(phase, round_, fraction)

    phases = {"flow": 0.0, "certificate": 0.0, "repair": 0.0, "added": [], "peak_mib": {}}
    n, m = instance.n, instance.m
    pins = instance.pin_pairs
    pin_load = np.bincount(pins[:, 1], minlength=m).astype(np.int64) if len(pins) else np.zeros(m, np.int64)
    pin_count = np.bincount(pins[:, 0], minlength=n).astype(np.int64) if len(pins) else np.zeros(n, np.int64)
    if len(pins) and instance.conflict_matrix[pins[:, 0], pins[:, 1]].any():
        bad = [(int(i), int(j)) for i, j in pins if instance.conflict_matrix[int(i), int(j)]]
        raise AssignmentInfeasible([
            Reason("pinned_conflict",
                   _("reviewer %(who)s is pinned to proposal %(what)s despite a conflict of interest: "
                     "remove that pin", who=instance.reviewer_label(j), what=instance.proposal_label(i)),
                   proposal=i, reviewer=j)
            for i, j in bad[:10]])
    need = instance.need - pin_count
    capacity = instance.max_load - pin_load
    min_rest = np.maximum(instance.min_load - pin_load, 0)
    if (need < 0).any() or (capacity < 0).any() or capacity.sum() < need.sum() \
            or min_rest.sum() > need.sum() or (min_rest > capacity).any():
        raise AssignmentInfeasible(diagnose(instance, pin_load, need))
    pair_cap = units if pair_cap is None else pair_cap
    # Enough candidates for each proposal's need at pair_cap each.
    k = max(k, -(-int(need.max(initial=0)) * units // max(pair_cap, 1)))
    need, capacity, min_rest = need * units, capacity * units, min_rest * units
    if candidates is None:
        t0 = time.perf_counter()
        candidates = top_candidates(instance, k + reserve, progress=partial(report, "candidates", 0))
        phases["candidates"] = time.perf_counter() - t0
        _peak(phases, "candidates")
    arc_p, arc_r, arc_a, res_i, res_v, left_out = _split(candidates, k)
    demand = int(need.sum())
    if len(pins):
        pin_aff = scaled(np.concatenate([instance.affinity.rows(np.array([i]))[0, [j]] for i, j in pins]))
    else:
        pin_aff = np.zeros(0, dtype=np.int64)

    # An overflow node lets every proposal be served in the pruned graph at a prohibitive
    # cost; using it makes the proposal's price very low, so the certificate pulls in the
    # pruned pairs that can replace it. It is still used at the end only if no valid
    # assignment exists at all.
    # Its cost starts low (a wide cost range slows the cost-scaling solver down, in every
    # solve): a solution certified over every pair that uses no overflow is optimal whatever
    # that cost; one that still uses it is solved again with a higher cost, up to the one
    # that proves no valid assignment exists (any path that frees an overflow unit changes
    # at most `demand` pairs, each by at most SCALE).
    overflow, sink = n + m, n + m + 1
    proof_cost = SCALE * (demand + 1)
    big = min(4 * SCALE, proof_cost)
    rv = n + np.arange(m)
    n_groups = max(instance.n_groups, 1)
    repaired = False
    for round_ in range(1, max_rounds + 1):
        # Pairs to a reviewer of a group start at the node (proposal, group), numbered after
        # the sink; the others at the proposal. Only where the graph offers a proposal two
        # reviewers of one group or more: one arc alone keeps the rule anyway, and a pair
        # added later to such a group (its price is 0 until then) creates the node.
        grouped = _shared_group_arcs(instance.group, n_groups, arc_p, arc_r)
        group_keys, group_of_arc = np.unique(arc_p[grouped] * n_groups + instance.group[arc_r[grouped]],
                                             return_inverse=True)
        ng = len(group_keys)
        group_p = group_keys // n_groups
        group_node = sink + 1 + np.arange(ng)
        arc_group = np.full(len(arc_p), -1, dtype=np.int64)
        arc_group[grouped] = group_of_arc
        arc_tail = np.where(grouped, group_node[np.maximum(arc_group, 0)] if ng else 0, arc_p)
        # proposal (or group) -> reviewer, reviewer -> sink (load above the minimum), overflow
        # arcs, proposal -> group (one review).
        tails = np.concatenate([arc_tail, rv, np.arange(n), [overflow], group_p])
        heads = np.concatenate([n + arc_r, np.full(m, sink), np.full(n, overflow), [sink], group_node])
        caps = np.concatenate([np.full(len(arc_p), pair_cap, np.int64), capacity - min_rest, need, [demand],
                               np.full(ng, units, np.int64)])
        costs = np.concatenate([-arc_a, np.zeros(m, np.int64), np.full(n, big), [0], np.zeros(ng, np.int64)])
        supplies = np.concatenate([need, -min_rest, [0], [-(demand - int(min_rest.sum()))],
                                   np.zeros(ng, np.int64)])
        report("flow", round_, 0.0)
        t0 = time.perf_counter()
        optimal, x = min_cost_flow(tails, heads, caps, costs, supplies,
                                   poll=partial(report, "flow", round_, None) if progress else None)
        phases["flow"] += time.perf_counter() - t0
        _peak(phases, "flow")
        if not optimal:
            # Only reviewers' minimum loads can make the pruned graph infeasible.
            reasons = diagnose(instance, pin_load, need)
            generic = [r.kind for r in reasons] == ["generic"]
            if not generic or candidates.index.shape[1] >= m:
                raise AssignmentInfeasible(reasons)
            k = min(m, candidates.index.shape[1] * 2)
            candidates = top_candidates(instance, k + reserve, progress=partial(report, "candidates", round_))
            arc_p, arc_r, arc_a, res_i, res_v, left_out = _split(candidates, k)
            continue
        na = len(arc_p)
        amount = x[:na]
        pair_flow = amount > 0
        pair_room = amount < pair_cap
        sink_flow = x[na:na + m]
        over_flow = x[na + m:na + m + n]
        group_flow = x[na + m + n + 1:]
        total = int((arc_a * amount).sum())

        room = (capacity - min_rest) - sink_flow
        if over_flow.any() and not repaired:
            # The pruned graph cannot serve everyone (the proposals' favourite reviewers are
            # too few): offer those short of reviewers the best reviewers who still have
            # room, from their affinities to those reviewers only, before any certificate
            # (which would otherwise recompute nearly every proposal's row).
            repaired = True
            t0 = time.perf_counter()
            new = _spare_arcs(instance, np.flatnonzero(over_flow), np.flatnonzero(room > 0), arc_p, arc_r,
                              progress=partial(report, "repair", round_))
            phases["repair"] += time.perf_counter() - t0
            _peak(phases, "repair")
            if len(new):
                arc_p, arc_r, arc_a = (np.concatenate([a, b]) for a, b in zip((arc_p, arc_r, arc_a), new.T))
                if res_i.shape[1]:
                    _mark_in_graph(res_i, res_v, new[:, 0], new[:, 1], m)
                continue

        # Residual graph: unused arcs forward, used ones backward.
        over_room = need - over_flow
        ip = np.arange(n)
        o_used = int(over_flow.sum())
        parts = [
            (arc_tail[pair_room], n + arc_r[pair_room], -arc_a[pair_room]),
            (n + arc_r[pair_flow], arc_tail[pair_flow], arc_a[pair_flow]),
            (group_p[group_flow < units], group_node[group_flow < units],
             np.zeros(int((group_flow < units).sum()), np.int64)),
            (group_node[group_flow > 0], group_p[group_flow > 0], np.zeros(int((group_flow > 0).sum()), np.int64)),
            (rv[room > 0], np.full(int((room > 0).sum()), sink), np.zeros(int((room > 0).sum()), np.int64)),
            (np.full(int((sink_flow > 0).sum()), sink), rv[sink_flow > 0],
             np.zeros(int((sink_flow > 0).sum()), np.int64)),
            (ip[over_room > 0], np.full(int((over_room > 0).sum()), overflow),
             np.full(int((over_room > 0).sum()), big)),
            (np.full(int((over_flow > 0).sum()), overflow), ip[over_flow > 0],
             np.full(int((over_flow > 0).sum()), -big)),
            (np.array([overflow] * (o_used < demand)), np.array([sink] * (o_used < demand)),
             np.zeros(int(o_used < demand), np.int64)),
            (np.array([sink] * (o_used > 0)), np.array([overflow] * (o_used > 0)),
             np.zeros(int(o_used > 0), np.int64)),
        ]
        r_tail, r_head, r_cost = (np.concatenate([np.asarray(p[c], np.int64) for p in parts])
                                  for c in range(3))
        t0 = time.perf_counter()
        report("certificate", round_, 0.0)
        d = _potentials(n + m + 2 + ng, r_tail, r_head, r_cost,
                        poll=partial(report, "certificate", round_, None))
        u = d[:n] - d[sink]  # proposal prices
        y = d[sink] - d[n:n + m]  # reviewer prices (capacity minus minimum-load duals)
        # Without a minimum load a reviewer's price may be raised to 0: same objective,
        # easier constraints.
        y = np.where(min_rest > 0, y, np.maximum(y, 0))
        # A group's price: what its one place is worth to the proposal (0 when not full).
        z_raw = d[group_node] - d[group_p]
        z = np.maximum(z_raw, 0)
        w = np.maximum(arc_a - u[arc_p] - y[arc_r] - np.where(grouped, z_raw[np.maximum(arc_group, 0)]
                                                              if ng else 0, 0), 0)
        # Dual objective (scaled): prices times right-hand sides, plus the arc slacks.
        dual = int((need * u).sum() + (capacity * np.maximum(y, 0)).sum()
                   - (min_rest * np.maximum(-y, 0)).sum() + pair_cap * w.sum() + units * z.sum())
        group_price = partial(_group_price, instance.group, n_groups, group_keys, z)

        # Every pair left out must satisfy a_ij <= u_i + y_j. Cheap bound first, then the
        # suspect proposals' rows exactly; the worst violators are added to the graph.
        floor = int(y.min()) if m else 0
        # Without reviewers' bounds, every reviewer's pairs left out are bounded by SCALE.
        column = candidates.column_bound if candidates.column_bound is not None \
            else np.full(m, SCALE, dtype=np.int64)
        add_p, add_r, add_a = [], [], []
        # The reserve: exact, vectorised (entries already added are marked -1).
        if res_i.shape[1]:
            safe_i = np.maximum(res_i, 0)
            excess = res_v - u[:, None] - y[safe_i]
            if ng:
                excess -= group_price(np.broadcast_to(np.arange(n)[:, None], res_i.shape), safe_i)
            excess = np.where(res_v >= 0, excess, 0)
            rr, cc = np.nonzero(excess > 0)
            if len(rr):
                order = np.lexsort((-excess[rr, cc], rr))
                rr, cc = rr[order], cc[order]
                first = np.r_[True, rr[1:] != rr[:-1]]
                rank = np.arange(len(rr)) - np.maximum.accumulate(np.where(first, np.arange(len(rr)), 0))
                keep = rank < PER_ROW
                rr, cc = rr[keep], cc[keep]
                add_p.append(rr.astype(np.int64))
                add_r.append(res_i[rr, cc])
                add_a.append(res_v[rr, cc])
                res_v[rr, cc] = -1
        suspect = np.flatnonzero(left_out > u + floor)
        if add_p:
            # A proposal that takes new reserve arcs this round is solved again anyway: its
            # row is computed (if still needed) once its reserve holds no better pair. The
            # round that proves the assignment adds nothing, so it checks every suspect.
            suspect = suspect[~np.isin(suspect, add_p[0])]
        if len(suspect):
            present = sparse.csr_matrix((np.ones(na, dtype=bool), (arc_p, arc_r)), shape=(n, m))
            # A pair left out can break its constraint only if y_j < left_out_i - u_i and,
            # with the reviewers' bounds, column_bound_j - y_j > u_i as well.
            threshold = left_out[suspect] - u[suspect]
            y_order = np.argsort(y, kind="stable")
            y_sorted = y[y_order]
            reach = column[y_order] - y_sorted  # how far above y_j a pair of j left out can be
            # The best of those among the reviewers under each row's threshold: a row none of
            # whose reviewers can break the constraint is proved as it stands.
            best_reach = np.maximum.accumulate(reach) if m else reach
            under = np.searchsorted(y_sorted, threshold)
            possible = (under > 0) & (best_reach[np.maximum(under - 1, 0)] > u[suspect])
            suspect, threshold = suspect[possible], threshold[possible]
            # Each block of rows (in order of the threshold) is computed on its reviewers only.
            order = np.argsort(threshold, kind="stable")
            suspect, threshold = suspect[order], threshold[order]
        exact = partial(_exact_rows, SimpleNamespace(
            instance=instance, suspect=suspect, threshold=threshold if len(suspect) else None,
            y_order=y_order if len(suspect) else None, y_sorted=y_sorted if len(suspect) else None,
            present=present if len(suspect) else None, column=column, u=u, y=y, ng=ng, z=z,
            group_p=group_p, group_g=group_keys % n_groups if ng else None, group_price=group_price))
        with contextlib.closing(_in_order(exact, range(0, len(suspect), BLOCK), None)) as exact_rows:
            for done, found in enumerate(exact_rows):
                report("certificate", round_, done * BLOCK / len(suspect))
                if found is not None:
                    add_p.append(found[0])
                    add_r.append(found[1])
                    add_a.append(found[2])
        added = int(sum(len(a) for a in add_p))
        phases["certificate"] += time.perf_counter() - t0
        phases["added"].append(added)
        _peak(phases, "certificate")
        if not added and not over_flow.any():
            solution = _solution(instance, arc_p[pair_flow], arc_r[pair_flow], arc_a[pair_flow],
                                 pins, pin_aff, total, dual, dual == total, round_, na, phases, units)
            solution.graph = (arc_p, arc_r, arc_a)
            if units > 1:
                solution.amount = np.concatenate([amount[pair_flow], np.full(len(pins), units)])
                solution.units = units
            return solution
        if not added and big < proof_cost:
            big = min(big * 64, proof_cost)
            continue
        if not added:
            # Optimal with the overflow even over every pair: no valid assignment exists.
            raise AssignmentInfeasible(diagnose(instance, pin_load, need))
        new_p = np.concatenate(add_p).astype(np.int64)
        new_r = np.concatenate(add_r).astype(np.int64)
        new_a = np.concatenate(add_a).astype(np.int64)
        # The reserve and the exact rows may name the same pair: add each pair once.
        _unique, first = np.unique(new_p * m + new_r, return_index=True)
        arc_p = np.concatenate([arc_p, new_p[first]])
        arc_r = np.concatenate([arc_r, new_r[first]])
        arc_a = np.concatenate([arc_a, new_a[first]])
        if res_i.shape[1]:
            _mark_in_graph(res_i, res_v, new_p[first], new_r[first], m)
    raise RuntimeError("assignment not certified after the maximum number of rounds")


def _exact_rows(c, lo: int):
    """The worst offenders of the block of suspect rows starting at `lo`, computed exactly:
    (proposals, reviewers, scaled affinities) of the pairs that break the dual constraint,
    or None. Blocks run on threads (the sparse product and the selections without the GIL);
    `c` holds the round's prices and bounds, read only."""
    idx = c.suspect[lo:lo + BLOCK]
    below = c.y_order[:np.searchsorted(c.y_sorted, c.threshold[lo:lo + BLOCK].max())]
    cols = np.sort(below[c.column[below] - c.y[below] > c.u[idx].min()])
    if not len(cols):
        return None
    block = c.instance.screen(idx, c.instance.affinity.rows(idx, cols), cols)
    known = c.present[idx][:, cols].tocoo()
    block[known.row, known.col] = -1
    # Each row's worst offenders by a float estimate, then the exact integer test.
    estimate = np.where(block >= 0, block * SCALE - (c.u[idx][:, None] + c.y[cols][None, :]), -np.inf)
    if c.ng:
        _subtract_group_prices(estimate, idx, cols, c.instance.group, c.group_p, c.group_g, c.z)
    per_row = min(PER_ROW, len(cols))
    worst = np.argpartition(-estimate, per_row - 1, axis=1)[:, :per_row]
    rr = np.repeat(np.arange(len(idx)), per_row)
    cc = worst.ravel()
    plausible = estimate[rr, cc] > -2
    rr, cc = rr[plausible], cc[plausible]
    values = scaled(block[rr, cc])
    jj = cols[cc]
    keep = (values >= 0) & (values - c.u[idx[rr]] - c.y[jj] - c.group_price(idx[rr], jj) > 0)
    return idx[rr[keep]], jj[keep], values[keep]


def _mark_in_graph(res_i: np.ndarray, res_v: np.ndarray, p: np.ndarray, r: np.ndarray, m: int) -> None:
    """Mark -1 the reserve entries of these pairs, now arcs: only their proposals' rows are
    looked at (the reserve holds 200 entries a proposal)."""
    rows = sorted_unique(p)
    hit = np.isin(rows[:, None] * m + res_i[rows], p * m + r)
    sub = res_v[rows]
    sub[hit] = -1
    res_v[rows] = sub


def _shared_group_arcs(group, n_groups, arc_p, arc_r) -> np.ndarray:
    """The arcs whose proposal has another arc to a reviewer of the same group."""
    g = group[arc_r]
    shared = np.zeros(len(arc_p), dtype=bool)
    mine = np.flatnonzero(g >= 0)
    if len(mine):
        _keys, inverse, counts = np.unique(arc_p[mine] * n_groups + g[mine], return_inverse=True,
                                           return_counts=True)
        shared[mine] = counts[inverse] >= 2
    return shared


def _group_price(group, n_groups, group_keys, z, p: np.ndarray, r: np.ndarray) -> np.ndarray:
    """z for each pair (p, r): the price of r's group on proposal p, 0 if none."""
    if not len(group_keys):
        return np.zeros(np.shape(p), dtype=np.int64)
    g = group[r]
    key = p * n_groups + g
    pos = np.minimum(np.searchsorted(group_keys, key), len(group_keys) - 1)
    return np.where((g >= 0) & (group_keys[pos] == key), z[pos], 0)


def _subtract_group_prices(estimate, idx, cols, group, group_p, group_g, z) -> None:
    """estimate[r, c] -= z of (idx[r], group of cols[c]), for the groups with a price."""
    priced = z > 0
    if not priced.any():
        return
    # The priced group nodes of these proposals.
    p, g, value = group_p[priced], group_g[priced], z[priced]
    row_of = np.full(max(int(idx.max()), int(p.max())) + 1, -1, dtype=np.int64)
    row_of[idx] = np.arange(len(idx))
    r = row_of[p]
    p_in = r >= 0
    r, g, value = r[p_in], g[p_in], value[p_in]
    if not len(r):
        return
    col_group = group[cols]
    order = np.argsort(col_group, kind="stable")
    sorted_groups = col_group[order]
    start = np.searchsorted(sorted_groups, g, "left")
    count = np.searchsorted(sorted_groups, g, "right") - start
    total = int(count.sum())
    if not total:
        return
    rows = np.repeat(r, count)
    offsets = np.arange(total) - np.repeat(np.cumsum(count) - count, count) + np.repeat(start, count)
    estimate[rows, order[offsets]] -= np.repeat(value, count)


def _peak(phases: dict, phase: str) -> None:
    """The process's peak memory so far (MiB), as it stands at the end of a phase."""
    import resource

    phases["peak_mib"][phase] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

def _solution(instance, p, r, a, pins, pin_aff, total, dual, certified, rounds, arcs, phases,
              units=1) -> Solution:
    pairs = np.concatenate([np.stack([p, r], axis=1).reshape(-1, 2), pins.reshape(-1, 2)])
    values = np.concatenate([a, pin_aff])
    pinned = np.concatenate([np.zeros(len(p), bool), np.ones(len(pins), bool)])
    pin_total = int(pin_aff.sum()) * units
    return Solution(pairs=pairs, affinity=values / SCALE, pinned=pinned, total=total + pin_total,
                    dual_bound=dual + pin_total, certified=certified, rounds=rounds, arcs=arcs,
                    phases=phases)


def feasible_on(instance: Instance, arc_p: np.ndarray, arc_r: np.ndarray, poll=None) -> bool:
    """Whether a valid assignment (needs, loads, pins, groups) exists using only these
    pairs besides the pins: a min-cost flow whose only cost is the overflow's, which a
    valid assignment does not use. A yes is proved by the assignment it finds."""
    n, m = instance.n, instance.m
    pins = instance.pin_pairs
    pin_load = np.bincount(pins[:, 1], minlength=m).astype(np.int64) if len(pins) else np.zeros(m, np.int64)
    pin_count = np.bincount(pins[:, 0], minlength=n).astype(np.int64) if len(pins) else np.zeros(n, np.int64)
    need = instance.need - pin_count
    capacity = instance.max_load - pin_load
    min_rest = np.maximum(instance.min_load - pin_load, 0)
    if (need < 0).any() or (capacity < min_rest).any() or min_rest.sum() > need.sum():
        return False
    demand = int(need.sum())
    overflow, sink = n + m, n + m + 1
    n_groups = max(instance.n_groups, 1)
    grouped = _shared_group_arcs(instance.group, n_groups, arc_p, arc_r)
    keys, of_arc = np.unique(arc_p[grouped] * n_groups + instance.group[arc_r[grouped]], return_inverse=True)
    group_node = sink + 1 + np.arange(len(keys))
    arc_tail = arc_p.copy()
    arc_tail[grouped] = group_node[of_arc]
    tails = np.concatenate([arc_tail, n + np.arange(m), np.arange(n), [overflow], keys // n_groups])
    heads = np.concatenate([n + arc_r, np.full(m, sink), np.full(n, overflow), [sink], group_node])
    caps = np.concatenate([np.ones(len(arc_p), np.int64), capacity - min_rest, need, [demand],
                           np.ones(len(keys), np.int64)])
    costs = np.concatenate([np.zeros(len(arc_p) + m, np.int64), np.ones(n, np.int64), [0],
                            np.zeros(len(keys), np.int64)])
    supplies = np.concatenate([need, -min_rest, [0], [-(demand - int(min_rest.sum()))],
                               np.zeros(len(keys), np.int64)])
    if not min_rest.any():
        # No minimum load: a maximum flow from a source before the proposals decides it, much
        # faster than a min-cost flow (the overflow arcs are left out).
        from ortools.graph.python import max_flow

        source = sink + 1 + len(keys)
        keep = np.r_[np.ones(len(arc_p) + m, bool), np.zeros(n + 1, bool), np.ones(len(keys), bool)]
        flow = max_flow.SimpleMaxFlow()
        flow.add_arcs_with_capacity(np.r_[tails[keep], np.full(n, source)],
                                    np.r_[heads[keep], np.arange(n)], np.r_[caps[keep], need])
        if flow.solve(source, sink) != flow.OPTIMAL:
            raise RuntimeError("the maximum flow solver stopped without an answer")
        return flow.optimal_flow() == demand
    optimal, x = min_cost_flow(tails, heads, caps, costs, supplies, poll=poll)
    return optimal and not x[len(arc_p) + m:len(arc_p) + m + n].any()
