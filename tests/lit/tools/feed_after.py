"""feed_after.py PATTERN LINE -- COMMAND...: runs COMMAND (dptrace) with a
pipe for stdin; once PATTERN appears on its stderr (attached), writes LINE
to that pipe: a traced program that waits for a line on stdin (the DPDK
fixtures) then runs with every probe in place. Passes COMMAND's stdout and
stderr through and exits with its status; 60 s at most."""
import subprocess
import sys
import threading

pattern, line = sys.argv[1], sys.argv[2]
command = sys.argv[sys.argv.index("--") + 1:]
proc = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
fed = threading.Event()


def relay():
    seen = ""
    for chunk in iter(lambda: proc.stderr.readline(), b""):
        text = chunk.decode("utf-8", "replace")
        sys.stderr.write(text)
        sys.stderr.flush()
        seen += text
        if not fed.is_set() and pattern in seen:
            fed.set()
            proc.stdin.write((line + "\n").encode())
            proc.stdin.flush()


t = threading.Thread(target=relay, daemon=True)
t.start()
try:
    proc.wait(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill()
    proc.wait()
    sys.stderr.write("feed_after.py: %r did not end within 60 s (pattern %sseen)\n" % (command[0], "" if fed.is_set() else "never "))
    sys.exit(124)
t.join(timeout=5)
sys.exit(proc.returncode)
