"""Version history of a proposal: each saved state is a snapshot; two are compared
field by field, long text word by word (difflib)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from cfp.core.languages import money
from cfp.proposals.models import Proposal
from cfp.proposals.vocabulary import BUDGET_CATEGORIES, CAREER_STAGES, MEMBER_ROLES


@dataclass
class FieldChange:
    label: str
    old: str
    new: str
    segments: list[tuple[str, str]] | None = None  # (equal|delete|insert, text) for long text

    @property
    def changed(self) -> bool:
        return self.old != self.new


def _words_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = old.split(), new.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(a[i1:i2])))
        if op in ("delete", "replace"):
            out.append(("delete", " ".join(a[i1:i2])))
        if op in ("insert", "replace"):
            out.append(("insert", " ".join(b[j1:j2])))
    return out


def _flatten(proposal: Proposal, snap: dict) -> list[tuple[str, str, bool]]:
    """(label, text, long) for every field of a snapshot, in a fixed order."""
    call = proposal.call
    names = {a.id: a.short_name for a in call.agencies}
    currencies = {a.id: a.currency for a in call.agencies}

    def amount(value, agency_id) -> str:
        """In the side's currency with the reader's separators (`€1,234.00`, `1 234,00 €`)."""
        if value in (None, ""):
            return ""
        try:
            return money(Decimal(str(value)), currencies.get(int(agency_id)) or "")
        except (InvalidOperation, ValueError):
            return str(value)

    areas = {a.id: a.name for a in call.priority_areas}
    rows = [
        (_("Title"), snap.get("title", ""), False),
        (_("Acronym"), snap.get("acronym", ""), False),
        (_("Abstract"), snap.get("abstract", ""), True),
        (_("Keywords"), snap.get("keywords", ""), False),
        (_("Priority area"), areas.get(snap.get("priority_area_id"), ""), False),
        (_("Duration (months)"), str(snap.get("duration_months") or ""), False),
    ]
    for aid, side in sorted((snap.get("sides") or {}).items()):
        side_name = names.get(int(aid), aid)
        rows.append((_("Institution (%(side)s)", side=side_name), side.get("institution", ""), False))
        rows.append((_("Requested from %(side)s", side=side_name), amount(side.get("requested_amount"), aid), False))
    rows.append((_("Team members"), "\n".join(
        f"{names.get(m['agency_id'], '')}: {m['name']} — {MEMBER_ROLES.label(m['role'])}, "
        f"{CAREER_STAGES.label(m['career_stage'])}, {m['affiliation'] or '—'}"
        for m in snap.get("members", [])), False))
    rows.append((_("Mobility plan"), "\n".join(
        f"{names.get(t['from_agency_id'], '')} → {names.get(t['to_agency_id'], '')}: {t['traveller']}, "
        + _("%(d)s days in year %(y)s", d=t["days"], y=t["year"])
        for t in snap.get("trips", [])), False))
    rows.append((_("Budget"), "\n".join(
        f"{names.get(b['agency_id'], '')} · " + _("year %(y)s", y=b["year"]) + f" · {BUDGET_CATEGORIES.label(b['category'])}: {amount(b['amount'], b['agency_id'])}"
        for b in snap.get("budget_lines", [])), False))
    rows.append((_("Documents"), "\n".join(
        f"{names.get(d['agency_id'], '')} · {d['kind']}: {d['name']} ({d['pages']} p., sha256 {d['sha256'][:12]})"
        for d in snap.get("documents", [])), False))
    return rows


def compare(proposal: Proposal, old: dict, new: dict) -> list[FieldChange]:
    changes = []
    for (label, a, long), (_label, b, _long) in zip(_flatten(proposal, old), _flatten(proposal, new)):
        change = FieldChange(label=label, old=a, new=b)
        if long and change.changed:
            change.segments = _words_diff(a, b)
        changes.append(change)
    return changes
