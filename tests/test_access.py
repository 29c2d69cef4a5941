"""Who may do what, page by page: every route of the app, asked by every role.

The table below gives, for each route, the answer each role gets: anonymous users
are sent to log in (LOGIN) unless the page is public; an object outside the user's
scope is not found (404); an object in scope without the right is forbidden (403).
Each role logs in once and asks every route of the table, each request in a
savepoint rolled back afterwards, so that every row starts from the same scene.
Then a few tests look inside the pages: what each side's staff, a reviewer before
their declaration of interests, or a user's mailbox actually show.
"""
from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp import create_app
from cfp.calls.amendments import propose_call_amendment
from cfp.calls.models import CallState
from cfp.core.audit import AuditEntry
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import EligibilityCheck, PartnerInvitation, ProposalState
from cfp.reviews.models import AssignmentState
from tests import factories as f

LOGIN = "login"  # a redirect to the login page, to come back afterwards

ROLES = ("anon", "pi", "researcher", "reviewer", "reviewer_other",
         "staff_cn", "staff_be", "secretariat", "cochair", "admin")
STAFF = ("staff_cn", "staff_be")
JOINT = ("secretariat", "cochair", "admin")
RESEARCHERS = ("pi", "researcher")
REVIEWERS = ("reviewer", "reviewer_other")
OUTSIDERS = ("researcher", "reviewer", "reviewer_other")  # neither PI nor staff of the proposals


def each(roles, status) -> dict:
    return dict.fromkeys(roles, status)


def public(status=200, **answers) -> dict:
    """Every role, anonymous included, gets `status` unless told otherwise."""
    return {**each(ROLES, status), **answers}


def members(status, **answers) -> dict:
    """Logged-in roles get `status` unless told otherwise; anonymous users log in first."""
    return {**each(ROLES, status), "anon": LOGIN, **answers}


def only(*roles, ok=200, others=403, **answers) -> dict:
    """`roles` get `ok`, the other logged-in roles `others`, unless told otherwise."""
    return members(others, **{**each(roles, ok), **answers})


