"""Automatic eligibility rules, configured per call and per side (CallSide.
eligibility_rule_config), evaluated on submission by a Celery task; staff of each
side then confirm or override each result with a reason, and decide."""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.languages import items
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import EligibilityCheck, Proposal, ProposalSide, ProposalState

# Rules a call can use, with their label for the call's form and page.
RULE_LABELS = {
    "pi_has_phd": _l("The PI holds a PhD"),
    "affiliation_in_country": _l("The PI's institution is in the side's country"),
    "one_proposal_per_pi": _l("At most one proposal per PI in the call"),
    "duration_within": _l("The duration is within the limits"),
    "budget_within_cap": _l("The request is within the side's maximum"),
    "documents_present": _l("All required documents are present"),
}

Result = tuple[bool, str]


def _pi_has_phd(proposal: Proposal, side: ProposalSide, params: dict) -> Result:
    if side.pi_has_phd is None:
        return False, _("The applicants did not say whether the PI holds a PhD.")
    return bool(side.pi_has_phd), (_("The PI holds a PhD.") if side.pi_has_phd
                                   else _("The PI does not hold a PhD."))


def _affiliation_in_country(proposal: Proposal, side: ProposalSide, params: dict) -> Result:
    expected = (params.get("country") or side.agency.country or "").strip()
    given = (side.institution_country or "").strip()
    ok = bool(given) and given.casefold() == expected.casefold()
    return ok, _("Institution country: %(given)s (expected %(expected)s).", given=given or "—", expected=expected)


def _one_proposal_per_pi(proposal: Proposal, side: ProposalSide, params: dict) -> Result:
    if side.pi_user_id is None:
        return False, _("No PI.")
    others = db.session.scalars(
        sa.select(Proposal.reference).join(ProposalSide)
        .where(Proposal.call_id == proposal.call_id, Proposal.id != proposal.id,
               ProposalSide.pi_user_id == side.pi_user_id, Proposal.submitted_at.is_not(None),
               Proposal.state != ProposalState.withdrawn)
    ).all()
    if others:
        return False, _("The PI is also PI of %(refs)s.", refs=", ".join(r or "?" for r in others))
    return True, _("No other proposal of this PI in the call.")


def _duration_within(proposal: Proposal, side: ProposalSide, params: dict) -> Result:
    low, high = params.get("min"), params.get("max")
    d = proposal.duration_months
    ok = d is not None and (low is None or d >= int(low)) and (high is None or d <= int(high))
    return ok, _("%(d)s months (allowed: %(low)s to %(high)s).", d=d if d is not None else "—",
                 low=low if low is not None else "—", high=high if high is not None else "—")


def _budget_within_cap(proposal: Proposal, side: ProposalSide, params: dict) -> Result:
    from cfp.proposals.content import side_totals

    call_side = proposal.call.side(side.agency_id)
    total = side_totals(proposal)[side.agency_id]["total"]
    ok = total <= call_side.max_request
    return ok, _("Requested %(total)s of at most %(cap)s %(cur)s.", total=total, cap=call_side.max_request,
                 cur=call_side.currency)


def _documents_present(proposal: Proposal, side: ProposalSide, params: dict) -> Result:
    call_side = proposal.call.side(side.agency_id)
    present = {d.kind for d in proposal.documents if d.agency_id == side.agency_id}
    missing = [k for k in call_side.required_documents or [] if k not in present]
    if missing:
        return False, _("Missing: %(list)s.", list=items(missing))
    return True, _("All present.")


RULES: dict[str, Callable[[Proposal, ProposalSide, dict], Result]] = {
    "pi_has_phd": _pi_has_phd,
    "affiliation_in_country": _affiliation_in_country,
    "one_proposal_per_pi": _one_proposal_per_pi,
    "duration_within": _duration_within,
    "budget_within_cap": _budget_within_cap,
    "documents_present": _documents_present,
}


def rule_label(config: dict) -> str:
    return str(RULE_LABELS.get(config.get("rule"), config.get("rule")))


def rule_text(config: dict) -> str:
    """The rule as applicants read it on the call's page."""
    if config.get("rule") == "duration_within":
        low, high = config.get("min"), config.get("max")
        if low and high:
            return _("The duration is between %(low)s and %(high)s months", low=low, high=high)
        if low:
            return _("The duration is at least %(low)s months", low=low)
        return _("The duration is at most %(high)s months", high=high)
    return rule_label(config)


def evaluate_rules(proposal: Proposal) -> list[EligibilityCheck]:
    """Record each configured rule's result on each side's check. Idempotent: a check
    already evaluated is left alone (staff may have started confirming its results)."""
    done = []
    for check in proposal.eligibility_checks:
        if check.rule_results is not None:
            continue
        call_side = proposal.call.side(check.agency_id)
        side = proposal.side(check.agency_id)
        results = []
        for config in (call_side.eligibility_rule_config or []) if call_side else []:
            rule = RULES.get(config.get("rule"))
            if rule is None:
                passed, detail = False, _("Unknown rule; check it by hand.")
            else:
                passed, detail = rule(proposal, side, config)
            results.append({"rule": config.get("rule"), "params": {k: v for k, v in config.items() if k != "rule"},
                            "passed": passed, "detail": str(detail), "staff": None})
        check.rule_results = results
        log_action(None, "eligibility.rules", check,
                   after={"proposal_id": proposal.id, "results": [(r["rule"], r["passed"]) for r in results]})
        done.append(check)
    return done


def review_rule(actor, check: EligibilityCheck, index: int, passed: bool, reason: str = "") -> EligibilityCheck:
    """Staff of the check's side confirm (same result) or override (the other result,
    with a reason) one automatic result."""
    if not check.can_decide(actor):
        raise NotAllowed(_("Only staff of this side may review its eligibility rules."))
    results = [dict(r) for r in check.rule_results or []]
    if not 0 <= index < len(results):
        raise DomainError(_("There is no such rule."))
    result = results[index]
    overriding = passed != result["passed"]
    if overriding and not reason.strip():
        raise DomainError(_("Give the reason for overriding the automatic result."))
    before = result["staff"]
    result["staff"] = {"passed": passed, "reason": reason.strip(), "by": actor.id, "name": actor.name,
                       "at": utcnow().isoformat(), "override": overriding}
    check.rule_results = results  # a new list: the JSON column sees the change
    log_action(actor, "eligibility.rule_override" if overriding else "eligibility.rule_confirm", check,
               before={"rule": result["rule"], "staff": before},
               after={"rule": result["rule"], "passed": passed, "reason": reason.strip(),
                      "proposal_id": check.proposal_id})
    return check


def final_result(result: dict) -> bool:
    return result["staff"]["passed"] if result.get("staff") else result["passed"]


def unreviewed(check: EligibilityCheck) -> list[dict]:
    return [r for r in check.rule_results or [] if not r.get("staff")]
