"""The shape of the code: dependencies run one way, modules stay readable."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from cfp.core.tasks import queue_task  # noqa: F401  (the one way cfp reaches a task)

ROOT = Path(__file__).resolve().parent.parent
CFP = ROOT / "cfp"


def _imported_modules(path: Path, *, at_run_time: bool = False) -> set[str]:
    """Every module a file imports, at the top or inside a function; with
    `at_run_time`, not those imported only for type checkers."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    if at_run_time:
        tree.body = [n for n in tree.body if not (isinstance(n, ast.If) and isinstance(n.test, ast.Name)
                                                  and n.test.id == "TYPE_CHECKING")]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_under_cfp_imports_workers():
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in _imported_modules(path)
                                            if m == "workers" or m.startswith("workers."))
        for path in CFP.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_task_cfp_queues_is_a_registered_task(app):
    """cfp names its tasks as strings; each must be a task `workers` registers."""
    queued = set()
    for path in CFP.rglob("*.py"):
        queued.update(re.findall(r'queue_task\(\s*"([a-z_.]+)"', path.read_text(encoding="utf-8")))
    assert queued, "no queue_task call found"
    registered = set(app.extensions["celery"].tasks)
    assert queued - registered == set()


def test_beat_schedule_names_registered_tasks(app):
    from workers.schedule import BEAT_SCHEDULE

    registered = set(app.extensions["celery"].tasks)
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} - registered == set()


def test_no_module_under_cfp_is_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in CFP.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}


def test_the_committee_stages_depend_one_way():
    """call → proposal → review → ranking → list → decision → project: the selection's
    models and operations never import meetings; the projects' never import meetings or
    selection (the decision's adoption calls into selection, which creates projects)."""
    forbidden = {"selection": ("cfp.meetings",), "projects": ("cfp.meetings", "cfp.selection")}
    offenders = {}
    for package, banned in forbidden.items():
        for name in ("models", "operations", "funding", "ranking", "forms"):
            path = CFP / package / f"{name}.py"
            if path.exists():
                bad = sorted(m for m in _imported_modules(path, at_run_time=True)
                             if m.startswith(banned))
                if bad:
                    offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_every_old_committee_address_moved(app, client):
    """Each page that lived under /committee/ answers 308 to the page that serves it now."""
    from cfp.core.legacy import new_path

    old = ["/committee/meetings", "/committee/meetings/3/minutes.pdf", "/committee/written",
           "/committee/decisions/4/letters/9/release", "/committee/joint", "/committee/joint/2/ties",
           "/committee/calls/2/plan", "/committee/lists/5/propose", "/committee/entries/6/move",
           "/committee/projects/7/trips", "/committee/dashboard", "/committee/adopted-projects"]
    urls = app.url_map.bind("localhost")
    for path in old:
        target = new_path(path)
        assert target is not None and not target.startswith("/committee/"), path
        endpoint, _ = urls.match(target, method="POST" if path.endswith(("release", "ties", "plan",
                                                                           "propose", "move", "trips",
                                                                           "written")) else "GET")
        assert endpoint.split(".")[0] in {"meetings", "selection", "projects"}, (path, endpoint)
        answer = client.get(path + "?x=1")
        assert answer.status_code == 308 and answer.headers["Location"] == target + "?x=1"


def test_the_demo_loader_is_short_and_its_facts_are_data():
    """The demo's facts live in data files; the loader that replays them stays short."""
    demo = CFP / "demo"
    assert not (CFP / "demo.py").exists()
    assert len((demo / "__init__.py").read_text(encoding="utf-8").splitlines()) < 300
    assert [p.name for p in demo.glob("*.py")] == ["__init__.py"]
    assert len(list(demo.glob("*.toml"))) >= 5
