"""Browser journeys (issue 15): Debian's Chromium driven by Playwright against one live
server per run, on a database of its own holding the demo, with a real Celery worker.

The server is the app as the web process runs it (tasks sent to Redis, never eager),
served by Werkzeug in a thread on an ephemeral loopback port. Every page a journey visits
is checked (`Journey.check`): no JavaScript error in the console, no failed request for
an asset, no axe-core violation of impact "serious" or "critical", and, on the pages
applicants and reviewers use, no horizontal overflow at 390 px wide. The last page of
each journey is saved as a picture in `CFP_SCREENSHOTS` (default .cache/screenshots/).
"""
from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from pathlib import Path

import pytest
import redis
from playwright.sync_api import expect
from werkzeug.serving import make_server

from cfp import create_app
from cfp.extensions import db
from tests.conftest import pg_database
from tests.workers.process import run_worker

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CFP_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("CFP_SCREENSHOTS", ROOT / ".cache" / "screenshots"))
BROKER_URL = os.environ.get("CFP_TEST_BROWSER_REDIS_URL", "redis://127.0.0.1:6379/12")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
SERIOUS = {"serious", "critical"}
DEMO_PASSWORD = "demo-password-2021"


_worker_logs: list[Path] = []  # the live server's worker's log, shown with a journey that failed


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and _worker_logs and _worker_logs[-1].exists():
        report.sections.append(("the live server's worker (last 200 lines)",
                                "\n".join(_worker_logs[-1].read_text(errors="replace").splitlines()[-200:])))
    if report.when == "call" and report.failed and _web_warnings:
        report.sections.append(("the live server's warnings (whole run)", "\n".join(_web_warnings[-100:])))


_web_warnings: list[str] = []  # what the web app logged at WARNING or above, every journey


class _KeepWarnings(logging.Handler):
    def emit(self, record):
        _web_warnings.append(f"{record.created:.3f} {record.name}: {self.format(record)}")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Debian's Chromium (installed by tests/run.sh), never a downloaded browser."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: tests/run.sh installs it (apt-get install chromium)")
    return {"executable_path": CHROMIUM, "args": [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]}


@pytest.fixture(scope="session")
def browser_database(instance_dir):
    if os.environ.get("CFP_TEST_DB", "postgresql") == "sqlite":
        yield f"sqlite:///{instance_dir / 'browser.sqlite3'}"
        return
    with pg_database("cfp_browser") as url:
        yield url


