// JSON lines: exactly one object per line and nothing between them, in
// bpftrace's shapes ({"type": "map", "data": {"@name": {"k1,k2": v}}}).
#include <cstdio>
#include <ostream>

#include "aggregation.h"
#include "map_order.h"
#include "output.h"

namespace dptrace {
namespace {

// The length of the UTF-8 sequence at s[i], or 0 when the bytes there are not
// one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF,
// or cut short).
size_t utf8Length(const std::string& s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

std::string json(const Value& v) {
  if (auto* i = std::get_if<int64_t>(&v.v)) return std::to_string(*i);
  if (auto* u = std::get_if<uint64_t>(&v.v)) return std::to_string(*u);
  const std::vector<Value>* items = nullptr;
  if (auto* t = std::get_if<Value::Tuple>(&v.v)) items = t;
  if (auto* a = std::get_if<ArrayValue>(&v.v)) items = &a->items;
  if (items) {
    std::string s = "[";
    for (size_t i = 0; i < items->size(); ++i) s += (i ? "," : "") + json((*items)[i]);
    return s + "]";
  }
  if (auto* r = std::get_if<RecordValue>(&v.v)) {  // bpftrace's spacing: { "a": 1, "b": 2 }
    std::string s = "{ ";
    for (size_t i = 0; i < r->names.size(); ++i) s += (i ? ", " : "") + jsonQuote(r->names[i]) + ": " + json(r->values[i]);
    return s + " }";
  }
  return jsonQuote(v.text());
}

std::string keyText(const std::vector<Value>& key) {
  std::string s;
  for (size_t i = 0; i < key.size(); ++i) {
    const auto* stack = std::get_if<StackValue>(&key[i].v);  // bpftrace indents a key's stack by 4
    s += (i ? "," : "") + (stack ? stack->text(4) : key[i].text(true));
  }
  return s;
}

std::string bucketsJson(const std::vector<uint64_t>& counts, auto bounds) {
  size_t first = 0, last = counts.size();
  while (first < last && counts[first] == 0) ++first;
  while (last > first && counts[last - 1] == 0) --last;
  std::string s = "[";
  for (size_t i = first; i < last; ++i) {
    s += (i > first ? ", " : "") + std::string("{") + bounds(i) + "\"count\": " + std::to_string(counts[i]) + "}";
  }
  return s + "]";
}

// "min"/"max" of a bucket, as bpftrace writes them (the values it holds, both ends included).
std::string bucketBounds(const BucketRange& r) {
  switch (r.kind) {
    case BucketRange::Kind::Below: return "\"max\": " + int128Text(r.high - 1) + ", ";
    case BucketRange::Kind::Single: return "\"min\": " + int128Text(r.low) + ", \"max\": " + int128Text(r.low) + ", ";
    case BucketRange::Kind::AtLeast: return "\"min\": " + int128Text(r.low) + ", ";
    case BucketRange::Kind::Range: break;
  }
  return "\"min\": " + int128Text(r.low) + ", \"max\": " + int128Text(r.high - 1) + ", ";
}

std::string valueJson(const MapValue& value, const char*& type) {
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Value>) {
          type = "map";
          return json(v);
        } else if constexpr (std::is_same_v<T, Stats>) {
          type = "stats";
          return "{\"count\": " + std::to_string(v.count) + ", \"average\": " + int128Text(averageOf(v.count, v.total)) +
                 ", \"total\": " + int128Text(v.total) + "}";
        } else if constexpr (std::is_same_v<T, Average>) {
          type = "stats";  // as bpftrace reports avg()
          return int128Text(averageOf(v.count, v.total));
        } else if constexpr (std::is_same_v<T, Histogram>) {
          type = "hist";
          return bucketsJson(v.counts, [](size_t i) { return bucketBounds(histogramRange(static_cast<uint32_t>(i))); });
        } else {
          type = "hist";
          return bucketsJson(v.counts, [&](size_t i) {
            return bucketBounds(linearRange(v.min, v.max, v.step, static_cast<uint32_t>(i), static_cast<uint32_t>(v.counts.size())));
          });
        }
      },
      value);
}

class JsonOutput : public Output {
public:
  explicit JsonOutput(std::ostream& out) : out_(out) {}

  void attached(int probes) override {
    out_ << "{\"type\": \"attached_probes\", \"data\": {\"probes\": " << probes << "}}" << std::endl;
  }

  void printf(const std::string& text) override {
    out_ << "{\"type\": \"printf\", \"data\": " << jsonQuote(text) << "}" << std::endl;
  }

  void value(const Value& v) override {
    out_ << "{\"type\": \"value\", \"data\": " << json(v) << "}" << std::endl;
  }

  void time(const std::string& text) override {
    out_ << "{\"type\": \"time\", \"data\": " << jsonQuote(text) << "}" << std::endl;
  }

  void raw(const std::string& type, const std::string& text) override {
    out_ << "{\"type\": " << jsonQuote(type) << ", \"data\": " << jsonQuote(text) << "}" << std::endl;
  }

  void join(const std::string& text) override {
    out_ << "{\"type\": \"join\", \"data\": " << jsonQuote(text) << "}" << std::endl;
  }

  void notice(const Notice& n) override {
    std::string data;
    for (const auto& [name, value] : n.data) data += (data.empty() ? "" : ", ") + jsonQuote(name) + ": " + json(value);
    out_ << "{\"type\": " << jsonQuote(n.type) << ", \"data\": {" << data << "}}" << std::endl;
  }

  void beginExitMaps() override {}

  void map(const MapSnapshot& map) override {
    if (map.entries.empty() && map.keylessCount) {  // bpftrace: a keyless count() with no entry is 0
      out_ << "{\"type\": \"map\", \"data\": {" << jsonQuote("@" + map.name) << ": 0}}" << std::endl;
      return;
    }
    if (map.entries.empty()) return;
    const char* type = "map";
    std::string data;
    auto entries = sortedEntries(map);
    if (entries.size() == 1 && entries[0]->key.empty()) {
      data = valueJson(entries[0]->value, type);
    } else {
      data = "{";
      for (size_t i = 0; i < entries.size(); ++i)
        data += (i ? ", " : "") + jsonQuote(keyText(entries[i]->key)) + ": " + valueJson(entries[i]->value, type);
      data += "}";
    }
    out_ << "{\"type\": \"" << type << "\", \"data\": {" << jsonQuote("@" + map.name) << ": " << data << "}}"
         << std::endl;
  }

  void event(const std::string& probe, const std::vector<std::pair<std::string, Value>>& fields) override {
    std::string data;
    for (const auto& [name, value] : fields) data += (data.empty() ? "" : ", ") + jsonQuote(name) + ": " + json(value);
    out_ << "{\"type\": \"event\", \"probe\": " << jsonQuote(probe) << ", \"data\": {" << data << "}}" << std::endl;
  }

private:
  std::ostream& out_;
};

}  // namespace

std::unique_ptr<Output> makeJsonOutput(std::ostream& out) { return std::make_unique<JsonOutput>(out); }

std::string jsonQuote(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    size_t plain = i;  // printable ASCII that needs no escape: appended a run at a time
    while (plain < s.size()) {
      auto c = static_cast<unsigned char>(s[plain]);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
      ++plain;
    }
    out.append(s, i, plain - i);
    i = plain;
    if (i == s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = utf8Length(s, i);
    if (n > 1) {  // a whole UTF-8 character, as it is
      out.append(s, i, n);
      i += n;
      continue;
    }
    ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default: {  // control characters, and bytes that are not UTF-8
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      }
    }
  }
  out += '"';
  return out;
}

}  // namespace dptrace
