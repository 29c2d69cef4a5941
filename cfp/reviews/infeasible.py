"""What an infeasible automatic assignment tells staff: each reason with the ids the
page links to what fixes it (cfp/reviews/automatic.py runs the job)."""
from __future__ import annotations

import sqlalchemy as sa

from cfp.extensions import db
from cfp.reviews.assignment import AssignmentInfeasible
from cfp.reviews.models import ACTIVE_ASSIGNMENT_STATES, OPEN_ASSIGNMENT_STATES, Assignment


def problems(exc: AssignmentInfeasible, instance, proposal_rows, reviewer_rows, limits, params) -> list[dict]:
    """The reasons of an infeasible run with the ids the page needs to link each to what
    fixes it: the reviewer whose load to raise, the proposal, and a reviewer's pins (which
    are existing assignments, changed on the proposal's page, and which staff pins, removed
    on the run they were kept from)."""
    existing = {(a, b): state for a, b, state in db.session.execute(
        sa.select(Assignment.proposal_id, Assignment.reviewer_id, Assignment.state)
        .where(Assignment.proposal_id.in_([pid for pid, _label in proposal_rows]),
               Assignment.agency_id == params["agency_id"], Assignment.state.in_(ACTIVE_ASSIGNMENT_STATES)))}
    out = []
    for reason in exc.details:
        problem = {"kind": reason.kind, "text": reason.text, "numbers": reason.numbers}
        if reason.proposal is not None:
            problem["proposal_id"], problem["proposal"] = proposal_rows[reason.proposal]
        if reason.reviewer is not None:
            j = reason.reviewer
            problem["reviewer_id"], problem["reviewer"] = reviewer_rows[j]
            problem["max_load"] = limits[j]
            if instance is not None:
                # The reviewer's pins they still owe (a review they submitted takes no room).
                pins = [(proposal_rows[i], existing.get((proposal_rows[i][0], reviewer_rows[j][0])))
                        for i, jj in instance.pin_pairs.tolist() if jj == j]
                done = sum(state is not None and state not in OPEN_ASSIGNMENT_STATES for _row, state in pins)
                problem["pins"] = [{"proposal_id": row[0], "proposal": row[1], "existing": state is not None}
                                   for row, state in pins if state is None or state in OPEN_ASSIGNMENT_STATES]
                problem["owed"] = len(problem["pins"])
                problem["room"] = max(int(reason.numbers.get("max", 0)) - done, 0)
        out.append(problem)
    return out
