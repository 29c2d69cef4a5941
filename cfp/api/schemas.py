"""What the REST API reads and answers, as marshmallow schemas: flask-smorest validates
requests with them and writes the OpenAPI document from them."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from cfp.auth.models import ApiScope
from cfp.calls.models import CallState, Instrument, Stages
from cfp.core.params import MAX_ID
from cfp.projects.models import ProjectStatus, ReportKind, ReportState
from cfp.proposals.models import ProposalState
from cfp.reviews.models import AssignmentState, Recommendation, ReviewState


class Amount(fields.Decimal):
    """A decimal written as a string ("1234.50"): no rounding on the way (documented as
    a string of format decimal)."""

    def __init__(self, **kwargs):
        super().__init__(as_string=True, **kwargs)


class Text(fields.String):
    """Text typed by a client: no NUL character (no database stores one in a text)."""

    def __init__(self, *, max_length: int | None = None, **kwargs):
        checks = [validate.Regexp(r"^[^\x00]*$", error="A NUL character is not allowed.")]
        if max_length is not None:
            checks.append(validate.Length(max=max_length))
        super().__init__(validate=checks, **kwargs)


def _enum(enum_cls, **kwargs):
    return fields.Enum(enum_cls, by_value=True, **kwargs)


Id = fields.Integer  # ids in answers


class Schema(ma.Schema):
    class Meta:
        ordered = True


# ---------------------------------------------------------------------------- errors


class ProblemSchema(Schema):
    """An error (RFC 9457 problem details)."""

    type = fields.String(required=True, metadata={"description": "A URI naming the kind of problem"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(metadata={"description": "The invalid parameters, by location and name"})
    current_version = fields.Integer(metadata={"description": "409: the proposal's version now"})


# ---------------------------------------------------------------------------- paging


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10**9))
    per_page = fields.Integer(validate=validate.Range(min=1, max=200),
                              metadata={"description": "Rows per page (default 50; at most the "
                                        "server's MAX_PAGE_SIZE)"})


class LinksSchema(Schema):
    self = fields.String(required=True)
    first = fields.String(required=True)
    last = fields.String(required=True)
    next = fields.String(allow_none=True, required=True)
    prev = fields.String(allow_none=True, required=True)


class PagedSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True)
    links = fields.Nested(LinksSchema, required=True)


def paged(item_schema, name: str):
    """A page of `item_schema` rows: {items, page, per_page, pages, total, links}."""
    return type(name, (PagedSchema,), {"items": fields.List(fields.Nested(item_schema), required=True)})


# ---------------------------------------------------------------------------- account


class MeSchema(Schema):
    id = Id(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    token_name = fields.String(required=True)
    token_scope = _enum(ApiScope, required=True)


# ---------------------------------------------------------------------------- calls


class CallSideSchema(Schema):
    agency_id = Id(required=True)
    agency = fields.String(required=True, metadata={"description": "The side's short name"})
    currency = fields.String(required=True)
    budget_envelope = Amount(required=True)
    max_request = Amount(required=True)


class PriorityAreaSchema(Schema):
    id = Id(required=True)
    name = fields.String(required=True)


class CriterionSchema(Schema):
    id = Id(required=True)
    name = fields.String(required=True)
    weight = Amount(required=True)
    scale_min = Amount(required=True)
    scale_max = Amount(required=True)
    scale_step = Amount(required=True)


class CallSchema(Schema):
    id = Id(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    state = _enum(CallState, required=True)
    instrument = _enum(Instrument, required=True)
    stages = _enum(Stages, required=True)
    opens_at = fields.DateTime(required=True)
    closes_at = fields.DateTime(required=True)
    full_closes_at = fields.DateTime(allow_none=True, required=True)
    duration_months = fields.Integer(required=True)
    sides = fields.List(fields.Nested(CallSideSchema), required=True)
    priority_areas = fields.List(fields.Nested(PriorityAreaSchema), required=True)
    criteria = fields.List(fields.Nested(CriterionSchema), required=True)


class CallFilter(PageArgs):
    state = _enum(CallState)


# ---------------------------------------------------------------------------- proposals


class ProposalSideSchema(Schema):
    agency_id = Id(required=True)
    agency = fields.String(required=True)
    institution = fields.String(required=True)
    requested_amount = Amount(allow_none=True, required=True)
    principal_investigator = fields.String(allow_none=True, required=True)


class ProposalSchema(Schema):
    id = Id(required=True)
    reference = fields.String(allow_none=True, required=True)
    call_id = Id(required=True)
    call_reference = fields.String(required=True)
    title = fields.String(required=True)
    acronym = fields.String(required=True)
    abstract = fields.String(required=True)
    keywords = fields.String(required=True)
    priority_area_id = Id(allow_none=True, required=True)
    duration_months = fields.Integer(allow_none=True, required=True)
    state = _enum(ProposalState, required=True)
    version = fields.Integer(required=True, metadata={
        "description": "Send it back with a change: a change based on an older version is refused (409)"})
    submitted_at = fields.DateTime(allow_none=True, required=True)
    sides = fields.List(fields.Nested(ProposalSideSchema), required=True)


class ProposalFilter(PageArgs):
    state = _enum(ProposalState)


class ProposalChange(Schema):
    """A change to a draft: the fields given replace the stored ones; `version` is the
    version the change is based on."""

    version = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_ID))
    title = Text(max_length=300)
    acronym = Text(max_length=40)
    abstract = Text(max_length=100_000)
    keywords = Text(max_length=500)
    priority_area_id = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=MAX_ID))
    duration_months = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=120))

    class Meta:
        ordered = True
        unknown = ma.RAISE


# ---------------------------------------------------------------------------- reviews


class ScoreSchema(Schema):
    criterion_id = Id(required=True)
    score = Amount(required=True)


class ReviewSchema(Schema):
    id = Id(required=True)
    assignment_id = Id(required=True)
    state = _enum(ReviewState, required=True)
    scores = fields.List(fields.Nested(ScoreSchema), required=True)
    weighted_score = Amount(allow_none=True, required=True)
    comments_to_applicants = fields.String(required=True)
    confidential_comments = fields.String(required=True)
    recommendation = _enum(Recommendation, allow_none=True, required=True)
    submitted_at = fields.DateTime(allow_none=True, required=True)


class AssignmentSchema(Schema):
    id = Id(required=True)
    proposal_id = Id(required=True)
    proposal_reference = fields.String(allow_none=True, required=True)
    proposal_title = fields.String(required=True)
    call_reference = fields.String(required=True)
    agency_id = Id(required=True)
    state = _enum(AssignmentState, required=True)
    due_at = fields.DateTime(required=True)
    no_conflict_declared_at = fields.DateTime(allow_none=True, required=True)
    review = fields.Nested(ReviewSchema, allow_none=True, required=True, metadata={
        "description": "The reviewer's own review (null for staff and before a draft is saved)"})


class AssignmentFilter(PageArgs):
    state = _enum(AssignmentState)


class ReviewFilter(PageArgs):
    state = _enum(ReviewState)


class ReviewInput(Schema):
    """A review, saved as a draft or submitted (`submit`): the same rules as the review
    form (every criterion scored on its scale, comments to the applicants to submit)."""

    scores = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[0-9]{1,10}$")),
                         values=fields.Float(allow_none=True, validate=validate.Range(min=-1000, max=1000)),
                         load_default=dict,
                         metadata={"description": "Score per criterion id; null removes one"})
    comments_to_applicants = Text(max_length=20000, load_default="")
    confidential_comments = Text(max_length=20000, load_default="")
    recommendation = _enum(Recommendation, allow_none=True, load_default=None)
    submit = fields.Boolean(load_default=False)

    class Meta:
        ordered = True
        unknown = ma.RAISE


# ---------------------------------------------------------------------------- rankings


class RankingEntrySchema(Schema):
    proposal_id = Id(required=True)
    reference = fields.String(allow_none=True, required=True)
    title = fields.String(required=True)
    rank = fields.Integer(allow_none=True, required=True)
    mean_score = Amount(allow_none=True, required=True)
    reviews_count = fields.Integer(required=True)
    passed = fields.Boolean(required=True)


class SideRankingSchema(PagedSchema):
    call_id = Id(required=True)
    agency_id = Id(required=True)
    items = fields.List(fields.Nested(RankingEntrySchema), required=True)


class JointSideSchema(Schema):
    agency_id = Id(required=True)
    rank = fields.Integer(allow_none=True, required=True)
    mean_score = Amount(allow_none=True, required=True)
    normalised = Amount(allow_none=True, required=True)
    passed = fields.Boolean(allow_none=True, required=True)


class JointRowSchema(Schema):
    position = fields.Integer(required=True)
    proposal_id = Id(required=True)
    reference = fields.String(allow_none=True, required=True)
    title = fields.String(required=True)
    state = _enum(ProposalState, required=True)
    combined = Amount(allow_none=True, required=True)
    passes_both = fields.Boolean(required=True)
    tied = fields.Boolean(required=True)
    vetoed_by = fields.List(Id(), required=True)
    sides = fields.List(fields.Nested(JointSideSchema), required=True)


class JointRankingSchema(PagedSchema):
    call_id = Id(required=True)
    items = fields.List(fields.Nested(JointRowSchema), required=True)


# ---------------------------------------------------------------------------- projects


class AllocationSchema(Schema):
    agency_id = Id(required=True)
    year = fields.Integer(required=True)
    amount = Amount(required=True)
    currency = fields.String(required=True)


class ReportSchema(Schema):
    kind = _enum(ReportKind, required=True)
    state = _enum(ReportState, required=True)
    due_on = fields.Date(allow_none=True, required=True)
    submitted_at = fields.DateTime(allow_none=True, required=True)


class ProjectPISchema(Schema):
    agency_id = Id(required=True)
    principal_investigator = fields.String(allow_none=True, required=True)
    institution = fields.String(required=True)


class ProjectSchema(Schema):
    """A project: its public fields for everybody; `allocations` and `reports` only for
    those who may see the project's own page (its PIs, the committee's staff)."""

    id = Id(required=True)
    code = fields.String(required=True)
    title = fields.String(required=True)
    acronym = fields.String(required=True)
    call_reference = fields.String(required=True)
    decision = fields.String(required=True, metadata={"description": "The adopting decision's number"})
    meeting = fields.Integer(allow_none=True, required=True,
                             metadata={"description": "The session that adopted it (null: written procedure)"})
    sides = fields.List(fields.Nested(ProjectPISchema), required=True)
    status = _enum(ProjectStatus)
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    allocations = fields.List(fields.Nested(AllocationSchema))
    reports = fields.List(fields.Nested(ReportSchema))


class ProjectFilter(PageArgs):
    status = _enum(ProjectStatus)


# ---------------------------------------------------------------------------- outbox


class QueueStateSchema(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    oldest_queued_at = fields.DateTime(allow_none=True, required=True)


class OutboxSchema(Schema):
    tasks = fields.Nested(QueueStateSchema, required=True)
    emails = fields.Nested(QueueStateSchema, required=True)