# (method, url, form data, answer per role). `{name}` in a url or in the data is an id of
# the scene below: call (open), draft_call (CN drafted it, BE has not approved yet),
# draft (the PI's proposal, not submitted, the BE partner invited by `token`), submitted
# (eligibility pending on both sides), in_review (with `assignment`: the reviewer accepted
# and declared no conflict), waiting (with `invitation`: the reviewer has not answered),
# and a funded proposal, now `project` under `decision` and `project_list`.
ACCESS = [
    # Public pages, the account pages, mail, audit log, jobs.
    ("GET", "/", None, public()),
    ("GET", "/static/cfp.css", None, public()),
    ("GET", "/healthz", None, public()),  # probes: no login, and nothing but "ok"
    ("GET", "/readyz", None, public()),
    ("GET", "/bootstrap/static/css/bootstrap.min.css", None, public()),
    ("GET", "/login", None, public(302, anon=200)),
    ("POST", "/login", {"email": "nobody@example.org", "password": "wrong"}, public(302, anon=200)),
    ("GET", "/register", None, public(302, anon=200)),  # logged in: nothing to register
    ("POST", "/register", {"name": "Newcomer", "email": "newcomer@example.org", "agency_id": "{cn}",
                           "affiliation": "ULB", "password": "a long password",
                           "confirm": "a long password"}, public(302)),
    ("POST", "/logout", None, members(302)),
    ("GET", "/account", None, members(200)),
    ("POST", "/account", {}, members(200)),  # the profile form comes back with what is missing
    ("POST", "/language", {"language": "fr", "next": "/calls/"}, public(303)),  # the switcher, for everybody
    ("POST", "/account/password", {}, members(200)),
    ("POST", "/account/verify-email", None, members(302)),
    ("POST", "/account/sessions/end", None, members(302)),  # log out everywhere: one's own
    # Personal data: one's own copy; deleting one's account (the empty form comes back, 422).
    ("POST", "/account/data", None, members(200)),
    ("GET", "/account/api-tokens", None, members(302)),  # back to the account page (a reload)
    ("POST", "/account/api-tokens", {"name": "Grants database", "scope": "read"}, members(200)),
    ("POST", "/account/api-tokens/999999/revoke", None, members(404)),
    ("GET", "/account/delete", None, members(200)),
    ("POST", "/account/delete", {}, members(422)),
    ("GET", "/verify-email/no-such-token", None, public(400)),
    ("GET", "/reset-password", None, public()),
    ("POST", "/reset-password", {"email": "nobody@example.org"}, public(302)),  # same for all
    ("GET", "/reset-password/no-such-token", None, public(400)),
    ("POST", "/reset-password/no-such-token", None, public(400)),
    ("GET", "/invitation/no-such-token", None, public(400)),
    ("POST", "/invitation/no-such-token", None, public(400)),
    ("GET", "/mail", None, members(200)),
    ("GET", "/mail/{message_to_pi}", None, only("pi", "admin", others=404)),
    # Sending a failed message again: admins and the secretariat, for a message they may
    # see; this one was sent (nothing to retry) and is about no call (not the secretariat's).
    ("POST", "/mail/{message_to_pi}/retry", None, members(403, secretariat=404)),
    ("GET", "/audit", None, only("secretariat", "admin")),
    ("GET", "/audit/export.csv", None, only("secretariat", "admin")),  # each list's export: as its page
    ("GET", "/jobs/{job_of_staff_cn}", None, only("staff_cn", "admin", others=404)),
    ("GET", "/jobs/{job_of_staff_cn}/download", None, members(404)),  # not an export: no file
    # Calls: public once open; drafts stay with the agencies.
    ("GET", "/calls/", None, public()),
    ("GET", "/calls/{call}", None, public()),
    ("GET", "/calls/{draft_call}", None,
     public(404, **each(STAFF, 200), secretariat=200, admin=200)),
    ("GET", "/calls/new", None, only(*STAFF)),
    ("POST", "/calls/new", {}, only(*STAFF, ok=422)),  # staff: the empty form comes back, refused
    ("GET", "/calls/{call}/edit", None, members(403)),  # open: nobody edits it
    ("GET", "/calls/{draft_call}/edit", None,
     members(404, staff_cn=200, staff_be=403, secretariat=403, admin=403)),
    ("POST", "/calls/{draft_call}/edit", {},
     members(404, staff_cn=422, staff_be=403, secretariat=403, admin=403)),
    ("POST", "/calls/{draft_call}/approve", None,
     members(404, staff_be=302, staff_cn=403, secretariat=403, admin=403)),
    # Amendments of an approved or open call: staff of either side propose one at a time;
    # the other side approves or rejects it, the proposing side may withdraw it.
    ("GET", "/calls/{call}/amendments/new", None, only(*STAFF)),
    ("POST", "/calls/{call}/amendments/new", {}, only(*STAFF, ok=422)),  # the form comes back
    ("GET", "/calls/{draft_call}/amendments/new", None, members(404, **each(STAFF, 403), secretariat=403,
                                                                admin=403)),
    ("GET", "/calls/{upcoming_call}/amendments/new", None, members(403)),  # one is pending
    ("POST", "/calls/{upcoming_call}/amendments/{amendment}/approve", None, only("staff_be", ok=302)),
    ("POST", "/calls/{upcoming_call}/amendments/{amendment}/reject", {"reason": "Too late"},
     only("staff_be", ok=302)),
    ("POST", "/calls/{upcoming_call}/amendments/{amendment}/withdraw", None, only("staff_cn", ok=302)),
    ("POST", "/calls/{call}/amendments/{amendment}/approve", None, members(404)),  # not that call's
    # Proposals: the applicants' own; staff of both sides, the secretariat, co-chairs and
    # admins once submitted; reviewers only through their assignment.
    ("GET", "/proposals/mine", None, only(*RESEARCHERS)),
    ("GET", "/proposals/new/{call}", None, only(*RESEARCHERS)),
    ("GET", "/proposals/new/{draft_call}", None, only(*RESEARCHERS, ok=404)),
    ("POST", "/proposals/new/{call}", {"title": "A new idea", "priority_area_id": "{area}",
                                      "amount_a": "1000", "amount_b": "100"},
     only(*RESEARCHERS, ok=302)),
    ("GET", "/proposals/{draft}", None, members(404, pi=200)),
    ("GET", "/proposals/{submitted}", None, members(200, **each(OUTSIDERS, 404))),
    ("GET", "/proposals/{draft}/edit", None, members(404, pi=200)),
    ("POST", "/proposals/{draft}/edit", {"version": "1", "title": "Renamed"}, members(404, pi=302)),
    ("GET", "/proposals/{submitted}/edit", None, members(403, **each(OUTSIDERS, 404))),
    ("POST", "/proposals/{draft}/invite", {"email": "anne@uclouvain.example"},
     members(404, pi=302)),
    # The pending invitation of the draft: its PIs send it again or cancel it.
    ("POST", "/proposals/{draft}/invitations/{partner_invitation}/resend", None, members(404, pi=302)),
    ("POST", "/proposals/{draft}/invitations/{partner_invitation}/cancel", None, members(404, pi=302)),
    ("POST", "/proposals/{submitted}/invitations/{partner_invitation}/cancel", None,
     members(404)),  # not an invitation of that proposal
    ("POST", "/proposals/{submitted}/invite", {"email": "anne@uclouvain.example"},
     members(403, pi=302, **each(OUTSIDERS, 404))),
    ("POST", "/proposals/{draft}/confirm", {"version": "1", "agree": "y"}, members(404, pi=302)),
    ("POST", "/proposals/{draft}/submit", None, members(404, pi=302)),
    ("POST", "/proposals/{submitted}/submit", None, members(403, pi=302, **each(OUTSIDERS, 404))),
    ("POST", "/proposals/{submitted}/withdraw", {"reason": "We changed our plans"},
     members(403, pi=302, **each(OUTSIDERS, 404))),
    ("GET", "/proposals/{draft}/history", None, members(404, pi=200)),
    ("GET", "/proposals/{submitted}/history", None, members(200, **each(OUTSIDERS, 404))),
    ("GET", "/proposals/{submitted}/submitted.pdf", None, members(200, **each(OUTSIDERS, 404))),
    ("GET", "/proposals/{draft}/submitted.pdf", None, members(404)),
    ("GET", "/proposals/extensions", None, only(*STAFF)),
    ("POST", "/proposals/{draft}/extension", {"until": "2099-01-01T12:00", "reason": "Illness"},
     only(*STAFF, ok=302)),
    ("POST", "/proposals/{submitted}/invite-full-stage", None, only(*STAFF, ok=403)),
    # Declining a pre-proposal: staff of the call; a proposal past that stage is refused with the reason.
    ("GET", "/proposals/{submitted}/decline", None, only(*STAFF)),
    ("POST", "/proposals/{submitted}/decline", {"reason": "Outside the priority areas"}, only(*STAFF, ok=422)),
    ("POST", "/proposals/{submitted}/start-full", None, members(403, pi=302, **each(OUTSIDERS, 404))),
    # Documents: downloaded by those who may see the proposal; changed by a PI while draft.
    ("GET", "/proposals/{draft}/documents/file/{draft_doc}", None, members(404, pi=200)),
    ("GET", "/proposals/{submitted}/documents/file/{submitted_doc}", None,
     members(200, **each(OUTSIDERS, 404))),
    ("GET", "/proposals/{submitted}/documents/file/{draft_doc}", None, members(404)),
    ("POST", "/proposals/{draft}/documents/{cn}", {"kind": "CV"}, members(404, pi=302)),
    ("POST", "/proposals/{submitted}/documents/{cn}", {"kind": "CV"},
     members(403, **each(OUTSIDERS, 404))),
    ("POST", "/proposals/{draft}/documents/file/{draft_doc}/delete", None, members(404, pi=302)),
    ("POST", "/proposals/{submitted}/documents/file/{submitted_doc}/delete", None,
     members(403, **each(OUTSIDERS, 404))),
    # Any account may open an invitation link; only the verified account of the invited
    # address (anne@, none of these roles) joins through it, the others are told why not.
    ("GET", "/proposals/join/{token}", None, members(200)),
    ("GET", "/proposals/join/no-such-token", None, members(404)),
    ("POST", "/proposals/join/{token}", None, members(200)),
    # Eligibility: each side's staff decide their own side's check, of a submitted proposal.
    ("GET", "/proposals/staff", None, only(*STAFF)),
    ("GET", "/proposals/staff/export.csv", None, only(*STAFF)),
    ("POST", "/proposals/{submitted}/eligibility/{cn}", {"decision": "eligible"},
     only("staff_cn", ok=302)),
    ("POST", "/proposals/{submitted}/eligibility/{be}", {"decision": "eligible"},
     only("staff_be", ok=302)),
    ("POST", "/proposals/{draft}/eligibility/{cn}", {"decision": "eligible"}, only(*STAFF, ok=404)),
    ("POST", "/proposals/{submitted}/eligibility/{cn}/rules/0", {"passed": "yes"}, only("staff_cn", ok=302)),
    # Reviews: the reviewer's own assignments; staff of the assignment's side manage it.
    ("GET", "/reviews/mine", None, only(*REVIEWERS)),
    ("GET", "/reviews/assignments/{assignment}", None, members(404, reviewer=200, staff_cn=302)),
    # A document of the proposal, through the reviewer's accepted, conflict-free assignment
    # only (staff download it from the proposal's page).
    ("GET", "/reviews/assignments/{assignment}/documents/{in_review_doc}", None,
     members(404, reviewer=200)),
    ("GET", "/reviews/assignments/{undeclared}/documents/{in_review_doc}", None, members(404)),
    ("POST", "/reviews/assignments/{invitation}/answer", {"accept": "Accept"},
     members(404, reviewer=302, staff_cn=403)),
    # Not accepted yet: the page comes back saying why, with what was typed.
    ("POST", "/reviews/assignments/{invitation}/interests", {"conflict": "no"},
     members(404, reviewer=422, staff_cn=403)),
    ("POST", "/reviews/assignments/{undeclared}/interests", {"conflict": "no"},
     members(404, reviewer_other=302, staff_cn=403)),
    ("POST", "/reviews/assignments/{assignment}/review",
     {"score_{excellence}": "4", "score_{impact}": "3.5", "save": "save"},
     members(404, reviewer=302, staff_cn=403)),
    ("GET", "/reviews/assign/{in_review}", None, only(*STAFF)),
    ("POST", "/reviews/assign/{in_review}", {"reviewer_id": "{reviewer_other_id}",
                                             "due_at": "2099-01-01T10:00"},
     only(*STAFF, ok=302, staff_be=200)),  # BE staff: not in their side's pool, the form says so
    ("GET", "/reviews/assign/{draft}", None, only(*STAFF, ok=404)),
    ("GET", "/reviews/staff", None, only(*STAFF)),
    ("GET", "/reviews/assignments", None, only(*STAFF)),
    # Outside the call's committee the page does not exist (404); an admin is in every one.
    ("GET", "/reviews/ranking/{call}", None, only(*STAFF, secretariat=302, cochair=302, others=404, admin=403)),
    ("GET", "/reviews/ranking/{call}/export.csv", None, only(*STAFF, secretariat=403, cochair=403, others=404, admin=403)),
    ("GET", "/reviews/ranking/{draft_call}", None,
     members(404, staff_cn=200, staff_be=200, secretariat=302, admin=403)),
    ("POST", "/reviews/ranking/{call}/recompute", None, only(*STAFF, ok=302)),
    ("POST", "/reviews/assignments/{assignment}/extend", {"due_at": "2099-01-01T10:00"},
     only("staff_cn", ok=302, staff_be=404)),
    ("POST", "/reviews/assignments/{assignment}/replace", None, only("staff_cn", ok=302, staff_be=404)),
    ("GET", "/reviews/dashboard/{call}/{cn}", None, only("staff_cn")),
    ("GET", "/reviews/dashboard/{call}/{cn}/assignments.csv", None, only("staff_cn")),
    ("GET", "/reviews/dashboard/{call}/{cn}/reviews.xlsx", None, only("staff_cn")),
    ("GET", "/reviews/dashboard/{call}/{be}/reviews.csv", None, only("staff_be")),
    ("POST", "/reviews/settings/{call}/{cn}", {"review_reminder_days_before": "3", "review_reminder_days_after": "2",
                                              "reviewer_min_load": "0"},
     only("staff_cn", ok=302)),
    # Each side's own review settings: that side's staff only.
    ("POST", "/reviews/side-settings/{call}/{cn}", {"reviewers_per_proposal": "2", "reviewer_answer_days": "7"},
     only("staff_cn", ok=302)),
    ("POST", "/reviews/side-settings/{call}/{be}", {"reviewers_per_proposal": "2", "reviewer_answer_days": "7"},
     only("staff_be", ok=302)),
    # Each side's staff close (and reopen) their own side's review stage.
    ("POST", "/reviews/stage/{call}/{cn}/close", None, only("staff_cn", ok=302)),
    ("POST", "/reviews/stage/{call}/{be}/close", None, only("staff_be", ok=302)),
    ("POST", "/reviews/stage/{call}/{cn}/reopen", None, only("staff_cn", ok=302)),  # open: told so
    ("GET", "/reviews/pool/{cn}", None, only("staff_cn")),
    ("GET", "/reviews/pool/{cn}/export.xlsx", None, only("staff_cn")),
    ("POST", "/reviews/pool/{cn}", {"email": "expert@ulb.example", "name": "Expert", "max_load": "5"},
     only("staff_cn", ok=302)),
    ("POST", "/reviews/pool/{cn}/import", None, only("staff_cn", ok=422)),  # no file: the form says so
    # One reviewer of the pool: staff of that side edit their load and remove them.
    ("GET", "/reviews/pool/{cn}/reviewers/{reviewer_other_id}", None, only("staff_cn")),
    ("POST", "/reviews/pool/{cn}/reviewers/{reviewer_other_id}", {"max_load": "6"}, only("staff_cn", ok=302)),
    ("GET", "/reviews/pool/{be}/reviewers/{reviewer_other_id}", None, only("staff_be", ok=404)),
    ("POST", "/reviews/pool/{cn}/reviewers/{reviewer_other_id}/remove", None,
     only("staff_cn", ok=302)),  # refused: an open review (the flash says which)
    ("GET", "/reviews/pool/join/{pool_token}", None, public()),
    ("POST", "/reviews/pool/join/{pool_token}", {"password": "a long enough password"},
     public(200, anon=302)),  # anonymous: the account is created; others: not their address
    ("GET", "/reviews/profile", None, only(*REVIEWERS)),
    ("POST", "/reviews/profile", {"keywords": "solar", "max_load": "5"}, only(*REVIEWERS, ok=302)),
    # Automatic assignment: staff of that side only.
    ("GET", "/reviews/automatic/{call}/{cn}", None, only("staff_cn")),
    ("POST", "/reviews/automatic/{call}/{cn}", None, only("staff_cn", ok=302)),
    ("GET", "/reviews/automatic/jobs/{assignment_job}", None, only("staff_cn")),
    ("GET", "/reviews/automatic/jobs/{assignment_job}/progress", None, only("staff_cn")),
    ("POST", "/reviews/automatic/jobs/{assignment_job}/cancel", None, only("staff_cn", ok=302)),
    ("POST", "/reviews/automatic/jobs/{assignment_job}/pairs",
     {"action": "add", "proposal_id": "{in_review}", "reviewer_id": "{reviewer_other_id}"},
     only("staff_cn", ok=302)),
    ("POST", "/reviews/automatic/jobs/{assignment_job}/rerun", None, only("staff_cn", ok=302)),
    ("POST", "/reviews/automatic/jobs/{assignment_job}/approve", {"due_at": "2099-01-01T10:00"},
     only("staff_cn", ok=302)),
    # The Joint Committee: meetings and decisions for the committee's people and agency
    # staff; the joint stage for the secretariat, co-chairs and admins; writes by the
    # secretariat, approvals by co-chairs.
    ("GET", "/meetings", None, only(*STAFF, *JOINT)),
    ("POST", "/meetings", {"number": "9", "date": "2031-07-14", "mode": "video",
                                     "host_agency_id": "{cn}", "status": "tentative"},
     only("secretariat", ok=302)),
    ("GET", "/meetings/{meeting}", None, only(*STAFF, *JOINT, others=404)),
    ("POST", "/meetings/{meeting}/attendees", {"agency_id": "{cn}", "name": "Zhao Jing"},
     only("secretariat", ok=302)),
    ("POST", "/meetings/{meeting}/items", {"title": "Any other business"},
     only("secretariat", ok=302)),
    ("POST", "/meetings/{meeting}/decisions",
     {"agenda_item_id": "{agenda_item}", "kind": "other", "title": "Next meeting"},
     only("secretariat", ok=302)),
    ("GET", "/meetings/decisions/{decision}", None, only(*STAFF, *JOINT, others=404)),
    ("POST", "/meetings/decisions/{decision}/attach", {"project_list_id": "{project_list}"},
     only("secretariat", ok=302)),
    ("POST", "/meetings/decisions/{decision}/approve", None, only("cochair", ok=302)),
    ("POST", "/meetings/decisions/{decision}/record", None, only("secretariat", ok=302)),
    ("POST", "/meetings/decisions/{decision}/release", None, only("secretariat", ok=302)),
    ("GET", "/selection/joint", None, only(*JOINT)),
    ("GET", "/selection/joint/{call}", None, only(*JOINT)),
    ("GET", "/selection/joint/{call}/export.xlsx", None, only(*JOINT)),
    ("GET", "/selection/joint/{draft_call}", None, only("secretariat", "admin", cochair=404)),
    ("POST", "/selection/joint/outcome/{in_review}", {"outcome": "reserve"},
     only("secretariat", ok=302)),
    ("POST", "/selection/joint/outcome/{draft}", {"outcome": "reserve"},
     only("secretariat", ok=404)),
    ("POST", "/selection/calls/{call}/lists", None, only("secretariat", ok=302)),
    ("POST", "/selection/calls/{call}/archive", None, only("secretariat", ok=302)),  # refused: open
    ("GET", "/selection/lists/{project_list}", None, only(*JOINT)),
    ("GET", "/selection/lists/{project_list}/export.csv", None, only(*JOINT)),
    ("POST", "/selection/lists/{project_list}", {}, only("secretariat", "admin", ok=302)),
    ("POST", "/selection/lists/{project_list}/propose", None, only("secretariat", ok=302)),
    ("POST", "/selection/lists/{project_list}/amend", None, only("secretariat", ok=302)),  # not adopted: refused with the reason
    ("GET", "/projects/{project}", None, members(200, **each(OUTSIDERS, 404))),
    # Issue 5: joint selection settings, ties, funding plan, scenarios, meetings, minutes,
    # written procedure, superseding, letters, the public page, projects' follow-up.
    ("POST", "/selection/joint/{call}/method", {"method": "minmax"}, only("secretariat", ok=302)),
    ("POST", "/selection/joint/{call}/ties", {"order": "", "reason": ""}, only("secretariat", ok=302)),
    ("POST", "/selection/calls/{call}/plan", None, only("secretariat", ok=302)),
    ("GET", "/selection/calls/{call}/envelopes", None, only(*JOINT)),
    ("POST", "/selection/calls/{call}/envelopes", {}, only("secretariat", ok=302)),
    ("POST", "/selection/calls/{call}/shared-envelopes", {"first_budget_year": "2031"},
     only("secretariat", ok=302)),
    ("GET", "/selection/calls/{call}/scenarios", None, only(*JOINT)),
    ("GET", "/selection/calls/{call}/scenarios/export.csv", None, only(*JOINT)),
    ("POST", "/selection/entries/{entry}/move", {"kind": "reserve", "position": "1", "reason": "Budget"},
     only("secretariat", ok=302)),
    ("POST", "/meetings/{meeting}/status", {"status": "confirmed"}, only("secretariat", ok=302)),
    ("GET", "/meetings/{meeting}/minutes.pdf", None, only(*STAFF, *JOINT, others=404)),
    ("POST", "/meetings/decisions/written", {"kind": "other", "title": "Agreed by email"}, only("secretariat", ok=302)),
    ("POST", "/meetings/decisions/{decision}/edit", {"title": "Adopt the projects of 2021"},
     only("secretariat", ok=302)),
    ("POST", "/meetings/decisions/{decision}/supersede", {"agenda_item_id": "0", "title": "Corrected"},
     only("secretariat", ok=302)),
    ("GET", "/meetings/decisions/{decision}/letters", None, only("secretariat", "admin")),
    ("POST", "/meetings/decisions/{decision}/letters/{message_to_pi}/release", None,
     only("secretariat", ok=404)),  # not a letter of this decision
    ("GET", "/projects/adopted", None, public()),
    ("GET", "/projects/dashboard", None, only(*STAFF, *JOINT)),
    ("GET", "/projects/dashboard/export.xlsx", None, only(*STAFF, *JOINT)),
    ("POST", "/projects/{project}/reports", {"kind": "interim", "text": "Year one went well."},
     members(403, pi=302, **each(OUTSIDERS, 404))),
    # A report's annex: whoever sees the project; this report has none, so 404 for all.
    ("GET", "/projects/{project}/reports/1/attachment", None, members(404)),
    ("POST", "/projects/{project}/status", {"decision_id": "{decision}", "status": "renewed"},
     only("secretariat", ok=302)),
    ("POST", "/projects/{project}/trips",
     {"planned_trip_id": "0", "direction": "{cn}-{be}", "traveller": "Li Wei", "days": "5", "year": "1"},
     members(403, pi=302, secretariat=302, **each(OUTSIDERS, 404))),
    # Administration: admins only.
    ("GET", "/admin/", None, only("admin")),
    ("GET", "/admin/agencies", None, only("admin")),
    ("GET", "/admin/agencies/new", None, only("admin")),
    ("POST", "/admin/agencies/new", {}, only("admin", ok=422)),  # the empty form comes back
    ("GET", "/admin/agencies/{cn}/edit", None, only("admin")),
    ("POST", "/admin/agencies/{cn}/edit", {"currency": "XXZ"}, only("admin", ok=422)),
    ("GET", "/admin/committees", None, only("admin")),
    ("GET", "/admin/committees/new", None, only("admin")),
    ("POST", "/admin/committees/new", {}, only("admin", ok=422)),
    ("GET", "/admin/committees/{committee}", None, only("admin")),
    ("POST", "/admin/committees/{committee}", {"name": "Renamed", "agreement_title": "Agreement"},
     only("admin", ok=302)),
    ("GET", "/admin/people", None, only("admin")),
    ("GET", "/admin/people/invite", None, only("admin")),
    ("POST", "/admin/people/invite", {"email": "new.staff@example.org", "name": "New Staff",
                                      "role": "staff", "agency_id": "{cn}", "committee_id": "{committee}",
                                      "locale": "en"}, only("admin", ok=302)),
    ("GET", "/admin/people/{pi_id}", None, only("admin")),
    ("POST", "/admin/people/{pi_id}/roles", {"role": "reviewer", "agency_id": "{cn}", "committee_id": "0"},
     only("admin", ok=302)),
    ("POST", "/admin/people/{pi_id}/roles/{pi_role}/revoke", None, only("admin", ok=302)),
    ("POST", "/admin/people/{pi_id}/roles/{staff_cn_role}/revoke", None, only("admin", ok=404)),
    ("POST", "/admin/people/{pi_id}/deactivate", None, only("admin", ok=302)),
    ("POST", "/admin/people/{pi_id}/reactivate", None, only("admin", ok=422)),  # it is active
    ("POST", "/admin/people/{pi_id}/sessions/end", None, only("admin", ok=302)),
    ("GET", "/admin/people/{pi_id}/delete", None, only("admin")),
    ("POST", "/admin/people/{pi_id}/delete", {}, only("admin", ok=422)),  # nothing typed: nothing done
    ("GET", "/admin/people/{pi_id}/api-tokens", None, only("admin", ok=302)),
    ("POST", "/admin/people/{pi_id}/api-tokens", {"name": "Service", "scope": "read"}, only("admin")),
    ("POST", "/admin/people/{pi_id}/api-tokens/999999/revoke", None, only("admin", ok=404)),
    # The REST API reads tokens only (tests/api/ asks it with each role's token): to a
    # browser's session it is public where reading is public, and 401 elsewhere.
    ("GET", "/api/v1/openapi.json", None, public()),
    ("GET", "/api/v1/docs", None, public()),
    ("GET", "/api/v1/docs/assets/nothing.js", None, public(404)),
    ("GET", "/api/v1/me", None, public(401)),
    ("GET", "/api/v1/calls", None, public()),
    ("GET", "/api/v1/calls/{call}", None, public()),
    ("GET", "/api/v1/proposals", None, public(401)),
    ("GET", "/api/v1/proposals/{draft}", None, public(401)),
    ("PATCH", "/api/v1/proposals/{draft}", {"version": "1"}, public(401)),
    ("GET", "/api/v1/assignments", None, public(401)),
    ("GET", "/api/v1/assignments/{assignment}", None, public(401)),
    ("PUT", "/api/v1/assignments/{assignment}/review", {}, public(401)),
    ("GET", "/api/v1/reviews", None, public(401)),
    ("GET", "/api/v1/calls/{call}/rankings/{cn}", None, public(401)),
    ("GET", "/api/v1/calls/{call}/joint-ranking", None, public(401)),
    ("GET", "/api/v1/projects", None, public()),
    ("GET", "/api/v1/projects/{project}", None, public(404)),  # its decision is a draft: not adopted
    ("GET", "/api/v1/admin/outbox", None, public(401)),
    # The committee's pages once lived under /committee/: old addresses answer 308 (the
    # new page then checks access as above); an address that never existed, 404.
    ("GET", "/committee/meetings/{meeting}", None, public(308)),
    ("POST", "/committee/decisions/{decision}/approve", None, public(308)),
    ("GET", "/committee/nothing-here", None, public(404)),
]


