# A Flask page (Debian's python3-flask) built from a file bundled with the
# application, read as Flask's documentation shows: app.open_resource in
# text mode, which is open() without an encoding. For tests/locale.rs.
import os

from flask import Flask

app = Flask(__name__, root_path=os.path.dirname(os.path.abspath(__file__)))


@app.route("/")
def page():
    with app.open_resource("locale_text.txt", "r") as f:
        return "<p>%s</p>" % f.read().strip()


application = app
