"""The bare Flask app bench/web.py compares the pages with: one "hello" route, served by
the same gunicorn settings (`gunicorn --pythonpath bench hello_app:app`)."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
