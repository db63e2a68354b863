import json
import sys

lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "output ends with a newline"
objects = [json.loads(l) for l in lines[:-1]]  # every line is one JSON object, no blank lines
expected = [
    {"type": "attached_probes", "data": {"probes": 1}},
    {"type": "printf", "data": "hi 5\n"},
    {"type": "stats", "data": {"@a": 7}},
    {"type": "map", "data": {"@c": 1}},
    {"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1}]}},
    {"type": "map", "data": {"@k": {"1,ab": 1}}},
]
assert objects == expected, "got %r" % objects
