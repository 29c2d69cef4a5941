"""Each proposal's candidate reviewers, from one pass over the affinities."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from .problem import BLOCK, Instance, scaled

DEFAULT_K = 24
RESERVE = 40  # further candidates kept aside for the certificate
PER_ROW = 8  # pruned pairs added per proposal and round when the certificate fails


@dataclass
class Candidates:
    """Each proposal's top-k reviewers: index, scaled affinity (-1 = no candidate), and the
    best scaled affinity among the reviewers left out (the bound the certificate uses).

    ``extra`` holds (proposal, reviewer, scaled affinity) rows: each reviewer's best
    proposals. Without them the graph offers only the reviewers many proposals like, who
    cannot take them all, and the first solve has no valid assignment at all."""

    index: np.ndarray  # n × k, int32
    value: np.ndarray  # n × k, int64
    left_out_best: np.ndarray  # n, int64; -1 when nobody was left out
    extra: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))


PER_REVIEWER = 12  # each reviewer's best proposals, kept as arcs whatever the proposals' top-k


def top_candidates(instance: Instance, k: int, block: int = BLOCK, progress=None,
                   per_reviewer: int = PER_REVIEWER) -> Candidates:
    """Selection works on the float affinities (scaling is monotone, so the top-k and the
    best left out are the same as on the integers) and scales only what it keeps."""
    n, m = instance.n, instance.m
    k = min(k, m)
    index = np.full((n, k), -1, dtype=np.int32)
    value = np.full((n, k), -1, dtype=np.int64)
    left_out = np.full(n, -1, dtype=np.int64)
    per_reviewer = min(per_reviewer, n)
    best_rows = np.zeros((0, m), dtype=np.int64)  # reviewers' best proposals so far
    best_vals = np.zeros((0, m), dtype=np.float64)
    for lo in range(0, n, block):
        idx = np.arange(lo, min(n, lo + block))
        rows = instance.affinity.rows(idx)  # the same floats everyone else scales
        rows[instance.excluded(idx)] = -1
        if k < m:
            part = np.argpartition(-rows, k, axis=1)
            top = part[:, :k]
            rest_best = rows[np.arange(len(idx)), part[:, k]]
            left_out[idx] = np.where(rest_best >= 0, scaled(rest_best), -1)
        else:
            top = np.broadcast_to(np.arange(m), (len(idx), m))
        top_values = np.take_along_axis(rows, top, axis=1)
        order = np.argsort(-top_values, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_values = np.take_along_axis(top_values, order, axis=1)
        ok = top_values >= 0
        index[idx] = np.where(ok, top, -1)
        value[idx] = np.where(ok, scaled(top_values), -1)
        if per_reviewer:
            take = min(per_reviewer, len(idx))
            col_part = np.argpartition(-rows, take - 1, axis=0)[:take] if take < len(idx) else \
                np.broadcast_to(np.arange(len(idx))[:, None], (len(idx), m))
            cand_vals = np.concatenate([best_vals, np.take_along_axis(rows, col_part, axis=0)])
            cand_rows = np.concatenate([best_rows, idx[col_part]])
            if len(cand_vals) > per_reviewer:
                keep = np.argpartition(-cand_vals, per_reviewer - 1, axis=0)[:per_reviewer]
                cand_vals = np.take_along_axis(cand_vals, keep, axis=0)
                cand_rows = np.take_along_axis(cand_rows, keep, axis=0)
            best_vals, best_rows = cand_vals, cand_rows
        if progress:
            progress(min(n, lo + block) / n)
    extra = np.zeros((0, 3), dtype=np.int64)
    if per_reviewer:
        r = np.broadcast_to(np.arange(m), best_rows.shape)
        ok = best_vals >= 0
        p, r, v = best_rows[ok], r[ok], scaled(best_vals[ok])
        # Only the pairs the proposals' own lists do not already hold.
        in_lists = (index[p] == r[:, None]).any(axis=1)
        extra = np.stack([p[~in_lists], r[~in_lists], v[~in_lists]], axis=1).astype(np.int64)
    return Candidates(index, value, left_out, extra)


def _spare_arcs(instance: Instance, short: np.ndarray, spare: np.ndarray, arc_p, arc_r,
                progress=None) -> np.ndarray:
    """(proposal, reviewer, scaled affinity) rows: for each proposal short of reviewers, its
    best reviewers among those with room, not conflicted and not yet in the graph."""
    if not len(short) or not len(spare):
        return np.zeros((0, 3), dtype=np.int64)
    m = instance.m
    present = sparse.csr_matrix((np.ones(len(arc_p), dtype=bool), (arc_p, arc_r)), shape=(instance.n, m))
    present = present[:, spare].tocsr()
    per_row = min(PER_ROW, len(spare))
    out = []
    for lo in range(0, len(short), BLOCK):
        if progress:
            progress(lo / len(short))
        idx = short[lo:lo + BLOCK]
        block = scaled(instance.affinity.rows(idx, spare))
        where = np.full(m, -1, dtype=np.int64)
        where[spare] = np.arange(len(spare))
        ex_r, ex_c = instance.excluded(idx)
        col = where[ex_c]
        block[ex_r[col >= 0], col[col >= 0]] = -1
        known = present[idx].tocoo()
        block[known.row, known.col] = -1
        best = np.argpartition(-block, per_row - 1, axis=1)[:, :per_row] if per_row < len(spare) \
            else np.broadcast_to(np.arange(len(spare)), (len(idx), len(spare)))
        rows = np.repeat(idx, best.shape[1])
        values = np.take_along_axis(block, best, axis=1).ravel()
        ok = values >= 0
        out.append(np.stack([rows[ok], spare[best.ravel()[ok]], values[ok]], axis=1))
    return np.concatenate(out).astype(np.int64)


def _split(candidates: Candidates, k: int):
    """Graph arcs from the first k candidates of each proposal, the rest as the reserve."""
    head_i, head_v = candidates.index[:, :k], candidates.value[:, :k]
    rows, cols = np.nonzero(head_i >= 0)
    res_i = candidates.index[:, k:].copy()
    res_v = candidates.value[:, k:].copy()
    res_v[res_i < 0] = -1
    extra = candidates.extra
    return (np.concatenate([rows.astype(np.int64), extra[:, 0]]),
            np.concatenate([head_i[rows, cols].astype(np.int64), extra[:, 1]]),
            np.concatenate([head_v[rows, cols].astype(np.int64), extra[:, 2]]),
            res_i, res_v, candidates.left_out_best.copy())
