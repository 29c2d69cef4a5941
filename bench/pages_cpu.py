"""CPU milliseconds per request of the pages bench/web.py loads, in this process (Flask's test
client against a PostgreSQL database seeded as bench/web.py seeds it), after a warm-up
request of each: a figure the machine's other load hardly moves, unlike requests per second.
The app runs as production would (no eager Celery, no debug, templates cached).

    .venv/bin/python bench/pages_cpu.py                          # 2,000 proposals, 200 requests a page
    .venv/bin/python bench/pages_cpu.py --keep                   # keep cfp_bench_pagescpu for the next run
    .venv/bin/python bench/pages_cpu.py --reuse --profile joint  # a pyinstrument profile (pip install pyinstrument)
    .venv/bin/python bench/pages_cpu.py --reuse --cprofile joint # CPU-time profile (cProfile), no install

`--sql PAGE` prints the statements a page runs and their milliseconds. `--reuse` skips seeding
(a database `--keep` left). Uses Redis database `--redis-db` (flushed).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from stack import Stack
from web import seed

PAGES = ("calls", "staff", "joint", "proposal")
BATCH = 10


def log_in(client, email: str, password: str) -> None:
    page = client.get("/login")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.data).group(1).decode()
    answer = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    if answer.status_code != 302:
        raise SystemExit(f"login of {email} answered {answer.status_code}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=2_000)
    parser.add_argument("--past-calls", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200, help="requests a page")
    parser.add_argument("--redis-db", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", action="store_true", help="reuse the database a --keep run left")
    parser.add_argument("--profile", choices=PAGES, action="append", default=[],
                        help="print a pyinstrument profile (wall clock) of this page's requests")
    parser.add_argument("--cprofile", choices=PAGES, action="append", default=[],
                        help="print a cProfile (CPU time) of this page's requests, by own time")
    parser.add_argument("--sql", choices=PAGES, action="append", default=[],
                        help="print each statement of this page's request and its milliseconds")
    parser.add_argument("--gc-freeze", action=argparse.BooleanOptionalAction, default=True,
                        help="gc.freeze() after the warm-up, as wsgi.py does once the app is made")
    args = parser.parse_args(argv)

    from seed import PASSWORD

    stack = Stack("pagescpu", redis_db=args.redis_db)
    if not args.reuse:
        stack.create_database()
        stack.flush_redis()
        stack.migrate()
    try:
        app = stack.app()
        if args.reuse:
            from cfp.calls.models import Call
            from cfp.extensions import db
            from cfp.proposals.models import Proposal

            with app.app_context():
                big = db.session.scalar(sa.select(Call).filter_by(reference="CN-BE-2024"))
                ids = db.session.scalars(sa.select(Proposal.id).filter_by(call_id=big.id).order_by(Proposal.id)).all()
                seeded = {"call_id": big.id, "proposal_id": ids[len(ids) // 2], "proposals": len(ids)}
        else:
            seeded = seed(stack, args.proposals, args.past_calls)
        print(f"{seeded['proposals']} proposals; debug={app.debug} "
              f"templates auto_reload={app.jinja_env.auto_reload}", flush=True)
        staff, secretariat = app.test_client(), app.test_client()
        log_in(staff, "staff.most@bench.example", PASSWORD)
        log_in(secretariat, "secretariat@bench.example", PASSWORD)
        pages = {
            "calls": (app.test_client(), "/calls/"),
            "staff": (staff, "/proposals/staff"),
            "joint": (secretariat, f"/selection/joint/{seeded['call_id']}"),
            "proposal": (staff, f"/proposals/{seeded['proposal_id']}"),
        }
        from cfp.extensions import db

        print(f"{'page':<10} {'CPU ms min':>10} {'CPU median':>10} {'wall median':>11} {'queries':>7} {'bytes':>8}"
              f"   (per request, batches of {BATCH})")
        for name, (client, path) in pages.items():
            for _ in range(3):  # warm-up: first-request imports, template compiles, caches
                answer = client.get(path)
                assert answer.status_code == 200, (name, answer.status_code)
            if args.gc_freeze:
                import gc

                gc.freeze()
            statements: list[list] = []
            with app.app_context():
                engine = db.engine

            def before(conn, cursor, statement, parameters, context, executemany, seen=statements):
                seen.append([statement, parameters, time.perf_counter()])

            def after(conn, cursor, statement, parameters, context, executemany, seen=statements):
                seen[-1][2] = time.perf_counter() - seen[-1][2]

            sa.event.listen(engine, "before_cursor_execute", before)
            sa.event.listen(engine, "after_cursor_execute", after)
            client.get(path)
            sa.event.remove(engine, "before_cursor_execute", before)
            sa.event.remove(engine, "after_cursor_execute", after)
            if name in args.sql:
                for statement, parameters, seconds in statements:
                    print(f"-- {seconds * 1000:.1f} ms {parameters}\n{statement}\n")
            profiler = cpu_profiler = None
            if name in args.cprofile:
                import cProfile

                cpu_profiler = cProfile.Profile(time.process_time)
                cpu_profiler.enable()
            if name in args.profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005)
                profiler.start()
            # In batches: the machine's other load still slows a process that shares its
            # cores (caches, frequency), so the quietest batch is the figure, the median beside it.
            batches: list[tuple[float, float]] = []
            for start in range(0, args.requests, BATCH):
                n = min(BATCH, args.requests - start)
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(n):
                    answer = client.get(path)
                batches.append(((time.process_time() - cpu) / n, (time.perf_counter() - wall) / n))
            if profiler is not None:
                profiler.stop()
            if cpu_profiler is not None:
                cpu_profiler.disable()
            cpu = sorted(b[0] for b in batches)
            wall = sorted(b[1] for b in batches)
            print(f"{name:<10} {cpu[0] * 1000:>10.2f} {cpu[len(cpu) // 2] * 1000:>10.2f} "
                  f"{wall[len(wall) // 2] * 1000:>11.2f} {len(statements):>7} {len(answer.data):>8}", flush=True)
            if profiler is not None:
                print(profiler.output_text(unicode=True, color=False, show_all=False), flush=True)
            if cpu_profiler is not None:
                import pstats

                stats = pstats.Stats(cpu_profiler).sort_stats("tottime")
                stats.print_stats(35)
                stats.sort_stats("cumulative").print_stats(60)
                stats.print_callers("local.py.*__get__|_get_current_context|runtime.py.*call")
    finally:
        if not args.keep:
            stack.drop_database()


if __name__ == "__main__":
    main(sys.argv[1:])
