#include "runner.h"
#include "verifier_log.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <poll.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <ctime>
#include <iostream>
#include <map>
#include <set>

#include "afxdp_run.h"
#include "attach.h"
#include "child_process.h"
#include "decode.h"
#include "fastpath_attach.h"
#include "map_reader.h"
#include "output/map_order.h"
#include "capture_file.h"
#include "pcap_replay.h"
#include "pinned_maps.h"
#include "xdp_features.h"
#include "symbolize.h"
#include "target_watch.h"
#include "uprobe_multi.h"

namespace dptrace {
namespace {

// How often the event loop drains the ring buffer when no batch woke it.
constexpr int kDrainMs = 10;
// --export: how long the records left at exit may take to leave.
constexpr std::chrono::milliseconds kExportFlush{5000};

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

// The log without the lines that hold `text`.
std::string withoutLines(const std::string& log, std::string_view text) {
  std::string kept;
  for (size_t from = 0; from < log.size();) {
    size_t end = log.find('\n', from);
    end = end == std::string::npos ? log.size() : end + 1;
    std::string_view line(log.data() + from, end - from);
    if (line.find(text) == std::string_view::npos) kept += line;
    from = end;
  }
  return kept;
}

uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}


// The verifier's time, bounded: it returns EAGAIN when a signal is pending,
// so a timer that fires after `seconds` (and then every 10 ms, for libbpf's
// retries of EAGAIN) stops a verification that would run for minutes.
class VerifierDeadline {
public:
  explicit VerifierDeadline(int seconds) {
    fired_ = 0;
    struct sigaction sa {};
    sa.sa_handler = [](int) { fired_ = 1; };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &previous_);  // no SA_RESTART: the bpf() call is interrupted
    itimerval timer{};
    timer.it_value.tv_sec = seconds;
    timer.it_interval.tv_usec = 10000;
    setitimer(ITIMER_REAL, &timer, nullptr);
  }
  ~VerifierDeadline() {
    itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    sigaction(SIGALRM, &previous_, nullptr);
  }
  bool passed() const { return fired_ != 0; }

private:
  static inline volatile sig_atomic_t fired_ = 0;
  struct sigaction previous_ {};
};

int verifierSeconds() {
  const char* env = std::getenv("DPTRACE_VERIFIER_SECONDS");
  long s = env ? std::strtol(env, nullptr, 10) : 0;
  return s > 0 && s < 3600 ? static_cast<int>(s) : 10;
}


struct Run {
  // `out_` the run's output (with --export, a tee into the export too),
  // `local` the run's own output alone.
  Run(const CompiledScript& s, const RunOptions& o, Output& out_, Output& local, Diagnostics& d, Exporter* e)
      : script(s), options(o), out(out_), localOut(local), diags(d), exporter(e), fastPath(s, out_, links) {}

  const CompiledScript& script;
  const RunOptions& options;
  Output& out;
  Output& localOut;     // the run's own output: with --export, `out` is it and the export
  Diagnostics& diags;
  Exporter* exporter;   // --export: fed by `out`, driven by the loop
  bpf_object* obj = nullptr;
  ring_buffer* rb = nullptr;
  Links links;
  std::vector<AttachedInterface> xdpInterfaces;  // watched while the run goes on
  BinaryWatch binaries;                          // the uprobes' binaries, likewise
  ChildProcess child;   // -c: released after attaching, stopped on every way out
  bool uprobeMulti = true;  // uprobes through uprobe_multi links (off if the kernel has none)
  bool exitRequested = false;
  int targetPid = -1;   // -p or -c: uprobes of this process only; -1 for all
  int pidfd = -1;       // readable when the target process has exited
  PcapReplay replay;    // --pcap
  CaptureFile captureFile;  // --capture: capture()'s frames
  std::map<std::string, bpf_map*> mapsBySymbol;  // as named in the object, before loading
  PinPlan pinPlan;                               // --pin
  std::unique_ptr<MetricsServer> metrics;        // --metrics
  uint64_t metricsServed = 0;                    // monotonic ns of the last run of its timeouts
  uint64_t devMapRefreshed = 0;                  // monotonic ns
  XdpFeatureEvents interfaceEvents;              // the device map's changes, as the kernel announces them
  bool devMapFullSaid = false;
  AfxdpRun afxdp;       // afxdp bodies: host code, user-space maps, sockets
  uint64_t startNs = 0; // the run's start (elapsed), in the kernel's monotonic clock
  std::map<size_t, ZeroedKeys> zeroed;  // per array map: the entries zero() kept printing
  FastPathAttach fastPath;  // DPDK burst probes through rte_eth_fp_ops, followed on a timer
  int status = kRunOk;      // an error the loop ended on

  ~Run() {
    if (pidfd >= 0) close(pidfd);
    links.closeAll();
    if (rb) ring_buffer__free(rb);
    if (obj) bpf_object__close(obj);
  }

  // By the object's name for it: a map libbpf reused from a pin takes the
  // pinned map's kernel name, which another script may have given it.
  int mapFd(const std::string& symbol) {
    auto known = mapsBySymbol.find(symbol);
    return known != mapsBySymbol.end() ? bpf_map__fd(known->second) : -1;
  }

