"""cfp: joint calls for proposals between two countries' science agencies."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from flask import (
    Flask,
    flash,
    g,
    has_app_context,
    has_request_context,
    redirect,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None, *, refuse_weak_settings: bool = True) -> Flask:
    """The app. A production start (CFP_ENV=production) with a weak or missing setting
    raises ConfigurationError naming each; `cfp check` passes refuse_weak_settings=False
    to report them instead (CFP_SETTING_PROBLEMS)."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("CFP_INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
    )
    from cfp.config import ConfigurationError, load_config, production_problems, resolve_secret_key

    app.config.update(load_config(app.instance_path))
    if config:
        celery_overrides = config.pop("CELERY", None)
        app.config.update(config)
        if celery_overrides:
            app.config["CELERY"] = {**app.config["CELERY"], **celery_overrides}
    problems = production_problems(app.config)
    try:
        app.config["SECRET_KEY"] = resolve_secret_key(app.config, app.instance_path)
    except ConfigurationError as exc:
        if refuse_weak_settings:
            raise
        problems.insert(0, str(exc))
        app.config["SECRET_KEY"] = os.urandom(32).hex()  # only to report: this app serves nothing
    if problems and refuse_weak_settings:
        raise ConfigurationError("This production start is refused: " + "; ".join(problems))
    app.config["CFP_SETTING_PROBLEMS"] = problems
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    transport = app.config["CELERY"].get("broker_transport_options") or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in transport:  # the embedded broker's folders
            Path(transport[key]).mkdir(parents=True, exist_ok=True)

    from cfp.core.params import BoundedIntegerConverter

    app.url_map.converters["int"] = BoundedIntegerConverter  # before any rule uses it
    _trust_proxies(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_error_handlers(app)
    from cfp.core import headers, logs

    headers.register(app)
    logs.register(app)
    from cfp.core.celery import celery_init_app

    celery_init_app(app)
    from cfp.cli import register_commands

    register_commands(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, the client's address and scheme are those the
    proxies forwarded (the last hops of X-Forwarded-For); without, the headers are ignored."""
    hops = app.config.get("TRUSTED_PROXIES") or 0
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    from cfp.core.arrival import StampArrival

    app.wsgi_app = StampArrival(app.wsgi_app)  # outermost: the earliest the app can stamp a request


def _init_extensions(app: Flask) -> None:
    from cfp.extensions import babel, bootstrap, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    from cfp.core.languages import select_locale

    babel.init_app(app, locale_selector=select_locale, timezone_selector=_select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l_login_message()
    login_manager.login_message_category = "info"

    import cfp.models  # noqa: F401  (every model registered before first use)
    from cfp.auth import sessions

    sessions.register(app)  # the user loader, and the session lifetimes

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_pragmas(db.engine)


def _l_login_message():
    from flask_babel import lazy_gettext

    return lazy_gettext("Please log in to see this page.")


def _sqlite_pragmas(engine) -> None:
    """Foreign keys on, WAL for concurrent web+worker, and real transactions so
    SAVEPOINT works (the pysqlite driver otherwise manages BEGIN itself)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        with contextlib.suppress(Exception):  # in-memory databases have no WAL
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A request's first transaction (where a view does its writing) takes the write lock
        # when it begins: with a deferred BEGIN, its read followed by a write (a login, a
        # verification link) is refused at once ("database is locked", no busy wait) when the
        # worker committed in between. Once it committed, what the request still reads (to
        # render) must not hold the lock: the relay notes its tasks in a context of its own.
        # Workers and scripts keep a deferred BEGIN (an idle open session must not hold the
        # lock; a task refused so is retried).
        first = (has_request_context() and not g.get("sqlite_committed")
                 and not conn.get_execution_options().get("reading_only"))  # probes only read
        conn.exec_driver_sql("BEGIN IMMEDIATE" if first else "BEGIN")

    @event.listens_for(engine, "commit")
    def _on_commit(conn):
        if has_app_context():
            g.sqlite_committed = True


def _select_timezone():
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated:
        return current_user.effective_timezone
    return "UTC"


def _register_blueprints(app: Flask) -> None:
    from cfp.admin.views import bp as admin_bp
    from cfp.auth.views import bp as auth_bp
    from cfp.calls.views import bp as calls_bp
    from cfp.core.health import bp as health_bp
    from cfp.core.legacy import bp as legacy_bp
    from cfp.core.views import bp as core_bp
    from cfp.meetings.views import bp as meetings_bp
    from cfp.projects.views import bp as projects_bp
    from cfp.proposals.views import bp as proposals_bp
    from cfp.reviews.views import bp as reviews_bp
    from cfp.selection.views import bp as selection_bp

    for bp in (core_bp, auth_bp, calls_bp, proposals_bp, reviews_bp, selection_bp, meetings_bp,
               projects_bp, admin_bp, legacy_bp, health_bp):
        app.register_blueprint(bp)
    from cfp.api import init_api
    from cfp.api.docs import bp as api_docs_bp

    init_api(app)  # /api/v1 and its OpenAPI document
    app.register_blueprint(api_docs_bp)


def _register_template_helpers(app: Flask) -> None:
    from cfp.core import templating

    templating.register(app)


def local_referrer(default: str = "/") -> str:
    """The page the user came from, if it is a page of this site."""
    from cfp.core.redirects import local_referrer_path

    return local_referrer_path(request.referrer, request.host) or default


def _register_error_handlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    from cfp.api.problems import from_http_exception, is_api_request
    from cfp.core.errors import DomainError

    @app.errorhandler(HTTPException)
    def http_error(error):
        # Under /api/v1 (an unknown path, a wrong method), a problem; elsewhere Werkzeug's page.
        return from_http_exception(error) if is_api_request() else error

    @app.errorhandler(403)
    def forbidden(error):
        if is_api_request():
            return from_http_exception(error)
        return render_template("errors/403.html"), 403

    @app.errorhandler(404)
    def not_found(error):
        if is_api_request():
            return from_http_exception(error)
        return render_template("errors/404.html"), 404

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/400.html", reason=_("The form expired; please try again.")), 400

    @app.errorhandler(DomainError)
    def domain_error(error):
        # Operations raise before anything is committed; roll back and explain.
        from cfp.extensions import db

        db.session.rollback()
        flash(error.message, "danger")
        return redirect(local_referrer())
