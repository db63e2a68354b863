#!/usr/bin/env python3
"""tcp_connect.py ADDR PORT: listens on ADDR:PORT, connects to it once and
closes both ends (a few TCP state changes on loopback). Bounded by timeouts."""
import socket
import sys

addr, port = sys.argv[1], int(sys.argv[2])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((addr, port))
server.listen(1)
client = socket.create_connection((addr, port), timeout=3)
conn, _ = server.accept()
for s in (client, conn, server):
    s.close()
