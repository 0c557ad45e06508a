# For tests/hardening_validate.rs (issue 10, finding 5): connects to a
# daemon group's socket, reads the daemon's Hello, sends the bytes given in
# hex, and waits for the daemon to close the connection. Prints
# "closed pid=N" (its own pid) or "open pid=N" if the daemon kept it open.
#
#   python3 channel_garbage.py SOCKET HEX

import os
import socket
import struct
import sys


def main():
    path, data = sys.argv[1], bytes.fromhex(sys.argv[2])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    kind, length = struct.unpack("<BI", s.recv(5, socket.MSG_WAITALL))
    assert kind == 1, kind
    s.recv(length, socket.MSG_WAITALL)
    s.sendall(data)
    try:
        closed = s.recv(1) == b""
    except socket.timeout:
        closed = False
    except ConnectionResetError:
        closed = True
    print("%s pid=%d" % ("closed" if closed else "open", os.getpid()))


main()
