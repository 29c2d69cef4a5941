"""Each proposal's candidate reviewers, from one pass over the affinities."""
from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from .problem import BLOCK, Instance, scaled, sorted_unique

DEFAULT_K = 24
RESERVE = 200  # further candidates kept aside for the certificate (see the package docstring)
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
    # m, int64: a bound on each reviewer's affinity to every proposal that has the pair
    # neither in its list nor in ``extra`` (the reviewer's next best after those kept;
    # -1 when none is left out). None: no bound known.
    column_bound: np.ndarray | None = None

    def restricted(self, instance: Instance) -> Candidates:
        """These candidates (of an instance with the same conflicts and pins) for one that
        allows fewer pairs: with a floor, or with groups whose pins block more pairs. The
        pairs it excludes are dropped; the bound on those left out stays a bound (or -1
        below the floor)."""
        n, m = self.index.shape[0], instance.m
        blocked = instance.group_blocked.tocoo()
        banned = sorted_unique(blocked.row.astype(np.int64) * m + blocked.col)
        index, value = self.index.copy(), self.value.copy()
        ok = index >= 0
        rows = np.broadcast_to(np.arange(n)[:, None], index.shape)
        bad = ok & ((value < instance.floor) | np.isin(rows * m + index.astype(np.int64), banned))
        index[bad], value[bad] = -1, -1
        left_out = np.where(self.left_out_best >= instance.floor, self.left_out_best, -1)
        extra = self.extra
        if len(extra):
            keep = (extra[:, 2] >= instance.floor) & ~np.isin(extra[:, 0] * m + extra[:, 1], banned)
            extra = extra[keep]
        column = self.column_bound
        if column is not None:
            column = np.where(column >= instance.floor, column, -1)
        return Candidates(index, value, left_out, extra, column)


PER_REVIEWER = 12  # each reviewer's best proposals, kept as arcs whatever the proposals' top-k


