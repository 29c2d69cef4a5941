"""Probes for a load balancer or an orchestrator, without login.

`/healthz`: the process answers. `/readyz`: it can serve (database reachable,
broker reachable, schema at the code's migration head); 503 otherwise. Both name
only the parts checked and whether each is ok: the reasons go to the log, since a
probe is public."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify

from cfp.core.checks import readiness

bp = Blueprint("health", __name__)
logger = logging.getLogger(__name__)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    checks = readiness()
    for check in checks:
        if not check.ok:
            logger.warning("not ready: %s: %s", check.name, check.detail)
    ready = all(c.ok for c in checks)
    body = {c.name: "ok" if c.ok else "failing" for c in checks}
    return jsonify(status="ok" if ready else "failing", **body), 200 if ready else 503
