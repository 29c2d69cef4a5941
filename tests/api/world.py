"""A small world for the API tests: one committee's call with a draft, a proposal in
review with one reviewer per side, both sides' rankings, an adopted project; its people
with a token each (read and write)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from cfp.auth.api_tokens import create_api_token
from cfp.auth.models import ApiScope, User
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.meetings.models import DecisionState
from cfp.projects.models import ProjectAllocation
from cfp.proposals.models import ProposalState
from tests import factories as f


@dataclass
class World:
    cn: object
    be: object
    committee: object
    call: object
    draft: object
    in_review: object
    project: object
    people: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    read_tokens: dict = field(default_factory=dict)
    assignments: dict = field(default_factory=dict)

    def auth(self, who: str, scope: str = "write") -> dict:
        token = self.tokens[who] if scope == "write" else self.read_tokens[who]
        return {"Authorization": f"Bearer {token}"}


def token_for(user: User, scope: ApiScope = ApiScope.write, name: str = "tests") -> str:
    token, _row = create_api_token(user, user, name, scope)
    return token


def build() -> World:
    cn, be, committee = f.world()
    pi = f.user(Role.researcher, agency=cn, name="Li Wei")
    partner = f.user(Role.researcher, agency=be, name="Anne Dupont")
    call = f.call(committee, reference="CN-BE-2031")
    draft = f.proposal(call, pi, partner, title="Draft on perovskites")
    in_review = f.proposal(call, pi, partner, state=ProposalState.in_review, title="Catalysis in review")
    reviewer_cn, reviewer_be = f.reviewer(cn, name="Reviewer CN"), f.reviewer(be, name="Reviewer BE")
    staff_cn, staff_be = f.user(agency=cn, name="Staff CN"), f.user(agency=be, name="Staff BE")
    staff_cn.grant(Role.staff, cn, committee)
    staff_be.grant(Role.staff, be, committee)
    secretariat = f.user(name="Secretariat")
    secretariat.grant(Role.secretariat, committee=committee)
    admin = f.user(Role.admin, name="Admin")
    a_cn = f.assignment(in_review, reviewer_cn)
    a_be = f.assignment(in_review, reviewer_be)
    f.ranking_entry(call, cn, in_review, "4.0")
    f.ranking_entry(call, be, in_review, "3.5")
    funded = f.proposal(call, pi, partner, state=ProposalState.funded, title="Funded sensors")
    meeting = f.meeting(committee)
    decision = f.decision(meeting)
    decision.state = DecisionState.adopted
    plist = f.project_list(call, [funded])
    project = f.project(plist, decision, funded, code="S5-CN-BE-2031-01")
    db.session.add(ProjectAllocation(project=project, agency_id=cn.id, year=1, amount=Decimal(100000),
                                     currency="CNY"))
    db.session.flush()
    people = {"pi": pi, "partner": partner, "reviewer_cn": reviewer_cn, "reviewer_be": reviewer_be,
              "staff_cn": staff_cn, "staff_be": staff_be, "secretariat": secretariat, "admin": admin}
    world = World(cn, be, committee, call, draft, in_review, project, people=people,
                  assignments={"cn": a_cn, "be": a_be})
    for name, user in people.items():
        world.tokens[name] = token_for(user)
        world.read_tokens[name] = token_for(user, ApiScope.read, name="read only")
    db.session.flush()
    return world
