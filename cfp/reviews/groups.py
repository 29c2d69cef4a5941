"""The groups of the diversity rule "at most one reviewer of a group per proposal": each
reviewer's institution or country as a number (the solver's ``Instance.groups``); -1 for
a reviewer whose group is unknown (a group of their own)."""
from __future__ import annotations

import numpy as np

from cfp.reviews.models import ReviewerProfile


def institution_groups(profiles: list[ReviewerProfile]) -> np.ndarray:
    """Each reviewer's institution as a number: the affiliation as conflicts compare it, or
    else the email domain (not a public mail service); -1 when neither says."""
    from cfp.reviews.operations import PUBLIC_EMAIL_DOMAINS, _domain, _norm

    numbers: dict[str, int] = {}
    out = np.full(len(profiles), -1, dtype=np.int64)
    for j, profile in enumerate(profiles):
        domain = _domain(profile.user.email)
        key = _norm(profile.user.affiliation) or (
            "@" + domain if domain and domain not in PUBLIC_EMAIL_DOMAINS else "")
        if key:
            out[j] = numbers.setdefault(key, len(numbers))
    return out


def country_groups(profiles: list[ReviewerProfile]) -> np.ndarray:
    """Each reviewer's country, as their profile gives it, as a number; -1 when not given."""
    numbers: dict[str, int] = {}
    out = np.full(len(profiles), -1, dtype=np.int64)
    for j, profile in enumerate(profiles):
        if profile.country:
            out[j] = numbers.setdefault(profile.country, len(numbers))
    return out


GROUPS = {"institution": institution_groups, "country": country_groups}
