// --info: what this machine offers dptrace, as bpftrace --info reports it:
// the system, the build, and the kernel's BPF helpers, map and program
// types, probed with libbpf (a program or map is loaded and dropped).
#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include <filesystem>
#include <sstream>

#include "options.h"
#include "sema/type_check.h"

namespace dptrace {

std::string infoText() {
  auto yes = [](bool b) { return b ? "yes" : "no"; };
  std::ostringstream out;
  struct utsname u{};
  uname(&u);
  out << "System\n  OS: " << u.sysname << " " << u.release << " " << u.version << "\n  Arch: " << u.machine << "\n\n";
  out << "Build\n";
  std::istringstream version(versionText());
  for (std::string line; std::getline(version, line);) out << "  " << (line.rfind("  ", 0) == 0 ? line.substr(2) : line) << "\n";
  out << "  libdw (DWARF support): yes\n\n";

  out << "Kernel helpers\n";
  struct Helper {
    const char* name;
    bpf_prog_type type;
    bpf_func_id id;
  };
  const Helper helpers[] = {
      {"probe_read_user", BPF_PROG_TYPE_KPROBE, BPF_FUNC_probe_read_user},
      {"probe_read_user_str", BPF_PROG_TYPE_KPROBE, BPF_FUNC_probe_read_user_str},
      {"probe_read_kernel", BPF_PROG_TYPE_KPROBE, BPF_FUNC_probe_read_kernel},
      {"probe_read_kernel_str", BPF_PROG_TYPE_KPROBE, BPF_FUNC_probe_read_kernel_str},
      {"get_current_cgroup_id", BPF_PROG_TYPE_KPROBE, BPF_FUNC_get_current_cgroup_id},
      {"send_signal", BPF_PROG_TYPE_KPROBE, BPF_FUNC_send_signal},
      {"override_return", BPF_PROG_TYPE_KPROBE, BPF_FUNC_override_return},
      {"get_func_ip", BPF_PROG_TYPE_KPROBE, BPF_FUNC_get_func_ip},
      {"ringbuf_output", BPF_PROG_TYPE_KPROBE, BPF_FUNC_ringbuf_output},
      {"fib_lookup", BPF_PROG_TYPE_XDP, BPF_FUNC_fib_lookup},
      {"redirect_map", BPF_PROG_TYPE_XDP, BPF_FUNC_redirect_map},
  };
  for (const Helper& h : helpers) out << "  " << h.name << ": " << yes(libbpf_probe_bpf_helper(h.type, h.id, nullptr) == 1) << "\n";

  std::error_code ec;
  out << "\nKernel features\n";
  out << "  Instruction limit: 1000000\n  Loop support: yes\n";
  out << "  btf: " << yes(std::filesystem::exists("/sys/kernel/btf/vmlinux", ec)) << "\n";
  out << "  kprobes: " << yes(kernelHasKprobes()) << "\n";

  out << "\nMap types\n";
  const std::pair<const char*, bpf_map_type> maps[] = {
      {"hash", BPF_MAP_TYPE_HASH},           {"percpu hash", BPF_MAP_TYPE_PERCPU_HASH},
      {"array", BPF_MAP_TYPE_ARRAY},         {"percpu array", BPF_MAP_TYPE_PERCPU_ARRAY},
      {"stack_trace", BPF_MAP_TYPE_STACK_TRACE}, {"ringbuf", BPF_MAP_TYPE_RINGBUF},
      {"xskmap", BPF_MAP_TYPE_XSKMAP},       {"devmap", BPF_MAP_TYPE_DEVMAP},
  };
  for (const auto& [name, type] : maps) out << "  " << name << ": " << yes(libbpf_probe_bpf_map_type(type, nullptr) == 1) << "\n";

  out << "\nProbe types\n";
  const std::pair<const char*, bpf_prog_type> programs[] = {
      {"kprobe and uprobe", BPF_PROG_TYPE_KPROBE}, {"tracepoint", BPF_PROG_TYPE_TRACEPOINT},
      {"perf_event (profile, software, hardware, watchpoint)", BPF_PROG_TYPE_PERF_EVENT},
      {"raw tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT}, {"xdp and afxdp", BPF_PROG_TYPE_XDP},
  };
  for (const auto& [name, type] : programs)
    out << "  " << name << ": " << yes(libbpf_probe_bpf_prog_type(type, nullptr) == 1) << "\n";
  return out.str();
}

}  // namespace dptrace
