#!/usr/bin/env python3
"""tls_pair.py N [--linger]: a TLS server and client in one process on loopback (a
self-signed certificate made with openssl): N handshakes, each followed by a
write and a read of "ping" on each side. The workload of sslsnoop.bt and
ssllatency.bt (uprobes on libssl). Run it with Debian's /usr/bin/python3,
whose ssl module uses the system's libssl. With --linger it closes its
stdout when done and sleeps (at most a minute) until it is killed, so that a
tracer can still resolve its symbols."""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
d = tempfile.mkdtemp()
key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(cert, key)
client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
client_ctx.load_verify_locations(cert)
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(n)


def serve():
    for _ in range(n):
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as s:
            s.sendall(s.recv(4))


t = threading.Thread(target=serve)
t.start()
for _ in range(n):
    with client_ctx.wrap_socket(socket.create_connection(listener.getsockname()), server_hostname="localhost") as c:
        c.sendall(b"ping")
        assert c.recv(4) == b"ping"
t.join()
if "--linger" in sys.argv:
    sys.stdout.close()
    os.close(1)
    time.sleep(60)
