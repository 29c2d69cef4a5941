"""Fairness options against independent checks on small instances: brute force over every
valid assignment and the linear program (HiGHS)."""
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
)
from cfp.reviews.assignment.fairness import (
    UNITS,
    dependent_rounding,
    floor_assignment,
    randomised,
    weakest_pair,
    worst_average,
)
from tests.reviews.test_assignment_solver import brute_force


def capped_lp(a: np.ndarray, need, max_load, conflicts, cap: float) -> float | None:
    """max sum a x, each proposal `need`, each reviewer at most max_load, 0 <= x_ij <= cap."""
    n, m = a.shape
    pairs = [(i, j) for i in range(n) for j in range(m) if (i, j) not in conflicts]
    a_eq = np.zeros((n, len(pairs)))
    a_ub = np.zeros((m, len(pairs)))
    for col, (i, j) in enumerate(pairs):
        a_eq[i, col] = a_ub[j, col] = 1
    result = linprog(-np.array([a[i, j] for i, j in pairs], dtype=float), A_ub=a_ub, b_ub=max_load,
                     A_eq=a_eq, b_eq=need, bounds=(0, cap), method="highs")
    return -result.fun if result.status == 0 else None


def small(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 5)), int(rng.integers(4, 7))
    a = rng.random((n, m))
    conflicts = {(int(rng.integers(0, n)), int(rng.integers(0, m)))}
    return a, np.full(n, 2), rng.integers(2, 4, size=m), conflicts


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("cap", [50, 67, 100])
def test_the_fractional_optimum_is_the_capped_lp_and_is_certified(seed, cap):
    a, need, max_load, conflicts = small(seed)
    instance = Instance(DenseAffinity(a), need=need, max_load=max_load, conflicts=sorted(conflicts))
    ints = scaled(a)
    lp = capped_lp(ints, need, max_load, conflicts, cap / UNITS)
    if lp is None:
        with pytest.raises(AssignmentInfeasible):
            randomised(instance, cap, seed=1, k=2)
        return
    result = randomised(instance, cap, seed=1, k=2)
    fractional = result.fractional
    assert fractional.certified and fractional.gap == 0
    assert fractional.total / UNITS == pytest.approx(lp, abs=1e-3)
    # The price of randomness against the deterministic optimum (= brute force).
    best = brute_force(ints, need, max_load, np.zeros(len(max_load), int), conflicts, set())
    assert fractional.total <= best * UNITS
    if cap == 100:
        assert fractional.total == best * UNITS
    assert max(result.probabilities.values()) <= cap / UNITS


@pytest.mark.parametrize("seed", range(8))
def test_every_draw_is_a_valid_assignment_and_the_seed_repeats_it(seed):
    a, need, max_load, conflicts = small(seed)
    instance = Instance(DenseAffinity(a), need=need, max_load=max_load, conflicts=sorted(conflicts))
    if capped_lp(scaled(a), need, max_load, conflicts, 0.6) is None:
        with pytest.raises(AssignmentInfeasible):
            randomised(instance, 60, seed=seed)
        return
    first = randomised(instance, 60, seed=seed)
    again = randomised(instance, 60, seed=seed)
    assert first.solution.pairs.tolist() == again.solution.pairs.tolist()
    pairs = {tuple(p) for p in first.solution.pairs.tolist()}
    assert not pairs & conflicts
    assert (np.bincount(first.solution.pairs[:, 0], minlength=len(need)) == need).all()
    assert (np.bincount(first.solution.pairs[:, 1], minlength=len(max_load)) <= max_load).all()
    assert pairs <= {p for p, share in first.probabilities.items() if share > 0}
    assert first.solution.total == int(sum(scaled(a[i, j]) for i, j in pairs))


def test_pins_are_kept_with_certainty():
    a = np.random.default_rng(1).random((3, 6))
    instance = Instance(DenseAffinity(a), need=2, max_load=2, pins=[(0, 5)])
    for seed in range(20):
        result = randomised(instance, 50, seed=seed)
        assert (0, 5) in {tuple(p) for p in result.solution.pairs.tolist()}
        assert result.probabilities[(0, 5)] == 1.0


def test_each_pair_is_drawn_with_its_fractional_probability():
    """Dependent rounding keeps each pair's expectation: over 4,000 seeded draws each
    pair's frequency is its share (to 0.03), and never above the cap."""
    rng = np.random.default_rng(7)
    a = rng.random((4, 6))
    instance = Instance(DenseAffinity(a), need=2, max_load=2)
    result = randomised(instance, 40, seed=0)
    f = result.fractional
    counts = np.zeros(len(f.pairs))
    for draw in range(4000):
        x = dependent_rounding(f.pairs, f.amount, UNITS, np.random.default_rng(draw))
        counts += x == UNITS
        assert (np.bincount(f.pairs[x == UNITS, 0], minlength=4) == 2).all()
    assert np.abs(counts / 4000 - f.amount / UNITS).max() < 0.03
    assert (counts / 4000 <= 0.4 + 0.03).all()
    # The expected total of a draw is the fractional optimum, below the deterministic one.
    assert result.expected_total <= solve(instance).total / SCALE


