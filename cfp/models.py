"""Imports every feature's models so that SQLAlchemy and Alembic see them all."""
from cfp.auth.models import AccountToken, LoginAttempt, User, UserRole  # noqa: F401
from cfp.calls.models import (  # noqa: F401
    Agency,
    Agreement,
    Call,
    CallAmendment,
    CallSide,
    JointCommittee,
    PriorityArea,
    ReviewCriterion,
)
from cfp.core.audit import AuditEntry  # noqa: F401
from cfp.core.jobs import Job  # noqa: F401
from cfp.core.outbox import OutboxMessage  # noqa: F401
from cfp.core.tasks import QueuedTask  # noqa: F401
from cfp.meetings.models import AgendaItem, Attendee, Decision, DecisionApproval, Meeting  # noqa: F401
from cfp.projects.models import Project, ProjectAllocation, ProjectReport, TripDone  # noqa: F401
from cfp.proposals.models import (  # noqa: F401
    BudgetLine,
    EligibilityCheck,
    MobilityTrip,
    PartnerInvitation,
    Proposal,
    ProposalDocument,
    ProposalMember,
    ProposalSide,
    ProposalVersion,
)
from cfp.reviews.models import (  # noqa: F401
    Assignment,
    RankingEntry,
    Review,
    ReviewerProfile,
    ReviewScore,
)
from cfp.selection.models import (  # noqa: F401
    EntryAmount,
    ProjectList,
    ProjectListEntry,
    SelectionSetting,
    TieBreak,
    YearEnvelope,
)
