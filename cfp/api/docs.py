"""The API's docs page, served by the app itself: Swagger UI's files come from the
flask-swagger-ui package (installed with the app), never from a CDN; the page reads the
OpenAPI document at /api/v1/openapi.json."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template, send_from_directory

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1/docs")


def swagger_ui_folder() -> Path:
    import flask_swagger_ui

    return Path(flask_swagger_ui.__file__).resolve().parent / "dist"


ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")


@bp.route("")
def docs():
    return render_template("api/docs.html")


@bp.route("/assets/<name>")
def asset(name: str):
    if name not in ASSETS:
        from flask import abort

        abort(404)
    return send_from_directory(swagger_ui_folder(), name, max_age=86400)
