#include "tracepoint_format.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dptrace {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

constexpr uint32_t kMaxRecordBytes = 65535;

// "offset:16" -> 16
bool numberAfter(std::string_view part, std::string_view key, uint32_t& out) {
  part = trim(part);
  if (part.substr(0, key.size()) != key) return false;
  std::string_view digits = trim(part.substr(key.size()));
  if (digits.empty()) return false;
  out = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    uint32_t digit = static_cast<uint32_t>(c - '0');
    if (out > (UINT32_MAX - digit) / 10) return false;  // too large: not a format the kernel wrote
    out = out * 10 + digit;
  }
  return true;
}

bool isDirectory(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The integer type a C type name stands for (for the targets of pointers,
// whose size the format does not give); void when unknown.
Type integerNamed(std::string_view base) {
  struct Name {
    const char* name;
    uint32_t bits;
    bool isSigned;
  };
  static constexpr Name kNames[] = {
      {"char", 8, false},  // char pointers are strings: bytes
      {"unsigned char", 8, false}, {"signed char", 8, true}, {"short", 16, true}, {"unsigned short", 16, false},
      {"int", 32, true}, {"unsigned int", 32, false}, {"unsigned", 32, false}, {"long", 64, true},
      {"unsigned long", 64, false}, {"long long", 64, true}, {"unsigned long long", 64, false},
      {"u8", 8, false}, {"u16", 16, false}, {"u32", 32, false}, {"u64", 64, false}, {"s8", 8, true},
      {"s16", 16, true}, {"s32", 32, true}, {"s64", 64, true}, {"__u8", 8, false}, {"__u16", 16, false},
      {"__u32", 32, false}, {"__u64", 64, false}, {"__s8", 8, true}, {"__s16", 16, true}, {"__s32", 32, true},
      {"__s64", 64, true}, {"size_t", 64, false}, {"ssize_t", 64, true}, {"pid_t", 32, true}, {"uid_t", 32, false},
      {"gid_t", 32, false}, {"umode_t", 16, false}, {"loff_t", 64, true}, {"off_t", 64, true},
  };
  for (const Name& n : kNames)
    if (base == n.name) return Type::integer(n.bits, n.isSigned);
  return Type();
}

// The declaration's type words without qualifiers and stars: "const char *const *" -> "char".
std::string baseTypeName(std::string_view decl) {
  std::string out;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && word != "const" && word != "volatile" && word != "__user")
      out += (out.empty() ? "" : " ") + word;
    word.clear();
  };
  for (char c : decl) {
    if (c == ' ' || c == '\t' || c == '*') flush();
    else word += c;
  }
  flush();
  return out;
}

// The type of a field from its declaration (the part before its name), its
// name (with any [N]) and the format's size and sign.
Type fieldType(std::string_view decl, std::string_view name, uint32_t size, bool isSigned, bool dataLoc) {
  std::string base = baseTypeName(decl);
  bool isChar = base == "char" || base == "unsigned char" || base == "signed char";
  // A __data_loc string holds up to 64 bytes, as str() does by default (the
  // type checker gives it BPFTRACE_STRLEN's, as bpftrace).
  if (dataLoc) return base.find("char") != std::string::npos ? Type::string(64) : Type();
  if (size_t open = name.find('['); open != std::string_view::npos) {
    if (isChar) return Type::string(size);
    uint32_t length = 0;
    for (size_t i = open + 1; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i)
      length = length * 10 + static_cast<uint32_t>(name[i] - '0');
    if (length == 0 || size % length != 0) return Type();
    uint32_t element = size / length;
    if (element != 1 && element != 2 && element != 4 && element != 8) return Type();
    return Type::array(Type::integer(element * 8, isSigned), length);
  }
  size_t stars = static_cast<size_t>(std::count(decl.begin(), decl.end(), '*'));
  if (stars > kMaxPointerDepth) return Type();
  if (stars > 0) {
    Type t;
    if (base.rfind("struct ", 0) == 0) t = Type::structure(base.substr(7));
    else t = integerNamed(base);
    for (size_t i = 0; i < stars; ++i) t = Type::pointer(t);
    return t;
  }
  if (size == 1 || size == 2 || size == 4 || size == 8) return Type::integer(size * 8, isSigned);
  return Type();
}

}  // namespace

const TracepointField* TracepointFormat::field(std::string_view n) const {
  for (const TracepointField& f : fields)
    if (f.name == n) return &f;
  return nullptr;
}

