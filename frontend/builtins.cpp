#include "builtins.h"

#include <array>

namespace dptrace {
namespace {

using K = BuiltinKind;

// The probes that run for a task: packet probes run in no process (a NIC's
// interrupt, or dptrace itself for afxdp bodies), so pid, tid, uid and comm
// would be made up there.
constexpr ProbeKinds kTaskProbes{ProbeKind::Begin,  ProbeKind::End,    ProbeKind::Interval,   ProbeKind::Uprobe,
                                  ProbeKind::Uretprobe, ProbeKind::Tracepoint, ProbeKind::Fentry, ProbeKind::Fexit,
                                  ProbeKind::RawTracepoint, ProbeKind::Profile, ProbeKind::Software, ProbeKind::Hardware,
                                  ProbeKind::Usdt, ProbeKind::Kprobe, ProbeKind::Kretprobe, ProbeKind::Watchpoint};
constexpr ProbeKinds kAll = ProbeKinds::all();
using P = ProbeKind;

constexpr std::array kBuiltins = {
    // ---- values
    BuiltinInfo{"pid", K::Value, 0, 0, "pid", "process id (thread group id) of the current task", kTaskProbes},
    BuiltinInfo{"tid", K::Value, 0, 0, "tid", "thread id of the current task", kTaskProbes},
    BuiltinInfo{"uid", K::Value, 0, 0, "uid", "user id of the current task", kTaskProbes},
    BuiltinInfo{"gid", K::Value, 0, 0, "gid", "group id of the current task", kTaskProbes},
    BuiltinInfo{"cgroup", K::Value, 0, 0, "cgroup", "cgroup v2 id of the current task", kTaskProbes},
    BuiltinInfo{"rand", K::Value, 0, 0, "rand", "a pseudo-random 32-bit number", kTaskProbes},
    BuiltinInfo{"numaid", K::Value, 0, 0, "numaid", "the NUMA node the probe runs on", kTaskProbes},
    BuiltinInfo{"jiffies", K::Value, 0, 0, "jiffies", "the kernel's jiffies", kTaskProbes},
    BuiltinInfo{"curtask", K::Value, 0, 0, "curtask", "address of the current task's struct task_struct (kernel memory)",
                kTaskProbes},
    BuiltinInfo{"kstack", K::Value, 0, 0, "kstack", "the kernel stack trace (up to 127 frames)",
                ProbeKinds{P::Uprobe, P::Uretprobe, P::Tracepoint, P::RawTracepoint, P::Fentry, P::Fexit, P::Profile,
                           P::Software, P::Hardware, P::Usdt, P::Kprobe, P::Kretprobe, P::Watchpoint}},
    BuiltinInfo{"ustack", K::Value, 0, 0, "ustack", "the user stack trace of the task (up to 127 frames)",
                ProbeKinds{P::Uprobe, P::Uretprobe, P::Tracepoint, P::RawTracepoint, P::Fentry, P::Fexit, P::Profile,
                           P::Software, P::Hardware, P::Usdt, P::Kprobe, P::Kretprobe, P::Watchpoint}},
    BuiltinInfo{"username", K::Value, 0, 0, "username", "the name of the task's user (looked up when printed)", kTaskProbes},
    BuiltinInfo{"cpid", K::Value, 0, 0, "cpid", "pid of the command -c started", kAll},
    BuiltinInfo{"comm", K::Value, 0, 0, "comm", "name of the current task (16 bytes)", kTaskProbes},
    BuiltinInfo{"cpu", K::Value, 0, 0, "cpu", "the CPU the probe runs on", kAll},
    BuiltinInfo{"nsecs", K::Value, 0, 0, "nsecs", "monotonic time in nanoseconds", kAll},
    BuiltinInfo{"elapsed", K::Value, 0, 0, "elapsed", "nanoseconds since dptrace started", kAll},
    BuiltinInfo{"func", K::Value, 0, 0, "func", "name of the traced function (rawtracepoint: of the tracepoint)",
                ProbeKinds{P::Uprobe, P::Uretprobe, P::Fentry, P::Fexit, P::RawTracepoint, P::Kprobe, P::Kretprobe}},
    BuiltinInfo{"probe", K::Value, 0, 0, "probe", "the attach point that fired, as written", kAll},
    BuiltinInfo{"retval", K::Value, 0, 0, "retval", "return value (typed from DWARF or BTF when known)",
                ProbeKinds{P::Uretprobe, P::Fexit, P::Kretprobe}},
    BuiltinInfo{"argN", K::Value, 0, 0, "arg0..arg9", "the Nth argument (typed from DWARF or BTF when known; usdt: from its note)",
                ProbeKinds{P::Uprobe, P::Uretprobe, P::Fentry, P::Fexit, P::RawTracepoint, P::Usdt, P::Kprobe}},
    BuiltinInfo{"sargN", K::Value, 0, 0, "sarg0..sarg9", "the Nth argument passed on the stack (x86-64: after the return address)",
                ProbeKinds{P::Uprobe, P::Uretprobe, P::Kprobe}},
    BuiltinInfo{"ctx", K::Value, 0, 0, "ctx", "the address of the probe's context (struct pt_regs for uprobes and perf events)",
                ProbeKinds{P::Uprobe, P::Uretprobe, P::Tracepoint, P::Profile, P::Software, P::Hardware, P::Usdt, P::Kprobe,
                           P::Kretprobe, P::Watchpoint}},
    BuiltinInfo{"args", K::Value, 0, 0, "args", "typed arguments: args.NAME (args->NAME is accepted)",
                ProbeKinds{P::Uprobe, P::Uretprobe, P::Fentry, P::Fexit, P::Tracepoint, P::RawTracepoint}},
    // ---- packet views
    BuiltinInfo{"pkt", K::PacketView, 0, 0, "pkt.len pkt.ifindex pkt.queue", "the frame itself", kPacketProbes},
    BuiltinInfo{"fib", K::PacketView, 0, 0, "fib.ifindex fib.smac fib.dmac",
                "the next hop fib_lookup() found: its interface and the MACs to write", ProbeKinds{P::Xdp}},
    BuiltinInfo{"eth", K::PacketView, 0, 0, "eth.src eth.dst eth.type", "Ethernet header", kPacketProbes},
    BuiltinInfo{"vlan", K::PacketView, 0, 0, "vlan.id", "outer 802.1Q tag", kPacketProbes},
    BuiltinInfo{"ip", K::PacketView, 0, 0, "ip.src ip.dst ip.proto ip.ttl ip.len", "IPv4 header", kPacketProbes},
    BuiltinInfo{"ip6", K::PacketView, 0, 0, "ip6.src ip6.dst ip6.nexthdr", "IPv6 fixed header", kPacketProbes},
    BuiltinInfo{"tcp", K::PacketView, 0, 0, "tcp.sport tcp.dport tcp.flags", "TCP header", kPacketProbes},
    BuiltinInfo{"udp", K::PacketView, 0, 0, "udp.sport udp.dport udp.len", "UDP header", kPacketProbes},
    BuiltinInfo{"icmp", K::PacketView, 0, 0, "icmp.type icmp.code icmp.seq", "ICMP header", kPacketProbes},
    BuiltinInfo{"icmp6", K::PacketView, 0, 0, "icmp6.type icmp6.seq", "ICMPv6 header", kPacketProbes},
    BuiltinInfo{"gtp", K::PacketView, 0, 0, "gtp.teid gtp.type", "GTP-U header (UDP port 2152)", kPacketProbes},
    // ---- functions
    BuiltinInfo{"printf", K::Function, 1, -1, "printf(fmt, ...)", "formatted output, through the ring buffer", kAll},
    BuiltinInfo{"print", K::Function, 1, 3, "print(@map[, top[, div]]) or print(x)",
                "print a map (its top entries, values divided) or a value now", kAll},
    BuiltinInfo{"time", K::Function, 0, 1, "time(fmt)", "print the wall-clock time (strftime format)", kAll},
    BuiltinInfo{"join", K::Function, 1, 2, "join(argv[, delim])",
                "print the strings of a NULL-ended array (at most 16, 1023 bytes each) joined by delim (\" \")",
                kTaskProbes},
    BuiltinInfo{"str", K::Function, 1, 2, "str(p[, n])", "a string read from p, at most n bytes", kAll},
    BuiltinInfo{"override", K::Function, 1, 1, "override(rc)",
                "make the probed kernel function return rc without running (--unsafe; kprobes on functions that allow it)",
                ProbeKinds{P::Kprobe}},
    BuiltinInfo{"path", K::Function, 1, 1, "path(p)", "the file path of a struct path * (bpf_d_path; fentry/fexit of functions that allow it)",
                ProbeKinds{P::Fentry, P::Fexit}},
    BuiltinInfo{"cgroupid", K::Function, 1, 1, "cgroupid(\"/sys/fs/cgroup/...\")",
                "the id of the cgroup at a path (its directory's inode), found when the script compiles", kAll},
    BuiltinInfo{"debugf", K::Function, 1, -1, "debugf(fmt, ...)",
                "printf to the kernel's trace pipe (bpf_trace_printk: 3 values at most), for debugging", kAll},
    BuiltinInfo{"uaddr", K::Function, 1, 1, "uaddr(\"symbol\")",
                "the address of a variable or function of the probed binary in the traced process (a pointer to an integer of its size)",
                ProbeKinds{P::Uprobe, P::Uretprobe, P::Usdt}},
    BuiltinInfo{"cgroup_path", K::Function, 1, 2, "cgroup_path(id[, filter])",
                "the paths of cgroup id in the hierarchies under /sys/fs/cgroup (those filter matches), found when printed", kAll},
    BuiltinInfo{"buf", K::Function, 1, 2, "buf(p, n)",
                "n bytes read from p (an array: its bytes), printed with %r, %rx or %rh (at most BPFTRACE_STRLEN without a constant n)",
                kAll},
    BuiltinInfo{"ntop", K::Function, 1, 2, "ntop([af, ]addr)", "an IPv4 or IPv6 address from an integer or bytes (af: AF_INET or AF_INET6)", kAll},
    BuiltinInfo{"usym", K::Function, 1, 1, "usym(addr)", "the function of the current process at addr (its name when printed)",
                kTaskProbes},
    BuiltinInfo{"ksym", K::Function, 1, 1, "ksym(addr)", "the kernel function at addr (its name when printed)", kAll},
    BuiltinInfo{"strftime", K::Function, 2, 2, "strftime(fmt, ns)", "the wall-clock time of nsecs-time ns, formatted when printed",
                kAll},
    BuiltinInfo{"strerror", K::Function, 1, 1, "strerror(errno)", "the text of an errno value", kAll},
    BuiltinInfo{"cat", K::Function, 1, -1, "cat(fmt, ...)", "print a file's contents (its name formatted as printf does)", kAll},
    BuiltinInfo{"system", K::Function, 1, -1, "system(fmt, ...)", "run a command through the shell and print its output (--unsafe)",
                kAll},
    BuiltinInfo{"signal", K::Function, 1, 1, "signal(sig)", "send a signal to the current task (--unsafe)",
                ProbeKinds{P::Uprobe, P::Uretprobe, P::Tracepoint, P::RawTracepoint, P::Fentry, P::Fexit, P::Profile,
                           P::Software, P::Hardware, P::Usdt, P::Kprobe, P::Kretprobe, P::Watchpoint}},
    BuiltinInfo{"reg", K::Function, 1, 1, "reg(\"name\")", "a register of the probe's struct pt_regs (ip, sp, ax, di, r8 ...)",
                ProbeKinds{P::Uprobe, P::Uretprobe, P::Profile, P::Software, P::Hardware, P::Kprobe, P::Kretprobe,
                           P::Watchpoint}},
    BuiltinInfo{"uptr", K::Function, 1, 1, "uptr(p)", "p, read from the process's memory whatever the probe", kAll},
    BuiltinInfo{"kptr", K::Function, 1, 1, "kptr(p)", "p, read from kernel memory whatever the probe", kAll},
    BuiltinInfo{"sizeof", K::Function, 0, 1, "sizeof(TYPE) or sizeof(expr)", "the size in bytes of a type or of a value's type",
                kAll},
    BuiltinInfo{"strncmp", K::Function, 3, 3, "strncmp(s1, s2, n)", "0 if the first n bytes of two strings are the same, else 1",
                kAll},
    BuiltinInfo{"strcontains", K::Function, 2, 2, "strcontains(haystack, needle)", "1 if needle is part of haystack, else 0",
                kAll},
    BuiltinInfo{"macaddr", K::Function, 1, 1, "macaddr(p)", "a MAC address from 6 bytes (an array, or where a pointer points)",
                kAll},
    BuiltinInfo{"kaddr", K::Function, 1, 1, "kaddr(\"symbol\")", "the address of a kernel symbol (/proc/kallsyms)", kAll},
    BuiltinInfo{"bswap", K::Function, 1, 1, "bswap(x)", "x with its bytes reversed (network <-> host order)", kAll},
    BuiltinInfo{"pton", K::Function, 1, 1, "pton(\"10.0.0.1\")", "a constant address from its text", kAll},
    BuiltinInfo{"exit", K::Function, 0, 0, "exit()", "end the run: END runs, maps print", kAll},
    BuiltinInfo{"emit", K::Function, 1, -1, "emit(name = expr, ...)", "stream one record through the ring buffer",
                kAll},
    // ---- aggregations
    BuiltinInfo{"count", K::Aggregation, 0, 0, "count()", "number of events", kAll},
    BuiltinInfo{"sum", K::Aggregation, 1, 1, "sum(x)", "sum of x", kAll},
    BuiltinInfo{"avg", K::Aggregation, 1, 1, "avg(x)", "average of x", kAll},
    BuiltinInfo{"min", K::Aggregation, 1, 1, "min(x)", "smallest x", kAll},
    BuiltinInfo{"max", K::Aggregation, 1, 1, "max(x)", "largest x", kAll},
    BuiltinInfo{"stats", K::Aggregation, 1, 1, "stats(x)", "count, average and total of x", kAll},
    BuiltinInfo{"hist", K::Aggregation, 1, 1, "hist(x)", "power-of-two histogram of x", kAll},
    BuiltinInfo{"lhist", K::Aggregation, 4, 4, "lhist(x, min, max, step)", "linear histogram of x", kAll},
    // ---- map functions
    BuiltinInfo{"clear", K::MapFunction, 1, 1, "clear(@map)", "remove every entry of a map", kAll},
    BuiltinInfo{"zero", K::MapFunction, 1, 1, "zero(@map)", "set every value of a map to zero", kAll},
    BuiltinInfo{"delete", K::MapFunction, 1, 1, "delete(@map[key])", "remove one entry", kAll},
    // ---- packet actions
    BuiltinInfo{"pass", K::Action, 0, 0, "pass()", "hand the packet to the kernel's stack", ProbeKinds{P::Xdp}},
    BuiltinInfo{"drop", K::Action, 0, 0, "drop()", "drop the packet", kPacketProbes},
    BuiltinInfo{"tx", K::Action, 0, 0, "tx()", "send the packet back out of its interface", kPacketProbes},
    BuiltinInfo{"redirect", K::Action, 1, 1, "redirect(\"IFACE\") or redirect(ifindex)",
                "send the packet out of another interface (by index through a device map of the host's interfaces)",
                ProbeKinds{P::Xdp}},
    BuiltinInfo{"abort", K::Action, 0, 0, "abort()", "drop the packet as an error (XDP_ABORTED)", ProbeKinds{P::Xdp}},
    BuiltinInfo{"swap", K::Action, 2, 2, "swap(a, b)", "exchange two packet fields of one type", kPacketProbes},
    BuiltinInfo{"vlan_pop", K::Action, 0, 0, "vlan_pop()", "remove the outer VLAN tag", kPacketProbes},
    BuiltinInfo{"vlan_push", K::Action, 1, 1, "vlan_push(id)", "add an outer VLAN tag", kPacketProbes},
    BuiltinInfo{"fib_lookup", K::Function, 0, 0, "fib_lookup()",
                "ask the kernel's routing table (FIB) where this IP packet goes: 0 and fib.* when it is forwarded, else "
                "the reason (BPF_FIB_LKUP_RET_*)", ProbeKinds{P::Xdp}},
    BuiltinInfo{"capture", K::Function, 1, 1, "capture(N)",
                "copy the frame's first N bytes to the pcap file of --capture FILE (xdpdump in a statement)", ProbeKinds{P::Xdp}},
};

bool isArgN(std::string_view name) {
  return name.size() == 4 && name.substr(0, 3) == "arg" && name[3] >= '0' && name[3] <= '9';
}

bool isSargN(std::string_view name) {
  return name.size() == 5 && name.substr(0, 4) == "sarg" && name[4] >= '0' && name[4] <= '9';
}

struct BpftraceOnly {
  const char* name;
  const char* what;
};

constexpr BpftraceOnly kBpftraceOnly[] = {



    {"skboutput", "skb output"},                 {"unwatch", "removing a watchpoint"},
};

}  // namespace

const char* bpftraceOnlyBuiltin(std::string_view name) {
  for (const BpftraceOnly& b : kBpftraceOnly)
    if (name == b.name) return b.what;
  return nullptr;
}

std::span<const BuiltinInfo> allBuiltins() { return kBuiltins; }

const BuiltinInfo* findBuiltin(std::string_view name) {
  if (isArgN(name)) name = "argN";
  if (isSargN(name)) name = "sargN";
  for (const BuiltinInfo& b : kBuiltins)
    if (name == b.name) return &b;
  return nullptr;
}

bool isFunctionKind(BuiltinKind kind) {
  return kind != BuiltinKind::Value && kind != BuiltinKind::PacketView;
}

const char* kindName(BuiltinKind kind) {
  switch (kind) {
    case K::Value: return "value";
    case K::PacketView: return "packet view";
    case K::Function: return "function";
    case K::Aggregation: return "aggregation";
    case K::MapFunction: return "map function";
    case K::Action: return "packet action";
  }
  return "?";
}

std::optional<StackOptions> stackOptions(const ast::Call& call, std::string& error) {
  StackOptions o;
  if (call.args.size() > 2) {
    error = call.callee + "() takes a mode, a number of frames, or both";
    return std::nullopt;
  }
  for (size_t i = 0; i < call.args.size(); ++i) {
    const ast::Expr& a = *call.args[i].value;
    if (i == 0 && a.kind == ast::ExprKind::Identifier) {
      const std::string& mode = static_cast<const ast::Identifier&>(a).name;
      if (mode != "perf" && mode != "bpftrace") {
        error = "'" + mode + "' is no stack mode of " + call.callee + "(): perf or bpftrace";
        return std::nullopt;
      }
      o.perf = mode == "perf";
      continue;
    }
    if (a.kind != ast::ExprKind::Integer) {
      error = call.callee + "()'s " + (i == 0 ? "first argument is a mode or" : "second argument is") + " a number of frames, written as a number";
      return std::nullopt;
    }
    const auto& n = static_cast<const ast::Integer&>(a);
    if (n.value < 1 || n.value > 127) {
      error = call.callee + "() takes 1 to 127 frames, not " + n.text;
      return std::nullopt;
    }
    o.frames = static_cast<uint32_t>(n.value);
  }
  return o;
}

}  // namespace dptrace
