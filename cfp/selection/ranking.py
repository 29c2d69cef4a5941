"""The joint ranking: both sides' rankings side by side, the combined score, the veto of
each side, ties and their recorded order, and the outcome of each proposal."""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import lazyload

from cfp.calls.models import CALL_TRANSITIONS, Call, CallState
from cfp.core.audit import log_action
from cfp.core.charts import scatter
from cfp.core.errors import DomainError
from cfp.core.languages import number
from cfp.core.roles import require_secretariat
from cfp.core.states import change_state
from cfp.extensions import db
from cfp.proposals.models import PROPOSAL_TRANSITIONS, Proposal, ProposalState
from cfp.reviews.models import RankingEntry
from cfp.selection.models import (
    ScoreMethod,
    SelectionSetting,
    TieBreak,
)


@dataclass
class JointRow:
    proposal_id: int
    reference: str | None
    sides: dict  # agency_id -> the side's ranking entry (its columns) | None
    combined: Decimal | None
    passes_both: bool
    normalised: dict = field(default_factory=dict)  # agency_id -> Decimal | None
    tied: bool = False  # shares its combined score with another proposal going forward
    tie_break: TieBreakNote | None = None  # the recorded order that settles the tie
    proposal: Proposal | None = None  # loaded for the rows that are shown or used (attach_proposals)

    @property
    def vetoed_by(self) -> list[int]:
        return [aid for aid, e in self.sides.items() if e is None or not e.passed]

    @property
    def tie_settled(self) -> bool:
        return self.tie_break is not None

    def copy(self) -> JointRow:
        """A shallow copy, as `dataclasses.replace(self)` makes, in a quarter of its time
        (the joint ranking copies each of a call's rows on every request)."""
        row = object.__new__(type(self))
        row.__dict__.update(self.__dict__)
        return row


def score_method(call: Call) -> ScoreMethod:
    setting = db.session.scalar(sa.select(SelectionSetting).filter_by(call_id=call.id))
    return setting.score_method if setting is not None else ScoreMethod.scale


def set_score_method(actor, call: Call, method: ScoreMethod) -> None:
    require_secretariat(actor, call.committee_id)
    setting = db.session.scalar(sa.select(SelectionSetting).filter_by(call_id=call.id))
    before = setting.score_method if setting else ScoreMethod.scale
    if setting is None:
        setting = SelectionSetting(call_id=call.id)
        db.session.add(setting)
    setting.score_method = method
    db.session.flush()
    log_action(actor, "call.score_method", call, before={"score_method": before}, after={"score_method": method})


FOUR = Decimal("0.0001")


def _normaliser(call: Call, method: ScoreMethod, values: list[Decimal]):
    """A function from one side's mean score to its normalised value."""
    if method == ScoreMethod.raw:
        return lambda x: x
    if method == ScoreMethod.scale:
        lo = min((c.scale_min for c in call.criteria), default=Decimal(0))
        hi = max((c.scale_max for c in call.criteria), default=Decimal(5))
        return lambda x: (x - lo) / (hi - lo)
    if method == ScoreMethod.minmax:
        lo, hi = min(values, default=Decimal(0)), max(values, default=Decimal(0))
        return lambda x: (x - lo) / (hi - lo) if hi > lo else Decimal(1)
    mean = sum(values, Decimal(0)) / len(values) if values else Decimal(0)
    var = sum(((v - mean) ** 2 for v in values), Decimal(0)) / len(values) if values else Decimal(0)
    sd = var.sqrt() if var > 0 else Decimal(0)
    return lambda x: (x - mean) / sd if sd > 0 else Decimal(0)


@dataclass(frozen=True)
class TieBreakNote:
    """What a joint row keeps of the tie-break that settles it (rows outlive a request)."""

    id: int
    proposal_ids: tuple
    reason: str


class KeptOrder:
    """A call's joint order as computed, shared by this process's requests while what it is
    computed from holds (`kept_order`). Never changed once made: a page reads its rows and
    copies only those it shows (a page of 10,000 proposals copied them all on each
    request); what is derived from the whole order (places, ties, the chart) is made once."""

    __slots__ = ("_derived", "fingerprint", "rows")

    def __init__(self, fingerprint: tuple, rows: list[JointRow]):
        self.fingerprint, self.rows, self._derived = fingerprint, tuple(rows), {}

    def derived(self, key, make):
        """`make()`, made once per `key` for this order."""
        try:
            return self._derived[key]
        except KeyError:
            value = self._derived[key] = make()
            return value

    @property
    def places(self) -> dict[int, int]:
        """proposal id -> place in the order, from 1."""
        return self.derived("places", lambda: {r.proposal_id: n for n, r in enumerate(self.rows, start=1)})

    @property
    def ties(self) -> dict[Decimal, list[JointRow]]:
        """combined score -> the rows tied on it, in their order."""
        def make():
            ties: dict = {}
            for r in self.rows:
                if r.tied:
                    ties.setdefault(r.combined, []).append(r)
            return ties
        return self.derived("ties", make)

    def reference(self, proposal_id: int) -> str | None:
        row = self.derived("by_id", lambda: {r.proposal_id: r for r in self.rows}).get(proposal_id)
        return row.reference if row is not None else None


