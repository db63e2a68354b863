#include "runner.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/perf_event.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <sstream>

#include "decode.h"
#include "map_reader.h"
#include "pcap_replay.h"
#include "uprobe_multi.h"
#include "interfaces.h"

namespace dptrace {
namespace {

// How often the event loop drains the ring buffer when no batch woke it.
constexpr int kDrainMs = 10;

constexpr int kExitOk = 0, kExitScript = 1, kExitSystem = 2;

// libbpf reports through one process-wide callback; keep its messages for
// the error explanation (and -v) instead of letting them reach the terminal.
std::string& libbpfLog() {
  static std::string log;
  return log;
}

int captureLibbpf(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(nullptr, 0, format, args);
  if (n > 0) {
    std::string text(static_cast<size_t>(n) + 1, '\0');
    std::vsnprintf(text.data(), text.size(), format, again);
    text.resize(static_cast<size_t>(n));
    libbpfLog() += text;  // whole: the verifier's log comes as one message
  }
  va_end(again);
  return n;
}

uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Why the verifier refused a program, in words, from the last lines of its log.
std::string explainRefusal(const std::string& log) {
  if (log.find("infinite loop") != std::string::npos || log.find("back-edge") != std::string::npos ||
      log.find("too many instructions") != std::string::npos ||
      log.find("BPF program is too large") != std::string::npos)
    return "the kernel's verifier could not prove that a loop ends; give 'while' a constant limit in its "
           "condition, e.g. while ($i < n && $i < 32), or use unroll (N)";
  if (log.find("stack") != std::string::npos && log.find("limit") != std::string::npos)
    return "the program needs more than 512 bytes of stack; use fewer or shorter strings";
  return "the kernel's verifier refused it; run with -v to see its log";
}

struct Run {
  Run(const CompiledScript& s, const RunOptions& o, Output& out_, Diagnostics& d)
      : script(s), options(o), out(out_), diags(d) {}

  const CompiledScript& script;
  const RunOptions& options;
  Output& out;
  Diagnostics& diags;
  bpf_object* obj = nullptr;
  ring_buffer* rb = nullptr;
  std::vector<bpf_link*> links;
  std::vector<int> linkFds;  // bpf_link fds made by hand: XDP with mode flags, uprobe_multi
  std::map<std::string, std::map<std::string, uint64_t>> functionOffsets;  // binary -> function -> file offset
  bool uprobeMulti = true;    // uprobes through uprobe_multi links (off if the kernel has none)
  bool exitRequested = false;
  int targetPid = -1;   // -p or -c: uprobes of this process only; -1 for all
  pid_t child = -1;     // -c
  int releaseChild = -1;  // -c: closing it lets the child exec the command
  int pidfd = -1;       // readable when the target process has exited
  PcapReplay replay;    // --pcap

  ~Run() {
    if (releaseChild >= 0) close(releaseChild);
    if (pidfd >= 0) close(pidfd);
    if (child > 0) waitpid(child, nullptr, WNOHANG);
    detach();
    if (rb) ring_buffer__free(rb);
    if (obj) bpf_object__close(obj);
  }

  void detach() {
    for (bpf_link* l : links) bpf_link__destroy(l);
    links.clear();
    for (int fd : linkFds) close(fd);
    linkFds.clear();
  }

  int mapFd(const std::string& symbol) {
    bpf_map* m = bpf_object__find_map_by_name(obj, symbol.c_str());
    return m ? bpf_map__fd(m) : -1;
  }

  int fail(SourceRange where, const std::string& message, const std::string& hint, int code) {
    diags.error(where, message, hint);
    return code;
  }

  static int onEvent(void* self, void* data, size_t size) {
    static_cast<Run*>(self)->event(static_cast<const uint8_t*>(data), size);
    return 0;
  }

  void event(const uint8_t* data, size_t size) {
    if (size < 16) return;
    uint64_t kind = 0, index = 0;
    std::memcpy(&kind, data, 8);
    std::memcpy(&index, data + 8, 8);
    switch (static_cast<EventKind>(kind)) {
      case EventKind::Printf: {
        if (index >= script.printfs.size()) return;
        const PrintfLayout& p = script.printfs[index];
        std::vector<Value> args;
        size_t off = 16;
        for (const Type& t : p.args) {
          if (off + slotSize(t) > size) return;
          args.push_back(decodeSlot(t, data + off));
          off += slotSize(t);
        }
        out.printf(formatPrintf(p.format, args));
        return;
      }
      case EventKind::Exit: exitRequested = true; return;
      case EventKind::Time: {
        if (index >= script.timeFormats.size()) return;
        time_t now = time(nullptr);
        tm local{};
        localtime_r(&now, &local);
        char buf[256];
        size_t n = strftime(buf, sizeof buf, script.timeFormats[index].c_str(), &local);
        out.printf(std::string(buf, n));
        return;
      }
      case EventKind::Clear:
      case EventKind::Zero:
      case EventKind::Print: {
        if (index >= script.maps.size()) return;
        const MapLayout& l = script.maps[index];
        int fd = mapFd(l.symbol);
        if (fd < 0) return;
        if (kind == static_cast<uint64_t>(EventKind::Clear)) clearMap(fd, l);
        else if (kind == static_cast<uint64_t>(EventKind::Zero)) zeroMap(fd, l);
        else out.map(readMap(fd, l));
        return;
      }
    }
  }

