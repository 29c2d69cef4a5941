# The real-worker fixtures (a Redis broker, a worker process, a web app that
# enqueues to it) are shared by every end-to-end test in this folder.
from tests.workers.test_worker_e2e import broker, web, worker  # noqa: F401
