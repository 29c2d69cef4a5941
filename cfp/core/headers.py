"""Security headers on every answer.

Scripts and styles come only from files of this site (no inline <script>, on...=
handler or style= attribute in any template: tests/security/test_headers.py
checks), no page can be framed (so a one-click POST button cannot be
clickjacked), no answer is sniffed for another type, the referrer stays on this
site; in production (CFP_ENV=production) browsers are told to use HTTPS only."""
from __future__ import annotations

from flask import Flask, Response

DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # Bootstrap's CSS draws its icons as data: SVG
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
CONTENT_SECURITY_POLICY = "; ".join(DIRECTIVES)
HSTS = "max-age=31536000; includeSubDomains"  # one year, as OWASP ASVS 14.4.5 asks


def register(app: Flask) -> None:
    production = app.config["PRODUCTION"]

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors, for older browsers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")  # a view may ask for no-referrer
        if production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
