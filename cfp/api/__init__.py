"""The REST API (/api/v1): its OpenAPI 3.1 document, generated from the code by
flask-smorest (marshmallow schemas, apispec), its docs page served from the app, token
authentication, and errors as application/problem+json (RFC 9457)."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api as SmorestApi

from cfp.api.problems import PREFIX, PROBLEM_JSON


class Api(SmorestApi):
    """flask-smorest's Api, whose errors are problems (cfp.api.problems), registered
    for the API's own paths only (the pages keep theirs)."""

    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists the errors it answers

    def __init__(self, *args, **kwargs):
        from cfp.api.schemas import ProblemSchema

        self.ERROR_SCHEMA = ProblemSchema
        super().__init__(*args, **kwargs)

    def _register_responses(self):
        """A response per status code (UNAUTHORIZED, NOT_FOUND…), each a problem."""
        import http

        from flask_smorest.utils import prepare_response

        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)

    def _register_error_handlers(self):
        pass  # cfp.api.views registers them on its blueprint, cfp/__init__ for unknown paths


def init_api(app: Flask) -> None:
    from cfp.api.schemas import Amount
    from cfp.api.views import bp
    from cfp.extensions import csrf

    app.config.setdefault("API_TITLE", "cfp")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": (
            "The joint calls' data: calls, your proposals, your review assignments and "
            "reviews, rankings, projects. Authenticate with a personal access token made on "
            "your account page: `Authorization: Bearer cfp_…`. Errors are "
            "`application/problem+json` (RFC 9457).")},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"token": {
            "type": "http", "scheme": "bearer",
            "description": "A personal access token (read, or read and write)"}}},
    })
    api = Api(app)
    api.register_field(Amount, "string", "decimal")
    csrf.exempt(bp)  # tokens only: no cookie is read, so there is no forged request to refuse
    api.register_blueprint(bp)
    app.extensions["cfp-api"] = api


__all__ = ["PROBLEM_JSON", "init_api"]
