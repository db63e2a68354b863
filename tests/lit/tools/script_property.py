#!/usr/bin/env python3
"""script_property.py DPTRACE FIXTURE [--seed S] [--scripts N] [--show]
(the seed: DPTRACE_PROPERTY_SEED, else a fixed one; -1 draws one)

The verifier never has the last word: scripts generated at random over the
probe kinds that attach here (BEGIN, END, interval, tracepoints,
rawtracepoints, uprobes and uretprobes on the fixture `calls`), every
aggregation, scratch and map values of integers and strings, the builtins,
casts, ternaries, if/else, while and unroll loops with break, printf,
emit, print, clear, zero, delete, stacks as keys, and exit(), each run with
`-c 'FIXTURE 40'` (so its uprobes fire), in text or JSON.

Each run must end in one of two ways:
- it loaded and ran: exit 0, and under -f json every line of its output is
  one JSON object;
- it stopped with a located explanation: exit 1, an error at
  <stdin>:LINE:COL with the line and a caret under it, and, when the
  kernel's verifier refused a program, a hint that says why (not the
  fallback "run with -v to see its log", nor "a bug in dptrace").
Anything else fails: another exit status or a signal, an internal error,
an unlocated error, an unexplained refusal, a refusal the generator's
script does not deserve (a map given two kinds, a variable read first), a
run that does not end 15 s after a Ctrl-C (sent after 30 s). Prints one
block per failure and a summary line with how the scripts ended."""
import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys

INT_BUILTINS = ["pid", "tid", "uid", "gid", "cpu", "nsecs", "elapsed", "cgroup", "rand", "numaid", "jiffies",
                "curtask->pid"]
STR_BUILTINS = ["comm", "probe"]
AGGREGATIONS = ["count()", "sum(%s)", "min(%s)", "max(%s)", "avg(%s)", "stats(%s)", "hist(%s)",
                "lhist(%s, 0, 1000, 100)"]
CASTS = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64"]
INT_OPS = ["+", "-", "*", "/", "%", "&", "|", "^"]
COMPARES = ["==", "!=", "<", "<=", ">", ">="]


def contexts(fixture):
    """Attach point -> (int expressions, string expressions, stacks usable)."""
    return {
        "BEGIN": ([], [], []),
        "END": ([], [], []),
        "interval:ms:%d": ([], [], []),
        "tracepoint:syscalls:sys_enter_openat": (["args.flags", "args.dfd", "args.mode"], ["str(args.filename)"],
                                                 ["kstack"]),
        "tracepoint:syscalls:sys_exit_read": (["args.ret"], [], ["kstack"]),
        "rawtracepoint:sys_enter": (["args.id", "args.regs->di", "args.regs->orig_ax"], [], ["kstack"]),
        "rawtracepoint:sched_switch": (["args.prev->pid", "args.next->prio", "args.prev_state"],
                                       ["args.next->comm"], ["kstack"]),
        "uprobe:%s:work" % fixture: (["arg0", "arg1"], ["func"], ["ustack", "kstack"]),
        "uretprobe:%s:work" % fixture: (["retval"], ["func"], ["ustack"]),
        "uprobe:%s:burst" % fixture: (["args.port_id", "args.nb_pkts", "args.queue_id"], ["func"], ["ustack"]),
        "uprobe:%s:depth" % fixture: (["arg0", "sarg0"], [], ["ustack"]),
    }


