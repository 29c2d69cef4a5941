"""Command line: `cfp init` sets up a new installation (schema and first admin),
`cfp create-admin` adds one, `cfp check` says what is missing or wrong, `cfp demo`
runs everything in the embedded mode; `flask --app wsgi ...` gives the usual Flask
and Flask-Migrate commands."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import with_appcontext


def register_commands(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @with_appcontext
    def seed_demo_command():
        """Fill an empty database with the demo data."""
        from cfp.demo import seed_demo

        created = seed_demo()
        click.echo("demo data created" if created else "database not empty: demo data left as it is")


@click.group()
def main():
    """cfp command line."""


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--no-worker", is_flag=True, help="Do not start the Celery worker and beat.")
def demo(host: str, port: int, no_worker: bool):
    """Build the schema, load the demo data, start a Celery worker with beat and the web app."""
    from flask_migrate import upgrade

    from cfp import create_app
    from cfp.demo import seed_demo

    os.environ.setdefault("CFP_BASE_URL", f"http://{host}:{port}")
    app = create_app()
    with app.app_context():
        upgrade(revision="heads")
        if seed_demo():
            click.echo("Demo data loaded.")
    worker = None
    if not no_worker:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-B", "--pool=solo",
             "--loglevel=INFO", "-s", os.path.join(app.instance_path, "celerybeat-schedule")],
        )
        time.sleep(1)
    click.echo(f"cfp is at http://{host}:{port}/ — accounts are listed in README.md")
    try:
        app.run(host=host, port=port, debug=False, use_reloader=False)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=20)


def _admin_details(email: str | None, name: str | None, password_stdin: bool) -> tuple[str, str, str | None]:
    """The first admin's address, name and password: from the options, else asked.
    The password is never an argument (it would show in `ps` and the shell history):
    it is typed at a prompt, twice, or read from standard input."""
    email = email or click.prompt("Administrator's email")
    name = name or click.prompt("Administrator's name")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return email, name, password


def _make_admin(email: str, name: str, password: str | None) -> None:
    from cfp.auth.operations import create_admin
    from cfp.core.errors import DomainError
    from cfp.extensions import db

    try:
        user, created = create_admin(email=email, name=name, password=password)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    if created:
        click.echo(f"Administrator {user.email} created: log in at /login.")
    else:
        click.echo(f"{user.email} had an account: it is an administrator now (its password is unchanged).")


def _admin_options(command):
    command = click.option("--password-stdin", is_flag=True,
                           help="Read the password from standard input instead of a prompt.")(command)
    command = click.option("--name", help="The administrator's name.")(command)
    return click.option("--email", help="The administrator's email address.")(command)


@main.command()
@_admin_options
def init(email: str | None, name: str | None, password_stdin: bool):
    """Set up a new installation: the schema at the latest migration, and a first
    administrator unless one exists. Safe to run again."""
    from flask_migrate import upgrade

    from cfp import create_app
    from cfp.auth.models import User, UserRole
    from cfp.core.roles import Role
    from cfp.extensions import db

    app = create_app()
    with app.app_context():
        upgrade(revision="heads")
        click.echo("Schema at the latest migration.")
        admin = db.session.scalar(sa.select(User).join(UserRole).where(UserRole.role == Role.admin).limit(1))
        if admin is not None:
            click.echo(f"An administrator exists already ({admin.email}); add another with `cfp create-admin`.")
            return
        _make_admin(*_admin_details(email, name, password_stdin))


@main.command("create-admin")
@_admin_options
def create_admin_command(email: str | None, name: str | None, password_stdin: bool):
    """Add an administrator (or make an existing account one)."""
    from cfp import create_app

    app = create_app()
    with app.app_context():
        _make_admin(*_admin_details(email, name, password_stdin))


@main.command()
def check():
    """Check the settings, the database, the broker, the migrations and SMTP: one line
    per check, and a non-zero exit if any fails."""
    from cfp import create_app
    from cfp.config import ConfigurationError
    from cfp.core.checks import all_checks

    try:
        app = create_app(refuse_weak_settings=False)
    except ConfigurationError as exc:  # a setting so wrong the app cannot be built
        click.echo(f"FAIL settings: {exc}")
        sys.exit(1)
    with app.app_context():
        checks = all_checks(app)
    for c in checks:
        click.echo(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    failed = [c.name for c in checks if not c.ok]
    if failed:
        click.echo(f"{len(failed)} problem(s): {', '.join(failed)}")
        sys.exit(1)
    click.echo("All checks passed.")