# --------------------------------------------------------------------------- floor and diversity


def valid_assignments(a, need, max_load, conflicts, pins, groups, min_load=None):
    """Every valid assignment, by brute force: needs, loads, conflicts, pins, and at most one
    reviewer of each group per proposal (a pinned reviewer takes their group's place)."""
    n, m = a.shape
    per_proposal = []
    for i in range(n):
        pinned = {j for p, j in pins if p == i}
        allowed = [j for j in range(m) if (i, j) not in conflicts]
        options = []
        for chosen in itertools.combinations(allowed, need[i]):
            if not pinned <= set(chosen):
                continue
            free = [groups[j] for j in chosen if j not in pinned and groups[j] >= 0]
            taken = {groups[j] for j in pinned if groups[j] >= 0}
            if len(free) != len(set(free)) or set(free) & taken:
                continue
            options.append(chosen)
        per_proposal.append(options)
    for choice in itertools.product(*per_proposal):
        load = np.zeros(m, dtype=int)
        for chosen in choice:
            load[list(chosen)] += 1
        if (load <= max_load).all() and (min_load is None or (load >= min_load).all()):
            yield choice


def brute_force_fair(a, need, max_load, conflicts, pins, groups, min_load=None) -> tuple | None:
    """(best total, highest floor, best total at that floor) over every valid assignment;
    the floor is the lowest affinity of a pair that is not pinned."""
    best = best_floor = None
    for choice in valid_assignments(a, need, max_load, conflicts, pins, groups, min_load):
        total = sum(int(a[i, j]) for i, chosen in enumerate(choice) for j in chosen)
        free = [int(a[i, j]) for i, chosen in enumerate(choice) for j in chosen if (i, j) not in pins]
        best = total if best is None else max(best, total)
        key = (min(free) if free else None, total)
        best_floor = key if best_floor is None or key > best_floor else best_floor
    return None if best is None else (best, *best_floor)


def fair_instance(seed, with_groups=True):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 5)), int(rng.integers(3, 7))
    a = rng.random((n, m))
    groups = rng.integers(-1, 3, size=m) if with_groups else np.full(m, -1)
    need, max_load = np.full(n, 2), rng.integers(1, 4, size=m)
    conflicts = {(int(rng.integers(0, n)), int(rng.integers(0, m)))}
    pins = set()
    if seed % 2:
        i, j = int(rng.integers(0, n)), int(rng.integers(0, m))
        if (i, j) not in conflicts:
            pins.add((i, j))
    min_load = np.zeros(m, dtype=int)
    if seed % 4 == 1:  # a reviewer who must take a proposal
        min_load[int(rng.integers(0, m))] = 1
    instance = Instance(DenseAffinity(a), need=need, max_load=max_load, min_load=min_load,
                        conflicts=sorted(conflicts), pins=sorted(pins), groups=groups)
    return instance, (scaled(a), need, max_load, conflicts, pins, groups, min_load)


@pytest.mark.parametrize("seed", range(60))
def test_diversity_is_optimal_against_brute_force_and_certified(seed):
    """One reviewer per group and proposal: the certified optimum (with candidate lists of
    one reviewer, so the certificate has to pull pairs in through the group nodes) equals
    the best valid assignment found by enumeration."""
    instance, facts = fair_instance(seed)
    expected = brute_force_fair(*facts)
    if expected is None:
        with pytest.raises(AssignmentInfeasible):
            solve(instance, k=1, reserve=0)
        return
    solution = solve(instance, k=1, reserve=0)
    assert solution.certified and solution.gap == 0
    assert solution.total == expected[0]
    groups, pins = facts[5], facts[4]
    chosen = {}
    for i, j in solution.pairs.tolist():
        if groups[j] >= 0 and (i, j) not in pins:
            assert (i, groups[j]) not in chosen
            chosen[(i, groups[j])] = j


