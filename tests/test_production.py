"""Issue 13: README's production recipe, run as written.

`honcho start` runs the Procfile (gunicorn with 2 workers, a Celery worker, beat) with
CFP_ENV=production against PostgreSQL, Redis and a local SMTP server; a proposal goes
from confirmation to receipt through HTTP alone, as a browser would (CSRF tokens,
Secure cookies); the request id of the submission is found in the worker's log line
of the receipts it queued. And two beats started by mistake send the schedule once.
"""
from __future__ import annotations

import email
import email.policy
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from aiosmtpd.controller import Controller

from cfp import create_app
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f
from tests.conftest import pg_database
from tests.test_installation import free_port

ROOT = Path(__file__).resolve().parents[1]
BROKER_URL = os.environ.get("CFP_TEST_PRODUCTION_REDIS_URL", "redis://127.0.0.1:6379/13")
TIMEOUT = 90


class Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class Browser:
    """Cookies and CSRF tokens by hand, as a browser keeps them (Secure cookies
    included: the recipe is served over HTTPS by a proxy; here, plain HTTP on loopback)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.text = response.read().decode(errors="replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        connection.close()
        return response

    def csrf(self, path: str) -> str:
        page = self.request("GET", path)
        assert page.status == 200, (path, page.status, page.text[:300])
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)

    def post(self, form_page: str, path: str, form: dict) -> http.client.HTTPResponse:
        return self.request("POST", path, {**form, "csrf_token": self.csrf(form_page)})


@pytest.fixture
def production_database():
    with pg_database("cfp_prod") as url:
        yield url


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _environment(tmp_path: Path, database_url: str, smtp_port: int) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CFP_")}
    return clean | {
        "CFP_ENV": "production", "CFP_DATABASE_URL": database_url, "CFP_REDIS_URL": BROKER_URL,
        "CFP_SECRET_KEY": secrets.token_hex(32), "CFP_SMTP_HOST": "127.0.0.1",
        "CFP_SMTP_PORT": str(smtp_port), "CFP_BASE_URL": "https://cfp.example.org",
        "CFP_INSTANCE_PATH": str(tmp_path / "instance"), "CFP_WEB_WORKERS": "2", "CFP_LOG_JSON": "1",
        "PYTHONUNBUFFERED": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }


def _seed(app, database_url: str, secret_key: str) -> dict:
    """A call open in the production database, and a joint proposal ready to submit."""
    seeder = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret_key})
    try:
        with seeder.app_context():
            cn, be, committee = f.world()
            call = f.call(committee)
            pi_cn = f.user(Role.researcher, agency=cn, name="Li Wei")
            pi_be = f.user(Role.researcher, agency=be, name="Claire Dubois")
            proposal = f.proposal(call, pi_cn, pi_be)
            db.session.commit()
            seeded = {"proposal": proposal.id, "version": proposal.version,
                      "pis": [pi_cn.email, pi_be.email]}
            db.session.remove()
            db.engine.dispose()
    finally:
        app.extensions["celery"].set_current()
        app.extensions["celery"].set_default()
    return seeded


def _wait(what: str, probe, log: Path):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}; the processes said:\n{log.read_text(errors='replace')[-6000:]}")


def _json_lines(log: Path, process: str) -> list[dict]:
    """The JSON objects one Procfile process logged (honcho prefixes `HH:MM:SS web.1 | `)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        prefix, _, rest = line.partition(" | ")
        if f" {process}." in prefix and rest.startswith("{"):
            try:
                found.append(json.loads(rest))
            except ValueError:
                continue
    return found


