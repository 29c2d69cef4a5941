"""Loading an object within the current user's scope: a view first loads what the
URL names, answering 404 both when it does not exist and when the user may not see
it (so that ids of others' objects tell nothing), then checks the right to act (403)."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from cfp.extensions import db


def load_visible(model, object_id: int):
    """The `model` row `object_id` if `row.can_view(current_user)`; 404 otherwise."""
    row = db.get_or_404(model, object_id)
    if not row.can_view(current_user):
        abort(404)
    return row


def load_worked_on(model, object_id: int):
    """The `model` row `object_id` if the user may see it and works on it (`works_on`:
    a committee's own pages about a call, for its staff, secretariat and co-chairs); 404
    otherwise, so that another committee's work is not even seen to exist."""
    row = db.get_or_404(model, object_id)
    if not (row.can_view(current_user) and row.works_on(current_user)):
        abort(404)
    return row