class _Forward:
    """The server's WSGI app, set once the port (and so the base URL) is known."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def live(app, browser_database, instance_dir, tmp_path_factory):
    """The live server's base URL: the demo, a web app that queues to Redis, a worker.
    CFP_BROWSER_BASE_URL names a server already running instead (`cfp demo`, while writing
    a journey: no minute of setup per try; the journeys change its data)."""
    if os.environ.get("CFP_BROWSER_BASE_URL"):
        yield os.environ["CFP_BROWSER_BASE_URL"].rstrip("/")
        return
    folder = tmp_path_factory.mktemp("browser")
    forward = _Forward()
    server = make_server("127.0.0.1", 0, forward, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    secret = "browser-" + uuid.uuid4().hex + uuid.uuid4().hex
    web = create_app({
        "SQLALCHEMY_DATABASE_URI": browser_database, "SECRET_KEY": secret, "BASE_URL": base_url,
        "UPLOAD_FOLDER": str(folder / "uploads"), "SMTP_HOST": "",
        "CELERY": {"broker_url": BROKER_URL, "broker_transport_options": {}, "task_always_eager": False},
    })
    # create_app made the web app's Celery (which sends to Redis) the current and the default
    # one: the test app's eager Celery stays both, for the tests that run after this fixture.
    app.extensions["celery"].set_current()
    app.extensions["celery"].set_default()
    redis.Redis.from_url(BROKER_URL).flushdb()
    with web.app_context():
        from flask_migrate import upgrade

        from cfp.demo import seed_demo

        upgrade(revision="heads")
        seed_demo()
        db.session.remove()
    forward.app = web
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {"CFP_DATABASE_URL": browser_database, "CFP_REDIS_URL": BROKER_URL, "CFP_SECRET_KEY": secret,
           "CFP_INSTANCE_PATH": str(folder), "CFP_UPLOAD_FOLDER": str(folder / "uploads"),
           "CFP_BASE_URL": base_url}
    _worker_logs.append(folder / "worker.log")
    keep = _KeepWarnings(logging.WARNING)
    logging.getLogger("cfp").addHandler(keep)
    try:
        with run_worker(env, folder / "worker.log"):
            yield base_url
    finally:
        logging.getLogger("cfp").removeHandler(keep)
        server.shutdown()
        with web.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live):
    """pytest-playwright opens pages relative to it."""
    return live


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: tests/run.sh installs axe-core with npm")
    return AXE.read_text()


class Journey:
    """A person's path through the site, checking every page on the way."""

    def __init__(self, page, axe_source: str, name: str, *, phone_pages: bool):
        self.page, self.axe_source, self.name, self.phone_pages = page, axe_source, name, phone_pages
        self.problems: list[str] = []
        self.checked: set[str] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: JavaScript error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _failed(self, request):
        """A page's asset that did not arrive; a link that became a download (a document,
        a PDF) aborts its navigation, which is no failure, and neither is an asset the
        browser dropped because the journey clicked on to the next page before it came
        (net::ERR_ABORTED: the CI run met it on the favicon of a page left at once)."""
        if request.resource_type != "document" and "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"{self.page.url}: request failed: {request.url} ({request.failure})")

    def _console(self, message):
        if message.type == "error":
            self.problems.append(f"{self.page.url}: console error: {message.text}")

    def _response(self, response):
        if response.request.resource_type in {"stylesheet", "script", "image", "font"} and response.status >= 400:
            self.problems.append(f"{self.page.url}: asset {response.url} answered {response.status}")

    def check(self) -> None:
        """The page now shown: axe, and (for applicants and reviewers) no overflow on a phone.
        Each page is checked once per journey (by its path, ids replaced)."""
        page = self.page
        page.wait_for_load_state("load")
        key = re.sub(r"/\d+", "/N", page.url.split("?")[0])
        if key in self.checked:
            return
        self.checked.add(key)
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.evaluate(self.axe_source)  # through the debugger: the page's CSP allows no inline script
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""")
        for v in result:
            if v["impact"] in SERIOUS:
                self.problems.append(f"{page.url}: axe {v['impact']} {v['id']}: {v['help']} at {v['nodes']}")
        if self.phone_pages:
            page.set_viewport_size(PHONE)
            widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if widths[0] > widths[1]:
                self.problems.append(f"{page.url}: {widths[0]} px wide on a {widths[1]} px phone")
            page.set_viewport_size(DESKTOP)

    def finish(self) -> None:
        """Save the last page, then fail with every problem met on the way."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.name}.png"), full_page=True)
        assert self.problems == [], "\n".join(self.problems)


@pytest.fixture
def journey(page, axe_source, browser, base_url):
    """journey(name, phone_pages=...) starts one on the test's page; `separate=True` starts
    it in a browser of its own (its own cookies: another person in the same test)."""
    contexts = []

    def start(name: str, *, phone_pages: bool = False, separate: bool = False) -> Journey:
        own = page
        if separate:
            contexts.append(browser.new_context(base_url=base_url, viewport=DESKTOP, accept_downloads=True))
            own = contexts[-1].new_page()
        own.set_viewport_size(DESKTOP)
        own.set_default_timeout(20_000)
        return Journey(own, axe_source, name, phone_pages=phone_pages)

    yield start
    for context in contexts:
        context.close()


def log_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    """From any page: the navigation's *Log in*, the form, back on the home page."""
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def say_yes_to_the_next_question(page) -> list[str]:
    """The next confirmation dialog (data-confirm) is accepted; its question is kept in
    the list returned, to assert that the page asked first."""
    questions: list[str] = []
    # The page's script binds the question to its buttons once loaded: a click before that
    # (a full run on two busy cores clicked first) submits without asking.
    page.wait_for_load_state("load")
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    return questions


def follow_mail(page, subject: str) -> None:
    """*Mail* → the message with this subject → the first link in its text (how a person
    reads the embedded mode's mail, kept in the outbox)."""
    page.get_by_role("link", name="Mail", exact=True).first.click()
    page.get_by_role("link", name=subject).first.click()
    page.locator("main a[href^='http']").first.click()
