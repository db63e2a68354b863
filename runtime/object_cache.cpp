#include "object_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <type_traits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string_view>
#include <vector>

#include "codec.h"
#include "map_reader.h"

namespace dptrace {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMagic = "dptrace-object-cache-17";
constexpr const char* kLayoutsMagic = "dptrace-map-layouts-16";
constexpr size_t kMaxEntries = 256;

// CompiledScript in codec.h's encoding. The fields of each struct are
// listed once, in its CodecFields below, and both the writer and the reader
// walk that list: they cannot disagree. The static_asserts stop a
// build in which a struct grew a field that its CodecFields does not list yet.
static_assert(sizeof(ast::AttachPoint) == 176, "ast::AttachPoint changed: list its new field in CodecFields below");
static_assert(sizeof(ProgramInfo) == 480, "ProgramInfo changed: list its new field in CodecFields below");
static_assert(sizeof(MapLayout) == 272, "MapLayout changed: list its new field in CodecFields below");
static_assert(sizeof(PrintfLayout) == 80, "PrintfLayout changed: list its new field in CodecFields below");
static_assert(sizeof(AfxdpBody) == 248, "AfxdpBody changed: list its new field in CodecFields below");
static_assert(sizeof(HelperErrorSite) == 16, "HelperErrorSite changed: list its new field in CodecFields below");
static_assert(sizeof(CompiledScript) == 440, "CompiledScript changed: list its new field in CodecFields below");

}  // namespace

template <>
struct CodecFields<ast::AttachPoint> {
  template <class Codec, class V>
  static void walk(Codec& c, V& a) {
    c(a.raw), c(a.range), c(a.kind), c(a.target), c(a.function), c(a.offset), c(a.unit),
        c(a.period), c(a.queue);
  }
};
template <>
struct CodecFields<ProgramInfo> {
  template <class Codec, class V>
  static void walk(Codec& c, V& p) {
    c(p.function), c(p.section), c(p.attach), c(p.rawTracepoint), c(p.binary), c(p.symbol), c(p.attachPoints),
        c(p.transmits), c(p.redirects), c(p.loops), c(p.xskMap), c(p.fileOffset), c(p.semaphore), c(p.fastPath), c(p.savesArguments), c(p.symbols);
  }
};
template <>
struct CodecFields<AfxdpBody> {
  template <class Codec, class V>
  static void walk(Codec& c, V& b) {
    c(b.function), c(b.interface), c(b.queue), c(b.attach);
  }
};
template <>
struct CodecFields<MapLayout> {
  template <class Codec, class V>
  static void walk(Codec& c, V& l) {
    c(l.name), c(l.symbol), c(l.role), c(l.keys), c(l.value), c(l.keySize), c(l.valueSize), c(l.perCpu), c(l.array), c(l.arraySlots),
        c(l.lhistMin), c(l.lhistMax), c(l.lhistStep), c(l.buckets), c(l.userSpace), c(l.reset), c(l.source);
  }
};
template <>
struct CodecFields<PrintfLayout> {
  template <class Codec, class V>
  static void walk(Codec& c, V& f) {
    c(f.format), c(f.args), c(f.names);
  }
};
template <>
struct CodecFields<CompiledScript> {
  template <class Codec, class V>
  static void walk(Codec& c, V& s) {
    c(s.object), c(s.hostObject), c(s.afxdp), c(s.programs), c(s.maps), c(s.printfs), c(s.timeFormats), c(s.helperErrors), c(s.captures), c(s.eventsMap),
        c(s.lostMap), c(s.refusedMap), c(s.startMap), c(s.afxdpHitMap), c(s.queuesMap), c(s.skippedMap);
  }
};
template <>
struct CodecFields<HelperErrorSite> {
  template <class Codec, class V>
  static void walk(Codec& c, V& h) {
    c(h.helper), c(h.where);
  }
};
template <>
struct CodecFields<SourceRange> {
  template <class Codec, class V>
  static void walk(Codec& c, V& r) {
    c(r.begin), c(r.end);
  }
};

