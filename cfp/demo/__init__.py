"""The demo: the MOST–WBI Joint Committee's real case (and MOST's committee with MUR of Italy),
told by the TOML files here, replayed through the operations inside frozen_time() at each step's
instant. Only the world (agencies, committees, accounts) is written directly, as by an admin."""
import contextlib
import csv
import io
import re
import tomllib
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import partial
from importlib.resources import files

import sqlalchemy as sa
from flask import current_app, has_request_context

from cfp.auth.models import User
from cfp.calls import operations as calls
from cfp.calls.models import Agency, Agreement, Instrument, JointCommittee
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import SIDED_ROLES, Role
from cfp.core.timezones import local_to_utc, to_zone
from cfp.core.types import frozen_time, utcnow
from cfp.extensions import db
from cfp.meetings import operations as meetings
from cfp.meetings.models import DecisionKind, MeetingMode, MeetingStatus
from cfp.projects import operations as projects
from cfp.projects.models import Project, ReportKind
from cfp.proposals import content, eligibility
from cfp.proposals import operations as proposals
from cfp.proposals.documents import demo_pdf, upload_document
from cfp.proposals.models import ProposalState
from cfp.reviews import operations as reviews
from cfp.reviews.models import Recommendation
from cfp.reviews.pool import import_pool
from cfp.selection import funding, ranking
from cfp.selection import operations as selection

DEMO_PASSWORD = "demo-password-2021"
WORLD, PARTNER = "world.toml", "committee-cn-it.toml"
CALLS = ["call-2021.toml", "call-2022.toml", "call-2023.toml", "call-2024.toml"]
BRUSSELS = "Europe/Brussels"
OTHER = {"CN": "BE", "BE": "CN"}
USER_FIELDS = ("name", "name_original", "title", "affiliation", "locale", "timezone")
MONEY = ("budget_envelope", "max_request", "per_diem", "travel_cap", "weight", "threshold")


def _read(name: str) -> dict:
    return tomllib.loads(files(__name__).joinpath(name).read_text(encoding="utf-8"))


def demo_accounts() -> list[tuple[str, str]]:
    """(who, email) of each demo account README lists."""
    return [(a["who"], a["email"]) for f in (WORLD, PARTNER) for a in _read(f)["account"]]


def seed_demo() -> bool:
    """Fill an empty database with the demo; False (and nothing done) if it is not empty."""
    if db.session.scalar(sa.select(Agency.id).limit(1)) is not None:
        return False
    with (contextlib.nullcontext() if has_request_context()  # the emails' links need one
          else current_app.test_request_context(base_url=current_app.config["BASE_URL"])):
        _Story().tell()
        db.session.commit()
    return True