@dataclass
class Scene:
    users: dict
    ids: dict
    objects: dict

    def fill(self, template: str) -> str:
        return template.format(**self.ids)


def assignment_job(staff, call, agency):
    """A finished automatic assignment of one side, waiting for approval."""
    from cfp.core.jobs import Job, JobStatus

    job = Job(kind="reviews.assignment", status=JobStatus.done, progress=100, created_by_id=staff.id,
              params={"call_id": call.id, "agency_id": agency.id, "pins": []},
              result={"pairs": [], "total_affinity": 0, "certified_optimal": True, "gap": 0})
    db.session.add(job)
    db.session.flush()
    return job


def reviewer_pool_token(staff, agency) -> str:
    from cfp.reviews.pool import invite_reviewer

    return invite_reviewer(staff, agency.id, "invited.expert@example.org", "Invited Expert").token


@pytest.fixture
def scene(app) -> Scene:
    cn, be, committee = f.world()
    pi = f.user(Role.researcher, agency=cn, name="Li Wei")
    partner = f.user(Role.researcher, agency=be)
    users = {
        "pi": pi,
        "researcher": f.user(Role.researcher, agency=cn, name="Another Researcher"),
        "reviewer": f.reviewer(cn, name="Reviewer Assigned"),
        "reviewer_other": f.reviewer(cn, name="Reviewer Unassigned"),
        "staff_cn": f.user(Role.staff, agency=cn, name="Staff MOST"),
        "staff_be": f.user(Role.staff, agency=be, name="Staff WBI"),
        "secretariat": f.user(Role.secretariat, name="Secretary"),
        "cochair": f.user(Role.cochair, agency=cn, name="Co-chair CN"),
        "admin": f.user(Role.admin, name="Administrator"),
    }
    rev_be = f.reviewer(be, name="Reviewer Of Wallonia")
    call = f.call(committee)
    draft_call = f.call(committee, state=CallState.draft)
    draft_call.side(be).approved_at = None
    upcoming_call = f.call(committee, state=CallState.approved, opens_at=utcnow() + timedelta(days=5),
                           closes_at=utcnow() + timedelta(days=40))
    amendment = propose_call_amendment(users["staff_cn"], upcoming_call,
                                       {"closes_at": upcoming_call.closes_at + timedelta(days=7)}, "More time")
    draft = f.proposal(call, pi, title="Unsubmitted draft", amounts=("1000", "100"))
    submitted = f.proposal(call, pi, partner, state=ProposalState.submitted, title="Submitted one")
    in_review = f.proposal(call, pi, partner, state=ProposalState.in_review, title="Under review")
    waiting = f.proposal(call, pi, partner, state=ProposalState.in_review, title="Waiting")
    waiting.abstract = "Tandem cells of perovskite on silicon, the plan in full."
    funded = f.proposal(call, pi, partner, state=ProposalState.funded, title="Funded one")
    assignment = f.assignment(in_review, users["reviewer"])
    assignment_be = f.assignment(in_review, rev_be)
    # Another proposal, of other PIs, with its own reviewer: nobody above has a part in it.
    stranger_pi = f.user(Role.researcher, agency=cn, name="Stranger PI")
    stranger = f.proposal(call, stranger_pi, f.user(Role.researcher, agency=be),
                          state=ProposalState.in_review, title="Somebody else's proposal")
    stranger_assignment = f.assignment(stranger, f.reviewer(cn, name="Stranger Reviewer"))
    invitation = f.assignment(waiting, users["reviewer"], state=AssignmentState.invited,
                              no_conflict=False)
    undeclared = f.assignment(waiting, users["reviewer_other"], no_conflict=False)
    f.ranking_entry(call, cn, in_review, "4.375")
    f.ranking_entry(call, be, in_review, "3.875")
    check_cn = db.session.scalar(
        sa.select(EligibilityCheck).filter_by(proposal_id=submitted.id, agency_id=cn.id))
    check_cn.reason = "Awaiting the CN PI's doctoral certificate"
    meeting = f.meeting(committee)
    decision = f.decision(meeting)
    plist = f.project_list(call, [funded])
    project = f.project(plist, decision, funded)
    message_to_pi = f.outbox_message(pi, subject="Your receipt, Li Wei")
    message_to_other = f.outbox_message(users["researcher"], subject="Somebody else's receipt")
    ids = {
        "cn": cn.id, "be": be.id, "call": call.id, "draft_call": draft_call.id,
        "upcoming_call": upcoming_call.id, "amendment": amendment.id,
        "committee": committee.id, "pi_id": pi.id, "pi_role": pi.roles[0].id,
        "staff_cn_role": users["staff_cn"].roles[0].id,
        "area": call.priority_areas[0].id,
        "excellence": call.criteria[0].id, "impact": call.criteria[1].id,
        "draft": draft.id, "submitted": submitted.id, "in_review": in_review.id,
        "waiting": waiting.id,
        "assignment": assignment.id, "invitation": invitation.id, "undeclared": undeclared.id,
        "reviewer_other_id": users["reviewer_other"].id,
        "meeting": meeting.id, "agenda_item": decision.agenda_item_id, "decision": decision.id,
        "project_list": plist.id, "project": project.id, "entry": plist.entries[0].id,
        "message_to_pi": message_to_pi.id, "message_to_other": message_to_other.id,
        "job_of_staff_cn": f.job(users["staff_cn"]).id,
        "assignment_job": assignment_job(users["staff_cn"], call, cn).id,
        "pool_token": reviewer_pool_token(users["staff_cn"], cn),
        "token": f.partner_invitation(draft, "anne@uclouvain.example", be, invited_by=pi),
        "partner_invitation": db.session.scalar(sa.select(PartnerInvitation.id)),
        "draft_doc": f.document(draft, cn, "CV", pi).id,
        "submitted_doc": f.document(submitted, cn, "CV", pi).id,
        "in_review_doc": f.document(in_review, cn, "CV", pi).id,
        "assignment_be": assignment_be.id, "stranger": stranger.id,
        "stranger_assignment": stranger_assignment.id,
        "stranger_doc": f.document(stranger, cn, "CV", stranger_pi).id,
        "job_of_staff_be": f.job(users["staff_be"]).id,
        "message_to_stranger": f.outbox_message(stranger_pi, subject="A stranger's receipt").id,
    }
    db.session.commit()
    return Scene(users, ids, {"draft_call": draft_call, "draft": draft, "waiting": waiting})