class Script:
    def __init__(self, rng, fixture):
        self.rng = rng
        self.contexts = contexts(fixture)
        self.maps = {}  # name -> (value kind, key kind)
        self.probe_ints, self.probe_strs, self.stacks = [], [], []
        self.ints, self.strs = [], []  # scratch variables of the probe
        self.loops = 0

    # Expressions
    def key(self, kind):
        if kind == "none":
            return ""
        if kind == "int":
            return "[%s]" % self.int_expr(1)
        if kind == "str":
            return "[%s]" % self.str_expr()
        if kind == "pair":
            return "[%s, %s]" % (self.int_expr(1), self.str_expr())
        return "[%s]" % kind  # a stack

    def int_atom(self):
        rng = self.rng
        choices = [lambda: str(rng.choice([0, 1, 2, 7, 100, 255, 65536, 0x7fffffff, 1 << 40])),
                   lambda: rng.choice(INT_BUILTINS)]
        if self.probe_ints:
            choices += [lambda: rng.choice(self.probe_ints)] * 2
        if self.ints:
            choices += [lambda: rng.choice(self.ints)] * 2
        readable = [m for m, (v, k) in self.maps.items() if v == "int" and k in ("none", "int")]
        if readable:
            def read():
                m = rng.choice(readable)
                return m + self.key(self.maps[m][1])
            choices.append(read)
        return rng.choice(choices)()

    def int_expr(self, depth=2):
        rng = self.rng
        r = rng.random()
        if depth <= 0 or r < 0.35:
            return self.int_atom()
        if r < 0.65:
            op = rng.choice(INT_OPS + ["<<", ">>"])
            right = str(rng.randint(0, 63)) if op in ("<<", ">>") else self.int_expr(depth - 1)
            if op in ("/", "%") and right == "0":
                right = "7"  # a constant zero divisor is the checker's error
            return "(%s %s %s)" % (self.int_expr(depth - 1), op, right)
        if r < 0.75:
            return "(%s)%s" % (rng.choice(CASTS), self.int_expr(depth - 1))
        if r < 0.83:
            return "(%s ? %s : %s)" % (self.cond(depth - 1), self.int_expr(depth - 1), self.int_expr(depth - 1))
        if r < 0.88:
            return "bswap((uint32)%s)" % self.int_expr(depth - 1)
        atom = self.int_atom()
        if r < 0.93 and not atom[0].isdigit():  # -1 against an unsigned value is the checker's error
            return "-%s" % atom
        return "~%s" % atom

    def str_expr(self):
        rng = self.rng
        choices = STR_BUILTINS + self.probe_strs + self.strs + ['"lit"', '""']
        readable = [m for m, (v, k) in self.maps.items() if v == "str" and k == "none"]
        return rng.choice(choices + readable)

    def cond(self, depth=1):
        rng = self.rng
        r = rng.random()
        if r < 0.3 or depth <= 0:
            return "%s %s %s" % (self.int_expr(1), rng.choice(COMPARES), self.int_expr(1))
        if r < 0.5:  # signed, negative constants allowed
            return "(int64)%s %s %s" % (self.int_expr(1), rng.choice(COMPARES), rng.choice(["-1", "-3", "(int64)" + self.int_expr(1)]))
        if r < 0.65:
            return "%s == %s" % (self.str_expr(), rng.choice(['"calls"', '"lit"', self.str_expr()]))
        if r < 0.72:
            return "strncmp(%s, \"ca\", 2) == 0" % self.str_expr()
        if r < 0.78:
            return "strcontains(%s, \"l\")" % self.str_expr()
        if r < 0.9:
            return "(%s) %s (%s)" % (self.cond(depth - 1), rng.choice(["&&", "||"]), self.cond(depth - 1))
        return "!(%s)" % self.cond(depth - 1)

    # Statements
    def new_map(self, value):
        name = "@m%d" % len(self.maps)
        keys = ["none", "int", "str", "pair"] + ([self.rng.choice(self.stacks)] if self.stacks else [])
        self.maps[name] = (value, self.rng.choice(keys))
        return name

    def pick_map(self, value):
        names = [m for m, (v, k) in self.maps.items() if v == value and (k in ("none", "int", "str", "pair")
                                                                             or k in self.stacks)]
        if names and self.rng.random() < 0.6:
            return self.rng.choice(names)
        name = self.new_map(value)
        if self.maps[name][1] not in ("none", "int", "str", "pair") + tuple(self.stacks):
            self.maps[name] = (value, "int")
        return name

    def statement(self, depth):
        rng = self.rng
        r = rng.random()
        if r < 0.22:
            aggregation = rng.choice(AGGREGATIONS)
            m = self.pick_map(aggregation.split("(")[0])
            value = aggregation % self.int_expr() if "%s" in aggregation else aggregation
            return "%s%s = %s;" % (m, self.key(self.maps[m][1]), value)
        if r < 0.32:
            m = self.pick_map("int")
            op = rng.choice(["=", "=", "+=", "|="])
            return "%s%s %s %s;" % (m, self.key(self.maps[m][1]), op, self.int_expr())
        if r < 0.36:
            m = self.pick_map("str")
            return "%s%s = %s;" % (m, self.key(self.maps[m][1]), self.str_expr())
        if r < 0.46:
            return "%s %s %s;" % (rng.choice(self.ints), rng.choice(["=", "+=", "*=", "^="]), self.int_expr())
        if r < 0.50:
            return "%s = %s;" % (rng.choice(self.strs), self.str_expr())
        if r < 0.60 and depth > 0:
            text = "if (%s) { %s }" % (self.cond(), self.block(depth - 1))
            if rng.random() < 0.5:
                text += " else { %s }" % self.block(depth - 1)
            return text
        if r < 0.66 and depth > 0:
            self.loops += 1
            i = "$i%d" % self.loops
            limit = rng.choice([1, 3, 10, 50, 200, 1000, 5000])
            self.ints.append(i)
            body = self.block(depth - 1)
            if rng.random() < 0.3:
                body += " if (%s) { break; }" % self.cond(0)
            self.ints.remove(i)
            return "%s = 0; while (%s < %d) { %s %s++; }" % (i, i, limit, body, i)
        if r < 0.69 and depth > 0:
            return "unroll(%d) { %s }" % (rng.randint(1, 5), self.block(depth - 1))
        if r < 0.79:
            args, fmt = [], []
            for _ in range(rng.randint(0, 3)):
                if rng.random() < 0.7:
                    fmt.append(rng.choice(["%d", "%u", "%x", "%lld", "%5d"]))
                    args.append(self.int_expr(1))
                else:
                    fmt.append(rng.choice(["%s", "%-8s"]))
                    args.append(self.str_expr())
            return "printf(\"p %s\\n\"%s);" % (" ".join(fmt), "".join(", " + a for a in args))
        if r < 0.83:
            return "emit(a = %s, s = %s);" % (self.int_expr(1), self.str_expr())
        if r < 0.90 and self.maps:
            m = rng.choice(sorted(self.maps))
            action = rng.choice(["print(%s);", "clear(%s);", "zero(%s);", "delete"])
            if action == "delete":
                if self.maps[m][1] == "none" or self.maps[m][1] not in ("int", "str", "pair"):
                    return "print(%s);" % m
                return "delete(%s%s);" % (m, self.key(self.maps[m][1]))
            return action % m
        if r < 0.92:
            return "time(\"%H:%M:%S \");"
        if r < 0.93:
            return "exit();"
        return "%s = %s;" % (rng.choice(self.ints), self.int_expr())

    def block(self, depth):
        return " ".join(self.statement(depth) for _ in range(self.rng.randint(1, 3)))

    def probe(self, attach):
        rng = self.rng
        self.probe_ints, self.probe_strs, self.stacks = self.contexts[attach]
        if "%d" in attach:
            attach %= rng.choice([10, 50, 100])
        self.ints, self.strs = [], []
        predicate = " /%s/" % self.cond() if rng.random() < 0.3 and not attach.startswith(("BEGIN", "END")) else ""
        head = "$a = %s;" % self.int_expr(1)
        self.ints.append("$a")
        head += " $b = %s;" % self.int_expr(1)
        self.ints.append("$b")
        head += " $s = %s;" % self.str_expr()
        self.strs.append("$s")
        body = " ".join(self.statement(2) for _ in range(rng.randint(1, 5)))
        return "%s%s {\n  %s %s\n}" % (attach, predicate, head, body)

    def text(self):
        attaches = self.rng.sample(sorted(self.contexts), self.rng.randint(1, 3))
        return "\n".join(self.probe(a) for a in attaches) + "\n"


