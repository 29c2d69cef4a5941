"""The assignment solver against independent checks: brute force over every valid
assignment, and the full linear program (no pruning) solved by HiGHS."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from cfp.reviews.assignment import (
    SCALE,
    AssignmentInfeasible,
    DenseAffinity,
    Instance,
    scaled,
    solve,
    text_affinity,
)


def brute_force(a: np.ndarray, need, max_load, min_load, conflicts, pins) -> int | None:
    n, m = a.shape
    per_proposal = []
    for i in range(n):
        pinned = {j for p, j in pins if p == i}
        allowed = [j for j in range(m) if (i, j) not in conflicts]
        options = [c for c in itertools.combinations(allowed, need[i]) if pinned <= set(c)]
        per_proposal.append(options)
    best = None
    for choice in itertools.product(*per_proposal):
        load = np.zeros(m, dtype=int)
        for c in choice:
            load[list(c)] += 1
        if (load > max_load).any() or (load < min_load).any():
            continue
        total = sum(int(a[i, j]) for i, c in enumerate(choice) for j in c)
        best = total if best is None else max(best, total)
    return best


def linear_program(a: np.ndarray, need, max_load, min_load, conflicts, pins) -> float | None:
    n, m = a.shape
    pairs = [(i, j) for i in range(n) for j in range(m) if (i, j) not in conflicts]
    c = -np.array([a[i, j] for i, j in pairs], dtype=float)
    a_eq = np.zeros((n, len(pairs)))
    a_ub = np.zeros((2 * m, len(pairs)))
    for col, (i, j) in enumerate(pairs):
        a_eq[i, col] = 1
        a_ub[j, col] = 1
        a_ub[m + j, col] = -1
    bounds = [(1, 1) if (i, j) in pins else (0, 1) for i, j in pairs]
    result = linprog(c, A_ub=a_ub, b_ub=np.r_[max_load, -np.asarray(min_load)], A_eq=a_eq,
                     b_eq=need, bounds=bounds, method="highs")
    return -result.fun if result.status == 0 else None


def random_instance(rng, n, m, need_value, load_value, with_min=False, with_pins=False):
    a = rng.random((n, m))
    conflicts = {(int(i), int(j)) for i, j in zip(rng.integers(0, n, 2), rng.integers(0, m, 2))}
    need = np.full(n, need_value)
    max_load = rng.integers(load_value - 1, load_value + 2, size=m).clip(min=1)
    min_load = np.zeros(m, dtype=int)
    if with_min:
        min_load[rng.integers(0, m)] = 1
    pins = set()
    if with_pins:
        i, j = int(rng.integers(0, n)), int(rng.integers(0, m))
        if (i, j) not in conflicts:
            pins.add((i, j))
    return a, need, max_load, min_load, conflicts, pins


@pytest.mark.parametrize("seed", range(30))
def test_optimal_against_brute_force_and_lp(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 5)), int(rng.integers(3, 6))
    a, need, max_load, min_load, conflicts, pins = random_instance(
        rng, n, m, 2, 2, with_min=seed % 3 == 0, with_pins=seed % 2 == 0)
    instance = Instance(DenseAffinity(a), need=need, max_load=max_load, min_load=min_load,
                        conflicts=sorted(conflicts), pins=sorted(pins))
    ints = scaled(a)
    expected = brute_force(ints, need, max_load, min_load, conflicts, pins)
    lp = linear_program(ints, need, max_load, min_load, conflicts, pins)
    if expected is None:
        assert lp is None
        with pytest.raises(AssignmentInfeasible):
            solve(instance, k=2)
        return
    # k=2 prunes hard: the certificate has to add the missing pairs itself.
    solution = solve(instance, k=2, reserve=seed % 3)
    assert solution.certified and solution.gap == 0
    assert solution.total == expected
    assert lp == pytest.approx(expected, abs=0.5)
    pairs = {tuple(p) for p in solution.pairs.tolist()}
    assert not pairs & conflicts
    assert pins <= pairs
    load = np.bincount(solution.pairs[:, 1], minlength=m)
    assert (load <= max_load).all() and (load >= min_load).all()
    assert (np.bincount(solution.pairs[:, 0], minlength=n) == need).all()


@pytest.mark.parametrize("seed", range(5))
def test_larger_instances_equal_the_full_lp(seed):
    """Pruned to 5 candidates per proposal, certified, equal to the unpruned LP optimum."""
    rng = np.random.default_rng(100 + seed)
    n, m = 30, 14
    a = rng.random((n, m)) ** 3
    conflicts = {(int(i), int(j)) for i, j in zip(rng.integers(0, n, 8), rng.integers(0, m, 8))}
    need, max_load = np.full(n, 3), np.full(m, 8)
    instance = Instance(DenseAffinity(a), need=need, max_load=max_load, conflicts=sorted(conflicts))
    solution = solve(instance, k=3, reserve=seed % 3)
    lp = linear_program(scaled(a), need, max_load, np.zeros(m), conflicts, set())
    assert solution.certified
    assert solution.total == pytest.approx(lp, abs=0.5)


@pytest.mark.parametrize("seed", range(8))
def test_reviewers_bounds_on_pairs_left_out_keep_the_proof(seed):
    """Each reviewer's next best (after their few best proposals kept as arcs) bounds the
    pairs left out of both lists, so the certificate skips rows the bound proves: tight
    capacity, 2 candidates per proposal and 1 to 3 per reviewer, against the unpruned LP
    and brute force."""
    from cfp.reviews.assignment import top_candidates

    rng = np.random.default_rng(300 + seed)
    n, m = (5, 4) if seed % 2 else (40, 16)
    a = rng.random((n, m)) ** 2
    pairs = 6 if n > 5 else 2
    conflicts = {(int(i), int(j)) for i, j in zip(rng.integers(0, n, pairs), rng.integers(0, m, pairs))}
    need, max_load = np.full(n, 2), np.full(m, -(-2 * n // m) + seed % 2)
    instance = Instance(DenseAffinity(a), need=need, max_load=max_load, conflicts=sorted(conflicts))
    candidates = top_candidates(instance, 2 + seed % 3, per_reviewer=1 + seed % 3)
    assert candidates.column_bound is not None and (candidates.column_bound >= 0).any()
    solution = solve(instance, k=2, candidates=candidates)
    assert solution.certified and solution.gap == 0
    ints = scaled(a)
    lp = linear_program(ints, need, max_load, np.zeros(m), conflicts, set())
    assert solution.total == pytest.approx(lp, abs=0.5)
    if n <= 5:
        assert solution.total == brute_force(ints, need, max_load, np.zeros(m, dtype=int), conflicts, set())


def test_total_capacity_below_demand_is_named():
    instance = Instance(DenseAffinity(np.ones((5, 2))), need=2, max_load=4)
    with pytest.raises(AssignmentInfeasible) as info:
        solve(instance)
    assert "total reviewer capacity 8 is less than the 10 reviews needed" in str(info.value)


def test_proposal_without_enough_unconflicted_reviewers_is_named():
    instance = Instance(DenseAffinity(np.ones((2, 3))), need=2, max_load=5,
                        conflicts=[(1, 0), (1, 2)], proposal_labels=["ALPHA", "BETA"])
    with pytest.raises(AssignmentInfeasible) as info:
        solve(instance)
    assert info.value.reasons == [
        "proposal BETA has only 1 available reviewers without a conflict of interest, and needs 2"]


def test_minimum_loads_above_demand_are_named():
    instance = Instance(DenseAffinity(np.ones((2, 3))), need=1, max_load=5, min_load=1)
    with pytest.raises(AssignmentInfeasible) as info:
        solve(instance)
    assert "minimum loads add up to 3, more than the 2 reviews" in str(info.value)


def test_pin_on_a_conflict_is_refused():
    instance = Instance(DenseAffinity(np.ones((2, 3))), need=1, max_load=5,
                        conflicts=[(0, 0)], pins=[(0, 0)])
    with pytest.raises(AssignmentInfeasible) as info:
        solve(instance)
    assert "despite a conflict of interest" in str(info.value)


def test_text_affinity_prefers_matching_expertise():
    proposals = ["Urban heat islands and climate adaptation of cities",
                 "Deep learning for protein structure prediction"]
    reviewers = ["protein folding; structural biology; machine learning",
                 "urban climate; heat waves; city planning"]
    affinity = text_affinity(proposals, reviewers)
    rows = affinity.rows(np.arange(2))
    assert rows[0, 1] > rows[0, 0] and rows[1, 0] > rows[1, 1]
    instance = Instance(affinity, need=1, max_load=1)
    solution = solve(instance)
    assert sorted(map(tuple, solution.pairs.tolist())) == [(0, 1), (1, 0)]
    assert solution.total == int(scaled(rows[0, 1]) + scaled(rows[1, 0]))
    assert 0 < solution.total <= 2 * SCALE


@pytest.mark.parametrize("ties", [False, True])
def test_candidates_are_each_rows_best_and_the_best_left_out(ties):
    """The thresholded selection (wide instances) against a full sort of every row, with
    conflicts and, in one case, many equal affinities."""
    from cfp.reviews.assignment import top_candidates

    rng = np.random.default_rng(5)
    n, m, k = 300, 4200, 64
    a = rng.random((n, m))
    if ties:
        a = np.round(a, 2)
    conflicts = np.stack([rng.integers(0, n, 3000), rng.integers(0, m, 3000)], axis=1)
    instance = Instance(DenseAffinity(a), need=3, max_load=8, conflicts=conflicts)
    candidates = top_candidates(instance, k, block=128)
    ints = scaled(a)
    ints[conflicts[:, 0], conflicts[:, 1]] = -1
    expected = -np.sort(-ints, axis=1)
    got = np.take_along_axis(ints, candidates.index.astype(np.int64), axis=1)
    assert (got == candidates.value).all() and (candidates.value == expected[:, :k]).all()
    assert (candidates.left_out_best == expected[:, k]).all()
    # Each reviewer's 12 best proposals are arcs (in the lists or as extras).
    arcs = {(int(i), int(j)) for i, row in enumerate(candidates.index) for j in row}
    arcs |= {(int(i), int(j)) for i, j, _v in candidates.extra}
    col_best = -np.sort(-ints, axis=0)[11]
    # The reviewer's next best bounds every other pair of the column (the certificate's
    # bound on the pairs left out of both lists).
    assert (candidates.column_bound == -np.sort(-ints, axis=0)[12]).all()
    for j in range(0, m, 97):
        assert {(i, j) for i in np.flatnonzero(ints[:, j] > col_best[j])} <= arcs


@pytest.mark.parametrize("ties", [False, True])
def test_candidates_on_several_threads_are_those_of_one(ties):
    """Blocks scored on three threads and merged in order give exactly what one thread
    gives: the lists, the bounds, each reviewer's best proposals (ties: the proposal seen
    first) and the column bounds, with conflicts and many equal affinities."""
    from cfp.reviews.assignment import top_candidates

    rng = np.random.default_rng(11)
    n, m = 900, 500
    a = rng.random((n, m)) ** 3
    if ties:
        a = np.round(a, 1)
    conflicts = np.stack([rng.integers(0, n, 2000), rng.integers(0, m, 2000)], axis=1)
    instance = Instance(DenseAffinity(a), need=3, max_load=8, conflicts=conflicts)
    one = top_candidates(instance, 20, block=64, threads=1)
    three = top_candidates(instance, 20, block=64, threads=3)
    for field in ("index", "value", "left_out_best", "extra", "column_bound"):
        assert np.array_equal(getattr(one, field), getattr(three, field)), field
    assert len(one.extra) == 12 * m


def test_a_cancel_during_the_threaded_candidate_pass_stops_it():
    """The job's cancel is raised by the progress callback: the pass stops there, and no
    thread is left waiting."""
    import threading

    from cfp.reviews.assignment import top_candidates

    class Cancelled(Exception):
        pass

    seen = []

    def progress(fraction):
        seen.append(fraction)
        if len(seen) == 3:
            raise Cancelled

    a = np.random.default_rng(3).random((2000, 300))
    instance = Instance(DenseAffinity(a), need=3, max_load=40)
    with pytest.raises(Cancelled):
        top_candidates(instance, 10, block=50, progress=progress, threads=2)
    assert len(seen) == 3
    assert not [t for t in threading.enumerate() if t.name.startswith("candidates")]


def test_conflicts_given_as_a_sparse_matrix_are_the_same_as_pairs():
    """At national scale 1 % of the pairs are 210 million conflicts: the instance takes them
    as a CSR matrix too, with the same candidates and the same certified optimum."""
    from scipy import sparse

    from cfp.reviews.assignment import top_candidates

    rng = np.random.default_rng(21)
    n, m = 60, 25
    a = rng.random((n, m))
    pairs = np.unique(np.stack([rng.integers(0, n, 90), rng.integers(0, m, 90)], axis=1), axis=0)
    matrix = sparse.csr_matrix((np.ones(len(pairs), dtype=bool), (pairs[:, 0], pairs[:, 1])), shape=(n, m))
    as_pairs = Instance(DenseAffinity(a), need=2, max_load=6, conflicts=pairs)
    as_matrix = Instance(DenseAffinity(a), need=2, max_load=6, conflicts=matrix)
    assert (as_pairs.conflict_matrix != as_matrix.conflict_matrix).nnz == 0
    one, other = top_candidates(as_pairs, 8), top_candidates(as_matrix, 8)
    assert np.array_equal(one.index, other.index) and np.array_equal(one.value, other.value)
    first, second = solve(as_pairs), solve(as_matrix)
    assert first.certified and second.certified and first.total == second.total
    assert not {(int(i), int(j)) for i, j in second.pairs} & {(int(i), int(j)) for i, j in pairs}


def test_sorted_unique_is_numpys_unique():
    from cfp.reviews.assignment.problem import sorted_unique

    rng = np.random.default_rng(8)
    for values in (rng.integers(0, 50, 1000), rng.integers(-5, 5, (30, 4)), np.array([], dtype=np.int64),
                   rng.random(100).round(1)):
        assert np.array_equal(sorted_unique(values), np.unique(values))


def test_the_certificates_exact_rows_on_several_threads_give_the_same_proof(monkeypatch):
    """The certificate computes suspect rows a block per thread (blocks of 16 here, so that
    a small instance has many): one thread and three give the same rounds, pairs and
    certified optimum, which is the unpruned LP's."""
    from cfp.reviews.assignment import flow, top_candidates

    rng = np.random.default_rng(17)
    n, m = 300, 60
    a = rng.random((n, m)) ** 2
    conflicts = {(int(i), int(j)) for i, j in zip(rng.integers(0, n, 400), rng.integers(0, m, 400))}
    need, max_load = np.full(n, 2), np.full(m, 11)
    instance = Instance(DenseAffinity(a), need=need, max_load=max_load, conflicts=sorted(conflicts))
    monkeypatch.setattr(flow, "BLOCK", 16)
    results = []
    for threads in ("1", "3"):
        monkeypatch.setenv("CFP_ASSIGNMENT_THREADS", threads)
        candidates = top_candidates(instance, 3, per_reviewer=1)
        solution = solve(instance, k=2, candidates=candidates, reserve=0)
        assert solution.certified and solution.gap == 0
        results.append(solution)
    one, three = results
    assert one.phases["added"] == three.phases["added"] and sum(one.phases["added"]) > 0
    assert np.array_equal(one.pairs, three.pairs) and one.total == three.total
    lp = linear_program(scaled(a), need, max_load, np.zeros(m), conflicts, set())
    assert one.total == pytest.approx(lp, abs=0.5)
