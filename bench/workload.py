"""The events workload several benchmarks trace (bench/events/events.c: it
writes its start time to a file, then calls ev(i) N times), built with
clang-19 at an optimisation level into a working directory."""
import os
import subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def events_binary(work, opt="-O0", name="events-push"):
    """Builds bench/events/events.c with `opt` as WORK/NAME; returns its path."""
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, name)
    subprocess.run(["clang-19", opt, "-o", path, os.path.join(ROOT, "bench", "events", "events.c")], check=True)
    return path
