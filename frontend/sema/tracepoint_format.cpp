#include "tracepoint_format.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
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

// "offset:16" -> 16
bool numberAfter(std::string_view part, std::string_view key, uint32_t& out) {
  part = trim(part);
  if (part.substr(0, key.size()) != key) return false;
  std::string_view digits = trim(part.substr(key.size()));
  if (digits.empty()) return false;
  out = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint32_t>(c - '0');
  }
  return true;
}

bool isDirectory(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The type of a field from its declaration and the format's size and sign.
Type fieldType(std::string_view decl, std::string_view name, uint32_t size, bool isSigned, bool dataLoc) {
  bool isArray = name.find('[') != std::string_view::npos;
  bool isChar = decl.find("char") != std::string_view::npos;
  if (dataLoc) return isChar ? Type::string(256) : Type();
  if (isArray) return isChar ? Type::string(size) : Type();
  if (decl.find('*') != std::string_view::npos) return Type::pointer(isChar ? Type::integer(8, false) : Type());
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
    if (parts.size() < 4 || !numberAfter(parts[1], "offset:", offset) || !numberAfter(parts[2], "size:", size) ||
        !numberAfter(parts[3], "signed:", isSigned)) {
      error = "cannot read the format line '" + std::string(l) + "'";
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

std::optional<TracepointFormat> loadTracepointFormat(const std::string& category, const std::string& name,
                                                     std::string& error) {
  std::string events = tracefsEventsDir(error);
  if (events.empty()) return std::nullopt;
  std::string path = events + "/" + category + "/" + name + "/format";
  std::ifstream in(path);
  if (!in) {
    error = isDirectory(events + "/" + category) ? "no tracepoint '" + name + "' in category '" + category + "'"
                                                 : "no tracepoint category '" + category + "'";
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto format = parseTracepointFormat(text.str(), error);
  if (format) format->category = category;
  if (!format) error = path + ": " + error;
  return format;
}

}  // namespace dptrace
