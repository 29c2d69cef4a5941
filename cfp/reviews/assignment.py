"""Automatic assignment of one side's reviewers to a call's proposals.

Two parts, both free of the database so they can be tested and benchmarked alone:

* **Affinity** from text: TF-IDF (scikit-learn) over each proposal's title, abstract and
  keywords against each reviewer's keywords and expertise; cosine similarity, computed
  sparsely and a block of proposals at a time, so the full proposals × reviewers matrix
  never exists in memory. Each proposal keeps only its top-k candidate reviewers.
* **The solver**: a min-cost flow (OR-Tools ``SimpleMinCostFlow``) on the pruned graph,
  with affinities scaled to integers. Each proposal gets exactly its number of reviewers,
  each reviewer between their minimum and maximum load, no conflicted pair, pins kept,
  total affinity maximal.

Optimality despite the pruning is *proved*, not assumed: node potentials are computed on
the residual graph of the solution (Bellman-Ford, vectorised), turned into a solution of
the linear program's dual, and checked (1) to be feasible for every pair, pruned ones
included, and (2) to have the same objective as the assignment. By weak duality no
assignment of the full problem can do better. Pruned pairs that break (1) are added to the
graph and the problem is solved again. All of this is in exact integer arithmetic.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from flask_babel import gettext as _
from scipy import sparse

SCALE = 1_000_000  # affinities in [0, 1] become integers 0..SCALE
DEFAULT_K = 24
RESERVE = 40  # further candidates kept aside for the certificate
PER_ROW = 8  # pruned pairs added per proposal and round when the certificate fails
BLOCK = 1024


@dataclass
class Reason:
    """Why no valid assignment exists, as what to change: ``kind`` names the constraint,
    ``proposal`` and ``reviewer`` are indices into the instance, ``numbers`` the figures;
    ``text`` says it in words (the pages rebuild it with links to act on it)."""

    kind: str
    text: str
    proposal: int | None = None
    reviewer: int | None = None
    numbers: dict = field(default_factory=dict)


class AssignmentInfeasible(Exception):
    """No valid assignment exists; ``details`` says which constraints fail and ``reasons``
    says it in words."""

    def __init__(self, reasons: list[Reason | str]):
        self.details = [r if isinstance(r, Reason) else Reason("other", r) for r in reasons]
        self.reasons = [r.text for r in self.details]
        super().__init__("; ".join(self.reasons))


# --------------------------------------------------------------------------- affinity


class DenseAffinity:
    """Affinities given as a matrix (tests, small instances)."""

    def __init__(self, matrix):
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.shape = self.matrix.shape

    def rows(self, idx: np.ndarray) -> np.ndarray:
        return self.matrix[idx]


class TextAffinity:
    """Cosine similarity of L2-normalised TF-IDF rows, a block of proposals at a time."""

    def __init__(self, proposals: sparse.csr_matrix, reviewers: sparse.csr_matrix):
        self.proposals = proposals.tocsr()
        self.reviewers_t = reviewers.tocsr().T.tocsc().astype(np.float32)
        self.proposals = self.proposals.astype(np.float32)
        self.shape = (proposals.shape[0], reviewers.shape[0])

    def rows(self, idx: np.ndarray) -> np.ndarray:
        block = self.proposals[idx] @ self.reviewers_t
        return np.clip(block.toarray(), 0.0, 1.0)


def text_affinity(proposal_texts: list[str], reviewer_texts: list[str]) -> TextAffinity:
    """TF-IDF over both sets of documents (one vocabulary), rows L2-normalised."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=np.float32,
                                 token_pattern=r"(?u)\b\w[\w-]+\b")
    matrix = vectorizer.fit_transform(list(proposal_texts) + list(reviewer_texts))
    n = len(proposal_texts)
    return TextAffinity(matrix[:n], matrix[n:])


# --------------------------------------------------------------------------- instance


