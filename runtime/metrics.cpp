#include "metrics.h"

#include <map>

#include "aggregation.h"

namespace dptrace {
namespace {


std::string metricName(const std::string& map) {
  std::string name = "dptrace_";
  for (char c : map.empty() ? std::string("at") : map)
    name += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
  return name;
}

// The text format's escapes: backslash and line break, and in a label value the double quote.
std::string escape(const std::string& s, bool label) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && label) out += "\\\"";
    else out += c;
  }
  return out;
}

std::string escapeLabel(const std::string& s) { return escape(s, true); }

// {key="10.0.0.1"} or {key0="a",key1="7"}, with `extra` labels after.
std::string labels(const std::vector<Value>& key, const std::string& extra = "") {
  std::string s;
  for (size_t i = 0; i < key.size(); ++i) {
    std::string name = key.size() == 1 ? "key" : "key" + std::to_string(i);
    s += (s.empty() ? "" : ",") + name + "=\"" + escapeLabel(key[i].text()) + "\"";
  }
  if (!extra.empty()) s += (s.empty() ? "" : ",") + extra;
  return s.empty() ? "" : "{" + s + "}";
}

std::optional<std::string> numberText(const Value& v) {
  if (auto* i = std::get_if<int64_t>(&v.v)) return std::to_string(*i);
  if (auto* u = std::get_if<uint64_t>(&v.v)) return std::to_string(*u);
  return std::nullopt;
}

bool signedArgument(const MapLayout& l) { return l.value.is(TypeKind::Integer) && l.value.isSigned(); }

// le of a bucket: its largest integer; nullopt for the last, open bucket (+Inf).
std::optional<std::string> upperBound(const BucketRange& r) {
  switch (r.kind) {
    case BucketRange::Kind::Single: return int128Text(r.low);
    case BucketRange::Kind::Below:
    case BucketRange::Kind::Range: return int128Text(r.high - 1);
    case BucketRange::Kind::AtLeast: return std::nullopt;
  }
  return std::nullopt;
}

void family(std::string& out, const std::string& name, const char* type, const std::string& help) {
  out += "# HELP " + name + " " + escape(help, false) + "\n# TYPE " + name + " " + type + "\n";
}

void renderMap(std::string& out, const MapLayout& l, const MapSnapshot& snap) {
  std::string base = metricName(l.name);
  std::string help = "@" + l.name + (l.source.empty() ? "" : ", filled at " + l.source);
  switch (l.role) {
    case MapRole::Count:
    case MapRole::Sum: {
      bool counter = !l.reset && !(l.role == MapRole::Sum && signedArgument(l));
      std::string name = counter ? base + "_total" : base;
      family(out, name, counter ? "counter" : "gauge", help);
      if (snap.entries.empty() && l.keys.empty()) out += name + " 0\n";
      for (const MapEntry& e : snap.entries)
        if (auto* v = std::get_if<Value>(&e.value))
          if (auto n = numberText(*v)) out += name + labels(e.key) + " " + *n + "\n";
      return;
    }
    case MapRole::Value:
    case MapRole::Min:
    case MapRole::Max: {
      family(out, base, "gauge", help);
      for (const MapEntry& e : snap.entries)
        if (auto* v = std::get_if<Value>(&e.value)) {
          if (auto n = numberText(*v)) out += base + labels(e.key) + " " + *n + "\n";
          else out += base + labels(e.key, "value=\"" + escapeLabel(v->text()) + "\"") + " 1\n";
        }
      return;
    }
    case MapRole::Avg: {
      family(out, base, "gauge", help + " (the average)");
      for (const MapEntry& e : snap.entries)
        if (auto* a = std::get_if<Average>(&e.value)) out += base + labels(e.key) + " " + int128Text(averageOf(a->count, a->total)) + "\n";
      return;
    }
    case MapRole::Stats: {
      family(out, base, "summary", help);
      for (const MapEntry& e : snap.entries)
        if (auto* s = std::get_if<Stats>(&e.value)) {
          out += base + "_sum" + labels(e.key) + " " + int128Text(s->total) + "\n";
          out += base + "_count" + labels(e.key) + " " + std::to_string(s->count) + "\n";
        }
      return;
    }
    case MapRole::Hist:
    case MapRole::Lhist: {
      family(out, base, "histogram", help);
      for (const MapEntry& e : snap.entries) {
        const std::vector<uint64_t>* counts = nullptr;
        const LinearHistogram* linear = std::get_if<LinearHistogram>(&e.value);
        if (auto* h = std::get_if<Histogram>(&e.value)) counts = &h->counts;
        if (linear) counts = &linear->counts;
        if (!counts) continue;
        uint64_t cumulative = 0;
        for (uint32_t b = 0; b < counts->size(); ++b) {
          cumulative += (*counts)[b];
          BucketRange r = linear ? linearRange(linear->min, linear->max, linear->step, b, static_cast<uint32_t>(counts->size()))
                                 : histogramRange(b);
          auto le = upperBound(r);
          if (!le) continue;  // the open last bucket is +Inf's
          // Buckets of signed hist() below zero only exist for signed arguments.
          if (!linear && b == 0 && !signedArgument(l)) continue;
          out += base + "_bucket" + labels(e.key, "le=\"" + *le + "\"") + " " + std::to_string(cumulative) + "\n";
        }
        out += base + "_bucket" + labels(e.key, "le=\"+Inf\"") + " " + std::to_string(cumulative) + "\n";
        out += base + "_count" + labels(e.key) + " " + std::to_string(cumulative) + "\n";
      }
      return;
    }
  }
}

}  // namespace

