#include "dpdk_fastpath.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "diagnostics.h"
#include "sema/dwarf_signatures.h"
#include "uprobe_multi.h"

namespace dptrace {
namespace {

// struct rte_eth_fp_ops, by DPDK ABI (lib/ethdev/rte_ethdev_core.h): 128
// bytes, the Rx half in the first cache line and the Tx half in the second.
// 23.11 moved each half's queue data (struct rte_ethdev_qdata {data, clbk})
// in front of its functions; 24.03 took a reserved slot for tx_queue_count,
// which moves nothing. The releases between two LTS keep the ABI of the
// first (23.03 and 23.07 are ABI 23).
struct FpOpsLayout {
  int abi;
  const char* release;
  uint32_t size, rxBurst, rxData, rxCallbacks, txBurst, txData, txCallbacks;
  uint32_t maxQueues;  // RTE_MAX_QUEUES_PER_PORT: the length of rxq.data / txq.data
};
constexpr FpOpsLayout kLayouts[] = {
    {23, "22.11", 128, 0, 24, 32, 64, 88, 96, 1024},
    {24, "23.11", 128, 16, 0, 8, 80, 64, 72, 1024},
    {25, "24.11", 128, 16, 0, 8, 80, 64, 72, 1024},
    {26, "25.11", 128, 16, 0, 8, 80, 64, 72, 1024},
};

std::string supportedText() {
  std::string text;
  for (const FpOpsLayout& l : kLayouts)
    text += std::string(text.empty() ? "" : ", ") + "DPDK " + l.release + " (ABI " + std::to_string(l.abi) + ")";
  return text;
}

struct Mapping {
  uint64_t start = 0, end = 0, offset = 0;
  std::string perms, path;
};

std::vector<Mapping> readMaps(pid_t pid) {
  std::vector<Mapping> maps;
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    std::istringstream fields(line);
    std::string range, dev, inode;
    fields >> range >> m.perms >> std::hex >> m.offset >> dev >> std::dec >> inode;
    std::getline(fields >> std::ws, m.path);
    size_t dash = range.find('-');
    if (dash == std::string::npos) continue;
    m.start = std::stoull(range.substr(0, dash), nullptr, 16);
    m.end = std::stoull(range.substr(dash + 1), nullptr, 16);
    maps.push_back(std::move(m));
  }
  return maps;
}

std::string mapFile(pid_t pid, const Mapping& m) {
  char name[96];
  std::snprintf(name, sizeof name, "/proc/%d/map_files/%llx-%llx", static_cast<int>(pid),
                static_cast<unsigned long long>(m.start), static_cast<unsigned long long>(m.end));
  return name;
}

std::string baseName(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

// What dptrace needs of the ELF file that defines rte_eth_fp_ops.
struct Definition {
  uint64_t value = 0, size = 0;          // rte_eth_fp_ops
  uint64_t devices = 0, devicesSize = 0;  // rte_eth_devices (exported for drivers)
  std::string soname;
  std::vector<GElf_Phdr> loads;
};

std::optional<Definition> readDefinition(const std::string& path) {
  int fd = openBinary(path);
  if (fd < 0) return std::nullopt;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  std::optional<Definition> found;
  Definition d;
  size_t count = 0;
  if (elf && elf_getphdrnum(elf, &count) == 0)
    for (size_t i = 0; i < count; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD) d.loads.push_back(ph);
    }
  for (Elf_Scn* scn = elf ? elf_nextscn(elf, nullptr) : nullptr; scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    if (sh.sh_type == SHT_DYNAMIC) {
      for (size_t i = 0; i < sh.sh_size / std::max<uint64_t>(sh.sh_entsize, 1); ++i) {
        GElf_Dyn dyn;
        if (gelf_getdyn(data, static_cast<int>(i), &dyn) && dyn.d_tag == DT_SONAME)
          if (const char* s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val)) d.soname = s;
      }
    }
    if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) continue;
    for (size_t i = 0; i < sh.sh_size / std::max<uint64_t>(sh.sh_entsize, 1); ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym) || sym.st_shndx == SHN_UNDEF || GELF_ST_TYPE(sym.st_info) != STT_OBJECT)
        continue;
      const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (name && std::strcmp(name, "rte_eth_fp_ops") == 0) d.value = sym.st_value, d.size = sym.st_size;
      if (name && std::strcmp(name, "rte_eth_devices") == 0) d.devices = sym.st_value, d.devicesSize = sym.st_size;
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  if (d.size || d.devicesSize) found = std::move(d);
  return found;
}

