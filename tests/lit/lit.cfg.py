# lit configuration for dptrace. Tests are .dpt scripts (and .test files for
# the command line) whose RUN lines drive the dptrace binary of the build.
import os
import subprocess
import lit.formats

config.name = "dptrace"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".dpt", ".test"]
config.excludes = ["inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(os.path.dirname(config.dptrace), "..", "tests", "lit")

tools = os.path.join(config.source_root, "tests", "lit", "tools")
config.substitutions.append(("%dptrace", config.dptrace))
config.substitutions.append(("%FileCheck", config.filecheck + " --dump-input=fail"))
config.substitutions.append(("%not", config.not_tool))
config.substitutions.append(("%exit1", os.path.join(tools, "expect-exit.sh") + " 1"))
config.substitutions.append(("%exit0", os.path.join(tools, "expect-exit.sh") + " 0"))
config.substitutions.append(("%exit2", os.path.join(tools, "expect-exit.sh") + " 2"))
config.substitutions.append(("%examples", os.path.join(config.source_root, "examples")))
config.substitutions.append(("%mandir", os.path.join(config.source_root, "man")))
config.substitutions.append(("%tools", tools))
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%getpids", os.path.join(config.fixtures, "getpids")))
config.substitutions.append(("%nap", os.path.join(config.fixtures, "nap")))
config.substitutions.append(("%calls", os.path.join(config.fixtures, "calls")))
config.substitutions.append(("%usdt", os.path.join(config.fixtures, "usdt")))
config.substitutions.append(("%abi", os.path.join(config.fixtures, "abi")))
config.substitutions.append(("%fixtures", config.fixtures))
config.substitutions.append(("%builddir", os.path.dirname(os.path.dirname(config.dptrace))))
config.substitutions.append(("%inlined", os.path.join(config.fixtures, "inlined")))
config.substitutions.append(("%dpdk_rxapp", os.path.join(config.fixtures, "dpdk_rxapp")))
config.substitutions.append(("%mbufburst", os.path.join(config.fixtures, "mbufburst")))
config.substitutions.append(("%burstapp", os.path.join(config.fixtures, "dpdk_burstapp")))
config.substitutions.append(("%feed_after", config.python + " " + os.path.join(tools, "feed_after.py")))
config.substitutions.append(("%eal", "--no-huge -m 256 --no-pci --no-shconf --vdev=net_null0 --vdev=net_null1"))
config.substitutions.append(("%manpage_examples", config.python + " " + os.path.join(tools, "manpage_examples.py") + " --dptrace " + config.dptrace))
config.substitutions.append(("%differential", config.python + " " + os.path.join(tools, "differential.py") + " --dptrace " + config.dptrace))
config.substitutions.append(("%traced", config.python + " " + os.path.join(tools, "run_traced.py")))

if os.geteuid() == 0:
    config.available_features.add("root")
# pahole (dwarves) and gcc build the synthetic module BTF of the gtp5g tests.
import shutil
if shutil.which("pahole") and shutil.which("gcc"):
    config.available_features.add("pahole")
# scapy writes the packets and captures of the XDP tests; Debian's scapy
# imports under /usr/bin/python3 only.
config.substitutions.append(("%scapy", "/usr/bin/python3"))
if subprocess.run(["/usr/bin/python3", "-c", "import scapy.all"], capture_output=True).returncode == 0:
    config.available_features.add("scapy")
# The real DPDK application is built only where libdpdk-dev is installed.
if os.path.exists(os.path.join(config.fixtures, "dpdk_rxapp")):
    config.available_features.add("dpdk")
# Debian's own DPDK application (package dpdk-dev): stripped and optimised.
if shutil.which("dpdk-testpmd") and shutil.which("stdbuf"):
    config.available_features.add("testpmd")

# libc's separate debug file (libc6-dbg), found by libc's build id.
libc_notes = subprocess.run(["readelf", "-n", "/lib/x86_64-linux-gnu/libc.so.6"], capture_output=True, text=True).stdout
libc_id = [l.split()[-1] for l in libc_notes.splitlines() if "Build ID" in l]
if libc_id and os.path.exists("/usr/lib/debug/.build-id/%s/%s.debug" % (libc_id[0][:2], libc_id[0][2:])):
    config.available_features.add("libc-dbg")

# Whether this machine's hardware breakpoints fire (watchpoint probes): some
# virtual machines take a breakpoint and never fire it. Said at the start of
# the run when they do not, and the watchpoint counts are not checked.
import tempfile
with tempfile.TemporaryDirectory() as scratch:
    fires = os.path.join(scratch, "breakpoints_fire")
    built = subprocess.run(["cc", "-O1", "-o", fires, os.path.join(config.test_source_root, "inputs", "breakpoints_fire.c")],
                           capture_output=True)
    ran = subprocess.run([fires], capture_output=True, text=True) if built.returncode == 0 else None
    if ran is not None and ran.returncode == 0:
        config.available_features.add("hw-breakpoints")
    else:
        lit_config.note("SKIP the watchpoint counts (runtime/watchpoint.test): this machine's hardware breakpoints "
                        "do not fire (%s); runtime/watchpoint-silent.test checks that dptrace says so"
                        % (ran.stdout.strip() or ran.stderr.strip() if ran is not None else "the check did not build"))

# bpftrace 0.17, the reference of the differential tests (tests/lit/compat).
if shutil.which("bpftrace"):
    config.available_features.add("bpftrace")

# Diagnostics must look the same whatever terminal runs the tests.
config.environment["NO_COLOR"] = "1"
config.environment["PATH"] = os.path.dirname(config.dptrace) + os.pathsep + os.environ.get("PATH", "")
