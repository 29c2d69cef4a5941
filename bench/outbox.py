"""Delivery rate of the email outbox: N emails (default 10,000) by the real Celery worker to a
local SMTP server (aiosmtpd, in this process), over Redis, from a PostgreSQL database of its
own (`cfp_bench_outbox`, dropped at the end).

The emails are written as the app writes them: `send_account_exists_email` (an outbox row
each, rendered in the recipient's language), 200 a transaction (`--per-commit`: a release of
letters writes many in one, a submission its two receipts), each commit writing a delivery
task per MAIL_BATCH of its messages and relaying them to the broker. The worker is started
once every task is on the broker, and the clock runs from its "ready" to the last message
recorded `sent`.
Prints the relay time, the delivery time and rate, the messages received by the server,
duplicates (same Message-ID received more than once), and rows not `sent`.
Target: 10,000 in under 60 s, 0 duplicates.

    .venv/bin/python bench/outbox.py                          # 10,000 emails, 4 worker processes
    .venv/bin/python bench/outbox.py --emails 500 --concurrency 2
    .venv/bin/python bench/outbox.py --per-commit 2             # as 5,000 submissions' receipts
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack

BATCH = 200  # emails a commit
TARGET_SECONDS = 60


def write_emails(app, count: int, prefix: str = "recipient-", new_world: bool = True,
                 per_commit: int = BATCH) -> tuple[float, float]:
    """Seconds to write the rows, seconds their commits spent relaying to the broker."""
    import seed as s
    import sqlalchemy as sa

    from cfp.auth.models import User
    from cfp.auth.notifications import send_account_exists_email
    from cfp.core.types import utcnow
    from cfp.extensions import db

    with app.app_context():
        w = s.world() if new_world else s.existing_world()
        ids = s.researchers(w, count, w.be, prefix)
        db.session.commit()
        writing = relaying = 0.0
        now = utcnow()
        for start in range(0, count, per_commit):
            with app.test_request_context(base_url=app.config["BASE_URL"]):
                began = time.perf_counter()
                users = db.session.scalars(sa.select(User).where(User.id.in_(ids[start:start + per_commit]))).all()
                for user in users:
                    send_account_exists_email(user, now)
                db.session.flush()
                written = time.perf_counter()
                db.session.commit()  # the after-commit hooks relay each task to Redis
                writing += written - began
                relaying += time.perf_counter() - written
        return writing, relaying


def state(app) -> dict:
    import sqlalchemy as sa

    from cfp.core.outbox import OutboxMessage
    from cfp.core.tasks import QueuedTask, TaskStatus
    from cfp.extensions import db

    with app.app_context():
        by_status = dict(db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all())
        tasks_open = db.session.scalar(sa.select(sa.func.count()).select_from(QueuedTask)
                                       .where(QueuedTask.status != TaskStatus.done))
        db.session.remove()
    return {"status": {k.value: v for k, v in by_status.items()}, "tasks_open": tasks_open}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes (prefork)")
    parser.add_argument("--timeout", type=float, default=600, help="give up waiting after this")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--per-commit", type=int, default=BATCH,
                        help="emails written by one transaction (a release of letters: many; a submission's receipts: 2)")
    args = parser.parse_args(argv)

    with Stack("outbox", redis_db=args.redis_db) as stack:
        inbox = stack.smtp()
        app = stack.app()
        writing, relaying = write_emails(app, args.emails, per_commit=args.per_commit)
        print(f"{args.emails} emails written, {args.per_commit} a transaction, in {writing:.1f} s; "
              f"their commits relayed their delivery tasks to Redis "
              f"in {relaying:.1f} s", flush=True)
        stack.worker(concurrency=args.concurrency)
        start = time.perf_counter()
        deadline = start + args.timeout
        while time.perf_counter() < deadline:
            sent = state(app)["status"].get("sent", 0)
            if sent >= args.emails:
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - start
        cpu = stack.cpu_seconds("worker")
        time.sleep(2)  # anything delivered twice arrives now
        final = state(app)
        sent = final["status"].get("sent", 0)
        print(f"worker: {args.concurrency} processes; delivered {sent} of {args.emails} in {elapsed:.1f} s "
              f"= {sent / elapsed:.0f} emails/s (target: {args.emails} in under {TARGET_SECONDS} s)")
        print(f"worker CPU: {cpu:.1f} s = {1000 * cpu / max(sent, 1):.1f} ms per email "
              "(user + system, all its processes: what the machine's other load does not inflate)")
        print(f"SMTP server received {inbox.received}; duplicates {inbox.duplicates} (target 0); "
              f"recipients {len(inbox.by_recipient)}")
        not_sent = {k: v for k, v in final["status"].items() if k != "sent"}
        print(f"rows not sent: {not_sent or 0}; task outbox rows not done: {final['tasks_open']}")


if __name__ == "__main__":
    main(sys.argv[1:])
