#include "attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>

#include <utility>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>
#include <fstream>
#include <vector>

#include "interfaces.h"
#include "perf_events.h"
#include "sema/type_check.h"
#include "uprobe_multi.h"

namespace dptrace {

// A uretprobe's return programs go before the entry halves, so that no
// return runs without its entry.
void Links::closeAll() {
  for (bool first : {true, false}) {
    std::vector<Link> now;
    for (const Link& l : links_)
      if (l.first == first) now.push_back(l);
    auto release = [](const Link& l) {
      if (l.link) bpf_link__destroy(l.link);
      else close(l.fd);
    };
    size_t threads = std::min<size_t>(now.size(), 32);
    if (threads <= 1) {
      for (const Link& l : now) release(l);
      continue;
    }
    std::vector<std::thread> releasing;
    for (size_t t = 0; t < threads; ++t)
      releasing.emplace_back([&now, &release, t, threads] {
        for (size_t i = t; i < now.size(); i += threads) release(now[i]);
      });
    for (std::thread& r : releasing) r.join();
  }
  links_.clear();
}

void warnAt(Output& out, const SourceFile& file, SourceRange where, const std::string& message, const std::string& hint) {
  Notice n;
  n.type = "warning";
  n.text = renderDiagnostic(file, Diagnostic{Severity::Warning, where, message, hint, {}}, false);
  LineColumn at = file.lineColumn(where.begin);
  n.data = {{"message", Value::str(message)},
            {"location", Value::str(file.name() + ":" + std::to_string(at.line) + ":" + std::to_string(at.column))}};
  if (!hint.empty()) n.data.push_back({"hint", Value::str(hint)});
  out.notice(n);
}

namespace {

int fail(AttachContext& ctx, SourceRange where, const std::string& message, const std::string& hint, int code) {
  ctx.diags.error(where, message, hint);
  return code;
}

// The file offset of `symbol` in `binary`, or nullopt; one read of each
// binary for all its probes.
std::optional<uint64_t> functionOffset(AttachContext& ctx, const std::string& binary, const std::string& symbol) {
  auto known = ctx.functionOffsets.find(binary);
  if (known == ctx.functionOffsets.end()) known = ctx.functionOffsets.emplace(binary, functionFileOffsets(binary)).first;
  auto it = known->second.find(symbol);
  return it == known->second.end() ? std::nullopt : std::optional<uint64_t>(it->second);
}

// Why the kernel refused a link, in words (524, ENOTSUPP, has no strerror text).
std::string linkRefusal(int e) {
  if (e == 524) return "the kernel cannot probe that instruction (ENOTSUPP; a uprobe on an int3, say)";
  return std::strerror(e);
}

int failedLink(AttachContext& ctx, const ast::AttachPoint& ap, int e, const std::string& hint = {}) {
  return fail(ctx, ap.range, "cannot attach '" + ap.raw + "': " + linkRefusal(e), hint,
              e == EPERM || e == EACCES ? kRunSystem : kRunScript);
}

int keep(AttachContext& ctx, const ast::AttachPoint& ap, bpf_link* link, bool first = false) {
  if (!link) {
    int e = errno;
    return failedLink(ctx, ap, e, e == ENOENT ? "the kernel has no such tracepoint" : "");
  }
  ctx.links.add(link, first);
  return kRunOk;
}

int attachTracepoint(bpf_program* prog, const ProgramInfo& p, AttachContext& ctx) {
  if (!p.rawTracepoint.empty()) return keep(ctx, p.attach, bpf_program__attach_raw_tracepoint(prog, p.rawTracepoint.c_str()));
  return keep(ctx, p.attach, bpf_program__attach_tracepoint(prog, p.attach.target.c_str(), p.attach.function.c_str()));
}

// One program for many functions of a binary (a wildcard): one uprobe_multi
// link carrying every function's offset, its index in p.symbols as the
// cookie; else a perf-event uprobe each, with the same cookies. The kernel
// refuses a whole link for one function it cannot probe (a first instruction
// such as `lock decl`): the set is then halved until the refused functions
// are found, which are left out with a warning naming them, and the others
// attach in a few links. Only when none attaches is it an error.
int attachUprobes(bpf_program* prog, const ProgramInfo& p, bool ret, AttachContext& ctx) {
  const ast::AttachPoint& ap = p.attach;
  std::vector<std::pair<std::string, int>> refused;  // function, errno
  size_t attached = 0;
  if (!ctx.uprobeMulti) {
    for (size_t i = 0; i < p.symbols.size(); ++i) {
      bpf_uprobe_opts uo{};
      uo.sz = sizeof uo;
      uo.retprobe = ret;
      uo.bpf_cookie = i;
      // At the offset the uprobe_multi links use (an indirect function's
      // code, not its resolver, which libbpf's func_name would find).
      std::optional<uint64_t> offset = functionOffset(ctx, p.binary, p.symbols[i]);
      uo.func_name = offset ? nullptr : p.symbols[i].c_str();
      bpf_link* link = bpf_program__attach_uprobe_opts(prog, ctx.targetPid, p.binary.c_str(), offset.value_or(0), &uo);
      if (!link) {
        int e = errno;
        if (e == EPERM || e == EACCES) return failedLink(ctx, ap, e);
        refused.emplace_back(p.symbols[i], e);
        continue;
      }
      ctx.links.add(link, ret);
      ++attached;
    }
  } else {
    std::vector<uint64_t> offsets, cookies;
    for (size_t i = 0; i < p.symbols.size(); ++i) {
      std::optional<uint64_t> offset = functionOffset(ctx, p.binary, p.symbols[i]);
      if (!offset)
        return fail(ctx, ap.range, "cannot find '" + p.symbols[i] + "' in '" + p.binary + "' to attach to", "", kRunScript);
      offsets.push_back(*offset);
      cookies.push_back(i);
    }
    int denied = 0;
    std::function<void(size_t, size_t)> attachRange = [&](size_t from, size_t to) {  // [from, to)
      if (denied || from == to) return;
      std::vector<uint64_t> o(offsets.begin() + static_cast<std::ptrdiff_t>(from), offsets.begin() + static_cast<std::ptrdiff_t>(to));
      std::vector<uint64_t> c(cookies.begin() + static_cast<std::ptrdiff_t>(from), cookies.begin() + static_cast<std::ptrdiff_t>(to));
      int fd = createUprobeMultiLink(bpf_program__fd(prog), p.binary, o, c, ret, ctx.targetPid);
      if (fd >= 0) {
        ctx.links.addFd(fd, ret);
        attached += to - from;
        return;
      }
      if (-fd == EPERM || -fd == EACCES) {
        denied = -fd;
        return;
      }
      if (to - from == 1) {
        refused.emplace_back(p.symbols[from], -fd);
        return;
      }
      size_t middle = from + (to - from) / 2;
      attachRange(from, middle);
      attachRange(middle, to);
    };
    attachRange(0, offsets.size());
    if (denied) return failedLink(ctx, ap, denied);
  }
  if (attached == 0)
    return fail(ctx, ap.range,
                "cannot attach '" + ap.raw + "': " + refused.front().first + ": " + linkRefusal(refused.front().second) +
                    (refused.size() > 1 ? " (and every other function it matches)" : ""),
                "", kRunScript);
  ctx.leftOut += static_cast<int>(refused.size());
  if (!refused.empty() && !ctx.options.noWarnings) {
    std::string names;
    for (size_t i = 0; i < refused.size() && i < 5; ++i) names += (i ? ", " : "") + refused[i].first;
    if (refused.size() > 5) names += " and " + std::to_string(refused.size() - 5) + " more";
    warnAt(ctx.out, ctx.diags.file(), ap.range,
           "'" + ap.raw + "' leaves out " + std::to_string(refused.size()) + " of its " + std::to_string(p.symbols.size()) +
               " functions, which the kernel refused: " + names + ": " + linkRefusal(refused.front().second),
           "narrow the wildcard to leave them out and this warning goes");
  }
  return kRunOk;
}

int attachUprobe(bpf_program* prog, const ProgramInfo& p, AttachContext& ctx) {
  const ast::AttachPoint& ap = p.attach;
  if (p.fastPath != FastPath::None) return kRunOk;  // at the process's PMD functions (fastpath_attach.h)
  bool ret = ap.kind == ProbeKind::Uretprobe && !p.savesArguments;
  if (p.fileOffset) {  // an inlined call
    int fd = ctx.uprobeMulti ? createUprobeMultiLink(bpf_program__fd(prog), p.binary, *p.fileOffset, ret, ctx.targetPid, p.semaphore)
                             : -1;
    if (!ctx.uprobeMulti) {
      bpf_uprobe_opts uo{};
      uo.sz = sizeof uo;
      uo.retprobe = ret;
      uo.ref_ctr_offset = p.semaphore;
      return keep(ctx, ap, bpf_program__attach_uprobe_opts(prog, ctx.targetPid, p.binary.c_str(), *p.fileOffset, &uo), ret);
    }
    if (fd < 0) return failedLink(ctx, ap, -fd);
    ctx.links.addFd(fd, ret);
    return kRunOk;
  }
  if (!p.symbols.empty()) return attachUprobes(prog, p, ret, ctx);
  if (!ctx.uprobeMulti) {
    bpf_uprobe_opts uo{};
    uo.sz = sizeof uo;
    uo.retprobe = ret;
    size_t offset = static_cast<size_t>(ap.offset.value_or(0));  // into the function when it is named
    std::optional<uint64_t> function = p.symbol.empty() ? std::nullopt : functionOffset(ctx, p.binary, p.symbol);
    uo.func_name = p.symbol.empty() || function ? nullptr : p.symbol.c_str();
    return keep(ctx, ap, bpf_program__attach_uprobe_opts(prog, ctx.targetPid, p.binary.c_str(), function.value_or(0) + offset, &uo), ret);
  }
  std::optional<uint64_t> offset = ap.offset;
  if (!p.symbol.empty())
    if ((offset = functionOffset(ctx, p.binary, p.symbol))) *offset += ap.offset.value_or(0);
  if (!offset) return fail(ctx, ap.range, "cannot find '" + p.symbol + "' in '" + p.binary + "' to attach to", "", kRunScript);
  int fd = createUprobeMultiLink(bpf_program__fd(prog), p.binary, *offset, ret, ctx.targetPid);
  if (fd < 0) return failedLink(ctx, ap, -fd);
  ctx.links.addFd(fd, ret);
  return kRunOk;
}

// A kprobe: through the kprobe event source, else tracefs's kprobe_events
// (libbpf tries both). A kernel with neither (CONFIG_KPROBE_EVENTS off) is
// said so, with the kernel's reason and what reaches its functions instead.
int attachKprobe(bpf_program* prog, const ProgramInfo& p, AttachContext& ctx) {
  const ast::AttachPoint& ap = p.attach;
  bpf_kprobe_opts ko{};
  ko.sz = sizeof ko;
  ko.retprobe = ap.kind == ProbeKind::Kretprobe;
  ko.offset = static_cast<size_t>(ap.offset.value_or(0));
  std::string function = ap.target.empty() ? ap.function : ap.target + ":" + ap.function;
  if (bpf_link* link = bpf_program__attach_kprobe_opts(prog, function.c_str(), &ko)) {
    ctx.links.add(link);
    return kRunOk;
  }
  int e = errno;
  bool none = !kernelHasKprobes();
  std::string why = none ? "this kernel has no kprobes (no kprobe event source, no kprobe_events in tracefs: "
                           "it was built without CONFIG_KPROBE_EVENTS)"
                         : std::string("the kernel refused it (") + std::strerror(e) + ")";
  return fail(ctx, ap.range, "cannot attach '" + ap.raw + "': " + why,
              none ? std::string(ap.kind == ProbeKind::Kretprobe ? "fexit:" : "fentry:") + ap.function +
                         " reaches a kernel function through a BPF trampoline where the kernel allows them (dptrace says so if "
                         "it does not); rawtracepoint:NAME and tracepoint:CATEGORY:NAME reach the kernel's events (dptrace -l lists them)"
                   : (e == ENOENT ? "the kernel has no traceable function by that name (an inlined or notrace function has none)" : ""),
              e == EPERM || e == EACCES ? kRunSystem : kRunScript);
}

// Whether this machine's hardware breakpoints fire: one on a variable of
// dptrace's own, written once. Some hypervisors take the perf event and
// never fire it (no debug registers for the guest), and a watchpoint would
// count nothing, silently.
bool breakpointsFire() {
  static volatile uint64_t written = 0;
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_BREAKPOINT;
  attr.bp_addr = reinterpret_cast<uintptr_t>(&written);
  attr.bp_len = HW_BREAKPOINT_LEN_8;
  attr.bp_type = HW_BREAKPOINT_W;
  attr.exclude_kernel = 1;
  int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) return true;  // the watchpoint's own open says why
  written = written + 1;
  uint64_t count = 0;
  bool read = ::read(fd, &count, sizeof count) == sizeof count;
  close(fd);
  return !read || count > 0;
}

// A hardware breakpoint on an address of the traced process (-p or -c).
int attachWatchpoint(bpf_program* prog, const ProgramInfo& p, AttachContext& ctx) {
  const ast::AttachPoint& ap = p.attach;
  if (ctx.targetPid <= 0)
    return fail(ctx, ap.range, "a watchpoint watches an address of one process", "give it with -p PID or -c CMD", kRunScript);
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_BREAKPOINT;
  attr.bp_addr = *ap.offset;
  attr.bp_len = ap.period;
  attr.bp_type = ap.unit == "r" ? HW_BREAKPOINT_R : ap.unit == "w" ? HW_BREAKPOINT_W : ap.unit == "x" ? HW_BREAKPOINT_X : HW_BREAKPOINT_RW;
  attr.sample_period = 1;
  attr.exclude_kernel = 1;
  int pfd = static_cast<int>(syscall(__NR_perf_event_open, &attr, ctx.targetPid, -1, -1, PERF_FLAG_FD_CLOEXEC));
  if (pfd < 0)
    return fail(ctx, ap.range, "cannot set the watchpoint '" + ap.raw + "': " + std::strerror(errno),
                errno == ENOSPC ? "the CPU's debug registers are taken (x86 has four)"
                : errno == EINVAL ? "the address must be aligned to the length, and an execute watchpoint 8 bytes long" : "",
                errno == EPERM || errno == EACCES ? kRunSystem : kRunScript);
  bpf_link* link = bpf_program__attach_perf_event(prog, pfd);
  if (!link) close(pfd);
  static const bool fire = breakpointsFire();  // checked once, said at the first watchpoint
  static bool said = false;
  if (link && !fire && !std::exchange(said, true))
    warnAt(ctx.out, ctx.diags.file(), ap.range,
           "this machine's hardware breakpoints do not fire: '" + ap.raw + "' will count nothing",
           "a breakpoint on a variable dptrace wrote itself counted 0 (a virtual machine whose hypervisor keeps the "
           "debug registers); run it on the host, or probe the code that writes the address (uprobe)");
  return keep(ctx, ap, link);
}

int attachInterval(bpf_program* prog, const ProgramInfo& p, AttachContext& ctx) {
  const ast::AttachPoint& ap = p.attach;
  perf_event_attr attr{};
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.sample_period = ap.period * (ap.unit == "s" ? 1000000000ull : 1000000ull);
  int pfd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
  if (pfd < 0) return fail(ctx, ap.range, "cannot start the timer of '" + ap.raw + "': " + std::strerror(errno), "", kRunSystem);
  bpf_link* link = bpf_program__attach_perf_event(prog, pfd);
  if (!link) close(pfd);
  return keep(ctx, ap, link);
}

// The CPUs that are online now: "0-3,6" in /sys/devices/system/cpu/online.
std::vector<int> onlineCpus() {
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string text;
  std::getline(in, text);
  std::vector<int> cpus;
  for (size_t at = 0; at < text.size();) {
    size_t comma = text.find(',', at);
    std::string range = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    size_t dash = range.find('-');
    int first = std::atoi(range.c_str()), last = dash == std::string::npos ? first : std::atoi(range.c_str() + dash + 1);
    for (int c = first; c <= last && !range.empty(); ++c) cpus.push_back(c);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

// profile, software and hardware probes: one sampling perf event per online
// CPU, the program attached to each (one bpf_link each).
int attachSampling(bpf_program* prog, const ProgramInfo& p, AttachContext& ctx) {
  const ast::AttachPoint& ap = p.attach;
  perf_event_attr attr{};
  attr.size = sizeof attr;
  if (ap.kind == ProbeKind::Profile) {
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    if (ap.unit == "hz") {
      attr.freq = 1;
      attr.sample_freq = ap.period;
    } else {
      attr.sample_period = ap.period * (ap.unit == "s" ? 1000000000ull : ap.unit == "ms" ? 1000000ull : 1000ull);
    }
  } else {
    const PerfEventInfo* e = findPerfEvent(ap.target, ap.kind == ProbeKind::Hardware);
    if (!e) return fail(ctx, ap.range, "internal error: unknown perf event '" + ap.target + "'", "", kRunSystem);
    attr.type = e->hardware ? PERF_TYPE_HARDWARE : PERF_TYPE_SOFTWARE;
    attr.config = e->config;
    attr.sample_period = ap.period;
  }
  for (int cpu : onlineCpus()) {
    int pfd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (pfd < 0 && ap.kind == ProbeKind::Hardware && (errno == ENOENT || errno == EOPNOTSUPP || errno == ENODEV))
      return fail(ctx, ap.range, "cannot open the hardware event of '" + ap.raw + "': " + std::strerror(errno),
                  "this machine has no PMU that counts it (a VM usually has none): sample software events instead, "
                  "software:cpu-clock:N or profile:hz:N", kRunScript);
    if (pfd < 0)
      return fail(ctx, ap.range, "cannot open the perf event of '" + ap.raw + "' on CPU " + std::to_string(cpu) + ": " +
                                     std::strerror(errno), "", kRunSystem);
    bpf_link* link = bpf_program__attach_perf_event(prog, pfd);
    if (!link) close(pfd);
    if (int s = keep(ctx, ap, link)) return s;
  }
  return kRunOk;
}

// The caret under the interface of xdp:IFACE.
SourceRange interfaceRange(const ast::AttachPoint& ap) {
  size_t colon = ap.raw.find(':');
  SourceRange where = ap.range;
  if (colon != std::string::npos && ap.range.end - ap.range.begin == ap.raw.size())
    where.begin += static_cast<uint32_t>(colon + 1);
  return where;
}

// An XDP program on its interface through a bpf_link: a killed dptrace
// leaves nothing attached. auto tries the driver's (native) mode first.
int attachXdp(bpf_program* prog, const ProgramInfo& p, AttachContext& ctx) {
  if (ctx.options.pcap) return kRunOk;  // run on the capture's packets instead
  const ast::AttachPoint& ap = p.attach;
  auto index = ctx.options.interfaces.find(ap.target);
  if (index == ctx.options.interfaces.end())
    return fail(ctx, ap.range, "internal error: interface '" + ap.target + "' was not resolved", "", kRunSystem);
  auto link = [&](uint32_t flags) {
    bpf_link_create_opts lo{};
    lo.sz = sizeof lo;
    lo.flags = flags;
    return bpf_link_create(bpf_program__fd(prog), static_cast<int>(index->second), BPF_XDP, &lo);
  };
  const std::string& mode = ctx.options.xdpMode;
  bool generic = mode == "generic";
  int fd = link(generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
  int e = fd < 0 ? errno : 0;
  if (fd < 0 && mode == "auto" && (e == EOPNOTSUPP || e == EINVAL || e == ERANGE)) {
    int native = e;
    fd = link(XDP_FLAGS_SKB_MODE);
    e = fd < 0 ? errno : 0;
    if (fd >= 0) {
      std::string text = native == ERANGE ? ap.target + "'s MTU is too large for its native XDP: attached in generic mode"
                                          : ap.target + " has no native XDP support: attached in generic mode";
      ctx.out.notice({"xdp_generic_mode", "dptrace: " + text + "\n",
                      {{"interface", Value::str(ap.target)}, {"message", Value::str(text)}}});
    }
    generic = true;
  }
  if (fd < 0) {
    std::string hint;
    if (e == EBUSY || e == EEXIST) hint = xdpHolder(ap.target, index->second);
    else if (e == EOPNOTSUPP || e == EINVAL) hint = ap.target + " has no native XDP support: use --xdp-mode generic (or auto)";
    else if (e == ERANGE)
      hint = ap.target + "'s MTU is too large for native XDP (a frame must fit a page): lower it, or use --xdp-mode generic (or auto)";
    return fail(ctx, interfaceRange(ap), "cannot attach XDP to '" + ap.target + "': " + std::strerror(e), hint,
                e == EPERM ? kRunSystem : kRunScript);
  }
  if (ctx.options.verbose)
    ctx.out.notice({"attached", "dptrace: " + p.function + " attached to " + ap.target + " (ifindex " +
                                    std::to_string(index->second) + ", " + (generic ? "generic" : "native") +
                                    " mode, bpf_link fd " + std::to_string(fd) + ")\n",
                    {{"program", Value::str(p.function)}, {"interface", Value::str(ap.target)},
                     {"mode", Value::str(generic ? "generic" : "native")}}});
  ctx.links.addFd(fd);
  ctx.interfaces.push_back({ap.target, interfaceRange(ap), fd});
  // tx() and redirect() into a veth: its peer must run NAPI, or every frame is lost silently.
  const SourceFile& file = ctx.diags.file();
  if (ctx.options.noWarnings) return kRunOk;
  if (p.transmits)
    if (auto peer = peerRefusingXdpFrames(ap.target, true))
      warnAt(ctx.out, file, ap.range,
             "tx() on " + ap.target + " sends frames to its veth peer " + peer->name + peer->where +
                 ", which has no XDP program: they are dropped, or wait for other traffic to wake it",
             "attach any XDP program to " + peer->name + " in native mode, e.g. '" + peer->command +
                 "ip link set dev " + peer->name + " xdpdrv obj pass.o sec xdp' (GRO alone does not wake it for tx())");
  for (const std::string& to : p.redirects)
    if (auto peer = peerRefusingXdpFrames(to, false))
      warnAt(ctx.out, file, ap.range,
             "redirect(\"" + to + "\") sends frames to " + to + "'s veth peer " + peer->name + peer->where +
                 ", which " + (peer->known ? "cannot take XDP frames: every one would be dropped silently"
                                           : "dptrace cannot check: without GRO or an XDP program there, every frame is dropped silently"),
             "give " + peer->name + " NAPI: '" + peer->command + "ethtool -K " + peer->name +
                 " gro on', or attach an XDP program to it");
  return kRunOk;
}

}  // namespace

int attachProgram(bpf_program* prog, const ProgramInfo& p, AttachContext& ctx) {
  switch (p.attach.kind) {
    case ProbeKind::Tracepoint: return attachTracepoint(prog, p, ctx);
    case ProbeKind::Uprobe:
    case ProbeKind::Uretprobe:
    case ProbeKind::Usdt: return attachUprobe(prog, p, ctx);
    case ProbeKind::Interval: return attachInterval(prog, p, ctx);
    case ProbeKind::Profile:
    case ProbeKind::Software:
    case ProbeKind::Hardware: return attachSampling(prog, p, ctx);
    case ProbeKind::Xdp: return attachXdp(prog, p, ctx);
    case ProbeKind::Begin:
    case ProbeKind::End: return kRunOk;  // run once through BPF_PROG_TEST_RUN
    case ProbeKind::RawTracepoint:
    case ProbeKind::Fentry:
    case ProbeKind::Fexit: return keep(ctx, p.attach, bpf_program__attach_trace(prog));
    case ProbeKind::Kprobe:
    case ProbeKind::Kretprobe: return attachKprobe(prog, p, ctx);
    case ProbeKind::Watchpoint: return attachWatchpoint(prog, p, ctx);
    case ProbeKind::Afxdp:
    case ProbeKind::None: break;
  }
  return fail(ctx, p.attach.range, std::string("internal error: no attacher for ") + probeKindName(p.attach.kind) + " probes",
              "", kRunSystem);
}

}  // namespace dptrace
