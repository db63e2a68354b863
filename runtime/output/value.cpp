#include "value.h"

#include <arpa/inet.h>

#include <cstdio>

namespace dptrace {
namespace {

struct TextOf {
  bool key = false;
  std::string operator()(int64_t x) const { return std::to_string(x); }
  std::string operator()(uint64_t x) const { return std::to_string(x); }
  std::string operator()(const std::string& s) const { return s; }
  std::string operator()(const Ipv4Address& a) const {
    char buf[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, a.bytes.data(), buf, sizeof buf);
  }
  std::string operator()(const Ipv6Address& a) const {
    char buf[INET6_ADDRSTRLEN];
    return inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf);
  }
  std::string operator()(const MacAddress& m) const {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m.bytes[0], m.bytes[1], m.bytes[2], m.bytes[3],
                  m.bytes[4], m.bytes[5]);
    return buf;
  }
  std::string operator()(const ArrayValue& a) const {
    std::string s = "[";
    for (size_t i = 0; i < a.items.size(); ++i) s += (i ? "," : "") + a.items[i].text(key);
    return s + "]";
  }
  std::string operator()(const StackValue& s) const { return s.text(8); }
  std::string operator()(const BufferValue& b) const { return b.text(); }
  std::string operator()(const Value::Tuple& t) const {
    std::string s = "(";
    for (size_t i = 0; i < t.size(); ++i) s += (i ? ", " : "") + t[i].text(key);
    return s + ")";
  }
  std::string operator()(const RecordValue& r) const {
    std::string s = key ? "{" : "{ ";
    for (size_t i = 0; i < r.names.size(); ++i)
      s += (i ? (key ? "," : ", ") : "") + std::string(".") + r.names[i] + (key ? "=" : " = ") + r.values[i].text(key);
    return s + (key ? "}" : " }");
  }
};

}  // namespace

std::string Value::text(bool key) const { return std::visit(TextOf{key}, v); }

std::string BufferValue::text() const {
  std::string s;
  for (unsigned char c : bytes) {
    if (c >= 32 && c <= 126) {
      s += static_cast<char>(c);
    } else {
      char esc[5];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      s += esc;
    }
  }
  return s;
}

std::string BufferValue::hex(bool spaced) const {
  std::string s;
  for (unsigned char c : bytes) {
    char esc[5];
    std::snprintf(esc, sizeof esc, spaced ? "%02x" : "\\x%02x", c);
    s += (spaced && !s.empty() ? " " : "") + std::string(esc);
  }
  return s;
}

std::string StackValue::text(int indent) const {
  if (frames.empty()) return "";  // bpftrace prints an empty stack as nothing
  std::string s = "\n";
  for (const std::string& f : frames) s += std::string(perf ? 0 : static_cast<size_t>(indent), ' ') + f + "\n";
  return s;
}

bool ArrayValue::operator==(const ArrayValue& o) const { return items == o.items; }
bool ArrayValue::operator<(const ArrayValue& o) const { return items < o.items; }
bool RecordValue::operator==(const RecordValue& o) const { return names == o.names && values == o.values; }
bool RecordValue::operator<(const RecordValue& o) const { return values < o.values; }

bool Value::operator<(const Value& o) const {
  if (v.index() != o.v.index()) return v.index() < o.v.index();
  return std::visit(
      [&](const auto& a) -> bool {
        using T = std::decay_t<decltype(a)>;
        const T& b = std::get<T>(o.v);
        return a < b;
      },
      v);
}

}  // namespace dptrace