# The last orders computed in this process, by call. An order is used again only while its
# fingerprint (the side rankings' rows and instants, the tie-breaks, the score method) is
# what the database says now.
_ORDERS: OrderedDict[tuple, KeptOrder] = OrderedDict()
_ORDERS_KEPT = 32


def _fingerprint(call: Call) -> tuple:
    """One query: what the joint order of `call` is computed from, in a few values (every
    recomputation of a side's ranking stamps its rows with a new `computed_at`)."""
    def value(column, model):
        return sa.select(column).where(model.call_id == call.id).scalar_subquery()

    return tuple(db.session.execute(sa.select(
        value(sa.func.count(RankingEntry.id), RankingEntry),
        value(sa.func.max(RankingEntry.computed_at), RankingEntry),
        value(sa.func.sum(RankingEntry.proposal_id), RankingEntry),
        value(sa.func.max(TieBreak.id), TieBreak),
        value(SelectionSetting.score_method, SelectionSetting),
    )).one())


def kept_order(call: Call) -> KeptOrder:
    """The joint order of `call` (`_compute_order`), kept per call in this process while
    what it is computed from is unchanged (one query to tell): the page of a call with
    10,000 proposals computed 20,000 ranking rows on every request. Its rows are shared:
    read them, copy those to change (`JointRow.copy`)."""
    key = (call.id, call.created_at)
    fingerprint = _fingerprint(call)
    kept = _ORDERS.get(key)
    if kept is not None and kept.fingerprint == fingerprint:
        _ORDERS.move_to_end(key)
        return kept
    kept = _ORDERS[key] = KeptOrder(fingerprint, _compute_order(call))
    while len(_ORDERS) > _ORDERS_KEPT:
        _ORDERS.popitem(last=False)
    return kept


def joint_ranking(call: Call, *, with_proposals: bool = True) -> list[JointRow]:
    """The joint order of `call`, in rows of the caller's own (copies of the kept order's),
    which it may sort, filter and attach proposals to."""
    rows = [r.copy() for r in kept_order(call).rows]
    return attach_proposals(rows) if with_proposals else rows


def _compute_order(call: Call) -> list[JointRow]:
    """Both sides' rankings side by side; a proposal goes forward only if it passes
    both (each side has a veto); ordered by the combined score (the call's method,
    by default the mean of the sides' scores normalised by the scale); proposals going
    forward with the same combined score are flagged as tied, and a recorded tie-break
    settles their order.

    The order is computed from columns alone (a call may hold thousands of proposals);
    `attach_proposals` loads the rows' proposals (for those a page shows)."""
    entries = db.session.execute(
        sa.select(RankingEntry.proposal_id, RankingEntry.agency_id, RankingEntry.mean_score,
                  RankingEntry.passed, RankingEntry.rank, RankingEntry.reviews_count)
        .where(RankingEntry.call_id == call.id)).all()
    by_proposal: dict[int, dict[int, sa.Row]] = defaultdict(dict)
    for e in entries:
        by_proposal[e.proposal_id][e.agency_id] = e
    proposals = db.session.execute(sa.select(Proposal.id, Proposal.reference)
                                   .where(Proposal.call_id == call.id, Proposal.id.in_(by_proposal.keys()))).all()
    method = score_method(call)
    normalise = {
        a.id: _normaliser(call, method, [e.mean_score for e in entries
                                         if e.agency_id == a.id and e.mean_score is not None])
        for a in call.agencies
    }
    rows = []
    for p in proposals:
        sides = {a.id: by_proposal[p.id].get(a.id) for a in call.agencies}
        normalised = {aid: normalise[aid](e.mean_score).quantize(FOUR)
                      if e is not None and e.mean_score is not None else None
                      for aid, e in sides.items()}
        values = [v for v in normalised.values() if v is not None]
        combined = (sum(values, Decimal(0)) / len(values)).quantize(FOUR) if len(values) == len(sides) else None
        passes = all(e is not None and e.passed for e in sides.values())
        rows.append(JointRow(p.id, p.reference, sides, combined, passes, normalised))
    groups: dict[Decimal, list[JointRow]] = defaultdict(list)
    for r in rows:
        if r.passes_both and r.combined is not None:
            groups[r.combined].append(r)
    breaks = db.session.scalars(sa.select(TieBreak).filter_by(call_id=call.id).order_by(TieBreak.id.desc())).all()
    order: dict[int, int] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        ids = {r.proposal_id for r in group}
        settled = next((b for b in breaks if ids <= set(b.proposal_ids)), None)
        note = TieBreakNote(settled.id, tuple(settled.proposal_ids), settled.reason) if settled else None
        for r in group:
            r.tied, r.tie_break = True, note
            if settled is not None:
                order[r.proposal_id] = settled.proposal_ids.index(r.proposal_id)
    rows.sort(key=lambda r: (not r.passes_both, r.combined is None, -(r.combined or 0),
                             order.get(r.proposal_id, 0), r.reference or ""))
    return rows


