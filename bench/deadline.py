"""The rush before a call's closing instant, on the production shape: gunicorn (4 sync
workers), a Celery worker and beat over Redis, PostgreSQL (`cfp_bench_deadline`, dropped at
the end) and a local SMTP server (aiosmtpd, in this process) counting receipts by recipient.

200 clients (MOST-side PIs, logged in through the login form) submit 1,000 confirmed joint
proposals at random instants of the last 60 s before the closing instant, then 300 more in
the last 2 s; a few more are sent just after it, and must be refused. The bench plays the
proxy: each request carries `X-Request-Start` with the instant it was sent, and the app
runs with CFP_TRUST_REQUEST_START=1 (`--no-request-start`: without, the app stamps the
instant a gunicorn worker picks the request up).

Prints errors (5xx, no answer), lost (answered but not submitted), submissions sent before
the closing instant and not accepted, those sent after it and accepted, the p50/p95/max
latency (all, and the last 2 s), the receipts expected, received, missing and duplicated,
and the task outbox rows not done (eligibility rules, receipts).
Target: 0 errors, 0 lost, p95 under 1 s, all before the instant accepted, each receipt once.

    .venv/bin/python bench/deadline.py
    .venv/bin/python bench/deadline.py --clients 20 --early 100 --last 30 --window 10
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import CSRF, Stack, free_port, http, log_in, percentile

TARGET_P95_MS = 1000


def seed(app, clients: int, count: int) -> dict:
    import seed as s

    from cfp.calls.models import CallState
    from cfp.core.types import utcnow
    from cfp.extensions import db
    from cfp.proposals.models import ProposalState

    with app.app_context():
        w = s.world()
        now = utcnow()
        call = s.call(w, "CN-BE-2025", state=CallState.open, opens_at=now - timedelta(days=30),
                      closes_at=now + timedelta(days=1))
        client_ids = s.researchers(w, clients, w.cn, "client-")
        ids = s.proposals(call, w, count, state=ProposalState.draft, clients=client_ids)
        db.session.commit()
        import sqlalchemy as sa

        from cfp.auth.models import User
        from cfp.proposals.models import ProposalSide
        emails = dict(db.session.execute(sa.select(User.id, User.email).where(User.id.in_(client_ids))).all())
        pis = db.session.execute(sa.select(ProposalSide.proposal_id, User.email)
                                 .join(User, User.id == ProposalSide.pi_user_id)
                                 .where(ProposalSide.proposal_id.in_(ids))).all()
        owner = {pid: emails[client_ids[n % clients]] for n, pid in enumerate(ids)}
        return {"call_id": call.id, "ids": ids, "owner": owner, "pis": pis}


def close_at(app, call_id: int, instant: datetime) -> None:
    from cfp.calls.models import Call
    from cfp.extensions import db

    with app.app_context():
        db.session.get(Call, call_id).closes_at = instant
        db.session.commit()


async def run(port: int, plan: list[tuple[float, int, str]], sessions: dict, stamp: bool) -> list[dict]:
    async def one(at: float, proposal_id: int, email: str) -> dict:
        await asyncio.sleep(max(0.0, at - time.time()))
        cookie, token = sessions[email]
        sent = time.time()
        headers = {"X-Request-Start": f"t={sent * 1000:.3f}"} if stamp else {}
        try:
            answer = await http(port, "POST", f"/proposals/{proposal_id}/submit", cookie=cookie,
                                form={"submit": "y", "csrf_token": token}, headers=headers, timeout=60)
            status = answer.status
        except (TimeoutError, OSError) as exc:
            status = f"{type(exc).__name__}"
        return {"id": proposal_id, "sent": sent, "ms": (time.time() - sent) * 1000, "status": status}

    return await asyncio.gather(*(one(*p) for p in plan))


async def logins(port: int, emails: set[str], first: dict) -> dict:
    from seed import PASSWORD

    sessions = {}
    for email in sorted(emails):  # one at a time: argon2 is slow on purpose
        cookie, token = await log_in(port, email, PASSWORD)
        page = await http(port, "GET", f"/proposals/{first[email]}", cookie=cookie)
        match = CSRF.search(page.body)
        sessions[email] = (cookie, match.group(1).decode() if match else token)
    return sessions


def outcome(app, ids: list[int]) -> tuple[dict, int]:
    import sqlalchemy as sa

    from cfp.core.tasks import QueuedTask, TaskStatus
    from cfp.extensions import db
    from cfp.proposals.models import Proposal, ProposalState

    with app.app_context():
        submitted = dict(db.session.execute(sa.select(Proposal.id, Proposal.submitted_at).where(
            Proposal.id.in_(ids), Proposal.state == ProposalState.submitted)).all())
        open_tasks = db.session.scalar(sa.select(sa.func.count()).select_from(QueuedTask)
                                       .where(QueuedTask.status != TaskStatus.done))
        db.session.remove()
    return submitted, open_tasks


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--early", type=int, default=1_000, help="submissions in the last WINDOW s")
    parser.add_argument("--last", type=int, default=300, help="submissions in the last 2 s")
    parser.add_argument("--late", type=int, default=20, help="submissions just after the instant")
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--no-request-start", action="store_true")
    parser.add_argument("--receipts-timeout", type=float, default=300)
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    count = args.early + args.last + args.late

    with Stack("deadline", redis_db=args.redis_db) as stack:
        inbox = stack.smtp()
        app = stack.app()
        seeded = seed(app, args.clients, count)
        stamp = not args.no_request_start
        extra = {"CFP_TRUST_REQUEST_START": "1"} if stamp else {}
        port = free_port()
        stack.gunicorn(port, env=stack.env(**extra))
        stack.worker(concurrency=args.concurrency)
        stack.beat()
        first = {}
        for pid in seeded["ids"]:
            first.setdefault(seeded["owner"][pid], pid)
        began = time.perf_counter()
        sessions = asyncio.run(logins(port, set(seeded["owner"].values()), first))
        print(f"{len(sessions)} clients logged in in {time.perf_counter() - began:.1f} s", flush=True)

        closing = time.time() + args.window + 5
        close_at(app, seeded["call_id"], datetime.fromtimestamp(closing, UTC))
        ids = list(seeded["ids"])
        rng.shuffle(ids)
        instants = ([closing - rng.uniform(2, args.window) for _ in range(args.early)]
                    + [closing - rng.uniform(0.001, 2) for _ in range(args.last)]
                    + [closing + rng.uniform(0.05, 1) for _ in range(args.late)])
        plan = [(at, pid, seeded["owner"][pid]) for at, pid in zip(instants, ids)]
        print(f"closing in {closing - time.time():.0f} s: {args.early} submissions in the last "
              f"{args.window:.0f} s, {args.last} in the last 2 s, {args.late} just after", flush=True)
        web_cpu = stack.cpu_seconds("web")
        results = asyncio.run(run(port, plan, sessions, stamp))
        web_cpu = stack.cpu_seconds("web") - web_cpu

        submitted, _ = outcome(app, ids)
        errors = [r for r in results if not isinstance(r["status"], int) or r["status"] >= 500]
        before = [r for r in results if r["sent"] < closing]
        after = [r for r in results if r["sent"] >= closing]
        lost = [r for r in results if r["status"] == 302 and r["id"] not in submitted and r["sent"] < closing]
        refused_early = [r for r in before if r["id"] not in submitted]
        accepted_late = [r for r in after if r["id"] in submitted]
        statuses = Counter(str(r["status"]) for r in results)
        last_two = [r["ms"] for r in before if r["sent"] >= closing - 2]
        all_ms = [r["ms"] for r in results]
        print(f"answers: {dict(statuses)}")
        print(f"errors {len(errors)} (target 0); lost {len(lost)} (target 0); sent before the instant "
              f"and not accepted {len(refused_early)} of {len(before)} (target 0); sent after it and "
              f"accepted {len(accepted_late)} of {len(after)} (should be 0)")
        print(f"latency ms: p50 {percentile(all_ms, 50):.0f}, p95 {percentile(all_ms, 95):.0f}, "
              f"max {max(all_ms):.0f}; last 2 s: p50 {percentile(last_two, 50):.0f}, "
              f"p95 {percentile(last_two, 95):.0f} (target p95 < {TARGET_P95_MS})", flush=True)
        print(f"web CPU during the rush: {web_cpu:.1f} s = {1000 * web_cpu / len(results):.1f} ms per "
              "submission (user + system, all gunicorn processes: what the machine's other load does "
              "not inflate)", flush=True)

        expected = Counter(email for pid, email in seeded["pis"] if pid in submitted)
        deadline = time.monotonic() + args.receipts_timeout
        began = time.perf_counter()
        while sum(inbox.by_recipient.values()) < sum(expected.values()) and time.monotonic() < deadline:
            time.sleep(0.5)
        waited = time.perf_counter() - began
        time.sleep(3)  # a copy sent twice arrives now
        missing = sum(max(0, n - inbox.by_recipient[e]) for e, n in expected.items())
        extra_copies = sum(max(0, inbox.by_recipient[e] - expected[e]) for e in inbox.by_recipient)
        _, open_tasks = outcome(app, ids)
        print(f"receipts: expected {sum(expected.values())}, received {inbox.received} "
              f"({waited:.0f} s after the last answer), missing {missing}, extra {extra_copies}, "
              f"same Message-ID twice {inbox.duplicates} (target 0, 0, 0); task outbox rows not done "
              f"{open_tasks}")


if __name__ == "__main__":
    main(sys.argv[1:])
