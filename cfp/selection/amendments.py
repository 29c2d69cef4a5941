"""Amending an adopted project list: a new version drafted from it, changed (amounts,
who is funded), checked against the envelopes without the list it replaces, and
adopted by a decision that supersedes the one that adopted the old version. The
difference is shown before, and letters go only to what changed."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.core.audit import log_action
from cfp.core.errors import DomainError
from cfp.core.roles import require_secretariat
from cfp.extensions import db
from cfp.proposals.models import Proposal
from cfp.selection.models import (
    EntryAmount,
    EntryKind,
    ProjectList,
    ProjectListEntry,
    ProjectListState,
)


def draft_amendment(actor, adopted: ProjectList) -> ProjectList:
    """A draft copy of an adopted list (its entries, kinds and amounts), to be changed."""
    require_secretariat(actor, adopted.call.committee_id)
    if adopted.state != ProjectListState.adopted:
        raise DomainError(_("Only an adopted list is amended; a draft is edited as it is."))
    version = db.session.scalar(sa.select(sa.func.max(ProjectList.version)).filter_by(call_id=adopted.call_id)) + 1
    plist = ProjectList(call=adopted.call, version=version, created_by_id=actor.id, amends=adopted,
                        notes=_("Amends version %(v)s.", v=adopted.version))
    for entry in adopted.entries:
        copy = ProjectListEntry(proposal=entry.proposal, position=entry.position, kind=entry.kind)
        copy.amounts = [EntryAmount(agency_id=a.agency_id, year=a.year, amount=a.amount) for a in entry.amounts]
        plist.entries.append(copy)
    db.session.add(plist)
    db.session.flush()
    log_action(actor, "project_list.draft_amendment", plist, after={"version": version, "amends": adopted.id})
    return plist


@dataclass
class Difference:
    added: list[Proposal] = field(default_factory=list)  # funded now, not before
    removed: list[Proposal] = field(default_factory=list)  # funded before, not now
    changed: list[tuple[Proposal, tuple[int, int], Decimal, Decimal]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    @property
    def changed_proposals(self) -> list[Proposal]:
        return list({p.id: p for p, *_rest in self.changed}.values())


def _funded(plist: ProjectList) -> dict[int, ProjectListEntry]:
    return {e.proposal_id: e for e in plist.entries if e.kind == EntryKind.funded}


def list_difference(plist: ProjectList) -> Difference:
    """What an amendment changes in the list it amends (empty for any other list)."""
    difference = Difference()
    if plist.amends is None:
        return difference
    before, after = _funded(plist.amends), _funded(plist)
    difference.added = [after[pid].proposal for pid in after if pid not in before]
    difference.removed = [before[pid].proposal for pid in before if pid not in after]
    for pid in after.keys() & before.keys():
        old = {(a.agency_id, a.year): a.amount for a in before[pid].amounts}
        new = {(a.agency_id, a.year): a.amount for a in after[pid].amounts}
        for key in sorted(old.keys() | new.keys(), key=lambda k: (k[1], k[0])):
            if old.get(key, Decimal(0)) != new.get(key, Decimal(0)):
                difference.changed.append((after[pid].proposal, key, old.get(key, Decimal(0)),
                                           new.get(key, Decimal(0))))
    return difference