def as_role(client, scene: Scene, role: str) -> None:
    if role != "anon":
        f.login(client, scene.users[role])


@contextlib.contextmanager
def undone():
    """Whatever happens inside is rolled back (the requests join the test's connection)."""
    savepoint = db.session.get_bind().begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()


def answer(response):
    """The status code, or LOGIN for a detour through the login page."""
    if response.status_code == 302 and response.location.startswith("/login?next="):
        return LOGIN
    return response.status_code


@contextlib.contextmanager
def csrf_enabled(app):
    """CSRF protection on, as in production (the suite otherwise runs without it)."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def csrf_token(client, role: str) -> str:
    """The token a page gives this session (kept in the session cookie from now on)."""
    page = client.get("/login" if role == "anon" else "/").data.decode()
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_its_answer_on_each_route(app, client, scene, role):
    """The whole table, with CSRF protection on and the session's token in every form."""
    as_role(client, scene, role)
    with csrf_enabled(app):
        token = csrf_token(client, role)
        _ask_the_table(app, client, scene, role, token)


@pytest.mark.parametrize("role", ["anon", "pi", "staff_cn", "secretariat", "admin"])
def test_every_post_route_refuses_a_request_without_its_csrf_token(app, client, scene, role):
    """Found from the app's routes, not from the table: a POST without the token, or with
    another session's token, changes nothing and answers 400, whoever sends it."""
    as_role(client, scene, role)
    foreign = app.test_client()
    with csrf_enabled(app):
        other_token = csrf_token(foreign, "anon")
        audit_entries = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
        wrong = []
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods:
                continue
            url = rule.rule
            for name in rule.arguments:
                url = re.sub(rf"<(?:\w+:)?{name}>", str(ROUTE_VALUES.get(name, 1)), url)
            for data in ({}, {"csrf_token": other_token}):
                got = client.post(scene.fill(url), data=data).status_code
                if got != 400:
                    wrong.append(f"POST {url} {sorted(data)}: {got}")
        assert not wrong, f"as {role}:\n" + "\n".join(wrong)
        assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == audit_entries
        # It is the token that was missing: with the session's own, a POST goes through.
        assert client.post("/logout", data={"csrf_token": csrf_token(client, role)}).status_code == 302