  void rememberMaps() {
    mapsBySymbol.clear();
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, obj) mapsBySymbol[bpf_map__name(m)] = m;
  }

  // A map wherever it lives: in the kernel, or in dptrace for afxdp bodies.
  MapAccess access(size_t index) {
    const MapLayout& l = script.maps[index];
    if (l.userSpace) {
      UserMap* m = afxdp.map(index);
      return m ? MapAccess::user(*m) : MapAccess{};
    }
    return MapAccess::kernel(mapFd(l.symbol));
  }

  static void onHostEvent(void* self, const uint8_t* data, size_t size) { static_cast<Run*>(self)->event(data, size); }

  int fail(SourceRange where, const std::string& message, const std::string& hint, int code) {
    if (where.begin == 0 && where.end == 0) diags.errorUnlocated(message, hint);  // about the run, not a line
    else diags.error(where, message, hint);
    return code;
  }

  // A drain of the run loop stops after kDrainBatch records (--export: its
  // batch) or about 100 ms, so that a scrape, a signal, the end of -c's command or exit()
  // is seen between batches even when records never stop coming (a probe
  // on the syscalls dptrace makes to print them); libbpf has consumed the
  // record the callback stops at. The drains after the probes are detached
  // are whole.
  static constexpr uint64_t kDrainBatch = 65536;
  static int onEvent(void* self, void* data, size_t size) {
    auto* run = static_cast<Run*>(self);
    if (run->countOnly) {
      ++run->unprinted;
      return 0;
    }
    run->event(static_cast<const uint8_t*>(data), size);
    if (run->drainBudget && --run->drainBudget == 0) return -EAGAIN;
    // A record may cost much (print() of a 65,536-slot map): the clock too.
    if (run->drainBudget % 8 == 0 && run->drainDeadline) {
      uint64_t now = monotonicNs();
      if (now > run->drainDeadline) return -EAGAIN;
      if (run->exitDraining) {
        if (endingSignalPending()) return -EAGAIN;
        if (!run->exitSlowSaid && now > run->exitDrainStart + kExitSlowNs) {
          run->exitSlowSaid = true;
          run->notice("exit_printing", "printing what the probes left before they were detached (Ctrl-C again to stop)",
                      {});
        }
      }
    }
    return 0;
  }
  uint64_t drainBudget = 0;    // records left in a bounded drain; 0: unbounded
  uint64_t drainDeadline = 0;  // and the time it ends at (monotonicNs), if bounded
  static constexpr uint64_t kDrainNs = 100'000'000;
  // Drains at most `budget` records, for at most about `ns`; true if more wait.
  bool drainBounded(uint64_t budget, uint64_t ns = kDrainNs) {
    drainBudget = budget;
    drainDeadline = monotonicNs() + ns;
    bool more = ring_buffer__consume(rb) == -EAGAIN;
    drainBudget = 0;
    drainDeadline = 0;
    return more;
  }
  // At exit, the probes detached: what they left is printed, all of it, as
  // bpftrace does (a slow reader of the output only makes it slower). It can
  // be much (a print() of a large map on every context switch that printing
  // makes): after 2 s a notice says what goes on, and a second Ctrl-C (or
  // SIGTERM) stops it; what is left then is counted.
  static constexpr uint64_t kExitSlowNs = 2'000'000'000;
  bool countOnly = false;
  uint64_t unprinted = 0;
  bool exitDraining = false, exitSlowSaid = false;
  uint64_t exitDrainStart = 0;
  void drainAtExit() {
    exitDraining = true;
    exitDrainStart = monotonicNs();
    if (drainBounded(UINT64_MAX, UINT64_MAX / 4)) {  // no deadline: the clock only for the notice
      countOnly = true;
      ring_buffer__consume(rb);
      countOnly = false;
    }
    exitDraining = false;
  }
  // A Ctrl-C (or SIGTERM) waits: while the exit prints, it cuts that short.
  static bool endingSignalPending() {
    sigset_t pending;
    sigpending(&pending);
    return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM);
  }

  // The text of a printf-shaped record (printf, cat, system): its site's
  // format applied to the values after the header; none if it is cut short.
  std::optional<std::string> formatted(uint64_t index, const uint8_t* data, size_t size) {
    if (index >= script.printfs.size()) return std::nullopt;
    const PrintfLayout& p = script.printfs[index];
    std::vector<Value> args;
    size_t off = 16;
    for (const Type& t : p.args) {
      if (off + slotSize(t) > size) return std::nullopt;
      args.push_back(decodeSlot(t, data + off));
      off += slotSize(t);
    }
    return formatPrintf(p.format, args);
  }

  void event(const uint8_t* data, size_t size) {
    if (size < 16) return;
    uint64_t kind = 0, index = 0;
    std::memcpy(&kind, data, 8);
    std::memcpy(&index, data + 8, 8);
    switch (static_cast<EventKind>(kind)) {
      case EventKind::Printf: {
        if (auto text = formatted(index, data, size)) out.printf(*text);
        return;
      }
      case EventKind::Emit: {
        if (index >= script.printfs.size()) return;
        const PrintfLayout& p = script.printfs[index];
        std::vector<std::pair<std::string, Value>> fields;
        size_t off = 16;
        for (size_t i = 0; i < p.args.size() && i < p.names.size(); ++i) {
          if (off + slotSize(p.args[i]) > size) return;
          fields.emplace_back(p.names[i], decodeSlot(p.args[i], data + off));
          off += slotSize(p.args[i]);
        }
        out.event(p.format, fields);
        return;
      }
      case EventKind::Value: {  // print(x) of a value
        if (index >= script.printfs.size() || script.printfs[index].args.size() != 1) return;
        const Type& t = script.printfs[index].args[0];
        if (16 + slotSize(t) > size) return;
        out.value(decodeSlot(t, data + 16));
        return;
      }
      case EventKind::HelperError: {  // -k/-kk: a helper call failed
        if (index >= script.helperErrors.size() || size < 24) return;
        int64_t ret = 0;
        std::memcpy(&ret, data + 16, 8);
        helperFailed(script.helperErrors[index], ret);
        return;
      }
      case EventKind::Cat:
      case EventKind::System: {
        std::optional<std::string> what = formatted(index, data, size);
        if (!what) return;
        if (static_cast<EventKind>(kind) == EventKind::Cat) return catFile(*what);
        return runCommand(*what);  // JSON: "syscall", as bpftrace 0.17 calls system()'s output
      }
      case EventKind::Join: {  // up to kJoinArgs strings; the first empty one ends them
        if (index >= script.printfs.size()) return;
        std::string joined;
        for (uint32_t i = 0; i < kJoinArgs && 16 + size_t{i + 1} * kJoinArgSize <= size; ++i) {
          const char* arg = reinterpret_cast<const char*>(data + 16 + size_t{i} * kJoinArgSize);
          size_t length = strnlen(arg, kJoinArgSize);
          if (length == 0) break;
          if (i) joined += script.printfs[index].format;
          joined.append(arg, length);
        }
        out.join(joined);
        return;
      }
      case EventKind::Capture: captureFile.write(data, size); return;
      case EventKind::Exit: exitRequested = true; return;
      case EventKind::Time: {
        if (index >= script.timeFormats.size()) return;
        time_t now = time(nullptr);
        tm local{};
        localtime_r(&now, &local);
        char buf[256];
        size_t n = strftime(buf, sizeof buf, script.timeFormats[index].c_str(), &local);
        out.time(std::string(buf, n));
        return;
      }
      case EventKind::Clear:
      case EventKind::Zero:
      case EventKind::Print: {
        if (index >= script.maps.size()) return;
        const MapLayout& l = script.maps[index];
        MapAccess m = access(index);
        if (!m.valid()) return;
        if (kind == static_cast<uint64_t>(EventKind::Clear)) clearMap(m, l), zeroed.erase(index);
        else if (kind == static_cast<uint64_t>(EventKind::Zero)) zeroMap(m, l, &zeroed[index]);
        else {
          MapSnapshot snapshot = readMap(m, l, zeroed[index]);
          if (size >= 24) {  // print(@m, top[, div]): their slots follow the header
            uint64_t top = 0, div = 1;
            std::memcpy(&top, data + 16, 8);
            if (size >= 32) std::memcpy(&div, data + 24, 8);
            keepTop(snapshot, top, div == 0 ? 1 : div);
          }
          out.map(snapshot);
        }
        return;
      }
    }
  }

  // -k/-kk: a located warning for a failed helper call, with bpftrace's words.
  void helperFailed(const HelperErrorSite& site, int64_t ret) {
    static const std::map<int64_t, const char*> kNames = {
        {2, "map_update_elem"}, {3, "map_delete_elem"}, {27, "get_stackid"}, {109, "send_signal"},
        {112, "probe_read_user"}, {113, "probe_read_kernel"}, {114, "probe_read_user_str"}, {115, "probe_read_kernel_str"}};
    auto name = kNames.find(site.helper);
    std::string helper = name == kNames.end() ? "helper " + std::to_string(site.helper) : name->second;
    // bpftrace 0.17's words: "Failed to map_delete_elem: No such file or directory (-2)"
    std::string message = "Failed to " + helper + ": " + std::strerror(static_cast<int>(-ret)) + " (" + std::to_string(ret) + ")";
    std::string hint;
    Notice n;
    n.type = "helper_error";
    n.text = renderDiagnostic(diags.file(), Diagnostic{Severity::Warning, site.where, message, hint, {}}, false);
    LineColumn at = diags.file().lineColumn(site.where.begin);
    n.data = {{"helper", Value::str(helper)}, {"retcode", Value::sint(ret)}, {"message", Value::str(message)},
              {"location", Value::str(diags.file().name() + ":" + std::to_string(at.line) + ":" + std::to_string(at.column))}};
    out.notice(n);
  }

  // cat(): at most BPFTRACE_CAT_BYTES_MAX (10240) bytes of the file, as bpftrace.
  void catFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      notice("cat_error", "cat(): cannot open '" + path + "': " + std::strerror(errno),
             {{"file", Value::str(path)}, {"error", Value::str(std::strerror(errno))}});
      return;
    }
    std::string text(options.catBytes, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    out.raw("cat", text);
  }

  // system() (with --unsafe): the command through /bin/sh, its output as it is.
  void runCommand(const std::string& command) {
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) {
      notice("system_error", "system(): cannot run '" + command + "': " + std::strerror(errno),
             {{"command", Value::str(command)}});
      return;
    }
    std::string text;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
    pclose(pipe);
    out.raw("syscall", text);
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

  // Where a refusal about a loop points: the innermost loop around the line
  // the verifier reached last, else the program's first loop.
  SourceRange loopAt(const ProgramInfo& p, SourceRange reached) {
    if (p.loops.empty()) return reached;
    const SourceFile& file = diags.file();
    uint32_t line = file.lineColumn(reached.begin).line;
    const SourceRange* best = nullptr;
    for (const SourceRange& loop : p.loops)
      if (file.lineColumn(loop.begin).line <= line && line <= file.lineColumn(loop.end).line &&
          (!best || loop.begin >= best->begin))
        best = &loop;
    return best ? *best : p.loops.front();
  }

  // BPFTRACE_PERF_RB_PAGES: the event ring's size, set before the maps are made.
  void sizeEventBuffer() {
    if (!options.eventBytes) return;
    if (bpf_map* events = bpf_object__find_map_by_name(obj, script.eventsMap.c_str()))
      bpf_map__set_max_entries(events, *options.eventBytes);
  }

  // --metrics: every map as it is now, summed over CPUs, for one scrape.
  std::string metricsText() {
    std::vector<MetricsSource> sources;
    std::vector<std::pair<std::string, uint64_t>> refusedUpdates;
    int refused = mapFd(script.refusedMap);
    for (size_t i = 0; i < script.maps.size(); ++i) {
      MapAccess m = access(i);
      if (!m.valid()) continue;
      sources.push_back({&script.maps[i], readMap(m, script.maps[i], zeroed[i])});
      uint64_t n = (refused >= 0 ? readCounter(MapAccess::kernel(refused), static_cast<uint32_t>(i)) : 0) + afxdp.refused(i);
      refusedUpdates.push_back({"@" + script.maps[i].name, n});
    }
    int lost = mapFd(script.lostMap);
    uint64_t lostEvents = (lost >= 0 ? readCounter(MapAccess::kernel(lost), 0) : 0) + afxdp.lost();
    // afxdp scripts: each socket's counters, as the AF_XDP report at exit gives them.
    std::vector<CounterFamily> sockets;
    for (const AfxdpRun::SocketCounters& socket : afxdp.socketCounters())
      for (size_t k = 0; k < socket.values.size(); ++k) {
        if (sockets.size() <= k) {
          std::string kind = socket.values[k].first;
          sockets.push_back({"dptrace_afxdp_" + kind + "_total", "AF_XDP socket " + kind + " (as the AF_XDP report names it)", {}});
        }
        sockets[k].samples.push_back(
            {{{"interface", socket.interface}, {"queue", std::to_string(socket.queue)}}, socket.values[k].second});
      }
    return renderMetrics(sources, lostEvents, refusedUpdates, sockets);
  }

  // redirect(ifindex) and fib_lookup(): the device map holds the interfaces
  // that can take redirected frames now (ndo_xdp_xmit: a veth only while its
  // peer runs NAPI), refreshed when the kernel announces a change and every
  // second; every interface where the kernel cannot tell (before 6.3). A
  // frame sent elsewhere would be lost.
  void refreshDeviceMap() {
    int fd = mapFd(kDevMap);
    if (fd < 0) return;
    devMapRefreshed = monotonicNs();
    auto features = xdpFeatures();
    std::set<uint32_t> wanted;
    struct if_nameindex* all = if_nameindex();
    size_t n = 0;
    for (struct if_nameindex* i = all; i && i->if_index != 0; ++i) {
      uint32_t index = i->if_index;
      if (features) {
        auto f = features->find(index);
        if (f == features->end() || !(f->second & kXdpActNdoXmit)) continue;
      }
      if (++n <= kDevMapEntries) wanted.insert(index);
    }
    if (all) if_freenameindex(all);
    uint32_t key = 0, next = 0;
    std::vector<uint32_t> stale;
    for (uint32_t* at = nullptr; bpf_map_get_next_key(fd, at, &next) == 0; at = &key) {
      key = next;
      if (!wanted.count(key)) stale.push_back(key);
    }
    for (uint32_t k : stale) bpf_map_delete_elem(fd, &k);
    for (uint32_t index : wanted) bpf_map_update_elem(fd, &index, &index, BPF_ANY);
    if (n > kDevMapEntries && !devMapFullSaid) {
      devMapFullSaid = true;
      notice("devmap_full", "only " + std::to_string(kDevMapEntries) + " of the host's " + std::to_string(n) +
                                " interfaces are in redirect()'s device map: frames to the others are passed to the stack",
             {{"interfaces", Value::uint(n)}});
    }
  }

  // --pin DIR: the directory made if need be, the maps' pin paths set (or a refusal).
  int pinMaps() {
    if (!options.pin) return kRunOk;
    pinPlan = PinPlan{};
    if (auto refusal = preparePins(script, *options.pin, mapsBySymbol, pinPlan))
      return fail({0, 0}, refusal->message, refusal->hint, kRunScript);
    return kRunOk;
  }

  void pinNotices() {
    if (!options.pin) return;
    for (const MapLayout& l : script.maps)
      if (l.userSpace)
        notice("pin_skipped", "@" + l.name + " is written by an afxdp body, in dptrace's own memory: --pin does not pin it",
               {{"map", Value::str("@" + l.name)}});
    for (const auto& [l, why] : pinPlan.skipped)
      notice("pin_skipped", "@" + l->name + " is not pinned: " + why, {{"map", Value::str("@" + l->name)}});
  }

  int load() {
    // A module probe needs the module: say so before libbpf and the verifier do.
    for (const ProgramInfo& p : script.programs)
      if (isBtfProbe(p.attach.kind) && !p.attach.target.empty() &&
          ::access(("/sys/kernel/btf/" + p.attach.target).c_str(), F_OK) != 0)
        return fail(p.attach.range,
                    "module " + p.attach.target + " is not loaded on this kernel (/sys/kernel/btf/" + p.attach.target +
                        " is missing): '" + p.attach.raw + "' has nothing to attach to",
                    "load the module first; --emit obj -o FILE writes the object for a host that has it", kRunScript);
    libbpfLog().clear();
    libbpf_set_print(captureLibbpf);
    bpf_object_open_opts opts{};
    opts.sz = sizeof opts;
    opts.object_name = "dptrace";
    obj = bpf_object__open_mem(script.object.data(), script.object.size(), &opts);
    if (!obj) return fail({0, 0}, "cannot open the BPF object: " + libbpfLog(), "", kRunSystem);
    sizeEventBuffer();
    rememberMaps();
    if (int s = pinMaps()) return s;
    // Uprobe programs as uprobe_multi programs: their links close in a fraction of a perf-event link's ~100 ms.
    bool anyUprobe = false;
    if (const char* links = std::getenv("DPTRACE_UPROBE_LINKS"); links && std::string(links) == "perf") uprobeMulti = false;
    for (const ProgramInfo& p : script.programs)
      if (uprobeMulti && isUserProbe(p.attach.kind))
        if (bpf_program* prog = bpf_object__find_program_by_name(obj, p.function.c_str())) {
          bpf_program__set_expected_attach_type(prog, static_cast<bpf_attach_type>(kAttachUprobeMulti));
          anyUprobe = true;
        }
    VerifierDeadline deadline(verifierSeconds());
    int err = bpf_object__load(obj);
    if (err == -EINVAL && anyUprobe && !deadline.passed()) {  // a kernel before 6.6: perf-event uprobes
      bpf_object__close(obj);
      uprobeMulti = false;
      libbpfLog().clear();
      obj = bpf_object__open_mem(script.object.data(), script.object.size(), &opts);
      if (!obj) return fail({0, 0}, "cannot open the BPF object: " + libbpfLog(), "", kRunSystem);
      sizeEventBuffer();
      rememberMaps();
      if (int s = pinMaps()) return s;
      err = bpf_object__load(obj);
    }
    if (err == 0 && options.pin) {
      if (auto refusal = recordLayouts(pinPlan, [&](const std::string& symbol) { return mapFd(symbol); }))
        return fail({0, 0}, refusal->message, refusal->hint, kRunSystem);
      pinNotices();
    }
    if (err == 0) return kRunOk;
    if (deadline.passed()) {
      std::string why = "the kernel's verifier was still at it after " + std::to_string(verifierSeconds()) +
                        " s and was stopped: a loop it cannot bound, or one with a very large limit";
      std::string hint = "give 'while' a smaller constant limit, e.g. while ($i < n && $i < 32); "
                         "DPTRACE_VERIFIER_SECONDS=N gives it longer";
      for (const ProgramInfo& p : script.programs)
        if (!p.loops.empty()) return fail(p.loops.front(), why, hint, kRunScript);
      return fail({0, 0}, why, hint, kRunScript);
    }
    std::string log = libbpfLog();
    // libbpf blames 'ulimit -l' for any EPERM; since 5.11 BPF memory is not counted there.
    log = withoutLines(log, "try raising 'ulimit -l'");
    if (options.verbose) std::cerr << log;
    // EACCES is how the verifier refuses a program; EPERM is privileges --
    // or, for root, a kernel that refuses BPF trampolines (fentry/fexit).
    if (err == -EPERM && geteuid() == 0)
      for (const ProgramInfo& p : script.programs)
        if (kKernelFunctionProbes.contains(p.attach.kind) && log.find("prog '" + p.function + "'") != std::string::npos)
          return fail(p.attach.range,
                      "this kernel refuses " + std::string(probeKindName(p.attach.kind)) +
                          " programs: they need BPF trampolines, which it does not offer to anyone, root included",
                      "a missing kernel feature, not a missing privilege: rawtracepoint:NAME probes read the same "
                      "kernel types here, and --emit obj -o FILE writes the object for a kernel that runs them",
                      kRunScript);
    if (err == -EPERM)
      return fail({0, 0}, "the kernel does not allow this process to load BPF programs",
                  "run dptrace as root (or with CAP_BPF and CAP_PERFMON)", kRunSystem);
    // Name the probe whose program was refused, at the line the verifier
    // reached last (its log repeats the BTF line info: "; ... @ FILE:LINE").
    for (const ProgramInfo& p : script.programs)
      if (log.find("prog '" + p.function + "'") != std::string::npos) {
        SourceRange at = refusedAt(log, p.attach.range);
        if (isLoopRefusal(log)) at = loopAt(p, at);
        return fail(at, "the kernel refused the program of '" + p.attach.raw + "'", explainRefusal(log), kRunScript);
      }
    return fail({0, 0}, "the kernel refused to load the BPF object (" + std::string(std::strerror(-err)) + ")",
                explainRefusal(log), kRunScript);
  }

  int attach() {
    setStrftimeFormats(&script.timeFormats);  // strftime() values name their format by index
    setStackMaps([this](const std::string& name) { return mapFd(name); });  // kstack/ustack values are ids in them
    int start = mapFd(script.startMap);
    uint32_t zero = 0;
    if (start >= 0) bpf_map_update_elem(start, &zero, &startNs, BPF_ANY);
    if (uint32_t one = 1; start >= 0 && child.started()) {
      uint64_t cpid = static_cast<uint64_t>(child.pid());
      bpf_map_update_elem(start, &one, &cpid, BPF_ANY);
    }
    std::map<std::string, BinaryWatch::Identity> probed;  // the files the uprobes go into, as they are now
    for (const ProgramInfo& p : script.programs)
      if (!p.binary.empty() && !probed.count(p.binary)) probed.emplace(p.binary, BinaryWatch::identify(p.binary));
    AttachContext ctx{options, diags, out, links, targetPid, uprobeMulti, {}, {}, 0};
    for (const ProgramInfo& p : script.programs) {
      bpf_program* prog = bpf_object__find_program_by_name(obj, p.function.c_str());
      if (!prog) return fail(p.attach.range, "internal error: program " + p.function + " is missing", "", kRunSystem);
      if (int s = attachProgram(prog, p, ctx)) return s;
    }
    xdpInterfaces = std::move(ctx.interfaces);
    // -p: the DPDK application runs already; -c: it starts later (the loop's timer).
    if (fastPath.wanted() && options.pid)
      if (int s = fastPath.refresh(obj, targetPid, false, diags)) return s;
    if (int s = afxdp.openSockets(obj, out)) return s;  // before "Attaching": every frame from then on is served
    int attachPoints = 0;
    for (const ProgramInfo& p : script.programs) attachPoints += static_cast<int>(p.attachPoints);
    attachPoints -= ctx.leftOut;
    if (!options.quiet) out.attached(attachPoints);
    // Watched from here on, after the Attaching line, against what the probes were attached to.
    for (const ProgramInfo& p : script.programs)
      if (!p.binary.empty()) binaries.add(p.binary, probed[p.binary]);
    return kRunOk;
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

  // Every map of the script, by name (at exit, and on SIGUSR1).
  void printMaps() {
    std::map<std::string, MapSnapshot> byName;
    for (size_t i = 0; i < script.maps.size(); ++i) {
      MapAccess m = access(i);
      if (m.valid()) byName[script.maps[i].name] = readMap(m, script.maps[i], zeroed[i]);
    }
    if (options.pcap) {  // @verdict: what the xdp blocks did with the capture's packets
      MapSnapshot& verdicts = byName["verdict"];
      verdicts.name = "verdict";
      for (const auto& [name, n] : replay.verdicts) verdicts.entries.push_back({{Value::str(name)}, Value::uint(n)});
    }
    for (const auto& [name, snap] : byName) out.map(snap);  // empty ones too, as bpftrace prints them
  }

  // The run loop: the ring buffer, SIGINT/SIGTERM (SIGUSR1 prints the maps),
  // and the target process.
  void loop() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1);
    int sfd = signalfd(-1, &signals, SFD_CLOEXEC);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = sfd;
    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
    ev.data.fd = ring_buffer__epoll_fd(rb);
    epoll_ctl(epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(rb), &ev);
    if (binaries.fd() >= 0) {
      ev.data.fd = binaries.fd();
      epoll_ctl(epfd, EPOLL_CTL_ADD, binaries.fd(), &ev);
    }
    int linkFd = mapFd(kDevMap) >= 0 && interfaceEvents.open() ? interfaceEvents.fd() : -1;
    if (linkFd >= 0) {
      ev.data.fd = linkFd;
      epoll_ctl(epfd, EPOLL_CTL_ADD, linkFd, &ev);
    }
    int httpFd = metrics ? metrics->epollFd() : -1;
    if (httpFd >= 0) {
      ev.data.fd = httpFd;
      epoll_ctl(epfd, EPOLL_CTL_ADD, httpFd, &ev);
    }
    if (pidfd >= 0) {
      ev.data.fd = pidfd;
      epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &ev);
    }
    int exportFd = exporter ? exporter->epollFd() : -1;
    if (exportFd >= 0) {
      ev.data.fd = exportFd;
      epoll_ctl(epfd, EPOLL_CTL_ADD, exportFd, &ev);
    }
    // DPDK burst probes: rte_eth_fp_ops read again as the process starts or changes ports.
    int tfd = -1;
    auto arm = [&] {
      itimerspec t{};
      t.it_value.tv_sec = fastPath.period() / 1000;
      t.it_value.tv_nsec = (fastPath.period() % 1000) * 1000000L;
      timerfd_settime(tfd, 0, &t, nullptr);
    };
    if (fastPath.wanted() && targetPid > 0) {
      tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
      ev.data.fd = tfd;
      epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
      arm();
    }
    // AF_XDP sockets are never in the epoll set: a socket's wait-queue entry
    // makes the kernel call into epoll for every frame sent and every batch
    // received (measured: a quarter of the echo rate). While frames keep
    // coming the loop only looks (epoll_wait with no timeout); before it
    // sleeps, one poll() waits for the epoll set and the sockets together,
    // its wait entries there only for that call.
    std::vector<pollfd> sleepOn{{epfd, POLLIN, 0}};
    for (int fd : afxdp.fds()) sleepOn.push_back({fd, POLLIN, 0});
    bool backlog = drainBounded(kDrainBatch);  // the last drain stopped at its bound: records wait
    bool frames = afxdp.active();  // the AF_XDP sockets may have more to do
    // Before each batch: what the kernel blocks printed for its frames first.
    auto drain = [&] { ring_buffer__consume(rb); };
    int exitedFd = mapFd("exited");  // scripts that call exit() (codegen: ModuleLowering::lower)
    while (!exitRequested) {
      epoll_event ready[8];
      // Records below a batch do not wake us (codegen/lower_statements.cpp):
      // drain every 10 ms; at once while frames keep arriving.
      int timeout = frames || backlog ? 0 : kDrainMs;
      if (afxdp.active() && !frames) {
        int woke = poll(sleepOn.data(), sleepOn.size(), kDrainMs);
        timeout = 0;
        if (woke > 0 && !(sleepOn[0].revents & POLLIN)) {  // only frames: nothing for epoll to say
          frames = afxdp.service(drain);
          afxdp.tick(out);
          continue;
        }
      }
      int n = epoll_wait(epfd, ready, 8, timeout);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      bool ended = false;
      bool binariesReady = false;  // inotify has news of a traced binary
      for (int i = 0; i < n; ++i) {
        if (ready[i].data.fd == binaries.fd() && binaries.fd() >= 0) binariesReady = true;
        if (ready[i].data.fd == pidfd) {
          ended = true;
          // It ended by itself; a crash is said (what it printed may not say it).
          if (int status = child.started() ? child.reap() : 0; WIFSIGNALED(status))
            notice("command_killed", "the command was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                                         sigabbrev_np(WTERMSIG(status)) + ")" + (WCOREDUMP(status) ? ", core dumped" : ""),
                   {{"signal", Value::sint(WTERMSIG(status))}});
        }
        if (ready[i].data.fd == sfd) {
          signalfd_siginfo info{};
          if (read(sfd, &info, sizeof info) == sizeof info && info.ssi_signo == SIGUSR1) {
            drainBounded(kDrainBatch);  // what the probes printed before it, first
            printMaps();  // as bpftrace does; the run goes on
          } else {
            ended = true;
          }
        }
        if (ready[i].data.fd == linkFd && linkFd >= 0) {  // an interface came, went or changed: at once
          interfaceEvents.drain();
          refreshDeviceMap();
        }
        if (ready[i].data.fd == httpFd && httpFd >= 0) {  // the maps as they are: no drain first
          metrics->run();
          metricsServed = monotonicNs();
        }
        if (ready[i].data.fd == tfd && tfd >= 0) {
          uint64_t ticks = 0;
          if (read(tfd, &ticks, sizeof ticks) < 0) ticks = 0;
          if ((status = fastPath.refresh(obj, targetPid, options.command.has_value(), diags))) ended = true;
          arm();
        }
      }
      // With a metrics endpoint, a drain is bounded, so that a scrape waits for
      // one batch, not for the whole backlog; the next round goes on at once.
      // With --export, by a batch of its own: the collector gets each batch
      // as it fills, not all of them once the events pause.
      backlog = drainBounded(exporter ? exporter->drainBudget() : kDrainBatch);
      captureFile.flushIfWritten();  // readable as it grows (tcpdump -r), and after a SIGKILL
      if ((binariesReady || binaries.pending()) && binariesChanged()) ended = true;
      if (monotonicNs() - devMapRefreshed >= 1000000000ull) {
        refreshDeviceMap();
        if (interfacesGone()) ended = true;
      }
      if (httpFd >= 0 && monotonicNs() - metricsServed >= 1000000000ull) {  // its connections' timeouts
        metrics->run();
        metricsServed = monotonicNs();
      }
      if (afxdp.active()) {
        frames = afxdp.service(drain);
        afxdp.tick(out);
      }
      if (exporter) serveExport();  // its connections, its timers and the next batch, every round
      // exit()'s record may be lost in a full ring buffer (a printf per
      // event, system-wide): the flag it set ends the run all the same.
      if (exitedFd >= 0 && exitFlagSet(exitedFd)) break;
      if (ended) break;
    }
    if (tfd >= 0) close(tfd);
    close(epfd);
    close(sfd);
  }

  // A traced binary changed on disk. Replaced or gone: the probes stay on
  // the file it was (the processes running it are still traced), said once.
  // Rewritten in place with other code: the probes sit at the old
  // functions' offsets, which may now fall anywhere in it, in every process
  // that maps it; the run ends with an error (true), status 1.
  bool binariesChanged() {
    bool end = false;
    for (const BinaryWatch::Event& e : binaries.read(monotonicNs())) {
      auto first = std::find_if(script.programs.begin(), script.programs.end(),
                                [&](const ProgramInfo& p) { return p.binary == e.path; });
      SourceRange where = first != script.programs.end() ? first->attach.range : SourceRange{0, 0};
      if (e.change == BinaryWatch::Change::Rewritten) {
        status = fail(where, e.path + " was rewritten while traced: its uprobes are at the old functions' offsets, "
                                      "which may now fall anywhere in the new code",
                      "the run ended there; run dptrace again on the new build", kRunScript);
        end = true;
      } else if (targetPid < 0) {  // -p, -c: that process runs the file it started from
        bool replaced = e.change == BinaryWatch::Change::Replaced;
        warnAt(out, diags.file(), where,
               e.path + (replaced ? " was replaced" : " was deleted or moved away") +
                   " while traced: the probes stay on the file it was, in the processes that run it",
               replaced ? "processes started from the new file are not traced: run dptrace again to trace them"
                        : "processes started after this are not traced");
      }
    }
    return end;
  }

  // An interface of an XDP program went away (deleted), and the program
  // with it: said once. (Moved to another network namespace, it keeps its
  // XDP link, and the program its frames.) When none is
  // left and the script has no other events (BEGIN, END and interval
  // aside), the run ends, as -p's does when its process exits (true).
  bool interfacesGone() {
    if (xdpInterfaces.empty()) return false;
    std::vector<AttachedInterface*> now;
    size_t gone = 0;
    for (AttachedInterface& i : xdpInterfaces) {
      if (!i.gone && interfaceGone(i.linkFd)) {
        i.gone = true;
        now.push_back(&i);
      }
      gone += i.gone;
    }
    bool end = gone == xdpInterfaces.size();
    for (const ProgramInfo& p : script.programs)
      if (p.attach.kind != ProbeKind::Xdp && p.attach.kind != ProbeKind::Afxdp && p.attach.kind != ProbeKind::Begin &&
          p.attach.kind != ProbeKind::End && p.attach.kind != ProbeKind::Interval)
        end = false;
    for (const AttachedInterface* i : now)
      warnAt(out, diags.file(), i->where, "the interface " + i->name + " went away, and its XDP program with it",
             end ? "no interface of the script is left: the run ends (an interface made again under the same name "
                   "is not attached to)"
                 : "frames are no longer seen there; an interface made again under the same name is not attached to");
    return end;
  }


  // --export: the collector's connection, and what the exporter has to say.
  void serveExport() {
    exporter->run();
    // Said where the run's output goes, not exported: a notice about a batch
    // refused would make a record of the next batch, refused in turn.
    for (const Notice& n : exporter->takeNotices()) localOut.notice(n);
  }

  static bool exitFlagSet(int fd) {
    uint32_t key = 0;
    uint64_t value = 0;
    return bpf_map_lookup_elem(fd, &key, &value) == 0 && value != 0;
  }

  // The event ring buffer's size in BPFTRACE_PERF_RB_PAGES's unit: pages per CPU.
  uint64_t ringPagesPerCpu() const {
    uint64_t bytes = options.eventBytes.value_or(kRingbufBytes);
    uint64_t perCpu = static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) * static_cast<uint64_t>(std::max(1L, sysconf(_SC_NPROCESSORS_CONF)));
    return std::max<uint64_t>(1, bytes / perCpu);
  }

  void notice(const std::string& type, const std::string& text, std::vector<std::pair<std::string, Value>> data) {
    out.notice({type, "dptrace: " + text + "\n", std::move(data)});
  }

  void finish() {
    links.closeAll();
    child.stop();  // -c: exit() or a signal ended the run first (bpftrace does the same)
    afxdp.finish(out);
    runOnce(ProbeKind::End);
    drainAtExit();
    out.beginExitMaps();
    printMaps();
    if (replay.skipped)
      notice("pcap_skipped", plural(replay.skipped, "frame") + " of the capture skipped: shorter than an Ethernet header (14 bytes)",
             {{"frames", Value::uint(replay.skipped)}});
    // A frame cut short claims more bytes in its IP header than it holds:
    // the ip/ip6 views and those above them are absent for it. Say so.
    if (replay.truncated)
      notice("pcap_truncated",
             plural(replay.truncated, "frame") + " of the capture run truncated to " + std::to_string(kPcapMaxFrame) +
                 " bytes: the kernel runs no more of a frame for a program without frags (their ip/ip6 views and "
                 "those above are absent: the IP length exceeds what was run)",
             {{"frames", Value::uint(replay.truncated)}, {"bytes", Value::uint(kPcapMaxFrame)}});
    if (replay.snapped)
      notice("pcap_snapped",
             plural(replay.snapped, "frame") + " of the capture " + (replay.snapped == 1 ? "was" : "were") +
                 " captured shorter than on the wire (its snaplen): "
                 "their ip/ip6 views and those above are absent when the IP length exceeds what was captured",
             {{"frames", Value::uint(replay.snapped)}});
    if (uint64_t n = afxdp.loopsCut())
      notice("afxdp_loop_cap",
             plural(n, "loop") + " of afxdp bodies cut short: a frame's loops run at most " +
                 std::to_string(kHostLoopCap) + " iterations together in host code (no verifier bounds them); "
                 "what followed the loop ran with the values it had then",
             {{"loops", Value::uint(n)}, {"cap", Value::uint(kHostLoopCap)}});
    fastPath.finish(obj, targetPid);
    int skipped = mapFd(script.skippedMap);
    if (uint64_t n = skipped >= 0 ? readCounter(MapAccess::kernel(skipped), 1) : 0)
      notice("uretprobe_no_entry", plural(n, "return") + " of calls already running when the probes attached skipped "
                                                        "(their arguments were not recorded)",
             {{"returns", Value::uint(n)}});
    if (captureFile.isOpen()) {
      captureFile.flush();
      std::string cut = captureFile.cut() ? " (" + std::to_string(captureFile.cut()) + " cut to capture()'s length)" : "";
      notice("capture", plural(captureFile.frames(), "frame") + " captured to " + captureFile.path() + cut,
             {{"file", Value::str(captureFile.path())}, {"frames", Value::uint(captureFile.frames())},
              {"cut", Value::uint(captureFile.cut())}});
    }
    int lost = mapFd(script.lostMap);
    if (uint64_t n = (lost >= 0 ? readCounter(MapAccess::kernel(lost), 0) : 0) + afxdp.lost())
      notice("lost_events", plural(n, "event") + " lost: the ring buffer was full (" +
                                (script.captures.empty() ? "printf, emit, print, exit" : "printf, emit, print, exit, capture") +
                                "); for longer bursts, raise BPFTRACE_PERF_RB_PAGES (pages per CPU, now " +
                                std::to_string(ringPagesPerCpu()) + ")",
             {{"events", Value::uint(n)}});
    if (unprinted)
      notice("unprinted_events", plural(unprinted, "event") + " left unprinted at exit: a second Ctrl-C cut the exit short",
             {{"events", Value::uint(unprinted)}});
    int refused = mapFd(script.refusedMap);
    for (size_t i = 0; refused >= 0 && i < script.maps.size(); ++i)
      if (uint64_t n = readCounter(MapAccess::kernel(refused), static_cast<uint32_t>(i)) + afxdp.refused(i))
        notice("map_full", "@" + script.maps[i].name + ": " + plural(n, "update") + " refused: the map is full (raise --map-size)",
               {{"map", Value::str("@" + script.maps[i].name)}, {"updates", Value::uint(n)}});
  }

  const ProgramInfo* packetProgram() const {
    for (const ProgramInfo& p : script.programs)
      if (p.attach.kind == ProbeKind::Xdp) return &p;
    return nullptr;
  }

  // --pcap: the capture's packets through the xdp program, the ring buffer
  // drained after each; exit() ends the replay.
  int replayCapture() {
    bpf_program* prog = bpf_object__find_program_by_name(obj, packetProgram()->function.c_str());
    std::string error;
    auto afterPacket = [&] {
      ring_buffer__consume(rb);
      if (exporter) serveExport();
      sigset_t pending;  // blocked from attaching on; the replay reads them here
      sigpending(&pending);
      if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) return false;
      return !exitRequested;
    };
    // A frame an afxdp block took: the program says which in afxdp_hit.
    int hit = mapFd(script.afxdpHitMap);
    uint32_t lo = if_nametoindex("lo");
    auto redirected = [&](uint8_t* buffer, size_t& data, size_t& length) -> std::optional<int> {
      uint32_t zero = 0;
      uint64_t block = 0;
      if (hit < 0 || bpf_map_lookup_elem(hit, &zero, &block) != 0 || block == 0) return std::nullopt;
      uint64_t none = 0;
      bpf_map_update_elem(hit, &zero, &none, BPF_ANY);
      ring_buffer__consume(rb);  // the kernel blocks' output first, in the order it ran
      return afxdp.runOnFrame(static_cast<size_t>(block - 1), lo, buffer, data, length);
    };
    bool replayed = replayPcap(bpf_program__fd(prog), *options.pcap, options.pcapOut, afterPacket, redirected, replay, error);
    sigset_t ending;  // the Ctrl-C that ended it, taken: only a second one cuts the exit short (--export's flush)
    sigemptyset(&ending);
    sigaddset(&ending, SIGINT);
    sigaddset(&ending, SIGTERM);
    timespec now{};
    while (sigtimedwait(&ending, nullptr, &now) > 0) {
    }
    if (!replayed) return fail({0, 0}, error, "", kRunScript);
    return kRunOk;
  }

  // Everything that can be found wrong before loading anything.
  int check() {
    if (!script.captures.empty() && !options.capture)
      return fail({0, 0}, "capture() writes frames to a pcap file: name it with --capture FILE",
                  "dptrace --capture out.pcap script.dpt, then tcpdump -r out.pcap", kRunScript);
    if (options.capture && script.captures.empty())
      return fail({0, 0}, "--capture FILE takes the frames of capture(N) statements, and the script has none",
                  "for example: xdp:veth0 /udp/ { capture(128); }", kRunScript);
    if (options.capture) {
      std::string error;
      if (!captureFile.open(*options.capture, error)) return fail({0, 0}, error, "", kRunScript);
    }
    if (options.metrics) {
      std::string error;
      if (auto clash = metricsNameClash(script.maps))
        return fail({0, 0}, "--metrics: " + *clash, "rename one of the maps: Prometheus keeps one of two samples of a name",
                    kRunScript);
      metrics = makeMetricsServer(error);
      if (!metrics) return fail({0, 0}, error, "", kRunScript);
      if (!metrics->start(*options.metrics, [this] { return metricsText(); }, error))
        return fail({0, 0}, error,
                    error.find("cannot resolve") != std::string::npos ? "--metrics [ADDR:]PORT, ADDR a name that resolves or an address"
                                                                      : "pick another port, or stop what listens there",
                    kRunScript);
      notice("metrics", "serving the maps at http://" + metrics->where() + "/metrics", {{"address", Value::str(metrics->where())}});
    }
    if (!options.pcap) return kRunOk;
    if (!packetProgram())
      return fail({0, 0}, "--pcap needs an xdp or afxdp block to run the packets through",
                  "for example: xdp:any { @len = hist(pkt.len); }",
                  kRunScript);
    std::string error;
    if (!checkCapture(*options.pcap, error)) return fail({0, 0}, error, "", kRunScript);
    for (const AfxdpBody& b : script.afxdp)
      if (b.queue > 0)
        diags.warning(b.attach.range, "with --pcap every frame arrives on queue 0: '" + b.attach.raw + "' takes none of them",
                      "leave the queue out (afxdp:any), or name queue 0");
    return kRunOk;
  }

  int watchTarget() {
    if (targetPid < 0) return kRunOk;
    pidfd = static_cast<int>(syscall(SYS_pidfd_open, targetPid, 0));
    if (pidfd < 0)
      return fail({0, 0}, "no process " + std::to_string(targetPid) + " to trace (" + std::strerror(errno) + ")",
                  "-p takes the id of a running process", kRunScript);
    return kRunOk;
  }

  int run() {
    if (int s = check()) return s;
    // SIGINT and SIGTERM are read from a signalfd in the loop; blocked from
    // the attaching on, so that one arriving then is not lost (nor fatal).
    // The -c child is forked before, with the default mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1);  // prints the maps (the loop reads it), never ends dptrace
    if (options.pid) targetPid = *options.pid;
    if (options.command) {
      if (auto error = child.start(*options.command))
        return fail({0, 0}, *error, "-c runs a program with its arguments, e.g. -c './upf --no-huge'", kRunScript);
      targetPid = child.pid();
    }
    if (int s = watchTarget()) return s;
    if (int s = load()) return s;  // a Ctrl-C while the verifier works ends dptrace (and the held child) at once
    refreshDeviceMap();
    startNs = monotonicNs();
    if (int s = afxdp.load(script, options, EventSink{&Run::onHostEvent, this}, startNs, diags)) return s;
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    rb = ring_buffer__new(mapFd(script.eventsMap), onEvent, this, nullptr);
    if (!rb) return fail({0, 0}, "cannot read the ring buffer: " + std::string(std::strerror(errno)), "", kRunSystem);
    if (int s = attach()) return s;  // a child not released is killed by its guard, never run untraced
    runOnce(ProbeKind::Begin);
    if (auto error = child.release()) {
      links.closeAll();
      return fail({0, 0}, *error, "", kRunScript);
    }
    if (fastPath.wanted() && options.command)  // the command runs from now on: waits for its ports
      if (int s = fastPath.refresh(obj, targetPid, true, diags)) return s;
    if (options.pcap) {
      if (int s = replayCapture()) return s;
    } else {
      loop();
    }
    finish();
    return status;
  }
};

}  // namespace

