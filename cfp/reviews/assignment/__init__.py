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

What keeps it fast at national scale (300,000 proposals × 70,000 reviewers):

* the first graph can serve everyone: besides each proposal's top-k, each reviewer's best
  proposals are arcs (the same pass over the affinities), and proposals still short of
  reviewers after the first solve are offered the best reviewers that have room, computed
  on those reviewers' columns only (``candidates._spare_arcs``);
* the overflow arcs (which keep the pruned graph feasible) start at a small cost and are
  raised only if a certified solution still uses them: a wide cost range slows every
  cost-scaling solve down;
* each proposal keeps 200 candidates beyond its graph arcs (the reserve) and the bound
  on the rest: at the optimum of a tight instance (94 % of the reviewers' capacity used)
  a proposal's price is above its 137th best affinity in 99 % of the cases, so the reserve
  is checked exactly and vectorised and almost no row has to be recomputed;
* the certificate recomputes a proposal's row only on the reviewers whose price could
  break the dual constraint (y_j < left_out_i - u_i, and column_bound_j - y_j > u_i with
  each reviewer's next best affinity after the proposals kept for them), and not in a
  round where that proposal takes reserve arcs (the round that proves adds nothing, so
  it checks every row).

Modules: ``problem`` (affinities, the instance, infeasibility reasons), ``candidates``,
``flow`` (the solver and its certificate), ``mcf`` (one min-cost flow solve that a cancel
can stop), ``fairness`` (the randomised assignment with a per-pair cap, the floor for every
proposal). Diversity (one reviewer per group and proposal) is a constraint of the instance
(``Instance.groups``) that the solver and its certificate handle directly.
"""
from .candidates import DEFAULT_K, PER_REVIEWER, RESERVE, Candidates, top_candidates
from .flow import Solution, solve
from .problem import (
    BLOCK,
    SCALE,
    AssignmentInfeasible,
    DenseAffinity,
    Instance,
    Reason,
    TextAffinity,
    diagnose,
    scaled,
    text_affinity,
)

__all__ = ["BLOCK", "DEFAULT_K", "PER_REVIEWER", "RESERVE", "SCALE", "AssignmentInfeasible", "Candidates",
           "DenseAffinity", "Instance", "Reason", "Solution", "TextAffinity", "diagnose", "scaled", "solve",
           "text_affinity", "top_candidates"]
