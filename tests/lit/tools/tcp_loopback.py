#!/usr/bin/env python3
"""tcp_loopback.py PORT: one TCP connection to itself over 127.0.0.1 and one
over ::1, on PORT (listening, connecting, accepting, closing)."""
import socket
import sys

port = int(sys.argv[1])
for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(4)
    client = socket.create_connection((address, port), timeout=5)
    accepted, _ = server.accept()
    client.close()
    accepted.close()
    server.close()