class _Story:
    def __init__(self):
        self.now = now = utcnow()
        self.today = to_zone(now, BRUSSELS).date()
        self.steps: list = []  # (instant, order, step)
        (self.users, self.calls, self.proposals, self.lists, self.invitations, self.assignments,
         self.sessions, self.decisions) = ({} for _ in range(8))  # users by key and by email

    def instant(self, value) -> datetime:
        """An instant of the files: with its offset, "-160d 09:00" (Brussels), or "now"."""
        if isinstance(value, datetime) or value == "now":
            return self.now if value == "now" else value
        days, clock = value.split("d ")
        day = self.today + timedelta(days=int(days))
        return local_to_utc(datetime.combine(day, time.fromisoformat(clock)), BRUSSELS)

    def at(self, when, step, *args) -> None:  # a step the files do not date never happens
        if when:
            self.steps.append((self.instant(when), len(self.steps), partial(step, *args)))

    def tell(self) -> None:
        with frozen_time((world := _read(WORLD))["set_up"]):
            self.world(world, _read("people.toml"))
            self.partner(_read(PARTNER))
        for name in CALLS:
            self.call(_read(name), self.committee, self.agency, self.staff, self.rules)
        [self.meeting(meeting) for meeting in _read("meetings.toml")["meeting"]]
        for when, _order, step in sorted(self.steps, key=lambda s: s[:2]):
            with frozen_time(when):
                step()
                db.session.flush()  # column defaults (created_at …) are read at flush

    def world(self, world: dict, people: dict) -> None:
        self.agency = {a["code"]: Agency(**a) for a in world["agency"]}
        self.committee = JointCommittee(name=world["committee"]["name"], agreement=Agreement(
            title=world["agreement"]["title"], agency_a=self.agency["CN"], agency_b=self.agency["BE"]))
        db.session.add(self.committee)
        db.session.flush()
        self.criteria = [calls.CriterionTerms(**c | {k: Decimal(c[k]) for k in c if k in MONEY})
                         for c in world["criterion"]]
        self.rules, self.opinions = world["rules"], world["opinions"]
        for p in [a for a in world["account"] if "name" in a] + people["researchers"]:
            self.person(p, p.get("roles", ["researcher"]))
        [self.person(p, []) for p in people["reviewer"]]
        self.staff = {s: next(u for u in self.users.values() if u.has_role(Role.staff, a.id))
                      for s, a in self.agency.items()}
        self.secretariat = next(u for u in self.users.values() if u.is_secretariat)
        for side, agency in self.agency.items():  # each side's staff import their pool
            rows, columns = io.StringIO(), ["name", "affiliation", "keywords", "expertise"]
            csv.writer(rows).writerows([["email", *columns, "country"]] + [
                [self.users[p["key"]].email] + [p[c] for c in columns] + [p.get("country", side)]
                for p in people["reviewer"] if p["side"] == side])  # a side's code is its country's
            import_pool(self.staff[side], agency.id, rows.getvalue())
        db.session.flush()

    def person(self, p: dict, roles: list[str], committee=None, agencies=None) -> User:
        agency = (agencies or self.agency).get(p.get("side"))  # verified, with the demo password
        user = User(email=p.get("email") or f"{p['key']}@example.org", agency=agency,
                    email_verified_at=utcnow(), **{k: p[k] for k in USER_FIELDS if k in p})
        if not self.users:  # the first account's argon2 hash serves every account
            user.set_password(DEMO_PASSWORD)
        user.password_hash = next(iter(self.users.values()), user).password_hash
        for role in map(Role, roles):
            user.grant(role, agency if role in SIDED_ROLES else None,  # one committee
                       None if role in (Role.admin, Role.researcher) else committee or self.committee)
        db.session.add(user)
        self.users[user.email] = self.users[p.get("key", user.email)] = user
        return user

    def partner(self, data: dict) -> None:  # another committee of MOST, its people and a call
        cn, other = self.agency["CN"], Agency(**data["agency"])
        agency, committee = {"CN": cn, other.code: other}, JointCommittee(name=data["committee"][
            "name"], agreement=Agreement(title=data["agreement"]["title"], agency_a=cn, agency_b=other))
        db.session.add(committee)
        db.session.flush()  # the new agency's id, for the grants
        staff = {p["side"]: self.person(p, p["roles"], committee, agency) for p in data["account"]}
        self.call(data, committee, agency, staff, data["rules"])

    def call(self, part: dict, committee, agency: dict, staff: dict, rules: dict) -> None:
        c = part["call"]
        ref, side, other = c["reference"], c["drafted_by"], dict(zip(agency, reversed(agency)))
        terms = calls.CallTerms(
            **{k: c[k] for k in ("reference", "title", "description", "priority_areas")},
            opens_at=self.instant(c["opens"]), closes_at=self.instant(c["closes"]),
            review_due_at=self.instant(c["review_due"]), duration_months=c["duration_months"],
            criteria=self.criteria, instrument=Instrument(c.get("instrument", "joint_research")),
            overall_threshold=Decimal(c["overall_threshold"]), sides=[calls.SideTerms(
                agency_id=agency[s].id, **rules[s],
                **{k: Decimal(v) for k, v in c[s].items()}) for s in agency])
        self.at(c.get("drafted"), lambda: self.calls.setdefault(ref, calls.draft_call(
            staff[side], committee, agency[side].id, terms)))
        self.at(c.get("approved"), lambda: calls.approve_call(staff[other[side]], self.calls[ref]))
        for edge in (terms.opens_at, terms.closes_at):  # the beat task, at those instants
            if edge <= self.now:
                self.at(edge, calls.open_and_close_due_calls)
        [self.proposal(ref, p) for p in part.get("proposal", [])]
        s, sec, outcomes = part.get("selection", {}), self.secretariat, part.get("proposal", [])
        self.at(s.get("ranked"), lambda: [reviews.compute_side_ranking(self.calls[ref].id, a.id)
                                          for a in self.agency.values()])
        self.at(s.get("outcomes"), lambda: [ranking.set_outcome(
            sec, self.proposals[p["acronym"]], ProposalState(p["outcome"])) for p in outcomes
            if "outcome" in p])
        self.at(s.get("drafted"), lambda: self.lists.setdefault(
            ref, funding.draft_project_list(sec, self.calls[ref])))
        self.at(s.get("proposed"), lambda: funding.propose_project_list(sec, self.lists[ref]))

    def proposal(self, ref: str, p: dict) -> None:
        acronym, pis = p["acronym"], {s: self.users[key] for s, key in p["pi"].items()}
        starter, proposal = pis[p["started_by"]], partial(self.proposals.get, acronym)
        self.at(p["started"], lambda: self.proposals.setdefault(acronym, proposals.start_proposal(
            starter, self.calls[ref], self.content(ref, p))))
        invitee = self.users.get(p.get("invitee")) or pis.get(OTHER[p["started_by"]])
        self.at(invitee and p.get("invited", p["started"]), lambda: self.invitations.setdefault(
            acronym, proposals.invite_partner(starter, proposal(), invitee.email).id))
        self.at(p.get("joined"), self.join, acronym, invitee)
        self.at(p.get("documents"), self.upload, proposal)
        for side, when in p.get("confirmed", {}).items():
            self.at(when, lambda pi=pis[side]: proposals.confirm_proposal(
                pi, proposal(), proposal().version))
        r = p.get("revised", {})
        self.at(r.get("at"), lambda: proposals.save_proposal(
            pis[r["by"]], proposal(), proposal().version, self.content(ref, p, r["abstract"])))
        self.at(p.get("submitted"), lambda: eligibility.evaluate_rules(  # as the worker does
            proposals.submit_proposal(starter, proposal())))
        w = p.get("withdrawn", {})
        self.at(w.get("at"), lambda: proposals.withdraw_proposal(starter, proposal(), w["reason"]))
        for side, check in p.get("eligibility", {}).items():
            self.at(check["at"], self.decide, proposal, side, check.get("reason", ""))
        [self.review(acronym, review) for review in p.get("review", [])]

    def content(self, ref: str, p: dict, abstract: str | None = None) -> content.ProposalContent:
        call, ids = self.calls[ref], {s: a.id for s, a in self.agency.items()}
        institution = {s: self.users[key].affiliation for s, key in p["pi"].items()}
        return content.ProposalContent(
            title=p["title"], acronym=p["acronym"], abstract=abstract or p["abstract"],
            keywords=p["keywords"], duration_months=call.duration_months,
            priority_area_id={a.name: a.id for a in call.priority_areas}.get(p.get("area")),
            pi_has_phd={a.id: True for a in self.agency.values()},
            institution_countries={a.id: a.country for a in self.agency.values()},
            members=[content.Member(ids[m["side"]], m["name"], m["role"], m["stage"],
                                      institution.get(m["side"], "")) for m in p["members"]],
            trips=[content.Trip(ids[t["from"]], ids[OTHER[t["from"]]], t["traveller"], t["days"],
                                  t["year"]) for t in p["trips"]],
            budget_lines=[content.Line(ids[side], year, category, Decimal(str(amount)))
                          for side, categories in p.get("budget", {}).items()
                          for category, amounts in categories.items()
                          for year, amount in enumerate(amounts, start=1)])

    def join(self, acronym: str, partner: User) -> None:  # the partner follows the emailed link
        key = f"partner-invitation-{self.invitations[acronym]}"
        mail = db.session.scalar(sa.select(OutboxMessage).filter_by(idempotency_key=key))
        proposals.join_proposal(partner, re.search(r"/join/([\w-]+)", mail.body).group(1))

    def upload(self, proposal) -> None:  # each PI their side's documents
        for side, kind in [(s, k) for s in proposal().sides if s.pi is not None
                           for k in proposal().call.side(s.agency_id).required_documents]:
            upload_document(side.pi, proposal(), side.agency_id, kind, f"{kind}.pdf",
                            demo_pdf(f"{proposal().acronym} — {kind}"))

    def decide(self, proposal, side: str, reason: str) -> None:  # rules confirmed, then decided
        staff = self.staff[side]
        check = next(c for c in proposal().eligibility_checks if c.agency_id == staff.agency_id)
        for index, result in enumerate(check.rule_results or []):
            eligibility.review_rule(staff, check, index, result["passed"])
        proposals.decide_eligibility(staff, check, not reason, reason)

    def review(self, acronym: str, r: dict) -> None:
        """Invited, answered (a day later unless said), interests declared, reviewed or replaced."""
        key, reviewer, side = (acronym, r["reviewer"]), self.users[r["reviewer"]], r["side"]
        end = r.get("end", "submitted" if "submitted" in r else "saved" if "saved" in r else "")
        answered = self.instant(r.get("answered") or self.instant(r["invited"]) + timedelta(1))
        self.at(r["invited"], lambda: self.assignments.setdefault(key, reviews.assign_reviewer(
            self.staff[side], self.proposals[acronym], reviewer, self.agency[side].id,
            self.proposals[acronym].call.review_due_at)))
        self.at(end and answered, lambda: reviews.answer_invitation(
            reviewer, self.assignments[key], end != "declined"))
        self.at(end in ("conflict", "saved", "submitted") and answered + timedelta(hours=1),
                lambda: reviews.declare_interests(reviewer, self.assignments[key],
                                                  end == "conflict", r.get("conflict", "")))
        self.at(r.get("submitted", r.get("saved")), self.score, key, r, end == "submitted")
        self.at(r.get("replaced"), lambda: reviews.replace_assignment(None, self.assignments[key]))

    def score(self, key: tuple, r: dict, submit: bool) -> None:
        assignment = self.assignments[key]
        criteria = assignment.proposal.call.criteria
        scores = {c.id: None for c in criteria} | {
            c.id: Decimal(str(s)) for c, s in zip(criteria, r["scores"], strict=False)}
        band, number = r["comment"].rsplit("-", 1)
        opinion = self.opinions[band]
        text = r.get("text") or opinion["comments"][int(number) - 1].format(acronym=key[0])
        reviews.save_review(assignment.reviewer, assignment, scores, text, opinion["confidential"],
                            Recommendation(opinion["recommendation"]), submit=submit)

    def meeting(self, m: dict) -> None:
        number, sec = m["number"], self.secretariat
        self.at(m.get("created"), self.create_meeting, m)
        for d in m.get("decision", []):
            self.at(d.get("drafted"), self.draft_decision, number, d)
            decision = partial(self.decisions.get, d["title"])
            self.at(d.get("adopted"), lambda f=decision: meetings.record_adoption_at_meeting(
                sec, f()))
            self.at(d.get("letters_released"), lambda f=decision: selection.release_letters(
                sec, f()))
            if "interim_reports" in d:  # each project's Chinese PI sends it
                self.at(d["interim_reports"]["submitted"], lambda f=decision, d=d: [
                    projects.submit_report(project.proposal.sides[0].pi, project,
                                           ReportKind.interim, d["interim_reports"]["text"])
                    for project in db.session.scalars(sa.select(Project).filter_by(
                        decision_id=f().id))])
        self.at(m.get("held"), lambda: meetings.change_meeting_status(
            sec, self.sessions[number], MeetingStatus.held))

    def create_meeting(self, m: dict) -> None:
        sec = self.secretariat
        meeting = self.sessions[m["number"]] = meetings.create_meeting(
            sec, self.committee, number=m["number"], date_=m.get("date"),
            date_note=m.get("date_note", ""), mode=MeetingMode(m["mode"]),
            host_agency_id=self.agency[m["host"]].id, status=MeetingStatus(m["status"]))
        for a in m["attendee"]:
            user = self.users.get(a.pop("account", None))
            meetings.add_attendee(sec, meeting, agency_id=self.agency[a.pop("side")].id,
                                  user_id=user and user.id, **a)
        for title in m["agenda"]:
            meetings.add_agenda_item(sec, meeting, title)

    def draft_decision(self, number: int, d: dict) -> None:
        item = next(i for i in self.sessions[number].agenda_items if i.number == d["item"])
        decision = self.decisions[d["title"]] = meetings.draft_decision(
            self.secretariat, item, kind=DecisionKind(d["kind"]), title=d["title"],
            text=d.get("text", ""))
        if "project_list" in d:
            meetings.attach_project_list(self.secretariat, decision, self.lists[d["project_list"]])