int printPinnedMaps(const std::string& dir, std::optional<uint32_t> seconds, Output& out) {
  PinnedMaps pinned;
  if (auto refusal = pinned.open(dir)) {
    std::cerr << "dptrace: error: " << refusal->message << "\n";
    if (!refusal->hint.empty()) std::cerr << "hint: " << refusal->hint << "\n";
    return kRunScript;
  }
  for (const std::string& name : pinned.missing())
    out.notice({"pin_missing", "dptrace: " + name + " was pinned in " + pinDirectory(dir) + " and has been removed since\n",
                {{"map", Value::str(name)}}});
  auto print = [&] {
    std::map<std::string, MapSnapshot> byName;
    for (const PinnedMap& m : pinned.maps()) byName[m.layout.name] = readMap(MapAccess::kernel(m.fd), m.layout);
    for (const auto& [name, snap] : byName) out.map(snap);
  };
  if (!seconds) {
    print();
    return kRunOk;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  for (;;) {
    timespec wait{static_cast<time_t>(*seconds), 0};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    print();
    if (sig == SIGINT || sig == SIGTERM) return kRunOk;
  }
}

int runScript(const CompiledScript& script, const RunOptions& options, Output& out, Diagnostics& diags) {
  setDemangling(options.demangle);
  setUserSymbols(options.userSymbols);
  // --export: the JSON lines of the run go to the exporter too, whatever -f says.
  std::unique_ptr<Exporter> exporter;
  std::unique_ptr<Output> json, tee;
  if (options.exportTo) {
    std::string error;
    exporter = makeExporter(error);
    if (!exporter) {
      diags.errorUnlocated(error, "");
      return kRunScript;
    }
    if (!exporter->start(*options.exportTo, error)) {
      diags.errorUnlocated(error, "--export http://HOST:PORT/PATH, a collector that takes POSTed JSON lines");
      return kRunScript;
    }
    json = makeJsonOutput(exporter->stream());
    tee = makeTeeOutput(out, *json);
  }
  int status = Run(script, options, tee ? *tee : out, out, diags, exporter ? exporter.get() : nullptr).run();
  if (exporter) {  // what is left, sent for a bounded time; then what became of every record
    exporter->finish(kExportFlush, [&](const std::vector<Notice>& notices) {
      for (const Notice& n : notices) out.notice(n);
    });
    if (status == kRunOk || exporter->counts().records > 0) out.notice(exporter->report());  // none for a run that never began
  }
  return status;
}

}  // namespace dptrace
