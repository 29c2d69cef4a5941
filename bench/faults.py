"""Durability under faults, on the production shape (gunicorn 4 workers, a Celery worker, beat,
PostgreSQL `cfp_bench_faults` dropped at the end, a local SMTP server counting deliveries), with
a private redis-server on its own port that the bench stops and starts.

(a) Redis outage: 100 submissions spread over a 20 s outage of Redis (stopped, then started
    again empty, as a Redis without persistence comes back). Prints the submissions' p95.
(b) Worker crash: 500 emails through the outbox; once about a fifth are delivered, `kill -9`
    of the whole worker (its process group), then a new worker.

Then the app's own recovery runs: the beat sweeps (`tasks.relay`, `mail.requeue_outbox`, every
minute). A task relayed just before a crash, and an email claimed by the killed worker, wait
for their lease (15 min for a task, 3 min for a claim; constants in cfp/core/tasks.py and
cfp/core/outbox.py, not settings). By default the bench does not wait them out: after
`--settle` seconds it runs the same two sweeps once with their clock moved past the lease
(`relay_due(now + LEASE)`, `messages_to_requeue(now + CLAIM_LEASE)`), as the beat would then;
`--wait-leases` waits for the real beat instead (about 16 minutes).

Prints lost (a submission answered but not recorded; an email never delivered), duplicated
(a Message-ID received twice) and stuck (task outbox rows not done, eligibility checks whose
rules were not evaluated, emails still queued or `sending`). Target: 0, 0, 0; p95 < 1 s.

    .venv/bin/python bench/faults.py
    .venv/bin/python bench/faults.py --submissions 30 --outage 8 --emails 100
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deadline import logins
from deadline import run as submit_all
from deadline import seed as seed_submissions
from outbox import write_emails
from stack import Stack, free_port, percentile


def counts(app, proposal_ids: list[int]) -> dict:
    import sqlalchemy as sa

    from cfp.core.outbox import OutboxMessage
    from cfp.core.tasks import QueuedTask, TaskStatus
    from cfp.extensions import db
    from cfp.proposals.models import EligibilityCheck, Proposal, ProposalState

    with app.app_context():
        submitted = set(db.session.scalars(sa.select(Proposal.id).where(
            Proposal.id.in_(proposal_ids), Proposal.state != ProposalState.draft)))
        not_evaluated = db.session.scalar(sa.select(sa.func.count()).select_from(EligibilityCheck)
                                          .where(EligibilityCheck.rule_results.is_(None)))
        mail = dict(db.session.execute(sa.select(OutboxMessage.status, sa.func.count())
                                       .group_by(OutboxMessage.status)).all())
        tasks_open = db.session.scalar(sa.select(sa.func.count()).select_from(QueuedTask)
                                       .where(QueuedTask.status != TaskStatus.done))
        db.session.remove()
    return {"submitted": submitted, "not_evaluated": not_evaluated,
            "mail": {k.value: v for k, v in mail.items()}, "tasks_open": tasks_open}


def sweep_past_leases(app) -> tuple[int, int]:
    """The beat's two sweeps, with their clock past the leases: tasks relayed, emails handed out."""
    from cfp.core.outbox import CLAIM_LEASE, messages_to_requeue
    from cfp.core.tasks import LEASE, relay_due, send_task
    from cfp.core.types import utcnow
    from cfp.extensions import db

    with app.app_context():
        relayed = relay_due(utcnow() + LEASE + timedelta(seconds=1))
        ids = messages_to_requeue(utcnow() + CLAIM_LEASE + timedelta(seconds=1))
        db.session.commit()
        for message_id in ids:
            send_task("mail.deliver_email", message_id)
        db.session.remove()
    return relayed, len(ids)


def settled(state: dict, emails: int) -> bool:
    """Nothing left to do: every task row done, every check evaluated, every email sent."""
    unsent = sum(n for status, n in state["mail"].items() if status != "sent")
    return (state["tasks_open"] == 0 and state["not_evaluated"] == 0 and unsent == 0
            and state["mail"].get("sent", 0) >= emails)


