# Mercurial's hgweb (Debian's mercurial package) serving the repository the
# test made in the stage's hgrepo/. Importing it writes sys.stdout.buffer.
import os

from mercurial.hgweb import hgweb

REPO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hgrepo")
application = hgweb(REPO.encode(), b"streams test repository")