  SourceRange refusedAt(const std::string& log, SourceRange fallback) {
    std::string name = diags.file().name();
    std::string marker = "@ " + name.substr(name.find_last_of('/') + 1) + ":";
    size_t at = log.rfind(marker);
    if (at == std::string::npos) return fallback;
    uint32_t line = static_cast<uint32_t>(std::strtoul(log.c_str() + at + marker.size(), nullptr, 10));
    if (line == 0 || line > diags.file().lineCount()) return fallback;
    // The first character of that line that is not white space.
    std::string_view text = diags.file().lineText(line);
    const std::string& all = diags.file().text();
    size_t lineStart = static_cast<size_t>(text.data() - all.data());
    size_t first = text.find_first_not_of(" \t");
    uint32_t begin = static_cast<uint32_t>(lineStart + (first == std::string_view::npos ? 0 : first));
    return {begin, begin + 1};
  }

  int load() {
    libbpfLog().clear();
    libbpf_set_print(captureLibbpf);
    bpf_object_open_opts opts{};
    opts.sz = sizeof opts;
    opts.object_name = "dptrace";
    obj = bpf_object__open_mem(script.object.data(), script.object.size(), &opts);
    if (!obj) return fail({0, 0}, "cannot open the BPF object: " + libbpfLog(), "", kExitSystem);
    // Uprobe programs as uprobe_multi programs: their links close in a fraction of a perf-event link's ~100 ms.
    bool anyUprobe = false;
    if (const char* links = std::getenv("DPTRACE_UPROBE_LINKS"); links && std::string(links) == "perf") uprobeMulti = false;
    for (const ProgramInfo& p : script.programs)
      if (uprobeMulti)
      if (isUserProbe(p.attach.kind))
        if (bpf_program* prog = bpf_object__find_program_by_name(obj, p.function.c_str())) {
          bpf_program__set_expected_attach_type(prog, static_cast<bpf_attach_type>(kAttachUprobeMulti));
          anyUprobe = true;
        }
    int err = bpf_object__load(obj);
    if (err == -EINVAL && anyUprobe) {  // a kernel before 6.6: perf-event uprobes
      bpf_object__close(obj);
      uprobeMulti = false;
      libbpfLog().clear();
      obj = bpf_object__open_mem(script.object.data(), script.object.size(), &opts);
      if (!obj) return fail({0, 0}, "cannot open the BPF object: " + libbpfLog(), "", kExitSystem);
      err = bpf_object__load(obj);
    }
    if (err == 0) return kExitOk;
    std::string log = libbpfLog();
    if (options.verbose) std::cerr << log;
    // EACCES is how the verifier refuses a program; EPERM is privileges.
    if (err == -EPERM)
      return fail({0, 0}, "the kernel does not allow this process to load BPF programs",
                  "run dptrace as root (or with CAP_BPF and CAP_PERFMON)", kExitSystem);
    // Name the probe whose program was refused, at the line the verifier
    // reached last (its log repeats the BTF line info: "; ... @ FILE:LINE").
    for (const ProgramInfo& p : script.programs)
      if (log.find("prog '" + p.function + "'") != std::string::npos)
        return fail(refusedAt(log, p.attach.range), "the kernel refused the program of '" + p.attach.raw + "'",
                    explainRefusal(log), kExitScript);
    return fail({0, 0}, "the kernel refused to load the BPF object (" + std::string(std::strerror(-err)) + ")",
                explainRefusal(log), kExitScript);
  }

