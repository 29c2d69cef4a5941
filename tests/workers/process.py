"""A real Celery worker in a process of its own, for the tests that need one."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path):
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def succeeded(self, task: str, since: int = 0) -> list[str]:
        """What each run of `task` returned, as the worker logged it."""
        pattern = re.compile(rf"Task {re.escape(task)}\[[^\]]+\] succeeded in [^:]+: (.*)")
        return pattern.findall(self.output()[since:])

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.output()}")


@contextmanager
def run_worker(settings: dict, log: Path):
    """`celery -A workers.app worker` with `settings` (CFP_* variables) as its environment,
    ready when entered, stopped warmly when left."""
    env = {k: v for k, v in os.environ.items() if k not in ("CFP_CELERY_EAGER", "CFP_SMTP_HOST")}
    env |= settings | {"PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--pool=solo",
        "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--hostname", f"e2e-{uuid.uuid4().hex[:8]}@%h",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT)
    worker = Worker(process, log)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not re.search(r"\bready\.", worker.output()):
            worker.check_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"the worker was not ready within {READY_TIMEOUT}s:\n{worker.output()}")
            time.sleep(0.1)
        yield worker
    finally:
        process.send_signal(signal.SIGTERM)  # warm shutdown: finish the task at hand
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