std::optional<TracepointFormat> parseTracepointFormat(std::string_view text, std::string& error) {
  TracepointFormat format;
  std::istringstream in{std::string(text)};
  std::string line;
  bool sawField = false;
  while (std::getline(in, line)) {
    std::string_view l = trim(line);
    if (l.substr(0, 5) == "name:") format.name = std::string(trim(l.substr(5)));
    if (l.substr(0, 3) == "ID:") numberAfter(l, "ID:", format.id);
    if (l.substr(0, 6) != "field:") continue;
    sawField = true;
    // field:DECLARATION;\toffset:N;\tsize:N;\tsigned:N;
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (size_t i = 0; i <= l.size(); ++i)
      if (i == l.size() || l[i] == ';') {
        parts.push_back(l.substr(start, i - start));
        start = i + 1;
      }
    uint32_t offset = 0, size = 0, isSigned = 0;
    std::string why;
    if (parts.size() < 4) why = "it has not the four parts field:, offset:, size: and signed:";
    else if (!numberAfter(parts[1], "offset:", offset)) why = "'offset:' is not followed by a number below 2^32";
    else if (!numberAfter(parts[2], "size:", size)) why = "'size:' is not followed by a number below 2^32";
    else if (!numberAfter(parts[3], "signed:", isSigned)) why = "'signed:' is not followed by a number below 2^32";
    if (!why.empty()) {
      error = "cannot read the format line '" + std::string(l) + "': " + why;
      return std::nullopt;
    }
    // A trace event record lives in a ring-buffer page (a __data_loc holds
    // 16-bit offsets and lengths): a field past 64 KiB is a damaged format,
    // and a string that long would cost seconds to compile.
    if (offset > kMaxRecordBytes || size > kMaxRecordBytes - offset) {
      error = "cannot read the format line '" + std::string(l) + "': a field of " + std::to_string(size) + " bytes at offset " +
              std::to_string(offset) + " is past the 64 KiB a trace event record holds";
      return std::nullopt;
    }
    std::string_view decl = trim(parts[0].substr(6));
    size_t nameStart = decl.find_last_of(" *");
    if (nameStart == std::string_view::npos) {
      error = "cannot read the field declaration '" + std::string(decl) + "'";
      return std::nullopt;
    }
    std::string_view nameWithArray = decl.substr(nameStart + 1);
    std::string name(nameWithArray.substr(0, nameWithArray.find('[')));
    if (name.rfind("common_", 0) == 0) continue;
    bool dataLoc = decl.find("__data_loc") != std::string_view::npos;
    TracepointField f;
    f.name = name;
    f.declaration = std::string(decl);
    f.type = fieldType(decl.substr(0, nameStart + 1), nameWithArray, size, isSigned != 0, dataLoc);
    f.offset = offset;
    f.size = size;
    f.dataLoc = dataLoc;
    format.fields.push_back(std::move(f));
  }
  if (!sawField) {
    error = "the format has no fields";
    return std::nullopt;
  }
  return format;
}

std::string tracefsEventsDir(std::string& error) {
  if (const char* fixture = std::getenv("DPTRACE_TRACEFS")) return std::string(fixture) + "/events";
  if (isDirectory("/sys/kernel/tracing/events")) return "/sys/kernel/tracing/events";
  struct stat st{};
  if (stat("/sys/kernel/tracing/events", &st) != 0 && errno == EACCES) {
    error = "tracefs at /sys/kernel/tracing is not readable by this user";
    return {};
  }
  if (isDirectory("/sys/kernel/tracing") && mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0 &&
      isDirectory("/sys/kernel/tracing/events"))
    return "/sys/kernel/tracing/events";
  int mountError = errno;
  if (isDirectory("/sys/kernel/debug/tracing/events")) return "/sys/kernel/debug/tracing/events";
  error = std::string("tracefs is not mounted at /sys/kernel/tracing and mounting it failed: ") +
          std::strerror(mountError);
  return {};
}

std::vector<std::pair<std::string, std::string>> listTracepoints(std::string& error) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string events = tracefsEventsDir(error);
  if (events.empty()) return out;
  std::ifstream available(events + "/../available_events");
  std::string line;
  while (std::getline(available, line)) {
    size_t colon = line.find(':');
    if (colon != std::string::npos) out.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  if (out.empty()) {  // a fixture tree has no available_events: walk the directories
    if (DIR* cats = opendir(events.c_str())) {
      while (dirent* c = readdir(cats)) {
        if (c->d_name[0] == '.' || c->d_type != DT_DIR) continue;
        if (DIR* names = opendir((events + "/" + c->d_name).c_str())) {
          while (dirent* n = readdir(names))
            if (n->d_name[0] != '.' && n->d_type == DT_DIR) out.emplace_back(c->d_name, n->d_name);
          closedir(names);
        }
      }
      closedir(cats);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<TracepointFormat> loadTracepointFormat(const std::string& category, const std::string& name,
                                                     std::string& error) {
  std::string events = tracefsEventsDir(error);
  if (events.empty()) return std::nullopt;
  std::string path = events + "/" + category + "/" + name + "/format";
  struct stat st{};
  bool exists = stat(path.c_str(), &st) == 0;
  std::ifstream in;
  if (exists && S_ISREG(st.st_mode)) in.open(path, std::ios::binary);  // a FIFO would block, a device never end
  if (!in.is_open()) {
    if (exists && !S_ISREG(st.st_mode))
      error = path + ": not a regular file, so not a tracepoint's format";
    else
      error = isDirectory(events + "/" + category) ? "no tracepoint '" + name + "' in category '" + category + "'"
                                                   : "no tracepoint category '" + category + "'";
    return std::nullopt;
  }
  // tracefs gives its files no size; the kernel's longest formats are a few KiB.
  constexpr size_t kLongestFormat = 1 << 20;
  std::string text;
  char chunk[16384];
  while (text.size() <= kLongestFormat && in.read(chunk, sizeof chunk).gcount() > 0)
    text.append(chunk, static_cast<size_t>(in.gcount()));
  if (text.size() > kLongestFormat) {
    error = path + ": longer than 1 MiB, so not a tracepoint's format";
    return std::nullopt;
  }
  auto format = parseTracepointFormat(text, error);
  if (format) format->category = category;
  if (!format) error = path + ": " + error;
  return format;
}

}  // namespace dptrace