@dataclass
class Instance:
    """One side's assignment problem, with proposals and reviewers as 0-based indices.

    need[i]: reviewers proposal i must get (pins included); max_load[j] / min_load[j]:
    bounds on reviewer j's load (pins included); conflicts: (i, j) pairs never allowed;
    pins: (i, j) pairs that must be kept."""

    affinity: DenseAffinity | TextAffinity
    need: np.ndarray
    max_load: np.ndarray
    min_load: np.ndarray | None = None
    conflicts: list[tuple[int, int]] | np.ndarray = field(default_factory=list)
    pins: list[tuple[int, int]] = field(default_factory=list)
    proposal_labels: list[str] | None = None
    reviewer_labels: list[str] | None = None

    def __post_init__(self):
        n, m = self.affinity.shape
        self.n, self.m = n, m
        self.need = np.asarray(self.need, dtype=np.int64).reshape(-1)
        if self.need.size == 1 and n != 1:
            self.need = np.full(n, int(self.need[0]), dtype=np.int64)
        self.max_load = np.asarray(self.max_load, dtype=np.int64).reshape(-1)
        if self.max_load.size == 1 and m != 1:
            self.max_load = np.full(m, int(self.max_load[0]), dtype=np.int64)
        if self.min_load is None:
            self.min_load = np.zeros(m, dtype=np.int64)
        self.min_load = np.asarray(self.min_load, dtype=np.int64).reshape(-1)
        if self.min_load.size == 1 and m != 1:
            self.min_load = np.full(m, int(self.min_load[0]), dtype=np.int64)
        pairs = np.asarray(self.conflicts, dtype=np.int64).reshape(-1, 2)
        self.conflict_matrix = sparse.csr_matrix(
            (np.ones(len(pairs), dtype=bool), (pairs[:, 0], pairs[:, 1])), shape=(n, m))
        self.conflict_matrix.sum_duplicates()
        self.pin_pairs = np.asarray(self.pins, dtype=np.int64).reshape(-1, 2)

    def proposal_label(self, i: int) -> str:
        return self.proposal_labels[i] if self.proposal_labels else f"#{i + 1}"

    def reviewer_label(self, j: int) -> str:
        return self.reviewer_labels[j] if self.reviewer_labels else f"#{j + 1}"

    def excluded(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs that can never be (new) candidates for these proposals (conflicts, pins),
        as (row within idx, reviewer) coordinates."""
        coo = self.conflict_matrix[idx].tocoo()
        rows, cols = [coo.row.astype(np.int64)], [coo.col.astype(np.int64)]
        if len(self.pin_pairs):
            where = np.full(self.n, -1, dtype=np.int64)
            where[idx] = np.arange(len(idx))
            r = where[self.pin_pairs[:, 0]]
            rows.append(r[r >= 0])
            cols.append(self.pin_pairs[r >= 0, 1])
        return np.concatenate(rows), np.concatenate(cols)


def scaled(values: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(values, dtype=np.float64) * SCALE).astype(np.int64)


@dataclass
class Candidates:
    """Each proposal's top-k reviewers: index, scaled affinity (-1 = no candidate), and the
    best scaled affinity among the reviewers left out (the bound the certificate uses)."""

    index: np.ndarray  # n × k, int64
    value: np.ndarray  # n × k, int64
    left_out_best: np.ndarray  # n, int64; -1 when nobody was left out


def top_candidates(instance: Instance, k: int, block: int = BLOCK, progress=None) -> Candidates:
    n, m = instance.n, instance.m
    k = min(k, m)
    index = np.full((n, k), -1, dtype=np.int64)
    value = np.full((n, k), -1, dtype=np.int64)
    left_out = np.full(n, -1, dtype=np.int64)
    for lo in range(0, n, block):
        idx = np.arange(lo, min(n, lo + block))
        rows = scaled(instance.affinity.rows(idx))
        rows[instance.excluded(idx)] = -1
        if k < m:
            part = np.argpartition(-rows, k, axis=1)
            top = part[:, :k]
            rest_best = np.take_along_axis(rows, part[:, k:], axis=1).max(axis=1)
            left_out[idx] = rest_best
        else:
            top = np.broadcast_to(np.arange(m), (len(idx), m))
        top_values = np.take_along_axis(rows, top, axis=1)
        order = np.argsort(-top_values, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_values = np.take_along_axis(top_values, order, axis=1)
        ok = top_values >= 0
        index[idx] = np.where(ok, top, -1)
        value[idx] = np.where(ok, top_values, -1)
        if progress:
            progress(min(n, lo + block) / n)
    return Candidates(index, value, left_out)


# --------------------------------------------------------------------------- the solver


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

    @property
    def gap(self) -> int:
        return self.dual_bound - self.total


def diagnose(instance: Instance, pin_load: np.ndarray, need: np.ndarray) -> list[Reason]:
    """Why the full problem has no solution, each reason with what staff can change."""
    reasons = []
    capacity = instance.max_load - pin_load
    over = np.flatnonzero(capacity < 0)
    for j in over[:10]:
        reasons.append(Reason(
            "reviewer_over_pinned",
            _("reviewer %(who)s has %(pinned)s pinned proposals but a maximum of %(max)s: raise their "
              "maximum load or remove one of their pins", who=instance.reviewer_label(j),
              pinned=int(pin_load[j]), max=int(instance.max_load[j])),
            reviewer=int(j), numbers={"pinned": int(pin_load[j]), "max": int(instance.max_load[j])}))
    capacity = np.maximum(capacity, 0)
    demand = int(need.clip(min=0).sum())
    if capacity.sum() < demand:
        reasons.append(Reason(
            "capacity",
            _("total reviewer capacity %(capacity)s is less than the %(demand)s reviews needed: invite "
              "more reviewers, raise their maximum loads or lower the reviewers per proposal",
              capacity=int(capacity.sum()), demand=demand),
            numbers={"capacity": int(capacity.sum()), "demand": demand}))
    min_rest = np.maximum(instance.min_load - pin_load, 0)
    if min_rest.sum() > demand:
        reasons.append(Reason(
            "min_loads",
            _("the reviewers' minimum loads add up to %(total)s, more than the %(demand)s reviews still "
              "to assign: lower the minimum number of proposals per reviewer",
              total=int(min_rest.sum()), demand=demand),
            numbers={"total": int(min_rest.sum()), "demand": demand}))
    if (instance.min_load > instance.max_load).any():
        j = int(np.flatnonzero(instance.min_load > instance.max_load)[0])
        reasons.append(Reason(
            "min_above_max",
            _("reviewer %(who)s has a minimum above their maximum: raise their maximum load or lower "
              "the minimum", who=instance.reviewer_label(j)),
            reviewer=j, numbers={"min": int(instance.min_load[j]), "max": int(instance.max_load[j])}))
    over_pinned = np.flatnonzero(need < 0)
    for i in over_pinned[:10]:
        reasons.append(Reason(
            "proposal_over_pinned",
            _("proposal %(what)s has more pinned reviewers than it needs: remove a pin or raise the "
              "reviewers per proposal", what=instance.proposal_label(i)),
            proposal=int(i), numbers={"need": int(instance.need[i])}))
    # Per proposal: reviewers that are not conflicted, not already pinned, with capacity.
    available = capacity > 0
    short = []
    for lo in range(0, instance.n, BLOCK):
        idx = np.arange(lo, min(instance.n, lo + BLOCK))
        blocked = np.zeros((len(idx), instance.m), dtype=bool)
        blocked[instance.excluded(idx)] = True
        count = (~blocked & available).sum(axis=1)
        for r in np.flatnonzero(count < need[idx]):
            short.append((int(idx[r]), int(count[r])))
    for i, count in short[:10]:
        reasons.append(Reason(
            "proposal_short",
            _("proposal %(what)s has only %(count)s available reviewers without a conflict of interest, "
              "and needs %(need)s", what=instance.proposal_label(i), count=count, need=int(need[i])),
            proposal=i, numbers={"count": count, "need": int(need[i])}))
    if len(short) > 10:
        reasons.append(Reason("more_short", _("… and %(n)s more proposals like that", n=len(short) - 10),
                              numbers={"n": len(short) - 10}))
    # Per reviewer with a minimum: proposals they could take.
    for j in np.flatnonzero(min_rest > 0)[:200]:
        col = instance.conflict_matrix[:, int(j)].toarray().ravel()
        possible = int((~col).sum())
        if possible < min_rest[j]:
            reasons.append(Reason(
                "reviewer_min_impossible",
                _("reviewer %(who)s can review only %(possible)s proposals but has a minimum of %(min)s: "
                  "lower the minimum number of proposals per reviewer", who=instance.reviewer_label(j),
                  possible=possible, min=int(instance.min_load[j])),
                reviewer=int(j), numbers={"possible": possible, "min": int(instance.min_load[j])}))
    return reasons or [_generic_reason()]


def _generic_reason() -> Reason:
    return Reason("generic", _("no assignment satisfies all the constraints together: some proposals compete "
                               "for the same few available reviewers"))


def _potentials(num_nodes: int, tail: np.ndarray, head: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Shortest distances from a virtual root (0 to every node) on a graph without negative
    cycles: Bellman-Ford, vectorised, relaxing only arcs out of nodes that just changed."""
    order = np.argsort(head, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    dist = np.zeros(num_nodes, dtype=np.int64)
    frontier = np.ones(num_nodes, dtype=bool)
    for _round in range(num_nodes + 1):
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
          progress=None, max_rounds: int = 100, reserve: int = RESERVE) -> Solution:
    """The assignment of maximal total affinity, proved optimal by a dual certificate.

    The graph starts with each proposal's top ``k`` reviewers; the next ``reserve`` ones are
    kept aside (index and affinity) so the certificate can check them without recomputing
    affinities; every other pair is covered by the bound ``left_out_best`` or, failing
    that, by recomputing that proposal's row."""
    from ortools.graph.python import min_cost_flow

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
    k = max(k, int(need.max(initial=0)))
    if candidates is None:
        candidates = top_candidates(instance, k + reserve,
                                    progress=(lambda f: progress(0.5 * f)) if progress else None)
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
    overflow, sink = n + m, n + m + 1
    big = SCALE * (demand + 1)
    rv = n + np.arange(m)
    for round_ in range(1, max_rounds + 1):
        flow = min_cost_flow.SimpleMinCostFlow()
        # proposal -> reviewer, reviewer -> sink (load above the minimum), overflow arcs.
        tails = np.concatenate([arc_p, rv, np.arange(n), [overflow]])
        heads = np.concatenate([n + arc_r, np.full(m, sink), np.full(n, overflow), [sink]])
        caps = np.concatenate([np.ones(len(arc_p), np.int64), capacity - min_rest, need, [demand]])
        costs = np.concatenate([-arc_a, np.zeros(m, np.int64), np.full(n, big), [0]])
        flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        supplies = np.concatenate([need, -min_rest, [0], [-(demand - int(min_rest.sum()))]])
        flow.set_nodes_supplies(np.arange(n + m + 2), supplies)
        status = flow.solve()
        if status != flow.OPTIMAL:
            # Only reviewers' minimum loads can make the pruned graph infeasible.
            reasons = diagnose(instance, pin_load, need)
            generic = [r.kind for r in reasons] == ["generic"]
            if not generic or candidates.index.shape[1] >= m:
                raise AssignmentInfeasible(reasons)
            k = min(m, candidates.index.shape[1] * 2)
            candidates = top_candidates(instance, k + reserve)
            arc_p, arc_r, arc_a, res_i, res_v, left_out = _split(candidates, k)
            continue
        x = flow.flows(np.arange(len(tails)))
        na = len(arc_p)
        pair_flow = x[:na].astype(bool)
        sink_flow = x[na:na + m]
        over_flow = x[na + m:na + m + n]
        total = int(arc_a[pair_flow].sum())
        if progress:
            progress(0.5 + 0.4 * round_ / (round_ + 1))

        # Residual graph: unused arcs forward, used ones backward.
        room = (capacity - min_rest) - sink_flow
        over_room = need - over_flow
        ip = np.arange(n)
        o_used = int(over_flow.sum())
        parts = [
            (arc_p[~pair_flow], n + arc_r[~pair_flow], -arc_a[~pair_flow]),
            (n + arc_r[pair_flow], arc_p[pair_flow], arc_a[pair_flow]),
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
        d = _potentials(n + m + 2, r_tail, r_head, r_cost)
        u = d[:n] - d[sink]  # proposal prices
        y = d[sink] - d[n:n + m]  # reviewer prices (capacity minus minimum-load duals)
        # Without a minimum load a reviewer's price may be raised to 0: same objective,
        # easier constraints.
        y = np.where(min_rest > 0, y, np.maximum(y, 0))
        w = np.maximum(arc_a - u[arc_p] - y[arc_r], 0)
        # Dual objective (scaled): prices times right-hand sides, plus the arc slacks.
        dual = int((need * u).sum() + (capacity * np.maximum(y, 0)).sum()
                   - (min_rest * np.maximum(-y, 0)).sum() + w.sum())
        # Every pair left out must satisfy a_ij <= u_i + y_j. Cheap bound first, then the
        # suspect proposals' rows exactly; the worst violators are added to the graph.
        floor = int(y.min()) if m else 0
        add_p, add_r, add_a = [], [], []
        # The reserve: exact, vectorised (entries already added are marked -1).
        if res_i.shape[1]:
            excess = np.where(res_v >= 0, res_v - u[:, None] - y[np.maximum(res_i, 0)], 0)
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
        if len(suspect):
            present = sparse.csr_matrix((np.ones(na, dtype=bool), (arc_p, arc_r)), shape=(n, m))
        for lo in range(0, len(suspect), BLOCK):
            idx = suspect[lo:lo + BLOCK]
            block = instance.affinity.rows(idx)
            block[instance.excluded(idx)] = -1
            known = present[idx].tocoo()
            block[known.row, known.col] = -1
            # Each row's worst offenders by a float estimate, then the exact integer test.
            estimate = np.where(block >= 0, block * SCALE - (u[idx][:, None] + y[None, :]), -np.inf)
            per_row = min(PER_ROW, m)
            worst = np.argpartition(-estimate, per_row - 1, axis=1)[:, :per_row]
            rr = np.repeat(np.arange(len(idx)), per_row)
            jj = worst.ravel()
            plausible = estimate[rr, jj] > -2
            rr, jj = rr[plausible], jj[plausible]
            values = scaled(block[rr, jj])
            keep = (values >= 0) & (values - u[idx[rr]] - y[jj] > 0)
            add_p.append(idx[rr[keep]])
            add_r.append(jj[keep])
            add_a.append(values[keep])
        added = int(sum(len(a) for a in add_p))
        if not added and not over_flow.any():
            return _solution(instance, arc_p[pair_flow], arc_r[pair_flow], arc_a[pair_flow],
                             pins, pin_aff, total, dual, dual == total, round_, na)
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
            in_graph = np.isin(np.arange(n)[:, None] * m + res_i, new_p[first] * m + new_r[first])
            res_v[in_graph] = -1
    raise RuntimeError("assignment not certified after the maximum number of rounds")


def _split(candidates: Candidates, k: int):
    """Graph arcs from the first k candidates of each proposal, the rest as the reserve."""
    head_i, head_v = candidates.index[:, :k], candidates.value[:, :k]
    rows, cols = np.nonzero(head_i >= 0)
    res_i = candidates.index[:, k:].copy()
    res_v = candidates.value[:, k:].copy()
    res_v[res_i < 0] = -1
    return (rows.astype(np.int64), head_i[rows, cols].astype(np.int64),
            head_v[rows, cols].astype(np.int64), res_i, res_v, candidates.left_out_best.copy())


def _solution(instance, p, r, a, pins, pin_aff, total, dual, certified, rounds, arcs) -> Solution:
    pairs = np.concatenate([np.stack([p, r], axis=1).reshape(-1, 2), pins.reshape(-1, 2)])
    values = np.concatenate([a, pin_aff])
    pinned = np.concatenate([np.zeros(len(p), bool), np.ones(len(pins), bool)])
    pin_total = int(pin_aff.sum())
    return Solution(pairs=pairs, affinity=values / SCALE, pinned=pinned, total=total + pin_total,
                    dual_bound=dual + pin_total, certified=certified, rounds=rounds, arcs=arcs)
