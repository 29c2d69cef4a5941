"""What the fault and multi-host tests run besides the app: a private Redis server they
can stop and start, Celery worker and web processes (optionally inside a Linux network
namespace), an SMTP server that counts what arrives by Message-ID and can hold one
delivery open, a TCP forwarder, and a small HTTP client with a cookie."""
from __future__ import annotations

import asyncio
import email
import email.policy
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60  # a process starting on a busy two-core machine


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(what: str, probe, timeout: float = 45, interval: float = 0.2, on_timeout=lambda: ""):
    """Call `probe()` until it is truthy (bounded); its value."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n{on_timeout()}")
        time.sleep(interval)


class RedisServer:
    """`redis-server` of the test's own on `host:port`, without persistence: stop()
    and start() again are a broker outage."""

    def __init__(self, host: str, port: int, log: Path, prefix: list[str] | None = None):
        self.host, self.port, self.log, self.prefix = host, port, log, prefix or []
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> None:
        command = [*self.prefix, "redis-server", "--port", str(self.port), "--bind", self.host,
                   "--save", "", "--appendonly", "no", "--protected-mode", "no"]
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT)
        wait_until("redis-server to answer", self.answers, timeout=15,
                   on_timeout=lambda: self.log.read_text(errors="replace"))

    def answers(self) -> bool:
        client = redis.Redis(host=self.host, port=self.port, socket_connect_timeout=0.5)
        try:
            return client.ping()
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


class Process:
    """A worker or web process and its log."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path, ready: str):
        self.name, self.log = name, log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.ready = ready

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        def ready():
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")
            return re.search(self.ready, self.output())

        wait_until(f"{self.name} to be ready", ready, timeout=READY_TIMEOUT, on_timeout=self.output)

    def succeeded(self, task: str) -> list[str]:
        """What each run of `task` returned, as this worker logged it."""
        return re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded in [^:]+: (.*)", self.output())

    def kill(self) -> None:
        """kill -9 of the process and its children, at once."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def app_env(*, database_url: str, broker_url: str, secret_key: str, instance: Path, **extra) -> dict:
    """The environment of a production start of cfp (web or worker) on these servers."""
    instance.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("CFP_") or key.startswith("CFP_TEST_")}
    env.update({
        "CFP_DATABASE_URL": database_url, "CFP_REDIS_URL": broker_url, "CFP_SECRET_KEY": secret_key,
        "CFP_INSTANCE_PATH": str(instance), "PYTHONUNBUFFERED": "1",
    })
    env.update({key: str(value) for key, value in extra.items()})
    return env


def start_worker(name: str, env: dict, log: Path, prefix: list[str] | None = None) -> Process:
    """`celery -A workers.app worker`, one task at a time (prefetch 1, acks late)."""
    command = [*(prefix or []), sys.executable, "-m", "celery", "-A", "workers.app", "worker",
               "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
               "--without-heartbeat", "--hostname", f"{name}@%h"]
    return Process(name, command, env, log, ready=r"\bready\.")


def start_web(name: str, env: dict, log: Path, host: str, port: int, prefix: list[str] | None = None) -> Process:
    """The app under werkzeug's threaded server (what `flask run` serves), on host:port."""
    command = [*(prefix or []), sys.executable, "-m", "flask", "--app", "wsgi", "run",
               "--host", host, "--port", str(port), "--no-reload", "--no-debugger"]
    return Process(name, command, env, log, ready=r"Running on")


class Inbox:
    """An SMTP server's handler: each accepted message by Message-ID. `hold_from(*addresses)`
    keeps the first DATA from any of those client addresses unanswered until `release()`
    (`held_peer` says whose it was); the held message is then refused (its sender died
    before hearing back)."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.lock = threading.Lock()
        self.hold_peers: set[str] = set()
        self.held_peer: str | None = None
        self.held_id: str | None = None  # the Message-ID of the message held
        self.holding = threading.Event()
        self.released: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def hold_from(self, *addresses: str) -> None:
        self.hold_peers = set(addresses)

    async def handle_DATA(self, server, session, envelope):
        if session.peer[0] in self.hold_peers:
            self.hold_peers, self.held_peer = set(), session.peer[0]
            self.held_id = email.message_from_bytes(envelope.content, policy=email.policy.default)["Message-ID"]
            self.loop, self.released = asyncio.get_running_loop(), asyncio.Event()
            self.holding.set()
            await self.released.wait()
            return "451 sender gone, not kept"
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def release(self) -> None:
        if self.released is not None:
            self.loop.call_soon_threadsafe(self.released.set)

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(m["Message-ID"] for m in self.messages)


def smtp_server(inbox: Inbox, host: str, port: int) -> Controller:
    controller = Controller(inbox, hostname=host, port=port, ready_timeout=10)
    controller.start()
    return controller


class Forwarder:
    """TCP from listen_host:listen_port to target_host:target_port, in a thread: how
    another network namespace reaches PostgreSQL, which listens on 127.0.0.1 only."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]):
        self.listen, self.target = listen, target
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.started.wait(10):
            raise RuntimeError(f"the forwarder on {listen} did not start")

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._client, *self.listen))
        self.started.set()
        self.loop.run_forever()

    async def _client(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self):
        async def shut():
            self.server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Browser:
    """An HTTP client with a session cookie, as a logged-in browser (no CSRF token:
    the processes it talks to run with CFP_CSRF_ENABLED=0)."""

    def __init__(self, host: str, port: int):
        self.host, self.port, self.cookies = host, port, {}

    def post(self, path: str, data: dict) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request("POST", path, body=urllib.parse.urlencode(data), headers=headers)
            response = connection.getresponse()
            response.body = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response


