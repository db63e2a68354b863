// Uprobes through uprobe_multi links (BPF_TRACE_UPROBE_MULTI, Linux 6.6):
// closing one takes a fraction of the ~100 ms a perf-event uprobe link's
// close() waits here. libbpf 1.1 has no wrapper and Debian's uapi header lacks
// the attach type, so the link is made with a raw BPF_LINK_CREATE.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dptrace {

// The attach type of uprobe_multi programs and links.
inline constexpr int kAttachUprobeMulti = 48;

// A link of the program `progFd` (loaded with expected attach type
// kAttachUprobeMulti) on the instruction at `fileOffset` of the ELF file at
// `path`, for `pid` only when it is positive; `refCtrOffset`, when not 0, is
// the file offset of a USDT semaphore, which the kernel counts up in every
// process that maps the file while the link lives. The link's fd, or -errno.
int createUprobeMultiLink(int progFd, const std::string& path, uint64_t fileOffset, bool retprobe, int pid,
                          uint64_t refCtrOffset = 0);

// One link of `progFd` on every offset of the ELF file at `path`, the BPF
// cookie of offsets[i] being cookies[i]: attached and released in one step
// each (1,000 single-offset links take ~50 s to release here, one link of
// 1,000 offsets 27 ms). The link's fd, or -errno.
int createUprobeMultiLink(int progFd, const std::string& path, const std::vector<uint64_t>& offsets,
                          const std::vector<uint64_t>& cookies, bool retprobe, int pid);

// The file offset of every function of the ELF file at `path` (its address
// mapped through the executable PT_LOAD segment), where a probe on it goes:
// an indirect function's is the code its resolver picks (indirect_functions.h),
// and one dptrace cannot resolve has none. Empty when it cannot be read.
std::map<std::string, uint64_t> functionFileOffsets(const std::string& path);

// The file offset of the code at virtual address `address` of the ELF file
// at `path` (through its executable PT_LOAD segment); nullopt when none holds it.
std::optional<uint64_t> codeFileOffset(const std::string& path, uint64_t address);

}  // namespace dptrace