def top_candidates(instance: Instance, k: int, block: int = BLOCK, progress=None,
                   per_reviewer: int = PER_REVIEWER, threads: int | None = None) -> Candidates:
    """Selection works on the float affinities (scaling is monotone, so the top-k and the
    best left out are the same as on the integers) and scales only what it keeps.

    Blocks of proposals are scored on ``threads`` threads (the sparse product and the
    selections run in C without the GIL, so the pass uses every core); their results are
    merged in block order, so the outcome is the one a single thread gives."""
    n, m = instance.n, instance.m
    k = min(k, m)
    index = np.full((n, k), -1, dtype=np.int32)
    value = np.full((n, k), -1, dtype=np.int64)
    left_out = np.full(n, -1, dtype=np.int64)
    per_reviewer = min(per_reviewer, n)
    keep = per_reviewer + 1 if per_reviewer else 0  # one more than kept: it bounds the column
    best = _ReviewerBest(m, keep)

    def score(lo: int):
        idx = np.arange(lo, min(n, lo + block))
        rows = instance.affinity.rows(idx)  # the same floats everyone else scales
        instance.screen(idx, rows)
        if k < m:
            top, top_values, rest_best = _row_top(rows, k)
        else:
            top = np.broadcast_to(np.arange(m), (len(idx), m))
            top_values = np.take_along_axis(rows, top, axis=1)
            order = np.argsort(-top_values, axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            top_values = np.take_along_axis(top_values, order, axis=1)
            rest_best = None
        entries = best.entries(rows, idx) if keep else None
        return idx, top, top_values, rest_best, entries

    try:
        with contextlib.closing(_in_order(score, range(0, n, block), threads)) as results:
            for idx, top, top_values, rest_best, entries in results:
                if rest_best is not None:
                    left_out[idx] = np.where(rest_best >= 0, scaled(rest_best), -1)
                ok = top_values >= 0
                index[idx] = np.where(ok, top, -1)
                value[idx] = np.where(ok, scaled(top_values), -1)
                if entries is not None:
                    best.merge(*entries)
                if progress:
                    progress(min(n, idx[-1] + 1) / n)
    finally:
        best.ready.set()  # a first block that failed (or a cancel) leaves no thread waiting
    extra = np.zeros((0, 3), dtype=np.int64)
    column_bound = None
    if per_reviewer:
        best_rows, best_vals = best.rows, best.vals
        if len(best_vals) > per_reviewer:
            column_bound = np.where(best_vals[per_reviewer] >= 0, scaled(best_vals[per_reviewer]), -1)
        else:
            column_bound = np.full(m, -1, dtype=np.int64)
        best_rows, best_vals = best_rows[:per_reviewer], best_vals[:per_reviewer]
        r = np.broadcast_to(np.arange(m), best_rows.shape)
        ok = best_vals >= 0
        p, r, v = best_rows[ok], r[ok], scaled(best_vals[ok])
        # All of them, those in a proposal's reserve too: the graph takes them as arcs
        # (``_split`` leaves out those already among a proposal's arcs).
        extra = np.stack([p, r, v], axis=1).astype(np.int64)
    return Candidates(index, value, left_out, extra, column_bound)


def assignment_threads() -> int:
    """Threads of the candidate pass: CFP_ASSIGNMENT_THREADS, else the machine's cores (at most 8)."""
    wanted = os.environ.get("CFP_ASSIGNMENT_THREADS", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return max(1, min(8, os.cpu_count() or 1))


def _in_order(work, starts, threads: int | None):
    """work(start) for every start, yielded in order; at most ``threads`` running and a
    few finished ones waiting (each holds a block's selections, not its affinities). A
    caller that stops iterating (a cancel raised by its progress) cancels what is left."""
    threads = threads or assignment_threads()
    starts = list(starts)
    if threads <= 1 or len(starts) <= 1:
        for start in starts:
            yield work(start)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="candidates") as pool:
        pending: deque[Future] = deque()
        ahead = iter(starts)
        try:
            for start in ahead:
                pending.append(pool.submit(work, start))
                if len(pending) >= 2 * threads:
                    break
            while pending:
                result = pending.popleft().result()
                for start in ahead:
                    pending.append(pool.submit(work, start))
                    break
                yield result
        finally:
            for future in pending:
                future.cancel()


class _ReviewerBest:
    """Each reviewer's ``keep`` best proposals so far (rank × reviewer arrays, best first;
    ties: the proposal seen first). Blocks scored in parallel read the current threshold
    (each reviewer's worst kept value) when they start: a threshold read earlier is lower
    or equal, so a block offers a superset of what can enter, and merging in block order
    keeps exactly what a single pass would."""

    def __init__(self, m: int, keep: int):
        self.m, self.keep = m, keep
        self.rows = np.zeros((0, m), dtype=np.int64)
        self.vals = np.zeros((0, m), dtype=np.float64)
        self.threshold: np.ndarray | None = None  # set once ``keep`` are known per reviewer
        self.ready = threading.Event()  # the first block merged: the others wait for it

    def entries(self, rows: np.ndarray, idx: np.ndarray):
        """The (proposal, reviewer, value) entries of this block that may enter."""
        if idx[0] != 0:
            self.ready.wait()  # the first block's selection sets the threshold
        threshold = self.threshold
        m = self.m
        if threshold is None:
            take = min(self.keep, len(idx))
            r = np.argpartition(-rows, take - 1, axis=0)[:take].ravel() if take < len(idx) \
                else np.repeat(np.arange(len(idx)), m)
            c = np.tile(np.arange(m), take)
        else:
            r, c = np.nonzero(rows > threshold[None, :])
        return idx[r], c, rows[r, c].astype(np.float64)

    def merge(self, props: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        m, keep = self.m, self.keep
        cols = np.concatenate([np.broadcast_to(np.arange(m), self.rows.shape).ravel(), cols])
        props = np.concatenate([self.rows.ravel(), props])
        vals = np.concatenate([self.vals.ravel(), vals])
        order = _grouped_order(cols, vals)
        cols, props, vals = cols[order], props[order], vals[order]
        rank = np.arange(len(cols)) - np.searchsorted(cols, np.arange(m))[cols]
        kept = rank < keep
        width = min(keep, max(len(self.vals), int(rank.max(initial=-1)) + 1))
        out_rows = np.zeros((width, m), dtype=np.int64)
        out_vals = np.zeros((width, m), dtype=np.float64)
        out_rows[rank[kept], cols[kept]] = props[kept]
        out_vals[rank[kept], cols[kept]] = vals[kept]
        self.rows, self.vals = out_rows, out_vals
        if width >= keep:
            self.threshold = out_vals.min(axis=0)
        self.ready.set()


def _grouped_order(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The order by group, then by value, best first (ties: first seen first). Values are
    affinities in [-1, 1], so one float key does it, exactly (group * 4 needs at most 26
    bits, a float32 value 24 more: within a float64's 53), much faster than lexsort."""
    key = group.astype(np.float64) * 4 - values.astype(np.float64)
    return np.argsort(key, kind="stable")


def _row_top(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's k largest entries (columns and values, best first) and its (k+1)-th
    largest value, exactly. A full selection over 70,000 columns is the slowest step of
    the whole job, so a threshold is taken first from every 4th column: the (k+1)-th
    largest of a subset is at most the (k+1)-th largest of the row, so every entry that
    matters is at least that threshold, and only those (about 4(k+1) a row) are sorted."""
    b, m = rows.shape
    need = k + 1
    step = 4
    if m < 16 * need:
        part = np.argpartition(-rows, k, axis=1)
        top = part[:, :k]
        values = np.take_along_axis(rows, top, axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        return (np.take_along_axis(top, order, axis=1), np.take_along_axis(values, order, axis=1),
                rows[np.arange(b), part[:, k]])
    sub = rows[:, ::step]
    threshold = np.partition(sub, sub.shape[1] - need, axis=1)[:, sub.shape[1] - need]
    r, c = np.nonzero(rows >= threshold[:, None])
    v = rows[r, c]
    order = _grouped_order(r, v)
    r, c, v = r[order], c[order], v[order]
    rank = np.arange(len(r)) - np.searchsorted(r, np.arange(b))[r]
    keep = rank < k
    top = c[keep].reshape(b, k)
    values = v[keep].reshape(b, k)
    return top, values, v[rank == k]


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
        instance.screen(idx, block, spare)
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
    if len(extra):
        # Each reviewer's best proposals are arcs: once, and out of the reserve.
        p, r = extra[:, 0], extra[:, 1]
        extra = extra[~(head_i[p] == r[:, None]).any(axis=1)]
        p, r = extra[:, 0], extra[:, 1]
        if res_i.shape[1]:
            for lo in range(0, len(p), 1 << 16):
                hit_r, hit_c = np.nonzero(res_i[p[lo:lo + (1 << 16)]] == r[lo:lo + (1 << 16), None])
                res_v[p[lo + hit_r], hit_c] = -1
    return (np.concatenate([rows.astype(np.int64), extra[:, 0]]),
            np.concatenate([head_i[rows, cols].astype(np.int64), extra[:, 1]]),
            np.concatenate([head_v[rows, cols].astype(np.int64), extra[:, 2]]),
            res_i, res_v, candidates.left_out_best.copy())