  int attach() {
    int start = mapFd(script.startMap);
    uint32_t zero = 0;
    uint64_t now = monotonicNs();
    if (start >= 0) bpf_map_update_elem(start, &zero, &now, BPF_ANY);
    for (const ProgramInfo& p : script.programs) {
      bpf_program* prog = bpf_object__find_program_by_name(obj, p.function.c_str());
      if (!prog) return fail(p.attach.range, "internal error: program " + p.function + " is missing", "", kExitSystem);
      const ast::AttachPoint& ap = p.attach;
      bpf_link* link = nullptr;
      if (!p.rawTracepoint.empty()) {
        link = bpf_program__attach_raw_tracepoint(prog, p.rawTracepoint.c_str());
      } else if (ap.kind == ProbeKind::Tracepoint) {
        link = bpf_program__attach_tracepoint(prog, ap.target.c_str(), ap.function.c_str());
      } else if (isUserProbe(ap.kind) && uprobeMulti) {
        std::optional<uint64_t> offset = ap.offset;
        if (!p.symbol.empty()) {  // one read of the binary for all its probes
          auto binary = functionOffsets.find(p.binary);
          if (binary == functionOffsets.end()) binary = functionOffsets.emplace(p.binary, functionFileOffsets(p.binary)).first;
          auto it = binary->second.find(p.symbol);
          offset = it == binary->second.end() ? std::nullopt : std::optional<uint64_t>(it->second);
        }
        if (!offset) return fail(ap.range, "cannot find '" + p.symbol + "' in '" + p.binary + "' to attach to", "", kExitScript);
        int fd = createUprobeMultiLink(bpf_program__fd(prog), p.binary, *offset, ap.kind == ProbeKind::Uretprobe, targetPid);
        if (fd < 0)
          return fail(ap.range, "cannot attach '" + ap.raw + "': " + std::strerror(-fd), "",
                      fd == -EPERM ? kExitSystem : kExitScript);
        linkFds.push_back(fd);
        continue;
      } else if (isUserProbe(ap.kind)) {
        bpf_uprobe_opts uo{};
        uo.sz = sizeof uo;
        uo.retprobe = ap.kind == ProbeKind::Uretprobe;
        uo.func_name = p.symbol.empty() ? nullptr : p.symbol.c_str();
        size_t offset = p.symbol.empty() ? static_cast<size_t>(ap.offset.value_or(0)) : 0;
        link = bpf_program__attach_uprobe_opts(prog, targetPid, p.binary.c_str(), offset, &uo);
      } else if (ap.kind == ProbeKind::Interval) {
        perf_event_attr attr{};
        attr.type = PERF_TYPE_SOFTWARE;
        attr.size = sizeof attr;
        attr.config = PERF_COUNT_SW_CPU_CLOCK;
        attr.sample_period = ap.period * (ap.unit == "s" ? 1000000000ull : 1000000ull);
        int pfd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
        if (pfd < 0)
          return fail(ap.range, "cannot start the timer of '" + ap.raw + "': " + std::strerror(errno), "", kExitSystem);
        link = bpf_program__attach_perf_event(prog, pfd);
        if (!link) close(pfd);
      } else if (ap.kind == ProbeKind::Xdp) {
        if (options.pcap) continue;  // run on the capture's packets instead
        if (int s = attachXdp(prog, p)) return s;
        continue;
      } else {
        continue;  // BEGIN and END run through BPF_PROG_TEST_RUN
      }
      if (!link) {
        int e = errno;
        return fail(ap.range, "cannot attach '" + ap.raw + "': " + std::strerror(e),
                    e == ENOENT ? "the kernel has no such tracepoint" : "", e == EPERM ? kExitSystem : kExitScript);
      }
      links.push_back(link);
    }
    int attachPoints = 0;
    for (const ProgramInfo& p : script.programs) attachPoints += static_cast<int>(p.attachPoints);
    out.attached(attachPoints);
    return kExitOk;
  }

  // Said at once, not at exit: a run may last long.
  void warn(SourceRange where, const std::string& message, const std::string& hint) {
    std::cerr << renderDiagnostic(diags.file(), Diagnostic{Severity::Warning, where, message, hint, {}}, false);
  }

