"""Benchmark of the automatic reviewer assignment (cfp/reviews/assignment.py).

Seeded synthetic instances: proposals and reviewers are topic-word documents drawn from a
seeded vocabulary (so TF-IDF is meaningful), 1% of pairs are random conflicts, 3 reviewers
per proposal, each reviewer at most 8 (``--need`` and ``--max-load`` change these; the
defaults keep the figures comparable with earlier runs). For each size it prints:

* the solver alone (candidate lists already computed → certified assignment): time and
  peak memory (ru_maxrss of a fresh process that does only that);
* the whole job from text (TF-IDF, affinity, top-k candidates, solve, certificate): time
  and peak memory (ru_maxrss of its own fresh process);
* the total affinity, the dual bound and the gap to the optimum (0 when the certificate
  proves the assignment optimal; the dual bound is an upper bound on every assignment);
* then each phase of the job: seconds and the peak memory at its end (TF-IDF, candidates,
  flow, certificate, repair; the flow solves run in a child process, as in the app, so
  their memory is counted apart and the job's figure is the sum of both peaks).

    .venv/bin/python bench/assignment.py            # the three sizes
    .venv/bin/python bench/assignment.py 500x300    # one size
    .venv/bin/python bench/assignment.py --lp 500x300   # also the unpruned LP (HiGHS)
    .venv/bin/python bench/assignment.py --need 3 --max-load 14 300000x70000
    .venv/bin/python bench/assignment.py --fair 50 20000x10000   # also the randomised option, q = 50 %
    .venv/bin/python bench/assignment.py --floor 2000x1000       # also the floor for every proposal
    .venv/bin/python bench/assignment.py --diversity 2000x1000   # also one reviewer per institution

Each option runs in its own fresh process from the same saved candidate lists, and prints
its time against the solver alone and its total affinity against the plain optimum. For
``--diversity`` the reviewers belong to seeded synthetic institutions (``INSTITUTION_SIZE``
reviewers each on average, sizes drawn at random).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = [(500, 300), (2_000, 1_000), (20_000, 10_000)]
NEED, MAX_LOAD, CONFLICT_RATE = 3, 8, 0.01
VOCABULARY, TOPICS, WORDS_PER_TOPIC = 6_000, 120, 60
INSTITUTION_SIZE = 5


def documents(seed: int, n: int, m: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = ["".join(rng.choice(letters, size=rng.integers(4, 10))) for _ in range(VOCABULARY)]
    words = np.array(words)
    topics = [rng.choice(VOCABULARY, size=WORDS_PER_TOPIC, replace=False) for _ in range(TOPICS)]

    def doc(length: int, n_topics: int) -> str:
        chosen = rng.choice(TOPICS, size=n_topics, replace=False)
        topical = np.concatenate([topics[t] for t in chosen])
        k_topic = int(length * 0.7)
        picks = np.concatenate([rng.choice(topical, size=k_topic),
                                rng.integers(0, VOCABULARY, size=length - k_topic)])
        return " ".join(words[picks])

    proposals = [doc(int(rng.integers(80, 160)), int(rng.integers(1, 3))) for _ in range(n)]
    reviewers = [doc(int(rng.integers(20, 50)), int(rng.integers(1, 4))) for _ in range(m)]
    return proposals, reviewers


def conflicts(seed: int, n: int, m: int):
    """1 % of the pairs, drawn at random (the same pairs as ever for a seed), as a CSR
    matrix built from the sorted flat indices: at 300,000 × 70,000 that is 210 million
    pairs, which as an (n, 2) array of int64 (and the COO copies scipy makes of it) took
    more memory than the whole job."""
    from scipy import sparse

    rng = np.random.default_rng(seed + 1)
    count = round(n * m * CONFLICT_RATE)
    # Sorted, then deduplicated: numpy 2.4's np.unique takes a hash table for integers, which
    # at 210 million took more than 7 minutes and 15 GB (a sort: seconds).
    flat = np.sort(rng.integers(0, n * m, size=count, dtype=np.int64))
    flat = flat[np.concatenate(([True], flat[1:] != flat[:-1]))]
    indptr = np.searchsorted(flat, np.arange(n + 1, dtype=np.int64) * m)
    indices = (flat % m).astype(np.int32)
    del flat
    return sparse.csr_matrix((np.ones(len(indices), dtype=bool), indices, indptr), shape=(n, m))


def institutions(seed: int, m: int) -> np.ndarray:
    """Each reviewer's institution: m / INSTITUTION_SIZE institutions of uneven sizes."""
    rng = np.random.default_rng(seed + 2)
    count = max(m // INSTITUTION_SIZE, 1)
    weights = rng.pareto(1.5, size=count) + 1
    return rng.choice(count, size=m, p=weights / weights.sum())


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def children_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_whole(n: int, m: int, seed: int, out: str, need: int, max_load: int) -> dict:
    """The whole job from text, in this (fresh) process; saves what the solver needs."""
    from scipy import sparse

    from cfp.reviews.assignment import (
        DEFAULT_K,
        RESERVE,
        Instance,
        solve,
        text_affinity,
        top_candidates,
    )

    proposals, reviewers = documents(seed, n, m)
    pairs = conflicts(seed, n, m)
    base = peak_mib()
    start = time.perf_counter()
    affinity = text_affinity(proposals, reviewers)
    instance = Instance(affinity, need=need, max_load=max_load, conflicts=pairs)
    t_affinity = time.perf_counter()
    tfidf_mib = peak_mib()
    candidates = top_candidates(instance, DEFAULT_K + RESERVE)
    t_candidates = time.perf_counter()
    candidates_mib = peak_mib()
    # With a progress callback, as in the app: the flow solves run in a child process.
    solution = solve(instance, candidates=candidates, progress=lambda *_args: None)
    end = time.perf_counter()
    np.savez(out, index=candidates.index, value=candidates.value, left=candidates.left_out_best,
             extra=candidates.extra, column=candidates.column_bound)
    sparse.save_npz(out + ".c.npz", pairs)
    sparse.save_npz(out + ".p.npz", affinity.proposals)
    sparse.save_npz(out + ".r.npz", affinity.reviewers_t.T.tocsr())
    return {
        "whole_s": end - start, "tfidf_s": t_affinity - start,
        "candidates_s": t_candidates - t_affinity, "solve_in_job_s": end - t_candidates,
        "whole_peak_mib": peak_mib() + children_peak_mib(), "total": solution.total,
        "dual": solution.dual_bound, "certified": solution.certified, "rounds": solution.rounds,
        "arcs": solution.arcs, "pairs": len(solution.pairs), "documents_mib": base,
        "tfidf_mib": tfidf_mib, "candidates_mib": candidates_mib,
        "flow_child_mib": children_peak_mib(), "phases": solution.phases,
    }


def run_solver(n: int, m: int, out: str, need: int, max_load: int) -> dict:
    """The solver alone, from saved candidate lists, in a fresh process."""
    from scipy import sparse

    from cfp.reviews.assignment import Candidates, Instance, TextAffinity, solve

    data = np.load(out + ".npz")
    affinity = TextAffinity(sparse.load_npz(out + ".p.npz"), sparse.load_npz(out + ".r.npz"))
    instance = Instance(affinity, need=need, max_load=max_load, conflicts=sparse.load_npz(out + ".c.npz"))
    candidates = Candidates(data["index"], data["value"], data["left"], data["extra"], data["column"])
    start = time.perf_counter()
    solution = solve(instance, candidates=candidates)
    elapsed = time.perf_counter() - start
    return {"solver_s": elapsed, "solver_peak_mib": peak_mib(), "total": solution.total,
            "dual": solution.dual_bound, "certified": solution.certified,
            "rounds": solution.rounds, "arcs": solution.arcs}


def run_fair(n: int, m: int, out: str, need: int, max_load: int, cap: int) -> dict:
    """The randomised option (each pair at most cap %) from the same saved candidates, in a
    fresh process: its time and its expected total affinity."""
    from scipy import sparse

    from cfp.reviews.assignment import Candidates, Instance, TextAffinity
    from cfp.reviews.assignment.fairness import randomised

    data = np.load(out + ".npz")
    affinity = TextAffinity(sparse.load_npz(out + ".p.npz"), sparse.load_npz(out + ".r.npz"))
    instance = Instance(affinity, need=need, max_load=max_load, conflicts=sparse.load_npz(out + ".c.npz"))
    candidates = Candidates(data["index"], data["value"], data["left"], data["extra"], data["column"])
    start = time.perf_counter()
    result = randomised(instance, cap, seed=n, candidates=candidates)
    return {"fair_s": time.perf_counter() - start, "fair_peak_mib": peak_mib(),
            "expected": result.fractional.total / 100, "drawn": result.solution.total,
            "certified": result.fractional.certified}


def saved(out: str, need: int, max_load: int, **extra):
    from scipy import sparse

    from cfp.reviews.assignment import Candidates, Instance, TextAffinity

    data = np.load(out + ".npz")
    affinity = TextAffinity(sparse.load_npz(out + ".p.npz"), sparse.load_npz(out + ".r.npz"))
    instance = Instance(affinity, need=need, max_load=max_load, conflicts=sparse.load_npz(out + ".c.npz"),
                        **extra)
    return instance, Candidates(data["index"], data["value"], data["left"], data["extra"], data["column"])


def run_floor(n: int, m: int, out: str, need: int, max_load: int) -> dict:
    """The floor option from the same saved candidates, in a fresh process: the plain
    optimum, the search, the proof and the best assignment at the floor."""
    from cfp.reviews.assignment.fairness import floor_assignment, weakest_pair, worst_average

    instance, candidates = saved(out, need, max_load)
    start = time.perf_counter()
    result = floor_assignment(instance, candidates=candidates)
    return {"floor_s": time.perf_counter() - start, "floor_peak_mib": peak_mib(), "floor": result.floor,
            "plain_weakest": weakest_pair(result.plain), "total": result.solution.total,
            "plain": result.plain.total, "certified": result.solution.certified and result.proved,
            "probes": result.probes, "seconds": result.seconds,
            "worst_average": worst_average(result.solution, n), "plain_worst_average": worst_average(result.plain, n)}


def run_diversity(n: int, m: int, seed: int, out: str, need: int, max_load: int) -> dict:
    """At most one reviewer of each institution per proposal, from the same saved candidates."""
    from cfp.reviews.assignment import solve

    groups = institutions(seed, m)
    instance, candidates = saved(out, need, max_load, groups=groups)
    start = time.perf_counter()
    solution = solve(instance, candidates=candidates.restricted(instance))
    elapsed = time.perf_counter() - start
    # How many proposals the plain optimum gives two reviewers of one institution.
    plain_instance, _c = saved(out, need, max_load)
    plain = solve(plain_instance, candidates=candidates)
    key = plain.pairs[:, 0] * (groups.max() + 1) + groups[plain.pairs[:, 1]]
    _u, counts = np.unique(key, return_counts=True)
    doubled = len(np.unique(_u[counts > 1] // (groups.max() + 1)))
    return {"diversity_s": elapsed, "diversity_peak_mib": peak_mib(), "total": solution.total,
            "certified": solution.certified, "gap": solution.gap, "institutions": int(groups.max() + 1),
            "plain_doubled": doubled, "rounds": solution.rounds}


def run_lp(n: int, m: int, seed: int, need: int, max_load: int) -> dict:
    """The full, unpruned linear program (HiGHS): an independent optimum."""
    from scipy import sparse
    from scipy.optimize import linprog

    from cfp.reviews.assignment import scaled, text_affinity

    proposals, reviewers = documents(seed, n, m)
    pairs = conflicts(seed, n, m).tocoo()
    a = scaled(text_affinity(proposals, reviewers).rows(np.arange(n)))
    allowed = np.ones((n, m), dtype=bool)
    allowed[pairs.row, pairs.col] = False
    ii, jj = np.nonzero(allowed)
    start = time.perf_counter()
    cols = np.arange(len(ii))
    a_eq = sparse.csr_matrix((np.ones(len(ii)), (ii, cols)), shape=(n, len(ii)))
    a_ub = sparse.csr_matrix((np.ones(len(ii)), (jj, cols)), shape=(m, len(ii)))
    result = linprog(-a[ii, jj].astype(float), A_ub=a_ub, b_ub=np.full(m, max_load), A_eq=a_eq,
                     b_eq=np.full(n, need), bounds=(0, 1), method="highs")
    return {"lp_s": time.perf_counter() - start, "lp_optimum": -result.fun}


def child(kind: str, n: int, m: int, seed: int, out: str, need: int, max_load: int) -> None:
    result = {"whole": lambda: run_whole(n, m, seed, out, need, max_load),
              "solver": lambda: run_solver(n, m, out, need, max_load),
              "lp": lambda: run_lp(n, m, seed, need, max_load),
              "fair": lambda: run_fair(n, m, out, need, max_load, seed),
              "floor": lambda: run_floor(n, m, out, need, max_load),
              "diversity": lambda: run_diversity(n, m, seed, out, need, max_load)}[kind]()
    print(json.dumps(result))


def in_fresh_process(kind: str, n: int, m: int, seed: int, out: str, need: int, max_load: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(n), str(m), str(seed), out,
                           str(need), str(max_load)], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} {n}x{m} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        child(argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5], int(argv[6]), int(argv[7]))
        return
    with_lp = "--lp" in argv
    need = int(argv[argv.index("--need") + 1]) if "--need" in argv else NEED
    max_load = int(argv[argv.index("--max-load") + 1]) if "--max-load" in argv else MAX_LOAD
    fair = int(argv[argv.index("--fair") + 1]) if "--fair" in argv else None
    with_floor, with_diversity = "--floor" in argv, "--diversity" in argv
    wanted = [a for a in argv if "x" in a and not a.startswith("-")]
    sizes = [tuple(map(int, a.split("x"))) for a in wanted] or SIZES
    from cfp.reviews.assignment import SCALE

    print(f"need {need}, max load {max_load}, {CONFLICT_RATE:.0%} conflicts")
    print(f"{'size':>13} {'solver s':>9} {'solver MiB':>10} {'job s':>7} {'job MiB':>8} "
          f"{'(tfidf+top-k s)':>15} {'total affinity':>15} {'gap':>5} {'certified':>9} rounds")
    for n, m in sizes:
        seed = n  # the same instance whichever sizes are run
        with tempfile.TemporaryDirectory() as tmp:
            out = str(Path(tmp) / "instance")
            whole = in_fresh_process("whole", n, m, seed, out, need, max_load)
            alone = in_fresh_process("solver", n, m, seed, out, need, max_load)
            if fair:  # the seed argument carries the cap for this child
                randomised = in_fresh_process("fair", n, m, fair, out, need, max_load)
            if with_floor:
                floored = in_fresh_process("floor", n, m, seed, out, need, max_load)
            if with_diversity:
                diverse = in_fresh_process("diversity", n, m, seed, out, need, max_load)
        assert alone["total"] == whole["total"], (alone, whole)
        gap = (whole["dual"] - whole["total"]) / SCALE
        print(f"{n:>6}x{m:<6} {alone['solver_s']:>9.2f} {alone['solver_peak_mib']:>10.0f} "
              f"{whole['whole_s']:>7.2f} {whole['whole_peak_mib']:>8.0f} "
              f"{whole['tfidf_s'] + whole['candidates_s']:>15.2f} "
              f"{whole['total'] / SCALE:>15.6f} {gap:>5.3g} {whole['certified']!s:>9} "
              f"{whole['rounds']} ({whole['arcs']} arcs, {whole['pairs']} pairs)", flush=True)
        ph = whole["phases"]
        print(f"{'':>13} phases (s / peak MiB at the end): tfidf {whole['tfidf_s']:.1f} / "
              f"{whole['tfidf_mib']:.0f}, candidates {whole['candidates_s']:.1f} / {whole['candidates_mib']:.0f}, "
              f"flow {ph['flow']:.1f} / {whole['flow_child_mib']:.0f} (child), certificate "
              f"{ph['certificate']:.1f} / {ph['peak_mib'].get('certificate', 0):.0f}, repair {ph['repair']:.1f}; "
              f"pairs added per round {ph['added']}", flush=True)
        if fair:
            r = randomised
            print(f"{'':>13} randomised, each pair at most {fair}%: {r['fair_s']:.2f} s "
                  f"({r['fair_s'] / alone['solver_s']:.1f}x the solver alone), {r['fair_peak_mib']:.0f} MiB; "
                  f"expected total affinity {r['expected'] / SCALE:.6f} = "
                  f"{100 * r['expected'] / whole['total']:.2f}% of the optimum (this draw "
                  f"{r['drawn'] / SCALE:.6f}); fractional optimum certified: {r['certified']}", flush=True)
        if with_floor:
            r = floored
            assert r["plain"] == whole["total"], (r, whole)
            print(f"{'':>13} floor for every proposal: {r['floor_s']:.2f} s "
                  f"({r['floor_s'] / alone['solver_s']:.1f}x the solver alone; plain solve "
                  f"{r['seconds']['plain']:.1f}, search {r['seconds']['search']:.1f} ({r['probes']} thresholds), "
                  f"proof {r['seconds']['proof']:.1f}, best at the floor {r['seconds']['best_at_floor']:.1f}), "
                  f"{r['floor_peak_mib']:.0f} MiB; floor {r['floor'] / SCALE:.6f} (plain optimum's weakest pair "
                  f"{r['plain_weakest'] / SCALE:.6f}), worst proposal average {r['worst_average']:.4f} (plain "
                  f"{r['plain_worst_average']:.4f}); total affinity {r['total'] / SCALE:.6f} = "
                  f"{100 * r['total'] / whole['total']:.2f}% of the optimum; proved: {r['certified']}", flush=True)
        if with_diversity:
            r = diverse
            print(f"{'':>13} one reviewer per institution ({r['institutions']} institutions; the plain optimum "
                  f"doubles one on {r['plain_doubled']} proposals): {r['diversity_s']:.2f} s "
                  f"({r['diversity_s'] / alone['solver_s']:.1f}x the solver alone), {r['diversity_peak_mib']:.0f} MiB; "
                  f"total affinity {r['total'] / SCALE:.6f} = {100 * r['total'] / whole['total']:.2f}% of the "
                  f"optimum; gap {r['gap'] / SCALE:.3g}, certified: {r['certified']}, {r['rounds']} rounds", flush=True)
        if with_lp:
            lp = in_fresh_process("lp", n, m, seed, "", need, max_load)
            print(f"{'':>13} full LP (HiGHS, unpruned): optimum {lp['lp_optimum'] / SCALE:.6f} "
                  f"in {lp['lp_s']:.1f} s; difference "
                  f"{(lp['lp_optimum'] - whole['total']) / SCALE:.2g}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
