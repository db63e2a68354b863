#!/usr/bin/env python3
"""recv_eagain.py N: names itself rq_eagain (comm), then N recv() calls with
MSG_DONTWAIT on an empty UDP socket: each fails with EAGAIN (-11)."""
import socket
import sys

with open("/proc/self/comm", "w") as f:
    f.write("rq_eagain")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
for _ in range(int(sys.argv[1])):
    try:
        s.recv(16, socket.MSG_DONTWAIT)
    except BlockingIOError:
        pass
