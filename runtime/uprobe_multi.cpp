#include "uprobe_multi.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "elf_symbols.h"
#include "indirect_functions.h"
#include "sema/dwarf_signatures.h"

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

namespace {

int linkCreate(int progFd, const std::string& path, const uint64_t* offsets, const uint64_t* refCtrOffsets,
               const uint64_t* cookies, size_t count, bool retprobe, int pid) {
  union {
    LinkCreateUprobeMulti link;
    char attr[sizeof(union bpf_attr)];
  } u;
  std::memset(&u, 0, sizeof u);
  u.link.progFd = static_cast<uint32_t>(progFd);
  u.link.attachType = kAttachUprobeMulti;
  u.link.path = reinterpret_cast<uint64_t>(path.c_str());
  u.link.offsets = reinterpret_cast<uint64_t>(offsets);
  u.link.refCtrOffsets = reinterpret_cast<uint64_t>(refCtrOffsets);
  u.link.cookies = reinterpret_cast<uint64_t>(cookies);
  u.link.count = static_cast<uint32_t>(count);
  u.link.multiFlags = retprobe ? kUprobeMultiReturn : 0;
  u.link.pid = pid > 0 ? static_cast<uint32_t>(pid) : 0;
  long fd = syscall(__NR_bpf, BPF_LINK_CREATE, u.attr, sizeof u.attr);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

}  // namespace

int createUprobeMultiLink(int progFd, const std::string& path, uint64_t fileOffset, bool retprobe, int pid,
                          uint64_t refCtrOffset) {
  uint64_t offsets[1] = {fileOffset}, refCtrOffsets[1] = {refCtrOffset};
  return linkCreate(progFd, path, offsets, refCtrOffset ? refCtrOffsets : nullptr, nullptr, 1, retprobe, pid);
}

int createUprobeMultiLink(int progFd, const std::string& path, const std::vector<uint64_t>& offsets,
                          const std::vector<uint64_t>& cookies, bool retprobe, int pid) {
  if (offsets.empty() || cookies.size() != offsets.size()) return -EINVAL;
  return linkCreate(progFd, path, offsets.data(), nullptr, cookies.data(), offsets.size(), retprobe, pid);
}

namespace {

// The executable PT_LOAD segments of the ELF file at `path`.
std::vector<GElf_Phdr> codeSegments(const std::string& path) {
  int fd = openBinary(path);
  if (fd < 0) return {};
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  std::vector<GElf_Phdr> code;  // the executable PT_LOAD segments
  size_t count = 0;
  if (elf && elf_getphdrnum(elf, &count) == 0)
    for (size_t i = 0; i < count; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) code.push_back(ph);
    }
  if (elf) elf_end(elf);
  close(fd);
  return code;
}

}  // namespace

std::map<std::string, uint64_t> functionFileOffsets(const std::string& path) {
  std::map<std::string, uint64_t> offsets;
  std::string error;
  auto symbols = readFunctionSymbols(path, error);
  if (!symbols) return offsets;
  std::vector<GElf_Phdr> code = codeSegments(path);
  for (const FunctionSymbol& s : *symbols) {
    uint64_t address = s.address;
    if (s.indirect) {  // its calls run the code its resolver picks
      std::string why;
      std::optional<IndirectCode> picked = indirectCode(path, s.name, why);
      if (!picked) continue;  // uprobe_targets.cpp said why
      address = picked->address;
    }
    for (const GElf_Phdr& ph : code)
      if (address >= ph.p_vaddr && address < ph.p_vaddr + ph.p_memsz) offsets[s.name] = address - ph.p_vaddr + ph.p_offset;
  }
  return offsets;
}

std::optional<uint64_t> codeFileOffset(const std::string& path, uint64_t address) {
  for (const GElf_Phdr& ph : codeSegments(path))
    if (address >= ph.p_vaddr && address < ph.p_vaddr + ph.p_filesz) return address - ph.p_vaddr + ph.p_offset;
  return std::nullopt;
}

}  // namespace dptrace