@pytest.mark.parametrize("seed", range(60))
def test_the_floor_is_the_highest_reachable_and_the_total_best_at_it(seed):
    """Against brute force: the floor found is the highest lowest-pair affinity of any valid
    assignment, the total the best among those that reach it (with and without groups)."""
    instance, facts = fair_instance(seed, with_groups=seed % 3 == 0)
    expected = brute_force_fair(*facts)
    if expected is None:
        with pytest.raises(AssignmentInfeasible):
            floor_assignment(instance, k=1, reserve=0)
        return
    result = floor_assignment(instance, k=1, reserve=0)
    best, floor, at_floor = expected
    assert result.plain.total == best
    assert (result.floor, result.solution.total) == (floor, at_floor)
    assert result.proved and result.solution.certified and result.solution.gap == 0
    assert result.cost == best - at_floor >= 0
    if floor is not None:
        assert weakest_pair(result.solution) == floor


def group_lp(a, need, max_load, groups, cap: float = 1.0) -> float:
    """The linear program with one review per group and proposal (pairs at most cap)."""
    n, m = a.shape
    pairs = [(i, j) for i in range(n) for j in range(m)]
    rows = [(i, g) for i in range(n) for g in sorted({int(g) for g in groups if g >= 0})]
    a_eq = np.zeros((n, len(pairs)))
    a_ub = np.zeros((m + len(rows), len(pairs)))
    for col, (i, j) in enumerate(pairs):
        a_eq[i, col] = a_ub[j, col] = 1
        if groups[j] >= 0:
            a_ub[m + rows.index((i, int(groups[j]))), col] = 1
    result = linprog(-np.array([a[i, j] for i, j in pairs], dtype=float), A_ub=a_ub,
                     b_ub=np.r_[max_load, np.ones(len(rows))], A_eq=a_eq, b_eq=need, bounds=(0, cap),
                     method="highs")
    assert result.status == 0
    return -result.fun


def test_diversity_on_text_affinities_of_a_larger_call_equals_the_linear_program():
    """60 proposals x 40 reviewers in 8 institutions, pruned candidate lists: the certified
    total equals HiGHS's optimum of the full linear program (a network, so integral), and
    combines with the randomised option (its fractional optimum is the capped LP)."""
    rng = np.random.default_rng(3)
    words = [f"w{k}" for k in range(60)]
    proposals = [" ".join(rng.choice(words, 12)) for _ in range(60)]
    reviewers = [" ".join(rng.choice(words, 6)) for _ in range(40)]
    groups = rng.integers(0, 8, size=40)
    from cfp.reviews.assignment import text_affinity

    affinity = text_affinity(proposals, reviewers)
    a = scaled(affinity.rows(np.arange(60)))
    instance = Instance(affinity, need=3, max_load=6, groups=groups)
    solution = solve(instance, k=4, reserve=2)
    assert solution.certified
    assert solution.total == pytest.approx(group_lp(a, np.full(60, 3), np.full(40, 6), groups), abs=1)
    drawn = randomised(instance, 50, seed=1, k=4, reserve=2)
    assert drawn.fractional.certified
    assert drawn.fractional.total / UNITS == pytest.approx(
        group_lp(a, np.full(60, 3), np.full(40, 6), groups, cap=0.5), abs=1)


def test_the_floor_on_a_larger_call_equals_a_search_over_every_pair():
    """60 x 40 from text, pruned lists: the floor equals a binary search whose every step is
    a feasibility flow on all the pairs at or above the threshold (no pruning at all)."""
    from cfp.reviews.assignment import text_affinity
    from cfp.reviews.assignment.flow import feasible_on

    rng = np.random.default_rng(7)
    words = [f"w{k}" for k in range(80)]
    affinity = text_affinity([" ".join(rng.choice(words, 12)) for _ in range(60)],
                             [" ".join(rng.choice(words, 6)) for _ in range(40)])
    a = scaled(affinity.rows(np.arange(60)))
    instance = Instance(affinity, need=2, max_load=4, conflicts=[(0, 0), (1, 1)])
    allowed = np.ones_like(a, dtype=bool)
    allowed[0, 0] = allowed[1, 1] = False
    values = np.unique(a[allowed])
    lo, hi = 0, len(values)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        p, r = np.nonzero(allowed & (a >= values[mid]))
        lo, hi = (mid, hi) if feasible_on(instance, p, r) else (lo, mid)
    result = floor_assignment(instance, k=3, reserve=1)
    assert result.floor == values[lo] and result.proved
    assert result.floor > weakest_pair(result.plain)
    p, r = np.nonzero(allowed & (a >= result.floor))
    exact = linprog(-a[p, r].astype(float), A_ub=np.eye(40)[r].T, b_ub=np.full(40, 4),
                    A_eq=np.eye(60)[p].T, b_eq=np.full(60, 2), bounds=(0, 1), method="highs")
    assert result.solution.total == pytest.approx(-exact.fun, abs=1)
    assert result.solution.certified and worst_average(result.solution, 60) >= result.floor / SCALE - 1e-9
