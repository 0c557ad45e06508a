# A small Flask application for tests/frameworks.rs (Debian's python3-flask).
import sys

from flask import Flask, jsonify, request, url_for

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello from Flask"


@app.route("/greet/<name>")
def greet(name):
    return jsonify(
        greeting="Hello, %s" % name,
        self_url=url_for("greet", name=name),
        external_url=url_for("greet", name=name, _external=True),
        script_root=request.script_root,
        path=request.path,
        query=request.args.get("q"),
        python="%d.%d" % sys.version_info[:2],
    )


@app.route("/echo", methods=["POST"])
def echo():
    return jsonify(form=request.form.to_dict(), length=request.content_length)


@app.route("/redirect")
def go_home():
    from flask import redirect

    return redirect(url_for("hello"))


@app.errorhandler(404)
def not_found(e):
    return "no such page: %s" % request.path, 404


application = app