LOCATED = re.compile(r"^<stdin>:(\d+):(\d+): error: (.*)$", re.M)
UNEXPLAINED = ("run with -v to see its log", "a bug in dptrace", "internal error")
# The generator gives each map one kind of value and assigns every variable
# first: the checker saying otherwise is wrong.
WRONG_REFUSALS = (" elsewhere; here it is given ", "is used before it is assigned", "is read but never assigned",
                  "elsewhere; it cannot also hold")


def shown_line(text, col):
    """The source line as an error shows it, and the caret's column in it: a
    line past 300 characters is cut to the 300 around the column (100 before
    it), '...' on each cut side (frontend/diagnostics.cpp)."""
    if len(text) <= 300:
        return text, col
    first = min(col - 1, len(text))
    start = first - 100 if first > 100 else 0
    end = min(start + 300, len(text))
    before = "..." if start > 0 else ""
    after = "..." if end < len(text) else ""
    return before + text[start:end] + after, len(before) + first - start + 1


def judge(script, rc, out, err, json_mode):
    """None if the run ended in one of the two accepted ways, else why not."""
    if rc == 0:
        if "internal error" in err:
            return "exit 0 with an internal error"
        if json_mode:
            for line in (l for l in out.splitlines() if not l.startswith("total=")):  # the fixture's
                try:
                    json.loads(line)
                except ValueError:
                    return "a line of -f json output is not JSON: %r" % line[:200]
        return None
    if rc != 1:
        return "exit status %d" % rc
    m = LOCATED.search(err)
    if not m:
        return "exit 1 without a located error"
    line, col = int(m.group(1)), int(m.group(2))
    lines = script.split("\n")
    rest = err[m.end():].split("\n")
    shown, caret = shown_line(lines[line - 1], col) if 1 <= line <= len(lines) else (None, col)
    if shown is None or len(rest) < 3 or rest[1] != shown or not rest[2].startswith(" " * (caret - 1) + "^"):
        return "the error does not show its line with a caret under column %d" % col
    for words in UNEXPLAINED:
        if words in err:
            return "unexplained: %r" % words
    for words in WRONG_REFUSALS:
        if words in m.group(3):
            return "a refusal the script does not deserve: %r" % m.group(3)
    if "refused" in m.group(3) and "hint:" not in err:
        return "a refusal without a hint"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dptrace")
    ap.add_argument("fixture")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("DPTRACE_PROPERTY_SEED", "20261202")),
                    help="-1: a random seed")
    ap.add_argument("--scripts", type=int, default=30)
    ap.add_argument("--show", action="store_true", help="print every script and how it ended")
    args = ap.parse_args()
    seed = args.seed if args.seed >= 0 else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    ended = {"loaded": 0, "checker": 0, "refused": 0}
    failures = 0
    interrupted = 0
    for n in range(args.scripts):
        script = Script(rng, args.fixture).text()
        json_mode = rng.random() < 0.3
        command = [args.dptrace, "-c", "%s 40" % args.fixture] + (["-f", "json"] if json_mode else []) + ["-e", script]
        # A script whose probes feed on dptrace's own printing can leave much
        # to print at exit: after 30 s, a Ctrl-C, as a user would; it must
        # then end within 15 s.
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=15)
                interrupted += 1
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                out = None
        rc = proc.returncode
        why = "still running 15 s after a Ctrl-C" if out is None else judge(script, rc, out, err, json_mode)
        if why:
            failures += 1
            print("FAILURE %d: %s\n--- script%s\n%s--- stderr\n%s" % (n, why, " (-f json)" if json_mode else "",
                                                                     script, err[-3000:]))
        elif rc == 0:
            ended["loaded"] += 1
        elif "the kernel refused" in err or "verifier" in err:
            ended["refused"] += 1
        else:
            ended["checker"] += 1
        if args.show:
            print("--- %d: %s\n%s%s" % (n, "FAILED" if why else "exit %s" % rc, script, err[-600:]))
    print("%d scripts (seed %d): %d failures; %d loaded and ran (%d ended by a Ctrl-C after 30 s), %d refused by the "
          "verifier with an explanation, %d stopped by the checker" % (args.scripts, seed, failures, ended["loaded"],
                                                                        interrupted, ended["refused"], ended["checker"]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