@pytest.mark.production
@pytest.mark.real_commits
def test_the_procfile_runs_a_submission_to_its_receipts(app, tmp_path, production_database, smtp):
    inbox, smtp_port = smtp
    env = _environment(tmp_path, production_database, smtp_port)
    redis.Redis.from_url(BROKER_URL).flushdb()
    init = subprocess.run([sys.executable, "-c", "from cfp.cli import main; main()", "init",
                           "--email", "admin@ministry.example", "--name", "Admin", "--password-stdin"],
                          input="a long passphrase\n", env=env, cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=120)
    assert init.returncode == 0, init.stdout + init.stderr
    seeded = _seed(app, production_database, env["CFP_SECRET_KEY"])

    base_port = free_port()
    log = tmp_path / "honcho.log"
    with open(log, "wb") as out:
        honcho = subprocess.Popen([sys.executable, "-m", "honcho", "start", "-f", "Procfile", "-p", str(base_port)],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        def ready():
            try:
                return Browser(base_port).request("GET", "/readyz").status == 200
            except OSError:
                return False

        _wait("gunicorn to be ready", ready, log)
        _wait("the worker to be ready", lambda: re.search(r"worker\.1 \|.*ready\.", log.read_text()), log)
        proposal_id = seeded["proposal"]
        browsers = []
        for address in seeded["pis"]:  # each PI logs in and confirms the version
            browser = Browser(base_port)
            response = browser.post("/login", "/login", {"email": address, "password": f.PASSWORD})
            assert response.status == 302, response.text[:500]
            response = browser.post(f"/proposals/{proposal_id}", f"/proposals/{proposal_id}/confirm",
                                    {"version": str(seeded["version"]), "agree": "y"})
            assert response.status == 302, response.text[:500]
            browsers.append(browser)
        submitted = browsers[0].post(f"/proposals/{proposal_id}", f"/proposals/{proposal_id}/submit",
                                     {"submit": "y"})
        assert submitted.status == 302, submitted.text[:500]
        request_id = submitted.getheader("X-Request-Id")

        _wait("both receipts", lambda: len(inbox.messages) >= 2, log)
        time.sleep(1)  # and no copy after them
        assert sorted(m["To"].split("<")[-1].rstrip(">") for m in inbox.messages) == sorted(seeded["pis"])
        assert len({m["Message-ID"] for m in inbox.messages}) == 2

        # One JSON line per request from gunicorn, one per task from the worker, joined by the id.
        access = [e for e in _json_lines(log, "web") if e.get("type") == "request"]
        assert [e["status"] for e in access if e["request_id"] == request_id] == [302]
        deliveries = _wait("the worker's log lines of the deliveries", lambda: [
            e for e in _json_lines(log, "worker")
            if e.get("task") == "mail.deliver_email" and e.get("status") == "done"] or None, log)
        assert {e["request_id"] for e in deliveries} == {request_id}
        assert len(deliveries) == 1  # both receipts in one delivery task (cfp.core.tasks.queue_in_batch)
    finally:
        os.killpg(honcho.pid, signal.SIGTERM)
        try:
            honcho.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()


def _start_beat(env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers.app", "beat", "--loglevel=INFO"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def test_a_second_beat_stands_by_and_takes_over_when_the_first_dies(app, tmp_path, database_url, instance_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CFP_")} | {
        "CFP_DATABASE_URL": database_url, "CFP_REDIS_URL": BROKER_URL, "CFP_SECRET_KEY": app.secret_key,
        "CFP_INSTANCE_PATH": str(instance_dir), "CFP_BEAT_STANDBY_SECONDS": "0.5", "PYTHONUNBUFFERED": "1",
    }
    logs = [tmp_path / "beat-1.log", tmp_path / "beat-2.log"]
    first = _start_beat(env, logs[0])
    beats = [first]
    try:
        _wait("the first beat to hold the lock", lambda: "holding the beat lock" in logs[0].read_text(), logs[0])
        beats.append(_start_beat(env, logs[1]))
        _wait("the second beat to stand by", lambda: "standing by" in logs[1].read_text(), logs[1])
        assert "holding the beat lock" not in logs[1].read_text()

        first.send_signal(signal.SIGKILL)  # a crash: no clean release
        first.wait()
        _wait("the second beat to take over", lambda: "holding the beat lock" in logs[1].read_text(), logs[1])
    finally:
        for beat in beats:
            if beat.poll() is None:
                beat.terminate()
                try:
                    beat.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    beat.kill()
                    beat.wait()
