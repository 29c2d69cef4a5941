"""Seeding for the benchmarks: the small parts (agencies, committee, calls, staff) as the
models build them, the bulk (proposals, sides, eligibility, assignments, reviews, scores)
by SQLAlchemy Core inserts of rows shaped as the operations leave them, and the side
rankings by the operation that computes them. Run inside an app context."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from cfp.auth.models import User, UserRole
from cfp.calls.models import (
    Agency,
    Agreement,
    Call,
    CallSide,
    CallState,
    JointCommittee,
    PriorityArea,
    ReviewCriterion,
)
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import (
    EligibilityCheck,
    EligibilityStatus,
    Proposal,
    ProposalSide,
    ProposalState,
)
from cfp.reviews.models import (
    Assignment,
    AssignmentMethod,
    AssignmentState,
    Recommendation,
    Review,
    ReviewerProfile,
    ReviewScore,
    ReviewState,
)
from cfp.reviews.operations import compute_side_ranking

PASSWORD = "bench-password-2024"
CRITERIA = (("Excellence", "2"), ("Impact", "1"), ("Implementation", "1"), ("Complementarity", "1"))
REVIEWERS_PER_PROPOSAL = {"CN": 3, "BE": 2}  # 5 reviews a proposal: 10,000 proposals, 50,000 reviews
CHUNK = 5_000
STEP = Decimal("0.5")


class World:
    def __init__(self, cn, be, committee, staff_cn, secretariat, password_hash):
        self.cn, self.be, self.committee = cn, be, committee
        self.staff_cn, self.secretariat = staff_cn, secretariat
        self.password_hash = password_hash


def world() -> World:
    cn = Agency(code="CN", short_name="MOST", name="Ministry of Science and Technology",
                country="China", currency="CNY", timezone="Asia/Shanghai", locale="zh")
    be = Agency(code="BE", short_name="WBI", name="Wallonia-Brussels International",
                country="Belgium", currency="EUR", timezone="Europe/Brussels", locale="fr")
    agreement = Agreement(title="Agreement on scientific and technological cooperation",
                          agency_a=cn, agency_b=be)
    committee = JointCommittee(agreement=agreement, name="China–Wallonia-Brussels Joint Committee")
    db.session.add_all([cn, be, agreement, committee])
    db.session.flush()
    probe = User()
    probe.set_password(PASSWORD)  # argon2 once; every bench account shares the hash
    staff_cn = user("staff.most@bench.example", "Staff MOST", cn, probe.password_hash, (Role.staff, cn))
    secretariat = user("secretariat@bench.example", "Secretariat", None, probe.password_hash,
                       (Role.secretariat, None))
    return World(cn, be, committee, staff_cn, secretariat, probe.password_hash)


def existing_world() -> World:
    """The world `world()` made earlier in this database."""
    cn, be = (db.session.scalar(sa.select(Agency).filter_by(code=code)) for code in ("CN", "BE"))
    staff = db.session.scalar(sa.select(User).filter_by(email="staff.most@bench.example"))
    secretariat = db.session.scalar(sa.select(User).filter_by(email="secretariat@bench.example"))
    return World(cn, be, db.session.scalar(sa.select(JointCommittee)), staff, secretariat, staff.password_hash)


def user(email: str, name: str, agency, password_hash: str, *roles) -> User:
    u = User(email=email, name=name, agency=agency, affiliation="Bench", email_verified_at=utcnow())
    u.password_hash = password_hash
    for role, side in roles:
        u.grant(role, side)
    db.session.add(u)
    db.session.flush()
    return u


def call(w: World, reference: str, *, state: CallState, opens_at, closes_at) -> Call:
    now = utcnow()
    c = Call(committee=w.committee, reference=reference, title=f"Joint call {reference}", state=state,
             opens_at=opens_at, closes_at=closes_at, drafted_by_agency_id=w.cn.id, duration_months=24)
    c.sides = [
        CallSide(agency_id=w.cn.id, currency="CNY", budget_envelope=Decimal(50_000_000),
                 max_request=Decimal(300_000), reviewers_per_proposal=REVIEWERS_PER_PROPOSAL["CN"],
                 approved_at=now),
        CallSide(agency_id=w.be.id, currency="EUR", budget_envelope=Decimal(5_000_000),
                 max_request=Decimal(30_000), reviewers_per_proposal=REVIEWERS_PER_PROPOSAL["BE"],
                 approved_at=now),
    ]
    c.priority_areas = [PriorityArea(name=n, position=i) for i, n in
                        enumerate(("Materials", "Health", "Energy", "Agriculture"))]
    c.criteria = [ReviewCriterion(name=n, weight=Decimal(wt), position=i, threshold=Decimal(2))
                  for i, (n, wt) in enumerate(CRITERIA)]
    db.session.add(c)
    db.session.flush()
    return c


def past_calls(w: World, count: int) -> None:
    """Older calls, decided or archived, for the public list."""
    now = utcnow()
    for n in range(count):
        opened = now - timedelta(days=400 + 200 * n)
        call(w, f"CN-BE-{2000 + n}", state=CallState.archived if n % 2 else CallState.decided,
             opens_at=opened, closes_at=opened + timedelta(days=60))


def _insert(model, rows: list[dict]) -> list[int]:
    """Bulk insert `rows` (Core, in chunks); their new ids, in order."""
    ids: list[int] = []
    table = model.__table__
    for start in range(0, len(rows), CHUNK):
        result = db.session.execute(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows[start:start + CHUNK])
        ids += list(result.scalars())
    return ids


def researchers(w: World, count: int, agency, prefix: str) -> list[int]:
    now = utcnow()
    users = _insert(User, [{"email": f"{prefix}{n}@bench.example", "name": f"Researcher {prefix}{n}",
                            "agency_id": agency.id, "affiliation": f"University {n % 97}",
                            "password_hash": w.password_hash, "email_verified_at": now,
                            "password_changed_at": now} for n in range(count)])
    return users


def proposals(c: Call, w: World, count: int, *, state: ProposalState, seed: int = 1,
              confirmed: bool = True, clients: list[int] | None = None) -> list[int]:
    """`count` joint proposals of `c`, each with a PI per side, in `state`. A submitted
    one has its reference, submission instant and an eligibility check per side (eligible
    once past `submitted`), as `submit_proposal` and the staff's checks leave them. With
    `clients` (user ids), the MOST-side PIs are those users in turn."""
    rng = random.Random(seed)
    now = utcnow()
    submitted = state not in (ProposalState.draft, ProposalState.pre_proposal)
    pis_cn = ([clients[n % len(clients)] for n in range(count)] if clients
              else researchers(w, count, w.cn, f"pi-cn-{c.id}-"))
    pis_be = researchers(w, count, w.be, f"pi-be-{c.id}-")
    areas = [a.id for a in c.priority_areas]
    rows = []
    for n in range(count):
        rows.append({
            "call_id": c.id, "title": f"Joint research on topic {n} of {c.reference}",
            "acronym": f"P{n}", "abstract": "A joint project of both sides. " * 8,
            "keywords": "bench, joint", "priority_area_id": areas[n % len(areas)], "duration_months": 24,
            "state": state, "version": 1, "created_by_id": pis_cn[n],
            "reference": f"{c.reference}-{n + 1:03d}" if submitted else None,
            "submitted_at": c.closes_at - timedelta(seconds=rng.randint(60, 86_400 * 20)) if submitted else None,
        })
    ids = _insert(Proposal, rows)
    sides = []
    for n, pid in enumerate(ids):
        for agency, pi, amount in ((w.cn, pis_cn[n], 200_000), (w.be, pis_be[n], 20_000)):
            sides.append({"proposal_id": pid, "agency_id": agency.id, "pi_user_id": pi,
                          "institution": f"Institute {n % 211}", "requested_amount": Decimal(amount),
                          "confirmed_version": 1 if confirmed else None,
                          "confirmed_at": now if confirmed else None})
    _insert(ProposalSide, sides)
    if submitted:
        status = EligibilityStatus.pending if state == ProposalState.submitted else EligibilityStatus.eligible
        _insert(EligibilityCheck, [{"proposal_id": pid, "agency_id": a.id, "status": status,
                                    "decided_by_id": None if status == EligibilityStatus.pending else w.staff_cn.id,
                                    "decided_at": None if status == EligibilityStatus.pending else now}
                                   for pid in ids for a in (w.cn, w.be)])
        c.submitted_count = count
    return ids


def reviews(c: Call, w: World, proposal_ids: list[int], *, seed: int = 2) -> int:
    """Each proposal reviewed by its sides' reviewers (3 of CN, 2 of BE): accepted, no conflict
    declared, submitted, with a score per criterion and the weighted score the review form
    computes; then both side rankings through the operation. The number of reviews."""
    rng = random.Random(seed)
    now = utcnow()
    criteria = list(c.criteria)
    total_weight = sum(cr.weight for cr in criteria)
    made = 0
    for agency in (w.cn, w.be):
        per = REVIEWERS_PER_PROPOSAL[agency.code]
        pool_size = max(per + 1, len(proposal_ids) * per // 40)  # about 40 reviews a reviewer
        pool = researchers(w, pool_size, agency, f"reviewer-{agency.code.lower()}-{c.id}-")
        _insert(ReviewerProfile, [{"user_id": u, "agency_id": agency.id, "keywords": "bench",
                                   "max_load": 60} for u in pool])
        db.session.execute(sa.insert(UserRole.__table__),
                           [{"user_id": u, "role": Role.reviewer, "agency_id": agency.id} for u in pool])
        assignments = []
        for n, pid in enumerate(proposal_ids):
            for k in range(per):
                assignments.append({
                    "proposal_id": pid, "reviewer_id": pool[(n * per + k) % pool_size],
                    "agency_id": agency.id, "state": AssignmentState.submitted,
                    "method": AssignmentMethod.automatic, "due_at": now - timedelta(days=5),
                    "invited_at": now - timedelta(days=40), "answered_at": now - timedelta(days=38),
                    "no_conflict_declared_at": now - timedelta(days=38), "assigned_by_id": w.staff_cn.id,
                })
        assignment_ids = _insert(Assignment, assignments)
        quality = {pid: rng.uniform(1.5, 4.5) for pid in proposal_ids}
        review_rows, score_sets = [], []
        for a, aid in zip(assignments, assignment_ids):
            scores = [min(Decimal(5), max(Decimal(0), (Decimal(str(rng.gauss(quality[a["proposal_id"]], 0.6)))
                                                      / STEP).quantize(Decimal(1)) * STEP))
                      for _ in criteria]
            weighted = (sum(s * cr.weight for s, cr in zip(scores, criteria)) / total_weight).quantize(
                Decimal("0.001"))
            review_rows.append({
                "assignment_id": aid, "state": ReviewState.submitted,
                "comments_to_applicants": "Clear aims; the mobility plan is realistic.",
                "confidential_comments": "", "weighted_score": weighted,
                "recommendation": Recommendation.fund if weighted >= 3 else Recommendation.do_not_fund,
                "submitted_at": now - timedelta(days=rng.randint(6, 30)),
            })
            score_sets.append(scores)
        review_ids = _insert(Review, review_rows)
        _insert(ReviewScore, [{"review_id": rid, "criterion_id": cr.id, "score": s}
                              for rid, scores in zip(review_ids, score_sets) for cr, s in zip(criteria, scores)])
        made += len(review_ids)
    db.session.flush()
    for agency in (w.cn, w.be):
        compute_side_ranking(c.id, agency.id)
    return made