# A value for each route argument, in the scene's terms, for the tests that walk the routes.
ROUTE_VALUES = {
    "call_id": "{call}", "agency_id": "{cn}", "proposal_id": "{draft}", "document_id": "{draft_doc}",
    "index": 0, "assignment_id": "{assignment}", "job_id": "{assignment_job}",
    "meeting_id": "{meeting}", "decision_id": "{decision}", "message_id": "{message_to_pi}",
    "project_id": "{project}", "list_id": "{project_list}", "entry_id": "{entry}",
    "token": "{token}", "rest": "decisions/{decision}/approve", "filename": "cfp.css",
    "amendment_id": "{amendment}",
}


def _ask_the_table(app, client, scene, role, token):
    cookie = client.get_cookie("session")
    audit_entries = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    wrong = []
    for method, url, data, answers in ACCESS:
        browser = app.test_client()  # with the role's session; a logout or a new account stays here
        if cookie is not None:
            browser.set_cookie("session", cookie.value)
        form = {scene.fill(k): scene.fill(v) for k, v in (data or {}).items()}
        if method == "POST":
            form["csrf_token"] = token
        try:
            with undone(), browser.open(scene.fill(url), method=method, data=form) as response:
                got = answer(response)
        except Exception as exc:
            exc.add_note(f"while asking {method} {url} as {role}")
            raise
        if got != answers[role]:
            wrong.append(f"{method} {url}: {got}, expected {answers[role]}")
    assert not wrong, f"as {role}:\n" + "\n".join(wrong)
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == audit_entries  # all undone


