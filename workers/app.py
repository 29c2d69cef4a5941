"""Worker entry point: `celery -A workers.app worker -B`."""
from cfp import create_app
from workers import wire

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
wire(celery_app)