// The DPDK release of a file without a soname (an application that links
// DPDK statically): rte_version()'s "DPDK YY.MM..." in its read-only data.
std::string releaseInFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t at = bytes.find("DPDK "); at != std::string::npos; at = bytes.find("DPDK ", at + 1)) {
    std::string v = bytes.substr(at + 5, 5);
    if (v.size() == 5 && isdigit(v[0]) && isdigit(v[1]) && v[2] == '.' && isdigit(v[3]) && isdigit(v[4])) return v;
  }
  return "";
}

int abiOfRelease(const std::string& release) {
  // An LTS release YY.11 starts ABI YY+1; the releases of the next year keep it.
  if (release.size() != 5) return -1;
  int year = std::stoi(release.substr(0, 2)), month = std::stoi(release.substr(3));
  return month == 11 ? year + 1 : year;
}

bool readMemory(pid_t pid, uint64_t address, void* into, size_t size, std::string& error) {
  iovec local{into, size};
  iovec remote{reinterpret_cast<void*>(address), size};
  ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(size)) return true;
  int e = n < 0 ? errno : EFAULT;
  error = e == ESRCH ? "process " + std::to_string(pid) + " has exited"
          : e == EPERM ? "dptrace may not read the memory of process " + std::to_string(pid) + " (run it as root)"
                       : "cannot read the memory of process " + std::to_string(pid) + " at " + hexNumber(address) + ": " +
                             std::strerror(e);
  return false;
}

}  // namespace

std::string describeFunction(const FastPathFunction& f) {
  return baseName(f.path) + "+" + hexNumber(f.fileOffset) + (f.name.empty() ? "" : " (" + f.name + ")");
}

bool FastPathResolver::maps(const std::string& path) const {
  struct stat want {};
  if (stat(path.c_str(), &want) != 0) return false;
  for (const Mapping& m : readMaps(pid_)) {
    struct stat have {};
    if (m.offset == 0 && !m.path.empty() && stat(mapFile(pid_, m).c_str(), &have) == 0 && have.st_dev == want.st_dev &&
        have.st_ino == want.st_ino)
      return true;
  }
  return false;
}