namespace {


std::string cacheDirectory() {
  if (const char* off = std::getenv("DPTRACE_CACHE"); off && std::string(off) == "off") return {};
  if (const char* dir = std::getenv("DPTRACE_CACHE_DIR"); dir && *dir) return dir;
  if (geteuid() == 0) return "/var/cache/dptrace";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/dptrace";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/dptrace";
  return {};
}

// The cache's own entries: 16 hex digits and ".obj" (what ObjectCache names them).
bool isEntryName(const std::string& name) {
  if (name.size() != 20 || name.substr(16) != ".obj") return false;
  return name.find_first_not_of("0123456789abcdef") == 16;
}

// The directory, made if missing (0700); "" when it is fine, else why it is
// not used: a symlink, not a directory, owned by someone else, or writable by
// group or others (anyone who can write there could plant a program for root).
std::string checkDirectory(const std::string& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) {
    std::error_code ec;
    fs::create_directories(fs::path(dir).parent_path(), ec);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return std::string("cannot create it: ") + std::strerror(errno);
    if (lstat(dir.c_str(), &st) != 0) return std::string("cannot read it: ") + std::strerror(errno);
  }
  if (S_ISLNK(st.st_mode)) return "it is a symbolic link";
  if (!S_ISDIR(st.st_mode)) return "it is not a directory";
  if (st.st_uid != geteuid()) return "it belongs to another user (uid " + std::to_string(st.st_uid) + ")";
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return "other users can write to it";
  // Its parents too: whoever may rename an entry of theirs could swap the
  // directory (a sticky, world-writable one like /tmp lets no one rename ours).
  fs::path path = fs::absolute(dir).lexically_normal();
  for (fs::path parent = path.parent_path(); !parent.empty(); parent = parent.parent_path()) {
    struct stat p {};
    if (stat(parent.c_str(), &p) != 0) return "cannot read " + parent.string();
    if (p.st_uid != 0 && p.st_uid != geteuid()) return parent.string() + " belongs to another user";
    if ((p.st_mode & (S_IWGRP | S_IWOTH)) && !(p.st_mode & S_ISVTX)) return "other users can write to " + parent.string();
    if (parent == parent.root_path()) break;
  }
  return {};
}

// Reads a whole entry: a regular file of ours, never through a symlink.
std::optional<std::string> readEntry(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<std::string> bytes;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && st.st_size < (1 << 30)) {
    std::string data(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < data.size()) {
      ssize_t n = read(fd, data.data() + got, data.size() - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got == data.size()) bytes = std::move(data);
  }
  close(fd);
  return bytes;
}

// Whether the file starts as an entry of this cache does: its magic, of
// this version or an earlier one (so that an upgrade's old entries are pruned too).
bool isOurEntry(const fs::path& path) {
  constexpr std::string_view kPrefix = "dptrace-object-cache-";  // then the version, of any number of digits
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  if (!in || n <= kPrefix.size() || n > kPrefix.size() + 6) return false;
  std::string magic(n, '\0');
  in.read(magic.data(), static_cast<std::streamsize>(magic.size()));
  return in && magic.compare(0, kPrefix.size(), kPrefix) == 0 &&
         magic.find_first_not_of("0123456789", kPrefix.size()) == std::string::npos;
}

}  // namespace

std::string fileIdentity(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {};
  std::ostringstream id;
  id << path << ' ' << st.st_dev << ':' << st.st_ino << ' ' << st.st_size << ' ' << st.st_mtim.tv_sec << '.'
     << st.st_mtim.tv_nsec;
  return id.str();
}

ObjectCache::ObjectCache(std::string key) : key_(std::move(key)) {
  std::string dir = key_.empty() ? std::string() : cacheDirectory();
  if (dir.empty()) return;  // no key: not cached
  if (std::string why = checkDirectory(dir); !why.empty()) {
    off_ = "object cache " + dir + " not used: " + why;
    return;
  }
  char name[32];
  std::snprintf(name, sizeof name, "%016zx.obj", std::hash<std::string>{}(key_));
  path_ = dir + "/" + name;
}

