// Syscall tracepoints (syscalls:sys_enter_NAME, syscalls:sys_exit_NAME) are
// lowered to the raw sys_enter/sys_exit tracepoints they are built on,
// filtered by syscall number: same fields, and a link the kernel releases
// without waiting for RCU grace periods (75 ms per perf-event tracepoint here).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dptrace {

// The number of a syscall of this machine's architecture, if known.
std::optional<int64_t> syscallNumber(std::string_view name);

// x86_64 pt_regs offsets of the syscall arguments, in order, and of orig_ax.
// Empty where the lowering is not available (other architectures).
struct SyscallRegisters {
  bool available;
  uint32_t argument[6];
  uint32_t origAx;
};
SyscallRegisters syscallRegisters();

}  // namespace dptrace