def test_the_table_covers_every_route_and_role(app):
    assert all(set(answers) == set(ROLES) for _, _, _, answers in ACCESS)
    urls = app.url_map.bind("localhost")
    asked = {(method, urls.match(re.sub(r"\{\w+\}", "1", url), method=method)[0])
             for method, url, _, _ in ACCESS}
    served = {(method, rule.endpoint) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served - asked == set()


# What the pages show.

@pytest.mark.parametrize("role, sees_draft", [
    ("anon", False), ("pi", False), ("reviewer", False), ("cochair", False),
    ("staff_cn", True), ("staff_be", True), ("secretariat", True), ("admin", True),
])
def test_a_draft_call_is_listed_only_for_the_agencies(client, scene, role, sees_draft):
    as_role(client, scene, role)
    page = client.get("/calls/").data.decode()
    assert (scene.objects["draft_call"].reference in page) is sees_draft


@pytest.mark.parametrize("role, shown, hidden", [
    ("staff_cn", "4.375", "3.875"),
    ("staff_be", "3.875", "4.375"),
])
def test_staff_see_only_their_own_sides_ranking(client, scene, role, shown, hidden):
    as_role(client, scene, role)
    page = client.get(scene.fill("/reviews/ranking/{call}")).data.decode()
    assert shown in page and hidden not in page


def test_the_joint_ranking_shows_both_sides(client, scene):
    as_role(client, scene, "secretariat")
    page = client.get(scene.fill("/selection/joint/{call}")).data.decode()
    assert "4.375" in page and "3.875" in page


@pytest.mark.parametrize("role, sees_cn_check", [
    ("staff_cn", True), ("staff_be", False), ("secretariat", True), ("pi", False),
])
def test_staff_see_only_their_own_sides_eligibility(client, scene, role, sees_cn_check):
    as_role(client, scene, role)
    page = client.get(scene.fill("/proposals/{submitted}")).data.decode()
    assert ("doctoral certificate" in page) is sees_cn_check
    # A form to decide only their own side's check.
    assert (scene.fill('/eligibility/{cn}"') in page) is (role == "staff_cn")
    assert (scene.fill('/eligibility/{be}"') in page) is (role == "staff_be")


@pytest.mark.parametrize("role, shown, hidden", [
    ("staff_cn", "Reviewer Assigned", "Reviewer Of Wallonia"),
    ("staff_be", "Reviewer Of Wallonia", "Reviewer Assigned"),
])
def test_staff_see_only_their_own_sides_reviewers(client, scene, role, shown, hidden):
    as_role(client, scene, role)
    page = client.get(scene.fill("/reviews/assign/{in_review}")).data.decode()
    assert shown in page and hidden not in page


def test_applicants_never_see_their_reviewers(client, scene):
    as_role(client, scene, "pi")
    page = client.get(scene.fill("/proposals/{in_review}")).data.decode()
    assert "Under review" in page
    assert "Reviewer Assigned" not in page and "Reviewer Of Wallonia" not in page


def test_a_reviewer_sees_the_proposal_only_after_declaring_no_conflict(client, scene):
    as_role(client, scene, "reviewer_other")  # accepted, not yet declared
    url = scene.fill("/reviews/assignments/{undeclared}")
    page = client.get(url).data.decode()
    # The summary to judge a conflict by (title, abstract, PIs), not the proposal itself.
    assert "Declaration of interests" in page and scene.objects["waiting"].abstract in page
    assert "Mobility plan" not in page and "Budget" not in page
    assert client.post(url + "/review", data={"save": "save"}).status_code == 403
    assert client.get(scene.fill("/proposals/{waiting}")).status_code == 404

    client.post(url + "/interests", data={"conflict": "no"})
    page = client.get(url).data.decode()
    assert "Mobility plan" in page and "Budget" in page
    assert client.post(url + "/review", data={"save": "save"}).status_code == 302


def test_a_draft_proposal_is_invisible_to_staff(client, scene):
    as_role(client, scene, "staff_cn")
    page = client.get("/proposals/staff").data.decode()
    assert "Submitted one" in page and "Unsubmitted draft" not in page
    assert client.get(scene.fill("/proposals/{draft}")).status_code == 404


def test_a_draft_withdrawn_before_submission_stays_invisible_to_staff(client, scene):
    as_role(client, scene, "pi")
    url = scene.fill("/proposals/{draft}")
    assert client.post(url + "/withdraw", data={"reason": "We gave up"}).status_code == 302
    assert scene.objects["draft"].state == ProposalState.withdrawn
    client.post("/logout")
    for role in ("staff_cn", "staff_be"):
        as_role(client, scene, role)
        assert client.get(url).status_code == 404
        assert "Unsubmitted draft" not in client.get("/proposals/staff").data.decode()
        client.post("/logout")


@pytest.mark.parametrize("role, sees_own, sees_other", [
    ("pi", True, False), ("researcher", False, True), ("staff_cn", False, False),
    ("admin", True, True),
])
def test_the_mailbox_shows_a_user_only_their_own_messages(client, scene, role, sees_own,
                                                          sees_other):
    as_role(client, scene, role)
    page = client.get("/mail").data.decode()
    assert ("Your receipt, Li Wei" in page) is sees_own
    assert ("Somebody else&#39;s receipt" in page) is sees_other
    other = client.get(scene.fill("/mail/{message_to_other}"))
    assert other.status_code == (200 if sees_other else 404)


@pytest.mark.parametrize("role, allowed", [
    ("pi", False), ("researcher", False), ("reviewer", False), ("staff_cn", False),
    ("staff_be", False), ("cochair", False), ("secretariat", True), ("admin", True),
])
def test_the_audit_log_is_refused_to_researchers_staff_and_reviewers(client, scene, role, allowed):
    as_role(client, scene, role)
    response = client.get("/audit")
    assert response.status_code == (200 if allowed else 403)
    # Logins are installation-wide entries: administrators alone read them (issue 13); the
    # secretariat reads its committee's entries (tests/test_audit_log.py).
    assert ("user.login" in response.data.decode()) is (role == "admin")


def test_a_post_without_a_csrf_token_is_refused(app, database_url):
    protected = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True,
        "SECRET_KEY": "csrf-" + uuid.uuid4().hex, "CELERY": {"task_always_eager": True, "broker_url": "memory://"},
    })
    try:
        client = protected.test_client()
        response = client.post("/login", data={"email": "nobody@example.org", "password": "wrong"})
        assert response.status_code == 400
        assert b"The form expired" in response.data
        # The same request with the token from the form gets through to the password check.
        page = client.get("/login").data.decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = client.post("/login", data={"email": "nobody@example.org", "password": "wrong",
                                               "csrf_token": token})
        assert response.status_code == 200 and b"Wrong email or password" in response.data
    finally:
        app.extensions["celery"].set_default()  # create_app made the new app's Celery the default
        with protected.app_context():
            db.engine.dispose()