# The work: prepared proposals, submitted over HTTP; what must hold once it is all done.

def prepared_proposals(count: int) -> list[tuple[int, str]]:
    """`count` proposals of one open call that both PIs have confirmed, committed: each
    as (id, the email of the PI who submits it)."""
    from cfp.extensions import db
    from tests import factories as f

    cn, be, committee = f.world()
    call = f.call(committee)
    prepared = []
    for n in range(count):
        pi_cn = f.user(agency=cn, name=f"Li Wei {n}")
        proposal = f.proposal(call, pi_cn, f.user(agency=be, name=f"Claire Dubois {n}"),
                              title=f"Perovskite solar cells {n}")
        for side in proposal.sides:
            side.confirmed_version, side.confirmed_at = proposal.version, proposal.created_at
        prepared.append((proposal, pi_cn.email))
    db.session.commit()
    return [(proposal.id, email) for proposal, email in prepared]


def submit(browser: Browser, email: str, proposal_id: int) -> None:
    from tests.factories import PASSWORD

    response = browser.post("/login", {"email": email, "password": PASSWORD})
    assert response.status == 302, response.body[:300]
    response = browser.post(f"/proposals/{proposal_id}/submit", {"submit": "y"})
    assert response.status == 302, response.body[:300]


def work_left() -> dict:
    """What is not finished yet, by kind (empty when all is done)."""
    import sqlalchemy as sa

    from cfp.core.outbox import MessageStatus, OutboxMessage
    from cfp.core.tasks import QueuedTask, TaskStatus
    from cfp.extensions import db

    db.session.rollback()  # a fresh snapshot
    left = {
        "tasks": db.session.scalar(sa.select(sa.func.count(QueuedTask.id))
                                   .where(QueuedTask.status != TaskStatus.done)),
        "messages": db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))
                                      .where(OutboxMessage.status != MessageStatus.sent)),
    }
    return {kind: n for kind, n in left.items() if n}


def outcomes(results: list[str]) -> list[str]:
    """The outcome of each message in what delivery tasks returned, as the worker logged
    it: "'sent'" for a task of one message, "['sent', 'skipped']" for one of several."""
    return [word for result in results for word in re.findall(r"'(\w+)'", result)]


def held_message(inbox: Inbox, mail_from: str):
    """The outbox row of the message the SMTP server held."""
    import sqlalchemy as sa

    from cfp.core.outbox import OutboxMessage, message_id_for
    from cfp.extensions import db

    db.session.rollback()
    rows = [m for m in db.session.scalars(sa.select(OutboxMessage))
            if message_id_for(m.idempotency_key, mail_from) == inbox.held_id]
    assert len(rows) == 1, inbox.held_id
    return rows[0]


def assert_done_once(proposal_ids: list[int], inbox: Inbox, mail_from: str) -> None:
    """Every proposal submitted, its two receipts delivered to SMTP once each (by
    Message-ID), its two eligibility checks evaluated once each, every task row done,
    nothing left queued, sending or failed."""
    import sqlalchemy as sa

    from cfp.core.audit import AuditEntry
    from cfp.core.outbox import MessageStatus, OutboxMessage, message_id_for
    from cfp.core.tasks import QueuedTask, TaskStatus
    from cfp.extensions import db
    from cfp.proposals.models import EligibilityCheck, Proposal, ProposalState

    db.session.rollback()
    states = db.session.scalars(sa.select(Proposal.state).where(Proposal.id.in_(proposal_ids))).all()
    assert states == [ProposalState.submitted] * len(proposal_ids)
    messages = db.session.scalars(sa.select(OutboxMessage)).all()
    assert sorted(m.idempotency_key.split("-")[1] for m in messages) == sorted(
        str(pid) for pid in proposal_ids for _side in range(2))  # receipt-<proposal>-<side>
    assert {m.status for m in messages} == {MessageStatus.sent}
    arrived = inbox.message_ids()
    expected = Counter(message_id_for(m.idempotency_key, mail_from) for m in messages)
    assert len(expected) == 2 * len(proposal_ids)
    assert arrived == expected  # each receipt once, nothing else
    tasks = db.session.scalars(sa.select(QueuedTask)).all()
    assert {t.status for t in tasks} == {TaskStatus.done}
    # A submission's two receipts are one delivery task (cfp.core.tasks.queue_in_batch).
    assert Counter(t.name for t in tasks) == {"mail.deliver_email": len(proposal_ids),
                                              "proposals.evaluate_eligibility_rules": len(proposal_ids)}
    checks = db.session.scalars(sa.select(EligibilityCheck.id)
                                .where(EligibilityCheck.rule_results.is_not(None))).all()
    assert len(checks) == 2 * len(proposal_ids)
    evaluations = Counter(db.session.scalars(sa.select(AuditEntry.object_id)
                                             .where(AuditEntry.action == "eligibility.rules")).all())
    assert evaluations == Counter({check_id: 1 for check_id in checks})