def wait_settled(app, proposal_ids, emails: int, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        state = counts(app, proposal_ids)
        if settled(state, emails) or time.monotonic() > deadline:
            return state
        time.sleep(1)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--outage", type=float, default=20, help="seconds Redis is down")
    parser.add_argument("--emails", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--settle", type=float, default=150, help="seconds left to the beat's sweeps")
    parser.add_argument("--wait-leases", action="store_true")
    args = parser.parse_args(argv)

    redis_port = free_port()
    with Stack("faults", private_redis_port=redis_port) as stack:
        stack.redis_server(redis_port)
        inbox = stack.smtp()
        app = stack.app()
        seeded = seed_submissions(app, args.clients, args.submissions)
        port = free_port()
        stack.gunicorn(port, env=stack.env(CFP_TRUST_REQUEST_START="1"))
        stack.worker(concurrency=args.concurrency)
        stack.beat()
        first = {}
        for pid in seeded["ids"]:
            first.setdefault(seeded["owner"][pid], pid)
        sessions = asyncio.run(logins(port, set(seeded["owner"].values()), first))

        # (a) the outage
        stack.stop("redis")
        began = time.time()
        plan = [(began + args.outage * n / args.submissions, pid, seeded["owner"][pid])
                for n, pid in enumerate(seeded["ids"])]
        results = asyncio.run(submit_all(port, plan, sessions, stamp=True))
        time.sleep(max(0.0, began + args.outage - time.time()))
        stack.redis_server(redis_port)
        ms = [r["ms"] for r in results]
        answered = [r for r in results if r["status"] == 302]
        print(f"(a) Redis down {args.outage:.0f} s: {len(answered)} of {len(results)} submissions "
              f"answered 302 (others: {[r['status'] for r in results if r['status'] != 302]}); p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
              f"max {max(ms):.0f} ms (target p95 < 1000)", flush=True)

        # (b) the crash
        write_emails(app, args.emails, prefix="crash-", new_world=False)
        receipts = 2 * len(answered)
        total = receipts + args.emails
        while counts(app, [])["mail"].get("sent", 0) < receipts + args.emails // 5:
            time.sleep(0.2)
        process = stack.processes["worker"]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        before = counts(app, [])["mail"]
        print(f"(b) kill -9 of the worker at {datetime.now(UTC):%H:%M:%S} with emails {before}", flush=True)
        stack.processes.pop("worker")
        stack.worker(concurrency=args.concurrency, name="worker2")

        state = wait_settled(app, seeded["ids"], total, 17 * 60 if args.wait_leases else args.settle)
        if not settled(state, total) and not args.wait_leases:
            relayed, handed = sweep_past_leases(app)
            print(f"not settled after {args.settle:.0f} s ({state['mail']}, task rows open "
                  f"{state['tasks_open']}); swept past the leases: {relayed} tasks relayed, "
                  f"{handed} emails handed out", flush=True)
            state = wait_settled(app, seeded["ids"], total, 60)
        time.sleep(3)  # a copy sent twice arrives now
        total = sum(state["mail"].values())
        lost_submissions = len([r for r in answered if r["id"] not in state["submitted"]])
        stuck_mail = {k: v for k, v in state["mail"].items() if k != "sent"}
        print(f"lost: submissions {lost_submissions}, emails never received "
              f"{max(0, total - len(inbox.by_message_id))} (target 0)")
        print(f"duplicated: Message-IDs received twice {inbox.duplicates} (target 0)")
        print(f"stuck: task outbox rows not done {state['tasks_open']}, eligibility checks not evaluated "
              f"{state['not_evaluated']}, emails not sent {stuck_mail or 0} (target 0)")


if __name__ == "__main__":
    main(sys.argv[1:])