# What lies outside each role's scope, by route argument: another proposal (of other PIs,
# with its own reviewer), the other side, another person's assignment, message or job.
_NOT_THEIRS = {"proposal_id": "{stranger}", "document_id": "{stranger_doc}",
               "assignment_id": "{stranger_assignment}", "message_id": "{message_to_stranger}",
               "job_id": "{job_of_staff_cn}"}
OUTSIDE = {
    "pi": _NOT_THEIRS, "researcher": _NOT_THEIRS, "reviewer": _NOT_THEIRS,
    "reviewer_other": _NOT_THEIRS,
    "staff_cn": {"agency_id": "{be}", "assignment_id": "{assignment_be}",
                 "job_id": "{job_of_staff_be}", "message_id": "{message_to_stranger}"},
    "staff_be": {"agency_id": "{cn}", "assignment_id": "{assignment}",
                 "job_id": "{job_of_staff_cn}", "message_id": "{message_to_stranger}"},
    "secretariat": {"message_id": "{message_to_stranger}", "job_id": "{job_of_staff_cn}"},
    "cochair": {"message_id": "{message_to_stranger}", "job_id": "{job_of_staff_cn}"},
}


@pytest.mark.parametrize("role", sorted(OUTSIDE))
def test_no_route_reaches_an_object_outside_the_users_scope(app, client, scene, role):
    """Every route of the app (found from its url map) that names an object, asked with an
    object outside the role's scope, answers 404 (not yours to know of) or 403 (not yours
    to act on), never a page or a change, whatever the other arguments."""
    as_role(client, scene, role)
    outside = OUTSIDE[role]
    wrong, asked = [], 0
    for rule in app.url_map.iter_rules():
        if not outside.keys() & rule.arguments:
            continue
        url = rule.rule
        for name in rule.arguments:
            value = outside.get(name, ROUTE_VALUES.get(name, 1))
            url = re.sub(rf"<(?:\w+:)?{name}>", str(value), url)
        for method in sorted(rule.methods & {"GET", "POST"}):
            with undone():
                got = client.open(scene.fill(url), method=method, data={}).status_code
            asked += 1
            if got == 401 and url.startswith("/api/"):
                continue  # the API reads no session: tests/api/ asks it with each role's token
            if got not in (403, 404):
                wrong.append(f"{method} {url}: {got}")
    assert asked > 0
    assert not wrong, f"as {role}:\n" + "\n".join(wrong)
