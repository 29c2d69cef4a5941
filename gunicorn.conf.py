"""gunicorn's settings for cfp in production: `gunicorn -c gunicorn.conf.py wsgi:app`
(the Procfile's web process). Each can be changed by an environment variable."""
import json
import multiprocessing
import os

from gunicorn.glogging import Logger

# Where to listen: CFP_BIND, else the PORT a process manager (honcho, a PaaS) gives.
bind = os.environ.get("CFP_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
# Processes: a request that waits on the database holds its worker, so a few per core.
workers = int(os.environ.get("CFP_WEB_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
# A request running longer than this is stopped and its worker replaced; uploads of
# 20 MB over a slow line fit well within it.
timeout = int(os.environ.get("CFP_WEB_TIMEOUT", "60"))
graceful_timeout = 30  # on a restart, requests in progress get this long to finish
keepalive = 5
max_requests = 2000  # workers are replaced now and then, so that a leak can't grow
max_requests_jitter = 200
# The app is made once, in the master, and each worker is forked from it: a replaced worker
# starts in milliseconds, not after 1.2 s of CPU making the app again (at 250 requests a
# second, a worker every 8 s: 15 % of a core), and the workers share the app's
# memory (wsgi.py keeps it out of the collector's passes, which would otherwise copy it).
preload_app = True


def post_fork(server, worker):
    """A forked worker opens database connections of its own: it must never use one the
    master opened (two processes on one connection mix their statements). SQLAlchemy's
    advice: forget the inherited pool without closing its connections."""
    app = server.app.wsgi()
    sqlalchemy = getattr(app, "extensions", {}).get("sqlalchemy")
    if sqlalchemy is not None:
        with app.app_context():
            for engine in sqlalchemy.engines.values():
                engine.dispose(close=False)
# One line per request on standard output, with the request id the app sends back
# (cfp/core/logs.py), the status, the size and the time taken in milliseconds.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request=%({x-request-id}o)s'


class JsonLogger(Logger):
    """With CFP_LOG_JSON=1, the access log's lines are JSON objects, like the app's."""

    def access(self, resp, req, environ, request_time):
        if not self.cfg.accesslog:
            return
        self.access_log.info(json.dumps({
            "type": "request", "remote": environ.get("REMOTE_ADDR"), "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"), "status": resp.status_code,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000),
            "request_id": next((v for k, v in resp.headers if k.lower() == "x-request-id"), None),
        }))


if os.environ.get("CFP_LOG_JSON", "").strip().lower() in {"1", "true", "yes", "on"}:
    logger_class = JsonLogger
