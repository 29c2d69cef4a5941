"""Old addresses keep working: the committee's pages once lived under /committee/ and
now live with their stage (meetings, selection, projects). Each old address answers
308 (permanent, method and body kept, so a form posted to it still arrives)."""
from __future__ import annotations

import re

from flask import Blueprint, abort, redirect, request

bp = Blueprint("legacy", __name__)

# (old path pattern, new path); the first that matches wins.
MOVED = [
    (r"/committee/meetings(?P<rest>/.*)?", "/meetings{rest}"),
    (r"/committee/written", "/meetings/decisions/written"),
    (r"/committee/decisions(?P<rest>/.*)", "/meetings/decisions{rest}"),
    (r"/committee/(?P<rest>(?:joint|calls|lists|entries)(?:/.*)?)", "/selection/{rest}"),
    (r"/committee/projects(?P<rest>/.*)", "/projects{rest}"),
    (r"/committee/dashboard", "/projects/dashboard"),
    (r"/committee/adopted-projects", "/projects/adopted"),
]


def new_path(path: str) -> str | None:
    """Where an old /committee/ address lives now, or None if it never existed."""
    for pattern, target in MOVED:
        match = re.fullmatch(pattern, path)
        if match:
            return target.format(**{k: v or "" for k, v in match.groupdict().items()})
    return None


@bp.route("/committee/<path:rest>", methods=["GET", "HEAD", "POST"])
def moved(rest: str):
    target = new_path(f"/committee/{rest}")
    if target is None:
        abort(404)
    query = request.query_string.decode("latin-1")
    return redirect(target + (f"?{query}" if query else ""), code=308)
