#include <cctype>

#include "provider.h"

namespace dptrace {

SpecReader::SpecReader(ast::AttachPoint& ap, Diagnostics& diags, const char* syntax)
    : ap_(&ap), diags_(&diags), syntax_(syntax) {
  const std::string& raw = ap.raw;
  size_t colon = raw.find(':');
  providerWord_ = raw.substr(0, colon);
  if (colon == std::string::npos) return;

  std::string current;
  uint32_t start = static_cast<uint32_t>(colon + 1);
  bool quoted = false;
  for (size_t i = colon + 1; i <= raw.size(); ++i) {
    if (i == raw.size() || (raw[i] == ':' && !quoted)) {
      parts_.push_back(current);
      ranges_.push_back({ap.range.begin + start, ap.range.begin + static_cast<uint32_t>(i)});
      current.clear();
      start = static_cast<uint32_t>(i + 1);
    } else if (raw[i] == '"') {
      quoted = !quoted;
    } else {
      current += raw[i];
    }
  }
}

bool SpecReader::expectParts(size_t min, size_t max) {
  if (parts_.size() >= min && parts_.size() <= max) return true;
  std::string want = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
  std::string message = "'" + providerWord_ + "' takes " + want + " part" + (max == 1 ? "" : "s") +
                        " after the probe type, not " + std::to_string(parts_.size());
  if (max == 0) message = "'" + providerWord_ + "' takes nothing after it";
  errorWhole(message, std::string("write it as ") + syntax_);
  return false;
}

bool SpecReader::expectNonEmpty(size_t i, const char* what) {
  if (!parts_[i].empty()) return true;
  error(i, std::string("missing ") + what + " in attach point '" + ap_->raw + "'", std::string("write it as ") + syntax_);
  return false;
}

void SpecReader::error(size_t i, std::string message, std::string hint) {
  SourceRange r = ranges_[i];
  if (r.end == r.begin) r.begin = r.begin > ap_->range.begin ? r.begin - 1 : r.begin;  // point at the ':'
  diags_->error(r, std::move(message), std::move(hint));
}

void SpecReader::errorWhole(std::string message, std::string hint) {
  diags_->error(ap_->range, std::move(message), std::move(hint));
}

bool parseUnsigned(std::string_view text, uint64_t& out, int base) {
  if (text.empty()) return false;
  uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    if (d >= base || v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return false;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

bool parseNumber(std::string_view text, uint64_t& out) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) return parseUnsigned(text.substr(2), out, 16);
  if (text.size() > 1 && text[0] == '0') return parseUnsigned(text.substr(1), out, 8);
  return parseUnsigned(text, out);
}

bool checkInterfaceName(SpecReader& spec, size_t i) {
  const std::string& name = spec.part(i);
  if (!spec.expectNonEmpty(i, "interface name")) return false;
  if (name.find('/') != std::string::npos) {
    spec.error(i, "'" + name + "' is not an interface name",
               "put a space between the attach point and its predicate: xdp:veth0 /udp/ { ... }");
    return false;
  }
  if (name.size() > 15) {
    spec.error(i, "interface name '" + name + "' is longer than 15 characters", "list interfaces with: ip link");
    return false;
  }
  for (char c : name)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '"') {
      spec.error(i, "'" + name + "' is not an interface name", "list interfaces with: ip link");
      return false;
    }
  return true;
}

void readModuleAndName(SpecReader& spec, const std::string& noun, const std::string& placeholder,
                       const std::string& example) {
  ast::AttachPoint& ap = spec.attachPoint();
  std::string kind(spec.providerWord());
  if (spec.size() == 0) {
    spec.errorWhole("'" + ap.raw + "' names no " + noun, "write " + kind + ":" + placeholder + " or " + kind + ":MODULE:" +
                                                           placeholder + ", e.g. " + example);
    return;
  }
  if (!spec.expectParts(1, 2)) return;
  size_t name = spec.size() - 1;
  if (spec.size() == 2 && !spec.expectNonEmpty(0, "kernel module")) return;
  std::string partName = noun.substr(noun.rfind(' ') + 1) + " name";  // "function name", "tracepoint name"
  if (!spec.expectNonEmpty(name, partName.c_str())) return;
  if (spec.size() == 2) ap.target = spec.part(0);
  ap.function = spec.part(name);
}

}  // namespace dptrace
