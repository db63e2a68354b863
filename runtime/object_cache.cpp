#include "object_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

namespace dptrace {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMagic = "dptrace-object-cache-2";
constexpr size_t kMaxEntries = 256;

// A length-prefixed binary encoding of CompiledScript.
class Writer {
public:
  void u64(uint64_t v) { out_.write(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(const std::string& s) {
    u64(s.size());
    out_.write(s.data(), static_cast<std::streamsize>(s.size()));
  }
  void type(const Type& t) {
    u64(static_cast<uint64_t>(t.kind()));
    switch (t.kind()) {
      case TypeKind::Integer: u64(t.bits()), u64(t.isSigned()); break;
      case TypeKind::String: u64(t.capacity()); break;
      case TypeKind::Pointer: type(t.pointee()); break;
      case TypeKind::Struct: str(t.name()); break;
      case TypeKind::Tuple:
        u64(t.elements().size());
        for (const Type& e : t.elements()) type(e);
        break;
      case TypeKind::Aggregation: u64(static_cast<uint64_t>(t.aggregationKind())), type(t.elements()[0]); break;
      case TypeKind::Array: type(t.element()), u64(t.length()); break;
      default: break;
    }
  }
  void types(const std::vector<Type>& ts) {
    u64(ts.size());
    for (const Type& t : ts) type(t);
  }
  std::string text() const { return out_.str(); }

private:
  std::ostringstream out_;
};

class Reader {
public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  bool ok() const { return ok_; }
  uint64_t u64() {
    uint64_t v = 0;
    if (pos_ + sizeof v > bytes_.size()) return fail(), 0;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string str() {
    uint64_t n = u64();
    if (!ok_ || pos_ + n > bytes_.size()) return fail(), std::string();
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  Type type(int depth = 0) {
    if (depth > 32) return fail(), Type();
    auto kind = static_cast<TypeKind>(u64());
    switch (kind) {
      case TypeKind::Void: return Type();
      case TypeKind::Integer: {
        uint32_t bits = static_cast<uint32_t>(u64());
        return Type::integer(bits, u64() != 0);
      }
      case TypeKind::Bool: return Type::boolean();
      case TypeKind::String: return Type::string(static_cast<uint32_t>(u64()));
      case TypeKind::Ipv4: return Type::ipv4();
      case TypeKind::Ipv6: return Type::ipv6();
      case TypeKind::Mac: return Type::mac();
      case TypeKind::Pointer: return Type::pointer(type(depth + 1));
      case TypeKind::Struct: return Type::structure(str());
      case TypeKind::Tuple: {
        std::vector<Type> elements(static_cast<size_t>(std::min<uint64_t>(u64(), 64)));
        for (Type& e : elements) e = type(depth + 1);
        return Type::tuple(std::move(elements));
      }
      case TypeKind::Aggregation: {
        auto a = static_cast<Aggregation>(u64());
        return Type::aggregation(a, type(depth + 1));
      }
      case TypeKind::Array: {
        Type element = type(depth + 1);
        return Type::array(element, static_cast<uint32_t>(std::min<uint64_t>(u64(), 65536)));
      }
    }
    return fail(), Type();
  }
  std::vector<Type> types() {
    std::vector<Type> ts(static_cast<size_t>(std::min<uint64_t>(u64(), 64)));
    for (Type& t : ts) t = type();
    return ts;
  }

private:
  void fail() { ok_ = false; }
  const std::string& bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::string cacheDirectory() {
  if (const char* off = std::getenv("DPTRACE_CACHE"); off && std::string(off) == "off") return {};
  if (const char* dir = std::getenv("DPTRACE_CACHE_DIR"); dir && *dir) return dir;
  if (geteuid() == 0) return "/var/cache/dptrace";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/dptrace";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/dptrace";
  return {};
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
  char name[32];
  std::snprintf(name, sizeof name, "%016zx.obj", std::hash<std::string>{}(key_));
  path_ = dir + "/" + name;
}

std::optional<CompiledScript> ObjectCache::load() const {
  if (path_.empty()) return std::nullopt;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Reader r(bytes);
  if (r.str() != kMagic || r.str() != key_) return std::nullopt;
  CompiledScript s;
  std::string object = r.str();
  s.object.assign(object.begin(), object.end());
  s.programs.resize(static_cast<size_t>(std::min<uint64_t>(r.u64(), 4096)));
  for (ProgramInfo& p : s.programs) {
    p.function = r.str(), p.section = r.str();
    ast::AttachPoint& a = p.attach;
    a.raw = r.str();
    a.range.begin = static_cast<uint32_t>(r.u64()), a.range.end = static_cast<uint32_t>(r.u64());
    a.kind = static_cast<ProbeKind>(r.u64()), a.target = r.str(), a.function = r.str();
    if (r.u64()) a.offset = r.u64();
    a.unit = r.str(), a.period = r.u64();
    if (r.u64()) a.queue = static_cast<uint32_t>(r.u64());
    p.rawTracepoint = r.str(), p.binary = r.str(), p.symbol = r.str();
    p.attachPoints = static_cast<uint32_t>(r.u64());
    p.transmits = r.u64() != 0;
    p.redirects.resize(static_cast<size_t>(std::min<uint64_t>(r.u64(), 4096)));
    for (std::string& to : p.redirects) to = r.str();
  }
  s.maps.resize(static_cast<size_t>(std::min<uint64_t>(r.u64(), 65536)));
  for (MapLayout& l : s.maps) {
    l.name = r.str(), l.symbol = r.str();
    l.role = static_cast<MapRole>(r.u64());
    l.keys = r.types();
    l.value = r.type();
    l.keySize = static_cast<uint32_t>(r.u64()), l.valueSize = static_cast<uint32_t>(r.u64());
    l.perCpu = r.u64() != 0, l.array = r.u64() != 0;
    l.lhistMin = static_cast<int64_t>(r.u64()), l.lhistMax = static_cast<int64_t>(r.u64());
    l.lhistStep = static_cast<int64_t>(r.u64()), l.buckets = static_cast<uint32_t>(r.u64());
  }
  s.printfs.resize(static_cast<size_t>(std::min<uint64_t>(r.u64(), 65536)));
  for (PrintfLayout& f : s.printfs) f.format = r.str(), f.args = r.types();
  s.timeFormats.resize(static_cast<size_t>(std::min<uint64_t>(r.u64(), 65536)));
  for (std::string& f : s.timeFormats) f = r.str();
  s.eventsMap = r.str(), s.lostMap = r.str(), s.refusedMap = r.str(), s.startMap = r.str();
  if (!r.ok() || r.str() != kMagic) return std::nullopt;  // truncated or not ours
  return s;
}

void ObjectCache::store(const CompiledScript& s) const {
  if (path_.empty()) return;
  Writer w;
  w.str(kMagic);
  w.str(key_);
  w.str(std::string(s.object.begin(), s.object.end()));
  w.u64(s.programs.size());
  for (const ProgramInfo& p : s.programs) {
    w.str(p.function), w.str(p.section);
    const ast::AttachPoint& a = p.attach;
    w.str(a.raw), w.u64(a.range.begin), w.u64(a.range.end);
    w.u64(static_cast<uint64_t>(a.kind)), w.str(a.target), w.str(a.function);
    w.u64(a.offset.has_value());
    if (a.offset) w.u64(*a.offset);
    w.str(a.unit), w.u64(a.period);
    w.u64(a.queue.has_value());
    if (a.queue) w.u64(*a.queue);
    w.str(p.rawTracepoint), w.str(p.binary), w.str(p.symbol);
    w.u64(p.attachPoints), w.u64(p.transmits);
    w.u64(p.redirects.size());
    for (const std::string& to : p.redirects) w.str(to);
  }
  w.u64(s.maps.size());
  for (const MapLayout& l : s.maps) {
    w.str(l.name), w.str(l.symbol), w.u64(static_cast<uint64_t>(l.role));
    w.types(l.keys), w.type(l.value);
    w.u64(l.keySize), w.u64(l.valueSize), w.u64(l.perCpu), w.u64(l.array);
    w.u64(static_cast<uint64_t>(l.lhistMin)), w.u64(static_cast<uint64_t>(l.lhistMax));
    w.u64(static_cast<uint64_t>(l.lhistStep)), w.u64(l.buckets);
  }
  w.u64(s.printfs.size());
  for (const PrintfLayout& f : s.printfs) w.str(f.format), w.types(f.args);
  w.u64(s.timeFormats.size());
  for (const std::string& f : s.timeFormats) w.str(f);
  w.str(s.eventsMap), w.str(s.lostMap), w.str(s.refusedMap), w.str(s.startMap);
  w.str(kMagic);

  std::error_code ec;
  fs::create_directories(fs::path(path_).parent_path(), ec);
  // Written aside and renamed: a concurrent dptrace reads a whole entry or none.
  std::string temp = path_ + "." + std::to_string(getpid());
  {
    std::ofstream out(temp, std::ios::binary);
    std::string bytes = w.text();
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return (void)fs::remove(temp, ec);
  }
  fs::rename(temp, path_, ec);
  if (ec) fs::remove(temp, ec);
  // Keep the newest kMaxEntries entries.
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  for (const auto& e : fs::directory_iterator(fs::path(path_).parent_path(), ec))
    if (e.path().extension() == ".obj") entries.emplace_back(e.last_write_time(ec), e.path());
  if (entries.size() <= kMaxEntries) return;
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i + kMaxEntries < entries.size(); ++i) fs::remove(entries[i].second, ec);
}

}  // namespace dptrace
