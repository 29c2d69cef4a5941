"""The production shape the benchmarks start and stop: a PostgreSQL database of their own,
Redis, gunicorn, a Celery worker, beat, a local SMTP server that counts what it receives,
and a small HTTP client for load. Every process is started in its own process group and
ended (with its children) when the bench exits, also on Ctrl-C.

Nothing here asserts: the benches print what they measured.
"""
from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Self

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("CFP_BENCH_PG", "postgresql://root@127.0.0.1:5432")
REDIS_SERVER = os.environ.get("CFP_BENCH_REDIS", "redis://127.0.0.1:6379")
READY_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


class Stack:
    """What one bench run starts; `with Stack(name) as stack:` ends all of it."""

    def __init__(self, name: str, *, redis_db: int = 0, private_redis_port: int | None = None):
        """Redis: database `redis_db` of the shared server (flushed before and after), or a
        private redis-server the bench starts on `private_redis_port`."""
        self.name = name
        self.database = f"cfp_bench_{name}"
        self.private_redis = private_redis_port is not None
        self.redis_url = (f"redis://127.0.0.1:{private_redis_port}/0" if self.private_redis
                          else f"{REDIS_SERVER}/{redis_db}")
        self.folder = Path(tempfile.mkdtemp(prefix=f"cfp-bench-{name}-"))
        self.processes: dict[str, subprocess.Popen] = {}
        self.inbox: Inbox | None = None
        self.secret_key = secrets.token_hex(32)

    # -- the database -------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        return f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{self.database}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.database}"')

    def drop_database(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def flush_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()
        finally:
            client.close()

    # -- the app's environment ------------------------------------------------------------
    def env(self, **extra) -> dict:
        env = {
            **os.environ,
            "CFP_DATABASE_URL": self.database_url,
            "CFP_REDIS_URL": self.redis_url,
            "CFP_SECRET_KEY": self.secret_key,
            "CFP_INSTANCE_PATH": str(self.folder / "instance"),
            "CFP_BASE_URL": "http://127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("CFP_CELERY_EAGER", "CFP_SMTP_HOST", "CFP_ENV"):
            env.pop(name, None)
        if self.inbox is not None:
            env |= {"CFP_SMTP_HOST": "127.0.0.1", "CFP_SMTP_PORT": str(self.inbox.port)}
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def app(self, **extra):
        """The Flask app of this stack, in this process (for seeding and counting)."""
        saved = dict(os.environ)
        os.environ.update(self.env(**extra))
        try:
            from cfp import create_app

            return create_app()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def migrate(self) -> None:
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                       env=self.env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    # -- processes ------------------------------------------------------------------------
    def start(self, name: str, command: list[str], *, env: dict | None = None) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 (kept open for the process)
        process = subprocess.Popen(command, cwd=ROOT, env=env or self.env(), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def cpu_seconds(self, name: str) -> float:
        """CPU time (user + system) used so far by process `name` and its children, live
        ones and those that ended (gunicorn replaces a worker after `max_requests`; an ended
        child's time is in its parent's cutime and cstime once reaped): a figure the
        machine's other load does not inflate."""
        def tree(pid: int) -> list[int]:
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                return [pid]
            return [pid] + [p for child in children for p in tree(int(child))]

        total = 0
        for pid in tree(self.processes[name].pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime (clock ticks)
        return total / os.sysconf("SC_CLK_TCK")

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str, sig: int = signal.SIGTERM, wait: float = 20) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def gunicorn(self, port: int, *, app: str = "wsgi:app", workers: int = 4, name: str = "web",
                 env: dict | None = None) -> None:
        self.start(name, [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
                          f"127.0.0.1:{port}", "--pythonpath", str(ROOT / "bench"), "--backlog", "2048",
                          "--access-logfile", "-", app], env=env)
        self.wait_until(name, lambda: _answers(port))

    def worker(self, *, concurrency: int = 4, name: str = "worker") -> None:
        self.start(name, [sys.executable, "-m", "celery", "-A", "workers.app", "worker",
                          f"--concurrency={concurrency}", "--loglevel=INFO", "--without-gossip",
                          "--without-mingle", "--without-heartbeat",
                          "--hostname", f"{name}-{secrets.token_hex(3)}@%h"])
        self.wait_until(name, lambda: re.search(r"\bready\.", self.log(name)))

    def beat(self) -> None:
        self.start("beat", [sys.executable, "-m", "celery", "-A", "workers.app", "beat",
                            "--loglevel=INFO", "-s", str(self.folder / "beat-schedule")])

    def redis_server(self, port: int, name: str = "redis") -> None:
        """A private redis-server (no persistence) on its own port."""
        self.start(name, ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no"])
        self.wait_until(name, lambda: _answers(port, http=False))

    def smtp(self) -> Inbox:
        self.inbox = Inbox()
        self.inbox.start()
        return self.inbox

    def wait_until(self, name: str, ready) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready():
            process = self.processes[name]
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}:\n{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} not ready within {READY_TIMEOUT} s:\n{self.log(name)[-3000:]}")
            time.sleep(0.2)

    # -- the whole ---------------------------------------------------------------------
    def __enter__(self) -> Self:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below
        self.create_database()
        if not self.private_redis:
            self.flush_redis()
        self.migrate()
        return self

    def __exit__(self, *exc) -> None:
        for name in list(self.processes)[::-1]:
            self.stop(name, wait=10)
        if self.inbox is not None:
            self.inbox.stop()
        if not self.private_redis:
            with contextlib.suppress(Exception):
                self.flush_redis()
        self.drop_database()
        if os.environ.get("CFP_BENCH_KEEP_LOGS"):
            print(f"logs kept in {self.folder}")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)


def _answers(port: int, http: bool = True) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            if http:
                s.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                return s.recv(12).startswith(b"HTTP/")
            return True
    except OSError:
        return False


class Inbox:
    """A local SMTP server (aiosmtpd) that counts each message by recipient and Message-ID."""

    def __init__(self):
        self.port = free_port()
        self.by_recipient: Counter = Counter()
        self.by_message_id: Counter = Counter()
        self.lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            for to in envelope.rcpt_tos:
                self.by_recipient[to] += 1
            self.by_message_id[message["Message-ID"]] += 1
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    @property
    def received(self) -> int:
        return sum(self.by_message_id.values())

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.by_message_id.values() if n > 1)


# -- a small HTTP/1.1 client on asyncio (one connection per request: gunicorn's sync
# workers close it anyway), enough for form posts with a cookie ----------------------------

class Response:
    def __init__(self, status: int, headers: dict, body: bytes, size: int):
        self.status, self.headers, self.body, self.size = status, headers, body, size


async def http(port: int, method: str, path: str, *, cookie: str = "", form: dict | None = None,
               headers: dict | None = None, timeout: float = 30) -> Response:
    from urllib.parse import urlencode

    body = urlencode(form).encode() if form is not None else b""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             f"Content-Length: {len(body)}"]
    if form is not None:
        lines.append("Content-Type: application/x-www-form-urlencoded")
    if cookie:
        lines.append(f"Cookie: {cookie}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found: dict[str, list[str]] = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        found.setdefault(key.strip().lower(), []).append(value.strip())
    return Response(int(status_line.split()[1]), found, content, len(raw))


CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def cookies_of(response: Response, jar: dict) -> dict:
    for value in response.headers.get("set-cookie", []):
        name, _, rest = value.partition("=")
        jar[name.strip()] = rest.split(";")[0]
    return jar


def cookie_header(jar: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


async def log_in(port: int, email_address: str, password: str) -> tuple[str, str]:
    """Log in through the login form; the session cookie header and a CSRF token for it."""
    jar: dict = {}
    page = await http(port, "GET", "/login")
    cookies_of(page, jar)
    token = CSRF.search(page.body).group(1).decode()
    answer = await http(port, "POST", "/login", cookie=cookie_header(jar),
                        form={"email": email_address, "password": password, "csrf_token": token})
    if answer.status != 302:
        raise SystemExit(f"login of {email_address} answered {answer.status}")
    cookies_of(answer, jar)
    page = await http(port, "GET", "/", cookie=cookie_header(jar))
    cookies_of(page, jar)
    match = CSRF.search(page.body)
    return cookie_header(jar), (match.group(1).decode() if match else token)
