"""Fairness options against independent checks on small instances: brute force over every
valid assignment and the linear program (HiGHS)."""
from __future__ import annotations

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
from cfp.reviews.assignment.fairness import UNITS, dependent_rounding, randomised
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
