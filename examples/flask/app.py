"""A small Flask application: a page rendered from a template, and a JSON
view that shows where it runs (which mod_wsgi process group, which
interpreter), to see what daemon mode and application groups do."""

import os

from flask import Flask, jsonify, render_template, request

app = Flask(__name__)


@app.route("/")
def index():
    return render_template("index.html", name=request.args.get("name", "world"))


@app.route("/where")
def where():
    environ = request.environ
    return jsonify(
        framework="flask",
        pid=os.getpid(),
        process_group=environ.get("mod_wsgi.process_group"),
        application_group=environ.get("mod_wsgi.application_group"),
        script_name=environ.get("SCRIPT_NAME"),
        url=request.url_root,
    )
