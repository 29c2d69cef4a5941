"""Throughput of four pages against a bare Flask "hello" app, on the same gunicorn settings.

Seeds a PostgreSQL database of its own (`cfp_bench_web`, dropped at the end) with a call in
selection holding N joint proposals (default 10,000), each reviewed by 3 reviewers of one
side and 2 of the other (5 reviews a proposal: 50,000), with both side rankings computed by
the ranking operation, plus older calls for the public list. Serves the app and the bare
app with gunicorn (4 sync workers each), then loads each page in turn with wrk (a C load
generator: a Python one would need a core of its own to keep up with the bare app on a
small machine, and the ratio would measure the generator). Pages, as their users see them
(first page, no query arguments):

* the public calls list (`/calls/`, anonymous);
* a staff proposal list (`/proposals/staff`, staff of MOST);
* the joint ranking of the big call (`/selection/joint/<id>`, the secretariat);
* a proposal's page (`/proposals/<id>`, staff of MOST);

and, as the floor any page of the app stands on, the login form (`/login`: the layout, the
session, a CSRF token, translations; no list, no database work).

For each: requests per second, p50 and p95 latency, bytes per response, non-2xx answers,
the ratio to the bare app (target: at least 0.25), and the gunicorn workers' CPU milliseconds
per request (user + system, from /proc: a figure the machine's other load hardly moves, where
requests per second on a shared machine move with it). Needs `wrk` (Debian: apt-get install wrk).

    .venv/bin/python bench/web.py                                  # 10,000 proposals, 30 s a page
    .venv/bin/python bench/web.py --proposals 500 --duration 5     # a quick look

Each page gets `--warmup` seconds of load first, not measured.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, free_port, http, log_in

TARGET_RATIO = 0.25


def seed(stack: Stack, proposals: int, past: int) -> dict:
    from datetime import timedelta

    import seed as s

    from cfp.calls.models import CallState
    from cfp.core.types import utcnow
    from cfp.extensions import db
    from cfp.proposals.models import ProposalState

    app = stack.app()
    with app.app_context():
        start = time.perf_counter()
        w = s.world()
        s.past_calls(w, past)
        now = utcnow()
        big = s.call(w, "CN-BE-2024", state=CallState.in_selection, opens_at=now - timedelta(days=120),
                     closes_at=now - timedelta(days=60))
        ids = s.proposals(big, w, proposals, state=ProposalState.reviewed)
        made = s.reviews(big, w, ids)
        db.session.commit()
        elapsed = time.perf_counter() - start
        return {"call_id": big.id, "proposal_id": ids[len(ids) // 2], "proposals": len(ids),
                "reviews": made, "seconds": elapsed}


def wrk(port: int, path: str, cookie: str, duration: int, connections: int, threads: int) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
               "-s", str(Path(__file__).resolve().parent / "wrk_summary.lua")]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         check=True).stdout
    found = dict(re.findall(r"(\w+)=(\d+)", out.split("cfp-summary", 1)[1]))
    n = {k: int(v) for k, v in found.items()}
    return {"rps": n["requests"] / (n["duration"] / 1e6), "requests": n["requests"], "p50": n["p50"] / 1e3, "p95": n["p95"] / 1e3,
            "p99": n["p99"] / 1e3, "bytes": n["bytes"] / max(1, n["requests"]), "non_2xx": n["status"],
            "socket_errors": n["socket"]}


async def sessions(port: int) -> tuple[str, str]:
    from seed import PASSWORD

    staff, _ = await log_in(port, "staff.most@bench.example", PASSWORD)
    secretariat, _ = await log_in(port, "secretariat@bench.example", PASSWORD)
    return staff, secretariat


async def size_of(port: int, path: str, cookie: str) -> tuple[int, int]:
    answer = await http(port, "GET", path, cookie=cookie)
    return answer.status, answer.size


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--past-calls", type=int, default=20)
    parser.add_argument("--duration", type=int, default=30, help="seconds of load per page")
    parser.add_argument("--warmup", type=int, default=10,
                        help="seconds of unmeasured load a page first (every worker past its first request: "
                             "imports, template compiles, the joint order it computes once and keeps)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--redis-db", type=int, default=11)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("bench/web.py needs wrk (Debian/Ubuntu: apt-get install wrk)")

    with Stack("web", redis_db=args.redis_db) as stack:
        seeded = seed(stack, args.proposals, args.past_calls)
        print(f"seeded {seeded['proposals']} proposals and {seeded['reviews']} reviews "
              f"(both side rankings computed) in {seeded['seconds']:.1f} s", flush=True)
        app_port, bare_port = free_port(), free_port()
        stack.gunicorn(app_port, workers=args.workers)
        stack.gunicorn(bare_port, app="hello_app:app", workers=args.workers, name="bare")
        staff, secretariat = asyncio.run(sessions(app_port))
        pages = [
            ("bare Flask hello", "bare", bare_port, "/", ""),
            # The floor of any page of the app: the layout, session, CSRF token and
            # translations, no list and no database work.
            ("login form (floor)", "web", app_port, "/login", ""),
            ("public calls list", "web", app_port, "/calls/", ""),
            ("staff proposal list", "web", app_port, "/proposals/staff", staff),
            ("joint ranking", "web", app_port, f"/selection/joint/{seeded['call_id']}", secretariat),
            ("proposal page", "web", app_port, f"/proposals/{seeded['proposal_id']}", staff),
        ]
        print(f"gunicorn {args.workers} sync workers; wrk {args.threads} threads, {args.connections} "
              f"connections, {args.duration} s a page")
        print(f"{'page':<22} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'bytes':>9} "
              f"{'non-2xx':>7} {'ratio':>6} {'CPU ms':>7}  target ≥ {TARGET_RATIO}; CPU: the workers' per request")
        bare_rps = None
        for label, server, port, path, cookie in pages:
            status, _size = asyncio.run(size_of(port, path, cookie))
            if args.warmup:
                wrk(port, path, cookie, args.warmup, args.connections, args.threads)
            cpu = stack.cpu_seconds(server)
            result = wrk(port, path, cookie, args.duration, args.connections, args.threads)
            cpu = stack.cpu_seconds(server) - cpu
            cpu_ms = f"{cpu / result['requests'] * 1000:>7.2f}" if cpu > 0 and result["requests"] else f"{'n/a':>7}"
            bare_rps = bare_rps or result["rps"]
            ratio = result["rps"] / bare_rps
            notes = "" if status == 200 else f"  (answered {status})"
            if result["socket_errors"]:
                notes += f"  socket errors: {result['socket_errors']}"
            print(f"{label:<22} {result['rps']:>8.1f} {result['p50']:>8.1f} {result['p95']:>8.1f} "
                  f"{result['p99']:>8.1f} {result['bytes']:>9.0f} {result['non_2xx']:>7} {ratio:>6.3f} "
                  f"{cpu_ms}{notes}", flush=True)
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(sys.argv[1:])
