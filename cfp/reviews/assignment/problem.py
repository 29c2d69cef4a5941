"""The problem: affinities, the instance, why it may have no solution."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from flask_babel import gettext as _
from scipy import sparse

SCALE = 1_000_000  # affinities in [0, 1] become integers 0..SCALE
BLOCK = 1024  # proposals per block of affinities


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

    def rows(self, idx: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        return self.matrix[idx] if cols is None else self.matrix[np.ix_(idx, cols)]


class TextAffinity:
    """Cosine similarity of L2-normalised TF-IDF rows, a block of proposals at a time."""

    def __init__(self, proposals: sparse.csr_matrix, reviewers: sparse.csr_matrix):
        self.proposals = proposals.tocsr()
        self.reviewers_t = reviewers.tocsr().T.tocsc().astype(np.float32)
        self.proposals = self.proposals.astype(np.float32)
        self.shape = (proposals.shape[0], reviewers.shape[0])

    def rows(self, idx: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        block = self.proposals[idx] @ (self.reviewers_t if cols is None else self.reviewers_t[:, cols])
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
    bounds on reviewer j's load (pins included); conflicts: (i, j) pairs never allowed
    (or a sparse n × m matrix, nonzero where a pair is not allowed: 1 % of 300,000 × 70,000
    is 210 million pairs, 3.4 GB as pairs of int64, 1 GB as a CSR matrix); pins: (i, j)
    pairs that must be kept.

    Two fairness constraints (off by default):

    * groups[j]: reviewer j's group (institution, country; -1 or a group of one: none).
      With groups, a proposal gets at most one reviewer of each group, its pins included
      (a pin of a group blocks that group's other reviewers for the proposal; two pins of
      one group are kept as staff chose them).
    * floor: a scaled affinity; every pair the solver chooses has at least that affinity
      (pins are kept whatever their affinity)."""

    affinity: DenseAffinity | TextAffinity
    need: np.ndarray
    max_load: np.ndarray
    min_load: np.ndarray | None = None
    conflicts: list[tuple[int, int]] | np.ndarray | sparse.spmatrix = field(default_factory=list)
    pins: list[tuple[int, int]] = field(default_factory=list)
    proposal_labels: list[str] | None = None
    reviewer_labels: list[str] | None = None
    groups: np.ndarray | list[int] | None = None
    floor: int = 0

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
        if sparse.issparse(self.conflicts):  # an n × m matrix, nonzero where conflicted
            matrix = self.conflicts.tocsr()  # no copy when it is one already
            self.conflict_matrix = matrix if matrix.dtype == bool else matrix.astype(bool)
        else:
            pairs = np.asarray(self.conflicts, dtype=np.int64).reshape(-1, 2)
            self.conflict_matrix = sparse.csr_matrix(
                (np.ones(len(pairs), dtype=bool), (pairs[:, 0], pairs[:, 1])), shape=(n, m))
        self.conflict_matrix.sum_duplicates()
        self.pin_pairs = np.asarray(self.pins, dtype=np.int64).reshape(-1, 2)
        self.floor = int(self.floor)
        # Groups of two or more reviewers, numbered 0..n_groups-1; -1 for everyone else.
        self.group = np.full(m, -1, dtype=np.int64)
        self.n_groups = 0
        self.group_blocked = sparse.csr_matrix((n, m), dtype=bool)
        if self.groups is not None:
            raw = np.asarray(self.groups, dtype=np.int64).reshape(-1)
            labels, inverse, counts = np.unique(raw, return_inverse=True, return_counts=True)
            shared = (counts >= 2) & (labels >= 0)
            number = np.full(len(labels), -1, dtype=np.int64)
            number[shared] = np.arange(int(shared.sum()))
            self.group = number[inverse]
            self.n_groups = int(shared.sum())
            # A pinned reviewer takes their group's one place on that proposal.
            rows, cols = [], []
            for i, j in self.pin_pairs.tolist():
                g = self.group[j]
                if g >= 0:
                    members = np.flatnonzero(self.group == g)
                    members = members[members != j]
                    rows.append(np.full(len(members), i))
                    cols.append(members)
            if rows:
                r, c = np.concatenate(rows), np.concatenate(cols)
                self.group_blocked = sparse.csr_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(n, m))
                self.group_blocked.sum_duplicates()

    def proposal_label(self, i: int) -> str:
        return self.proposal_labels[i] if self.proposal_labels else f"#{i + 1}"

    def reviewer_label(self, j: int) -> str:
        return self.reviewer_labels[j] if self.reviewer_labels else f"#{j + 1}"

    def excluded(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs that can never be (new) candidates for these proposals (conflicts, pins,
        a group already taken by a pin), as (row within idx, reviewer) coordinates."""
        coo = self.conflict_matrix[idx].tocoo()
        rows, cols = [coo.row.astype(np.int64)], [coo.col.astype(np.int64)]
        if self.group_blocked.nnz:
            blocked = self.group_blocked[idx].tocoo()
            rows.append(blocked.row.astype(np.int64))
            cols.append(blocked.col.astype(np.int64))
        if len(self.pin_pairs):
            where = np.full(self.n, -1, dtype=np.int64)
            where[idx] = np.arange(len(idx))
            r = where[self.pin_pairs[:, 0]]
            rows.append(r[r >= 0])
            cols.append(self.pin_pairs[r >= 0, 1])
        return np.concatenate(rows), np.concatenate(cols)


    def screen(self, idx: np.ndarray, block: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        """Set to -1, in place, the entries of a block of affinities (rows idx, columns
        cols or every reviewer; floats as ``affinity.rows`` gives them, or scaled integers)
        that may not be chosen: excluded pairs and, with a floor, pairs below it. The floor
        is compared exactly as ``scaled`` would round each float."""
        ex_r, ex_c = self.excluded(idx)
        if cols is not None:
            where = np.full(self.m, -1, dtype=np.int64)
            where[cols] = np.arange(len(cols))
            ex_c = where[ex_c]
            ex_r, ex_c = ex_r[ex_c >= 0], ex_c[ex_c >= 0]
        block[ex_r, ex_c] = -1
        if self.floor > 0:
            block[block < _threshold(self.floor, block.dtype)] = -1
        return block


def _threshold(floor: int, dtype) -> float | int:
    """The smallest value of this dtype that ``scaled`` rounds to at least ``floor``."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        return floor

    def reaches(x) -> bool:
        return int(np.rint(np.float64(x) * SCALE)) >= floor

    x = dtype.type((floor - 0.5) / SCALE)
    while reaches(x):
        x = np.nextafter(x, dtype.type(-np.inf))
    while not reaches(x):
        x = np.nextafter(x, dtype.type(np.inf))
    return x


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique(values) by a sort: numpy 2.4's np.unique takes a hash table for numbers,
    ten times slower at a million values (and at 210 million, minutes and 15 GB)."""
    values = np.sort(np.asarray(values).ravel())
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


def scaled(values: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(values, dtype=np.float64) * SCALE).astype(np.int64)


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
