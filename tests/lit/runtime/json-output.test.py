import json
import sys

raw = open(sys.argv[1], "rb").read()
text = raw.decode("utf-8")  # the whole output is UTF-8 (a stray byte would raise here)
lines = text.split("\n")
assert lines[-1] == "", "output ends with a newline"
objects = [json.loads(l) for l in lines[:-1]]  # every line is one JSON object, no blank lines
if len(sys.argv) > 2 and sys.argv[2] == "bytes":
    types = [o["type"] for o in objects]
    printf = [o for o in objects if o["type"] == "printf"][0]
    assert printf["data"] == "a\u00ffb\u00e9\n", "got %r" % printf  # \xff escaped; é (c3 a9) kept whole
    assert '"a\\u00ffb' in text, "the byte is written as an escape"
    time = [o for o in objects if o["type"] == "time"]
    assert len(time) == 1 and time[0]["data"].endswith("\u00ff\n"), "got %r" % objects
    assert {"type": "map", "data": {"@m": {"k\u00fe": 1}}} in objects, "got %r" % objects
    full = [o for o in objects if o["type"] == "map_full"]
    assert full == [{"type": "map_full", "data": {"map": "@full", "updates": 1}}], "got %r" % objects
    assert "printf" in types and "attached_probes" in types
    sys.exit(0)
expected = [
    {"type": "attached_probes", "data": {"probes": 1}},
    {"type": "printf", "data": "hi 5\n"},
    {"type": "stats", "data": {"@a": 7}},
    {"type": "map", "data": {"@c": 1}},
    {"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1}]}},
    {"type": "map", "data": {"@k": {"1,ab": 1}}},
]
assert objects == expected, "got %r" % objects
