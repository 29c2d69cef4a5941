"""Worker entry point: `celery -A workers.app worker -B`."""
from cfp import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