std::optional<CompiledScript> ObjectCache::load() const {
  if (path_.empty()) return std::nullopt;
  std::optional<std::string> bytes = readEntry(path_);
  return bytes ? decodeCacheEntry(*bytes, &key_) : std::nullopt;
}

uint64_t cacheEntryChecksum(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::optional<CompiledScript> decodeCacheEntry(const std::string& bytes, const std::string* key) {
  // The checksum of everything before it ends the entry: a damaged entry is a miss.
  uint64_t sum = 0;
  if (bytes.size() < sizeof sum) return std::nullopt;
  std::memcpy(&sum, bytes.data() + bytes.size() - sizeof sum, sizeof sum);
  std::string body = bytes.substr(0, bytes.size() - sizeof sum);
  if (sum != cacheEntryChecksum(body)) return std::nullopt;
  Reader r(body);
  std::string magic, written;
  r(magic), r(written);
  if (!r.ok() || magic != kMagic || (key && written != *key)) return std::nullopt;
  CompiledScript s;
  r(s);
  r(magic);
  if (!r.ok() || magic != kMagic) return std::nullopt;  // truncated or not ours
  for (const MapLayout& l : s.maps)
    if (!readableLayout(l)) return std::nullopt;
  return s;
}

std::string encodeCacheEntry(const CompiledScript& s, const std::string& key) {
  Writer w;
  w(std::string(kMagic));
  w(key);
  w(s);
  w(std::string(kMagic));
  std::string bytes = w.text();
  uint64_t sum = cacheEntryChecksum(bytes);
  bytes.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  return bytes;
}

void ObjectCache::store(const CompiledScript& s) const {
  if (path_.empty()) return;

  // Written aside and renamed: a concurrent dptrace reads a whole entry or none.
  std::error_code ec;
  std::string temp = path_ + "." + std::to_string(getpid());
  {
    int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return;
    std::string bytes = encodeCacheEntry(s, key_);
    bool ok = write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
    ok = close(fd) == 0 && ok;
    if (!ok) return (void)fs::remove(temp, ec);
  }
  fs::rename(temp, path_, ec);
  if (ec) fs::remove(temp, ec);
  // Keep the newest kMaxEntries of this cache's own entries; other files are
  // left alone, whatever their names.
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  for (const auto& e : fs::directory_iterator(fs::path(path_).parent_path(), ec))
    if (isEntryName(e.path().filename().string()) && e.is_regular_file(ec) && !e.is_symlink(ec) && isOurEntry(e.path()))
      entries.emplace_back(e.last_write_time(ec), e.path());
  if (entries.size() <= kMaxEntries) return;
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i + kMaxEntries < entries.size(); ++i) fs::remove(entries[i].second, ec);
}

}  // namespace dptrace

namespace dptrace {

// Map layouts alone, for the maps that --pin leaves behind (pinned_maps.h):
// the same codec, under a magic of their own that names the cache format.
std::string encodeMapLayouts(const std::vector<MapLayout>& layouts, const std::vector<uint64_t>& ids) {
  Writer w;
  w(std::string(kLayoutsMagic));
  w(layouts);
  w(ids);
  return w.text();
}

std::optional<std::pair<std::vector<MapLayout>, std::vector<uint64_t>>> decodeMapLayouts(const std::string& bytes) {
  Reader r(bytes);
  std::string magic;
  r(magic);
  if (!r.ok() || magic != kLayoutsMagic) return std::nullopt;
  std::pair<std::vector<MapLayout>, std::vector<uint64_t>> decoded;
  r(decoded.first);
  r(decoded.second);
  if (!r.ok() || decoded.first.size() != decoded.second.size()) return std::nullopt;
  return decoded;
}

}  // namespace dptrace
