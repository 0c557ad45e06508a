# For tests/hardening_timeouts.rs: a peer on a daemon group's socket that
# never completes a frame.
#
#   python3 idle_channel_client.py SOCKET MODE SECONDS
#
# MODE "silent" connects and sends nothing; "partial" sends the start of a
# Hello frame (its header announces 100 bytes, 3 follow). Prints "accepted"
# once the daemon's Hello arrived, then "closed after S" when the daemon
# closes the connection, or "open after S" if it is still open after
# SECONDS.

import socket
import struct
import sys
import time

path, mode, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(path)
header = s.recv(5)
kind, length = struct.unpack("<BI", header)
got = b""
while len(got) < length:
    got += s.recv(length - len(got))
if mode == "partial":
    s.sendall(struct.pack("<BI", 1, 100) + b"abc")
began = time.monotonic()
print("accepted", flush=True)
s.settimeout(seconds)
try:
    while s.recv(4096):
        pass
    print("closed after %.1f" % (time.monotonic() - began), flush=True)
except socket.timeout:
    print("open after %.1f" % (time.monotonic() - began), flush=True)
