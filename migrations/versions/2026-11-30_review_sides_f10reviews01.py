"""Issue 10: each side its own review settings and review stage; review revisions

Revision ID: f10reviews01
Revises: e10editor01
Create Date: 2026-11-30

The period a reviewer has to answer an invitation moves from the call to each side (the
call's value copied to both), and each side may set its own date reviews are due (none:
the call's); each side's staff close its review stage (review_closed_at). Each submission
of a review is kept (review_revisions); a review submitted before gets its revision 1.
"""
import sqlalchemy as sa
from alembic import op

revision = "f10reviews01"
down_revision = "e10editor01"
branch_labels = None
depends_on = None


def upgrade():
    # call_sides is referred to by no other table, so SQLite may copy it (for the CHECK).
    with op.batch_alter_table("call_sides") as batch:
        batch.add_column(sa.Column("reviewer_answer_days", sa.Integer(), server_default="7", nullable=False))
        batch.add_column(sa.Column("review_due_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("review_closed_at", sa.DateTime(), nullable=True))
        batch.create_check_constraint(op.f("ck_call_sides_answer_days_positive"), "reviewer_answer_days >= 1")
    op.execute("UPDATE call_sides SET reviewer_answer_days = (SELECT calls.reviewer_answer_days FROM calls"
               " WHERE calls.id = call_sides.call_id)")
    # Not in batch mode: calls is referred to by many tables, which forbids SQLite's copy;
    # SQLite (3.35 and later) and PostgreSQL both drop a plain column in place.
    op.drop_column("calls", "reviewer_answer_days")

    revisions = op.create_table(
        "review_revisions",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("weighted_score", sa.Numeric(precision=6, scale=3), nullable=True),
        sa.Column("comments_to_applicants", sa.Text(), nullable=False),
        sa.Column("confidential_comments", sa.Text(), nullable=False),
        sa.Column("recommendation", sa.Enum("fund", "fund_if_possible", "do_not_fund", name="recommendation",
                                            native_enum=False, create_constraint=True, length=20), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.CheckConstraint("number >= 1", name=op.f("ck_review_revisions_revision_number_positive")),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"], name=op.f("fk_review_revisions_review_id_reviews"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_revisions")),
        sa.UniqueConstraint("review_id", "number", name=op.f("uq_review_revisions_review_id_number")),
    )
    # Each review submitted so far: its revision 1, as it stands (typed tables, so that
    # SQLite's dates and decimals come back as Python values).
    reviews = sa.table("reviews", sa.column("id", sa.Integer), sa.column("state", sa.String),
                       sa.column("submitted_at", sa.DateTime), sa.column("updated_at", sa.DateTime),
                       sa.column("weighted_score", sa.Numeric(6, 3)),
                       sa.column("comments_to_applicants", sa.Text), sa.column("confidential_comments", sa.Text),
                       sa.column("recommendation", sa.String))
    review_scores = sa.table("review_scores", sa.column("review_id", sa.Integer),
                             sa.column("criterion_id", sa.Integer), sa.column("score", sa.Numeric(4, 1)))
    conn = op.get_bind()
    scores = {}
    for review_id, criterion_id, score in conn.execute(
            sa.select(review_scores.c.review_id, review_scores.c.criterion_id, review_scores.c.score)
            .join(reviews, reviews.c.id == review_scores.c.review_id).where(reviews.c.state == "submitted")):
        scores.setdefault(review_id, {})[str(criterion_id)] = f"{score:.1f}"
    rows = [
        {"review_id": r.id, "number": 1, "submitted_at": r.submitted_at or r.updated_at,
         "scores": scores.get(r.id, {}), "weighted_score": r.weighted_score,
         "comments_to_applicants": r.comments_to_applicants, "confidential_comments": r.confidential_comments,
         "recommendation": r.recommendation}
        for r in conn.execute(sa.select(reviews).where(reviews.c.state == "submitted").order_by(reviews.c.id))
    ]
    if rows:
        op.bulk_insert(revisions, rows)


def downgrade():
    op.drop_table("review_revisions")
    op.add_column("calls", sa.Column("reviewer_answer_days", sa.Integer(), server_default="7", nullable=False))
    op.execute("UPDATE calls SET reviewer_answer_days = (SELECT MAX(call_sides.reviewer_answer_days)"
               " FROM call_sides WHERE call_sides.call_id = calls.id)"
               " WHERE EXISTS (SELECT 1 FROM call_sides WHERE call_sides.call_id = calls.id)")
    with op.batch_alter_table("call_sides") as batch:
        batch.drop_constraint(op.f("ck_call_sides_answer_days_positive"), type_="check")
        batch.drop_column("review_closed_at")
        batch.drop_column("review_due_at")
        batch.drop_column("reviewer_answer_days")
