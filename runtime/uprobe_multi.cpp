#include "uprobe_multi.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "elf_symbols.h"

namespace dptrace {
namespace {

// union bpf_attr's link_create, with the uprobe_multi member of its inner
// union (include/uapi/linux/bpf.h, Linux 6.6).
struct LinkCreateUprobeMulti {
  uint32_t progFd;
  uint32_t targetFd;
  uint32_t attachType;
  uint32_t flags;
  uint64_t path;
  uint64_t offsets;
  uint64_t refCtrOffsets;
  uint64_t cookies;
  uint32_t count;
  uint32_t multiFlags;  // BPF_F_UPROBE_MULTI_RETURN
  uint32_t pid;
};
constexpr uint32_t kUprobeMultiReturn = 1;

}  // namespace

int createUprobeMultiLink(int progFd, const std::string& path, uint64_t fileOffset, bool retprobe, int pid) {
  union {
    LinkCreateUprobeMulti link;
    char attr[sizeof(union bpf_attr)];
  } u;
  std::memset(&u, 0, sizeof u);
  uint64_t offsets[1] = {fileOffset};
  u.link.progFd = static_cast<uint32_t>(progFd);
  u.link.attachType = kAttachUprobeMulti;
  u.link.path = reinterpret_cast<uint64_t>(path.c_str());
  u.link.offsets = reinterpret_cast<uint64_t>(offsets);
  u.link.count = 1;
  u.link.multiFlags = retprobe ? kUprobeMultiReturn : 0;
  u.link.pid = pid > 0 ? static_cast<uint32_t>(pid) : 0;
  long fd = syscall(__NR_bpf, BPF_LINK_CREATE, u.attr, sizeof u.attr);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

std::optional<uint64_t> symbolFileOffset(const std::string& path, const std::string& symbol) {
  std::string error;
  auto symbols = readFunctionSymbols(path, error);
  if (!symbols) return std::nullopt;
  uint64_t address = 0;
  bool found = false;
  for (const FunctionSymbol& s : *symbols)
    if (s.name == symbol) address = s.address, found = true;
  if (!found) return std::nullopt;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  std::optional<uint64_t> offset;
  size_t count = 0;
  if (elf && elf_getphdrnum(elf, &count) == 0)
    for (size_t i = 0; i < count && !offset; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
          address >= ph.p_vaddr && address < ph.p_vaddr + ph.p_memsz)
        offset = address - ph.p_vaddr + ph.p_offset;
    }
  if (elf) elf_end(elf);
  close(fd);
  return offset;
}

}  // namespace dptrace