std::optional<std::string> metricsNameClash(const std::vector<MapLayout>& maps) {
  // Every name a map's family writes (its HELP and TYPE lines, and its samples),
  // as renderMap names them, and the names of dptrace's own families.
  std::map<std::string, std::string> owner;
  for (const char* own : {"dptrace_lost_events_total", "dptrace_map_update_failures_total"}) owner[own] = "";
  for (const MapLayout& l : maps) {
    std::string base = metricName(l.name);
    std::vector<std::string> names;
    switch (l.role) {
      case MapRole::Count:
      case MapRole::Sum:  // a counter, or a gauge when the script resets it or sums signed values (renderMap)
        names = {!l.reset && !(l.role == MapRole::Sum && signedArgument(l)) ? base + "_total" : base};
        break;
      case MapRole::Stats: names = {base, base + "_sum", base + "_count"}; break;
      case MapRole::Hist:
      case MapRole::Lhist: names = {base, base + "_bucket", base + "_count"}; break;
      default: names = {base}; break;
    }
    for (const std::string& n : names) {
      bool reserved = n.rfind("dptrace_afxdp_", 0) == 0;
      auto [it, fresh] = owner.emplace(n, "@" + l.name);
      if (fresh && !reserved) continue;
      std::string other = reserved || it->second.empty() ? "dptrace's own " + n : it->second + "'s " + n;
      if (it->second == "@" + l.name && !reserved) continue;
      return "@" + l.name + " would be served as " + n + ", which is " + other + " too";
    }
  }
  return std::nullopt;
}

std::optional<MetricsAddress> parseMetricsAddress(const std::string& text, std::string& error) {
  MetricsAddress a{"127.0.0.1", 0};
  std::string port = text;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "'" + text + "' is not [ADDRESS]:PORT";
      return std::nullopt;
    }
    a.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':'); colon != std::string::npos) {
    a.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  char* end = nullptr;
  unsigned long n = port.empty() ? 0 : std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || n == 0 || n > 65535 || a.host.empty()) {
    error = "'" + text + "' is not [ADDRESS:]PORT (a port from 1 to 65535)";
    return std::nullopt;
  }
  a.port = static_cast<uint16_t>(n);
  return a;
}

std::string renderMetrics(const std::vector<MetricsSource>& maps, uint64_t lostEvents,
                          const std::vector<std::pair<std::string, uint64_t>>& refusedUpdates,
                          const std::vector<CounterFamily>& more) {
  std::string out;
  for (const MetricsSource& m : maps) renderMap(out, *m.layout, m.snapshot);
  family(out, "dptrace_lost_events_total", "counter", "records the ring buffer had no room for");
  out += "dptrace_lost_events_total " + std::to_string(lostEvents) + "\n";
  family(out, "dptrace_map_update_failures_total", "counter", "updates a full map refused");
  for (const auto& [map, n] : refusedUpdates)
    out += "dptrace_map_update_failures_total{map=\"" + escapeLabel(map) + "\"} " + std::to_string(n) + "\n";
  for (const CounterFamily& f : more) {
    family(out, f.name, "counter", f.help);
    for (const auto& [labelSet, value] : f.samples) {
      std::string l;
      for (const auto& [k, v] : labelSet) l += (l.empty() ? "" : ",") + k + "=\"" + escapeLabel(v) + "\"";
      out += f.name + (l.empty() ? "" : "{" + l + "}") + " " + std::to_string(value) + "\n";
    }
  }
  return out;
}

}  // namespace dptrace