  // An XDP program on its interface through a bpf_link: a killed dptrace
  // leaves nothing attached. auto tries the driver's (native) mode first.
  int attachXdp(bpf_program* prog, const ProgramInfo& p) {
    const ast::AttachPoint& ap = p.attach;
    auto index = options.interfaces.find(ap.target);
    if (index == options.interfaces.end())
      return fail(ap.range, "internal error: interface '" + ap.target + "' was not resolved", "", kExitSystem);
    auto link = [&](uint32_t flags) {
      bpf_link_create_opts lo{};
      lo.sz = sizeof lo;
      lo.flags = flags;
      return bpf_link_create(bpf_program__fd(prog), static_cast<int>(index->second), BPF_XDP, &lo);
    };
    bool generic = options.xdpMode == "generic";
    int fd = link(generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
    int e = fd < 0 ? errno : 0;
    if (fd < 0 && options.xdpMode == "auto" && (e == EOPNOTSUPP || e == EINVAL)) {
      fd = link(XDP_FLAGS_SKB_MODE);
      e = fd < 0 ? errno : 0;
      if (fd >= 0)
        std::cerr << "dptrace: " << ap.target << " has no native XDP support: attached in generic mode\n";
      generic = true;
    }
    if (fd < 0) {
      std::string hint;
      if (e == EBUSY || e == EEXIST)
        hint = "another XDP program is attached to " + ap.target + ": remove it with 'ip link set dev " + ap.target +
               " xdp off' (or xdp-loader unload " + ap.target + " --all)";
      else if (e == EOPNOTSUPP || e == EINVAL)
        hint = ap.target + " has no native XDP support: use --xdp-mode generic (or auto)";
      return fail(ap.range, "cannot attach XDP to '" + ap.target + "': " + std::strerror(e), hint,
                  e == EPERM ? kExitSystem : kExitScript);
    }
    if (options.verbose)
      std::cerr << "dptrace: " << p.function << " attached to " << ap.target << " (ifindex " << index->second << ", "
                << (generic ? "generic" : "native") << " mode, bpf_link fd " << fd << ")\n";
    linkFds.push_back(fd);
    // tx() and redirect() into a veth: its peer must run NAPI, or every frame is lost silently.
    if (p.transmits)
      if (auto peer = peerRefusingXdpFrames(ap.target, true))
        warn(ap.range, "tx() on " + ap.target + " sends frames to its veth peer " + *peer +
                           ", which has no XDP program: they are dropped, or wait for other traffic to wake it",
             "attach any XDP program to " + *peer + " in native mode, e.g. 'ip link set dev " + *peer +
                 " xdpdrv obj pass.o sec xdp' (GRO alone does not wake it for tx())");
    for (const std::string& to : p.redirects)
      if (auto peer = peerRefusingXdpFrames(to, false))
        warn(ap.range, "redirect(\"" + to + "\") sends frames to " + to + "'s veth peer " + *peer +
                           ", which cannot take XDP frames: every one would be dropped silently",
             "give " + *peer + " NAPI: 'ethtool -K " + *peer + " gro on', or attach an XDP program to it");
    return kExitOk;
  }

  void runOnce(ProbeKind kind) {
    for (const ProgramInfo& p : script.programs) {
      if (p.attach.kind != kind) continue;
      bpf_program* prog = bpf_object__find_program_by_name(obj, p.function.c_str());
      bpf_test_run_opts opts{};
      opts.sz = sizeof opts;
      if (prog && bpf_prog_test_run_opts(bpf_program__fd(prog), &opts) != 0)
        diags.warning(p.attach.range, std::string("running '") + probeKindName(kind) + "' failed: " + std::strerror(errno));
    }
  }

  void loop() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    int sfd = signalfd(-1, &signals, SFD_CLOEXEC);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = sfd;
    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
    ev.data.fd = ring_buffer__epoll_fd(rb);
    epoll_ctl(epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(rb), &ev);
    if (pidfd >= 0) {
      ev.data.fd = pidfd;
      epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &ev);
    }
    ring_buffer__consume(rb);
    while (!exitRequested) {
      epoll_event ready[3];
      // Records below a batch do not wake us (codegen/lower_statements.cpp):
      // drain every 10 ms.
      int n = epoll_wait(epfd, ready, 3, kDrainMs);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      bool signalled = false;
      for (int i = 0; i < n; ++i) signalled |= ready[i].data.fd == sfd || ready[i].data.fd == pidfd;
      ring_buffer__consume(rb);
      if (signalled) break;
    }
    close(epfd);
    close(sfd);
  }