def attach_proposals(rows: list[JointRow], *, sides: bool = True) -> list[JointRow]:
    """Load the proposals of `rows` (one query) and give each row its own; with
    `sides=False`, without their sides (and the PIs and PIs' roles those load): for
    the pages and exports, which show a proposal's reference, acronym, title and state."""
    ids = [r.proposal_id for r in rows if r.proposal is None]
    if ids:
        query = sa.select(Proposal).where(Proposal.id.in_(ids))
        if not sides:
            query = query.options(lazyload(Proposal.sides))
        loaded = {p.id: p for p in db.session.scalars(query)}
        for r in rows:
            r.proposal = r.proposal or loaded[r.proposal_id]
    return rows


def break_tie(actor, call: Call, proposal_ids: list[int], reason: str) -> TieBreak:
    """Record the order of tied proposals (first ranks higher) and why."""
    require_secretariat(actor, call.committee_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for this order."))
    rows = {r.proposal_id: r for r in joint_ranking(call, with_proposals=False)}
    if len(proposal_ids) < 2 or len(set(proposal_ids)) != len(proposal_ids):
        raise DomainError(_("Order at least two different proposals."))
    tied = [rows.get(pid) for pid in proposal_ids]
    if any(r is None or not r.tied for r in tied) or len({r.combined for r in tied}) != 1:
        raise DomainError(_("Only proposals tied on the same combined score can be ordered this way."))
    tie = TieBreak(call_id=call.id, proposal_ids=list(proposal_ids), reason=reason, created_by_id=actor.id)
    db.session.add(tie)
    db.session.flush()
    log_action(actor, "call.tie_break", tie, after={"proposal_ids": proposal_ids, "reason": reason})
    return tie


OUTCOMES = {ProposalState.recommended, ProposalState.reserve, ProposalState.not_recommended}


def set_outcome(actor, proposal: Proposal, outcome: ProposalState) -> Proposal:
    require_secretariat(actor, proposal.call.committee_id)
    if outcome not in OUTCOMES:
        raise DomainError(_("Choose recommended, reserve or not recommended."))
    if outcome in (ProposalState.recommended, ProposalState.reserve):
        row = next((r for r in joint_ranking(proposal.call, with_proposals=False)
                    if r.proposal_id == proposal.id), None)
        if row is None or not row.passes_both:
            raise DomainError(_("%(ref)s does not pass both sides' thresholds; either side's veto stands.",
                                ref=proposal.reference))
    before = change_state(proposal, outcome, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))
    call = proposal.call
    if call.state == CallState.in_review:
        change_state(call, CallState.in_selection, table=CALL_TRANSITIONS, what=_("The call"))
    log_action(actor, "proposal.outcome", proposal, before={"state": before}, after={"state": outcome})
    return proposal


def score_chart(call: Call, rows):
    """Both sides' mean scores of each proposal of the joint order `rows` (computed
    already: no query but the call's criteria, for the scale), for a scatter chart with
    the overall threshold drawn on both axes."""
    first, second = call.agencies[:2]
    lo, hi = chart_scale(call)

    def mean(row: JointRow, agency_id: int):
        entry = row.sides.get(agency_id)
        return entry.mean_score if entry is not None else None

    pairs = [(r.reference, mean(r, first.id), mean(r, second.id), r.passes_both) for r in rows]
    return scatter(pairs, lo, hi, call.overall_threshold, number=lambda v: number(v)), first, second


def chart_scale(call: Call) -> tuple[Decimal, Decimal]:
    """The lowest and highest score of the call's criteria (the chart's axes)."""
    return (min((c.scale_min for c in call.criteria), default=Decimal(0)),
            max((c.scale_max for c in call.criteria), default=Decimal(5)))
