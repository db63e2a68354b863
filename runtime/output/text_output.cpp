// Text output, in bpftrace 0.17's layout:
//   @name: 7
//   @name[1, ab]: 2
//   @h:
//   [4, 8)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
#include <algorithm>
#include <cstdio>
#include <ostream>

#include "aggregation.h"
#include "map_order.h"
#include "output.h"

namespace dptrace {
namespace {

constexpr int kBarWidth = 52;

std::string keyText(const std::vector<Value>& key) {
  if (key.empty()) return "";
  std::string s = "[";
  for (size_t i = 0; i < key.size(); ++i) {
    const auto* stack = std::get_if<StackValue>(&key[i].v);  // bpftrace indents a key's stack by 4
    s += (i ? ", " : "") + (stack ? stack->text(4) : key[i].text(true));
  }
  return s + "]";
}

std::string bucketLine(const std::string& label, uint64_t count, uint64_t largest) {
  char head[64];
  std::snprintf(head, sizeof head, "%-16s%8llu ", label.c_str(), static_cast<unsigned long long>(count));
  size_t bar = largest == 0 ? 0 : static_cast<size_t>(count * kBarWidth / largest);
  return std::string(head) + "|" + std::string(bar, '@') + std::string(kBarWidth - bar, ' ') + "|\n";
}

// Buckets from the first to the last that holds anything.
template <typename Label>
std::string buckets(const std::vector<uint64_t>& counts, Label label) {
  auto first = std::find_if(counts.begin(), counts.end(), [](uint64_t c) { return c != 0; });
  if (first == counts.end()) return "";
  auto last = std::find_if(counts.rbegin(), counts.rend(), [](uint64_t c) { return c != 0; }).base();
  uint64_t largest = *std::max_element(first, last);
  std::string out;
  for (auto it = first; it != last; ++it)
    out += bucketLine(label(static_cast<size_t>(it - counts.begin())), *it, largest);
  return out;
}

class TextOutput : public Output {
public:
  TextOutput(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  void attached(int probes) override {
    err_ << "Attaching " << probes << (probes == 1 ? " probe..." : " probes...") << std::endl;
  }

  void printf(const std::string& text) override { out_ << text << std::flush; }
  void time(const std::string& text) override { out_ << text << std::flush; }
  void join(const std::string& text) override { out_ << text << "\n" << std::flush; }
  void raw(const std::string&, const std::string& text) override { out_ << text << std::flush; }
  void value(const Value& v) override { out_ << v.text() << "\n" << std::flush; }
  void notice(const Notice& n) override { err_ << n.text << std::flush; }

  void beginExitMaps() override { out_ << "\n\n"; }

  void map(const MapSnapshot& map) override {
    std::string name = "@" + map.name;
    if (map.entries.empty()) {
      out_ << (map.keylessCount ? name + ": 0\n" : map.averages ? "\n\n" : "\n") << std::flush;
      return;
    }
    for (const MapEntry* e : sortedEntries(map)) {
      std::string head = name + keyText(e->key) + ": ";
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, Value>) out_ << head << v.text() << "\n";
            if constexpr (std::is_same_v<T, Stats>)
              out_ << head << "count " << v.count << ", average " << int128Text(averageOf(v.count, v.total))
                   << ", total " << int128Text(v.total) << "\n";
            if constexpr (std::is_same_v<T, Average>) out_ << head << int128Text(averageOf(v.count, v.total)) << "\n";
            if constexpr (std::is_same_v<T, Histogram>)
              out_ << head << "\n" << buckets(v.counts, histogramLabel) << "\n";
            if constexpr (std::is_same_v<T, LinearHistogram>)
              out_ << head << "\n" << buckets(v.counts, [&](size_t i) { return linearHistogramLabel(v, i); }) << "\n";
          },
          e->value);
    }
    if (map.averages) out_ << "\n";
    out_ << std::flush;
  }

  // name=value pairs (logfmt): a value that holds a space, '=', '"' or a
  // control character is quoted, with \" \\ \n \t and \xNN inside.
  void event(const std::string&, const std::vector<std::pair<std::string, Value>>& fields) override {
    std::string line;
    for (const auto& [name, value] : fields) line += (line.empty() ? "" : " ") + name + "=" + logfmtValue(value.text());
    out_ << line << "\n" << std::flush;
  }

  static std::string logfmtValue(const std::string& text) {
    bool plain = !text.empty() && std::none_of(text.begin(), text.end(), [](unsigned char c) {
      return c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f;
    });
    if (plain) return text;
    std::string quoted = "\"";
    for (unsigned char c : text) {
      if (c == '"' || c == '\\') quoted += '\\', quoted += static_cast<char>(c);
      else if (c == '\n') quoted += "\\n";
      else if (c == '\t') quoted += "\\t";
      else if (c < ' ' || c == 0x7f) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        quoted += hex;
      } else quoted += static_cast<char>(c);
    }
    return quoted + "\"";
  }

private:
  std::ostream& out_;
  std::ostream& err_;
};

// 1024 -> 1K, 1572864 -> 1536K, as bpftrace labels hist() buckets (2^64 is
// 16E); lhist()'s as far as M (2^30 is 1024M), as bpftrace labels them.
std::string withSuffix(__int128 v, int largest = 6) {
  static const char* const kSuffix[] = {"", "K", "M", "G", "T", "P", "E"};
  int i = 0;
  while (v >= 1024 && v % 1024 == 0 && i < largest) v /= 1024, ++i;
  return int128Text(v) + kSuffix[i];
}

}  // namespace

std::string histogramLabel(size_t i) {
  BucketRange r = histogramRange(static_cast<uint32_t>(i));
  switch (r.kind) {
    case BucketRange::Kind::Below: return "(..., 0)";
    case BucketRange::Kind::Single: return "[" + int128Text(r.low) + "]";
    case BucketRange::Kind::Range:
    case BucketRange::Kind::AtLeast: break;
  }
  return "[" + withSuffix(r.low) + ", " + withSuffix(r.high) + ")";
}

std::string linearHistogramLabel(const LinearHistogram& h, size_t i) {
  BucketRange r = linearRange(h.min, h.max, h.step, static_cast<uint32_t>(i), static_cast<uint32_t>(h.counts.size()));
  switch (r.kind) {
    case BucketRange::Kind::Below: return "(..., " + withSuffix(r.high, 2) + ")";
    case BucketRange::Kind::AtLeast: return "[" + withSuffix(r.low, 2) + ", ...)";
    case BucketRange::Kind::Single:
    case BucketRange::Kind::Range: break;
  }
  // Multiples of 1024 with a suffix, as bpftrace labels them: [1M, 1536K), [512, 1K).
  return "[" + withSuffix(r.low, 2) + ", " + withSuffix(r.high, 2) + ")";
}

std::unique_ptr<Output> makeTextOutput(std::ostream& out, std::ostream& err) {
  return std::make_unique<TextOutput>(out, err);
}

}  // namespace dptrace