std::optional<FastPathState> FastPathResolver::read(std::string& error, bool& early) const {
  early = false;
  std::vector<Mapping> maps = readMaps(pid_);
  if (maps.empty()) {
    error = "no process " + std::to_string(pid_) + " to read (it has exited)";
    return std::nullopt;
  }
  // The file that defines rte_eth_fp_ops: librte_ethdev, or the program
  // itself when it links DPDK statically.
  std::string exe;
  {
    char buf[4096];
    ssize_t n = readlink(("/proc/" + std::to_string(pid_) + "/exe").c_str(), buf, sizeof buf - 1);
    if (n > 0) exe.assign(buf, static_cast<size_t>(n));
  }
  // The rte_eth_fp_ops the burst calls read: the program's own copy when it
  // has one (a copy relocation: a PIE built by gcc holds the array and
  // librte_ethdev uses it), else librte_ethdev's; the program's when it
  // links DPDK statically.
  const Mapping* program = nullptr;
  const Mapping* ethdev = nullptr;
  for (const Mapping& m : maps) {
    if (m.offset != 0) continue;
    if (!program && m.path == exe) program = &m;
    if (!ethdev && baseName(m.path).rfind("librte_ethdev.so", 0) == 0) ethdev = &m;
  }
  std::optional<Definition> programDefinition = program ? readDefinition(mapFile(pid_, *program)) : std::nullopt;
  std::optional<Definition> ethdevDefinition = ethdev ? readDefinition(mapFile(pid_, *ethdev)) : std::nullopt;
  const Mapping* first = programDefinition && programDefinition->size ? program : ethdev;
  // rte_eth_devices likewise: the program's copy, else ethdev's.
  const Mapping* devicesIn = programDefinition && programDefinition->devicesSize ? program : ethdev;
  std::optional<Definition>& definition = first == program ? programDefinition : ethdevDefinition;
  if (!definition || !definition->size) {
    bool dpdk = std::any_of(maps.begin(), maps.end(), [](const Mapping& m) { return baseName(m.path).rfind("librte_", 0) == 0; });
    early = !dpdk;
    error = "process " + std::to_string(pid_) + " (" + baseName(exe) + ") " +
            (dpdk ? "maps DPDK libraries but no rte_eth_fp_ops (librte_ethdev is not loaded)"
                  : "is not a DPDK application: it maps no librte_ethdev, and " + baseName(exe) +
                        " defines no rte_eth_fp_ops symbol (a static DPDK build without symbols hides it)");
    return std::nullopt;
  }
  FastPathState state;
  // A file's load bias (where its first mapping's file offset lies in its
  // image) and the extent of its image, .bss included.
  struct Image {
    uint64_t bias = 0, start = UINT64_MAX, end = 0;
  };
  auto imageOf = [](const Mapping& m, const Definition& d) {
    Image image;
    for (const GElf_Phdr& ph : d.loads) {
      if (m.offset >= ph.p_offset && m.offset < ph.p_offset + std::max<uint64_t>(ph.p_filesz, 1) && image.bias == 0)
        image.bias = m.start - (ph.p_vaddr + (m.offset - ph.p_offset));
      image.start = std::min<uint64_t>(image.start, ph.p_vaddr);
      image.end = std::max<uint64_t>(image.end, ph.p_vaddr + ph.p_memsz);
    }
    image.start += image.bias, image.end += image.bias;
    return image;
  };
  Image defining = imageOf(*first, *definition);
  std::vector<Image> images{defining};
  if (ethdev && ethdevDefinition && first != ethdev) images.push_back(imageOf(*ethdev, *ethdevDefinition));
  uint64_t bias = defining.bias;
  const Definition* devicesDefinition = devicesIn == program ? &*programDefinition
                                       : ethdevDefinition ? &*ethdevDefinition : nullptr;
  uint64_t devices = 0, deviceSize = 0;
  if (devicesIn && devicesDefinition && devicesDefinition->devicesSize) {
    devices = imageOf(*devicesIn, *devicesDefinition).bias + devicesDefinition->devices;
    deviceSize = devicesDefinition->devicesSize / (definition->size / 128);
  }
  // The DPDK ABI: librte_ethdev's soname (librte_ethdev.so.23), else the
  // release string of a static build.
  int abi = -1;
  std::string soname = ethdevDefinition ? ethdevDefinition->soname : ethdev ? baseName(ethdev->path) : "";
  std::string release;
  if (size_t so = soname.find(".so."); so != std::string::npos) abi = std::atoi(soname.c_str() + so + 4);
  else if ((release = releaseInFile(mapFile(pid_, *first))).size()) abi = abiOfRelease(release);
  const FpOpsLayout* layout = nullptr;
  for (const FpOpsLayout& l : kLayouts)
    if (l.abi == abi) layout = &l;
  std::string which = soname.empty() ? baseName(first->path) : soname;
  if (abi < 0 && !ethdev && std::any_of(maps.begin(), maps.end(), [](const Mapping& m) { return m.path.find("ld-linux") != std::string::npos; })) {
    // A program with its own copy of rte_eth_fp_ops whose librte_ethdev
    // the dynamic loader has not mapped yet (-c, just started).
    early = true;
    error = "process " + std::to_string(pid_) + " has not loaded librte_ethdev yet";
    return std::nullopt;
  }
  if (layout == nullptr || definition->size % layout->size != 0) {
    error = which + " is " + (abi < 0 ? std::string("a DPDK of unknown version") : "DPDK ABI " + std::to_string(abi)) +
            (layout ? " with an rte_eth_fp_ops of " + std::to_string(definition->size) + " bytes" : "") +
            ": dptrace knows the layout of rte_eth_fp_ops of " + supportedText();
    return std::nullopt;
  }
  state.dpdk = std::string(layout->release) + " (ABI " + std::to_string(abi) + ", " + which + ")";
  state.portSlots = static_cast<uint32_t>(definition->size / layout->size);
  std::vector<uint8_t> ops(definition->size);
  if (!readMemory(pid_, bias + definition->value, ops.data(), ops.size(), error)) return std::nullopt;
  auto word = [&](size_t at) {
    uint64_t v = 0;
    std::memcpy(&v, ops.data() + at, 8);
    return v;
  };
  std::map<std::pair<uint64_t, bool>, FastPathFunction> functions;
  for (uint32_t port = 0; port < state.portSlots; ++port) {
    size_t base = static_cast<size_t>(port) * layout->size;
    uint64_t rxBurst = word(base + layout->rxBurst), rxData = word(base + layout->rxData);
    if (rxBurst == 0) continue;  // no such port
    // Every port slot that is not a started port (stopped, or none at all)
    // holds ethdev's dummy functions, and queue arrays of ethdev's own (in
    // its image); a started port's queue arrays are DPDK's heap.
    if (std::any_of(images.begin(), images.end(), [&](const Image& i) { return rxData >= i.start && rxData < i.end; }))
      continue;
    // The port's numbers of queues: its struct rte_eth_dev_data, which starts
    // the same in every release ({char name[64]; void **rx_queues,
    // **tx_queues; uint16_t nb_rx_queues, nb_tx_queues; ...}), is the one
    // rte_eth_devices[port].data points to: found among the entry's first
    // words as the pointer to this port's two queue arrays. Without it, the
    // queues up to the first empty one (a PMD may give a shorter array).
    uint16_t counts[2] = {0, 0};
    bool counted = false;
    uint64_t txData = word(base + layout->txData);
    std::vector<uint64_t> head(deviceSize ? 16 : 0);
    if (deviceSize && readMemory(pid_, devices + port * deviceSize, head.data(), head.size() * 8, error))
      for (uint64_t candidate : head) {
        uint8_t data[84];
        uint64_t rx = 0, tx = 0;
        if (candidate == 0 || candidate % 8 || !readMemory(pid_, candidate, data, sizeof data, error)) continue;
        std::memcpy(&rx, data + 64, 8), std::memcpy(&tx, data + 72, 8);
        if (rx != rxData || tx != txData) continue;
        std::memcpy(counts, data + 80, 4);
        counted = true;
        break;
      }
    error.clear();
    for (bool tx : {false, true}) {
      uint64_t burst = word(base + (tx ? layout->txBurst : layout->rxBurst));
      uint64_t data = word(base + (tx ? layout->txData : layout->rxData));
      uint64_t callbacks = word(base + (tx ? layout->txCallbacks : layout->rxCallbacks));
      uint32_t n = counted ? std::min<uint32_t>(counts[tx], layout->maxQueues) : layout->maxQueues;
      std::vector<uint64_t> queues(n), hooks(n);
      if (n && !counted) {  // as many as can be read, up to the first empty one
        uint32_t got = 0;
        for (; got < n && readMemory(pid_, data + 8ull * got, &queues[got], 8, error) && queues[got]; ++got) {
        }
        error.clear();
        queues.resize(got), hooks.resize(got), n = got;
      } else if (n && !readMemory(pid_, data, queues.data(), queues.size() * 8, error)) {
        return std::nullopt;
      }
      if (n && callbacks && !readMemory(pid_, callbacks, hooks.data(), hooks.size() * 8, error)) return std::nullopt;
      bool any = false;
      for (uint32_t q = 0; q < n; ++q)
        if (queues[q]) {
          state.queues.push_back({static_cast<uint16_t>(port), static_cast<uint16_t>(q), queues[q], tx, hooks[q] != 0});
          any = true;
        }
      if (!any || burst == 0) continue;
      FastPathFunction& f = functions[{burst, tx}];
      f.address = burst;
      f.tx = tx;
      f.ports.push_back(static_cast<uint16_t>(port));
    }
  }
  for (auto& [key, f] : functions) {
    auto m = std::find_if(maps.begin(), maps.end(), [&](const Mapping& m) {
      return f.address >= m.start && f.address < m.end && m.perms.find('x') != std::string::npos;
    });
    if (m == maps.end() || m->path.empty() || m->path[0] != '/') {
      error = "the " + std::string(f.tx ? "tx" : "rx") + " burst function of port " + std::to_string(f.ports.front()) +
              " is at " + hexNumber(f.address) + ", in no mapped file (JIT or anonymous code): a uprobe cannot reach it";
      return std::nullopt;
    }
    f.path = m->path;
    f.attachPath = mapFile(pid_, *m);
    f.fileOffset = f.address - m->start + m->offset;
    for (const auto& [name, offset] : functionFileOffsets(f.attachPath))
      if (offset == f.fileOffset) f.name = name;
    state.functions.push_back(f);
  }
  return state;
}

}  // namespace dptrace
