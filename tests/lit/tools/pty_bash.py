#!/usr/bin/env python3
"""pty_bash.py LINE...: an interactive bash (no rc files) in a pseudo-terminal
reads each LINE through readline, then exits: the workload of bashreadline.bt."""
import os
import pty
import sys
import time

pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/bash", ["bash", "--norc", "--noprofile", "-i"])
for line in sys.argv[1:] + ["exit"]:
    time.sleep(0.2)
    os.write(fd, (line + "\n").encode())
deadline = time.time() + 10
while time.time() < deadline:  # drain the terminal until bash is gone
    try:
        if not os.read(fd, 4096):
            break
    except OSError:
        break
os.waitpid(pid, 0)