  void finish() {
    detach();
    if (child > 0) waitpid(child, nullptr, 0), child = -1;
    runOnce(ProbeKind::End);
    ring_buffer__consume(rb);
    out.beginExitMaps();
    std::map<std::string, MapSnapshot> byName;
    for (const MapLayout& l : script.maps) {
      int fd = mapFd(l.symbol);
      if (fd >= 0) byName[l.name] = readMap(fd, l);
    }
    if (options.pcap) {  // @verdict: what the xdp blocks did with the capture's packets
      MapSnapshot& verdicts = byName["verdict"];
      verdicts.name = "verdict";
      for (const auto& [name, n] : replay.verdicts) verdicts.entries.push_back({{Value::str(name)}, Value::uint(n)});
    }
    for (const auto& [name, snap] : byName)
      if (!snap.entries.empty()) out.map(snap);
    if (replay.skipped)
      std::cerr << "dptrace: " << replay.skipped << " frame" << (replay.skipped == 1 ? "" : "s")
                << " of the capture skipped: shorter than an Ethernet header (14 bytes)\n";
    if (replay.truncated)
      std::cerr << "dptrace: " << replay.truncated << " frame" << (replay.truncated == 1 ? "" : "s")
                << " of the capture run truncated to " << kPcapMaxFrame
                << " bytes: the kernel runs no more of a frame for a program without frags\n";
    int lost = mapFd(script.lostMap);
    if (uint64_t n = lost >= 0 ? readCounter(lost, 0) : 0)
      std::cerr << "dptrace: " << n << " event" << (n == 1 ? "" : "s")
                << " lost: the ring buffer was full (printf, exit, print)\n";
    int refused = mapFd(script.refusedMap);
    for (size_t i = 0; refused >= 0 && i < script.maps.size(); ++i)
      if (uint64_t n = readCounter(refused, static_cast<uint32_t>(i)))
        std::cerr << "dptrace: @" << script.maps[i].name << ": " << n << " update" << (n == 1 ? "" : "s")
                  << " refused: the map is full (raise --map-size)\n";
  }

  // --pcap: the capture's packets through the xdp program, the ring buffer
  // drained after each; exit() ends the replay.
  int replayCapture() {
    const ProgramInfo* xdp = nullptr;
    for (const ProgramInfo& p : script.programs)
      if (p.attach.kind == ProbeKind::Xdp) xdp = &p;
    if (!xdp) return fail({0, 0}, "--pcap needs an xdp block to run the packets through", "for example: xdp:any { @len = hist(pkt.len); }", kExitScript);
    bpf_program* prog = bpf_object__find_program_by_name(obj, xdp->function.c_str());
    std::string error;
    auto afterPacket = [&] {
      ring_buffer__consume(rb);
      return !exitRequested;
    };
    if (!replayPcap(bpf_program__fd(prog), *options.pcap, options.pcapOut, afterPacket, replay, error))
      return fail({0, 0}, error, "", kExitScript);
    return kExitOk;
  }

  // -c: a child that waits, before exec, until the probes are attached.
  int startCommand(const std::string& command) {
    std::vector<std::string> words;
    std::istringstream split(command);
    for (std::string w; split >> w;) words.push_back(w);
    if (words.empty()) return fail({0, 0}, "-c needs a command to run", "for example: -c './upf --no-huge'", kExitScript);
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) != 0) return fail({0, 0}, std::string("cannot start the command: ") + std::strerror(errno), "", kExitSystem);
    child = fork();
    if (child < 0) return fail({0, 0}, std::string("cannot start the command: ") + std::strerror(errno), "", kExitSystem);
    if (child == 0) {
      close(gate[1]);
      char byte;
      while (read(gate[0], &byte, 1) > 0) {
      }
      std::vector<char*> argv;
      for (std::string& w : words) argv.push_back(w.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      std::fprintf(stderr, "dptrace: error: cannot run '%s': %s\n", argv[0], std::strerror(errno));
      _exit(127);
    }
    close(gate[0]);
    releaseChild = gate[1];
    targetPid = child;
    return kExitOk;
  }

  int watchTarget() {
    if (targetPid < 0) return kExitOk;
    pidfd = static_cast<int>(syscall(SYS_pidfd_open, targetPid, 0));
    if (pidfd < 0)
      return fail({0, 0}, "no process " + std::to_string(targetPid) + " to trace (" + std::strerror(errno) + ")",
                  "-p takes the id of a running process", kExitScript);
    return kExitOk;
  }

  int run() {
    if (options.pid) targetPid = *options.pid;
    if (options.command)
      if (int s = startCommand(*options.command)) return s;
    if (int s = watchTarget()) return s;
    if (int s = load()) return s;
    rb = ring_buffer__new(mapFd(script.eventsMap), onEvent, this, nullptr);
    if (!rb) return fail({0, 0}, "cannot read the ring buffer: " + std::string(std::strerror(errno)), "", kExitSystem);
    if (int s = attach()) return s;
    runOnce(ProbeKind::Begin);
    if (releaseChild >= 0) {
      close(releaseChild);
      releaseChild = -1;
    }
    if (options.pcap) {
      if (int s = replayCapture()) return s;
    } else {
      loop();
    }
    finish();
    return kExitOk;
  }
};

}  // namespace

int runScript(const CompiledScript& script, const RunOptions& options, Output& out, Diagnostics& diags) {
  Run run(script, options, out, diags);
  return run.run();
}

}  // namespace dptrace
