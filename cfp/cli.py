"""Command line: `cfp demo` runs everything in the embedded mode; `flask --app
wsgi ...` gives the usual Flask and Flask-Migrate commands."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click
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
