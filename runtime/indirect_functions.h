// Where the calls of an indirect function go. glibc's strlen, memcpy and
// memset are GNU indirect functions (STT_GNU_IFUNC): their symbol is a
// resolver, which the dynamic linker runs once when a process binds the name,
// to pick the implementation for this CPU (__strlen_avx2). A uprobe on the
// symbol sees that binding, not the calls (bpftrace 0.17 counts 2 strlen calls
// where a program makes 1,000).
//
// dptrace asks its own dynamic linker (dlsym) in the same file, when it has
// loaded it itself (libc, libm): same device and inode, or same build id.
// The traced process picks the same implementation on this CPU unless
// GLIBC_TUNABLES tells its glibc otherwise. dptrace does not load a library
// only to ask (its constructors would run, as root).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dptrace {

struct IndirectCode {
  uint64_t address = 0;                 // the implementation's virtual address in the binary
  std::vector<std::string> sharedWith;  // other indirect functions whose calls run the same code (memmove for memcpy)
};

// The code the indirect function `name` of the ELF file at `binary` runs on
// this machine; nullopt, with `why` ("dptrace has not loaded ..."), when
// dptrace cannot tell. Each binary is read and asked once per process.
std::optional<IndirectCode> indirectCode(const std::string& binary, const std::string& name, std::string& why);

// The words of a GLIBC_TUNABLES value's glibc.cpu.hwcaps, which mask or
// prefer CPU features and so steer what resolvers pick: "-AVX2,-AVX512F",
// sorted by feature, the last word for each kept (empty: none). Other
// tunables (thresholds, CET) do not change the choice.
std::string hwcapsTunable(std::string_view value);

// The hwcapsTunable that process `pid` ("self": dptrace) runs with, from the
// environment it started with (/proc/PID/environ); none for a process in
// secure-execution mode (setuid), whose glibc ignores GLIBC_TUNABLES; nullopt
// when it cannot be read.
std::optional<std::string> processHwcaps(const std::string& pid);

}  // namespace dptrace
