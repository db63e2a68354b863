// The order in which a map's entries print: by value, smallest first (as
// bpftrace does), histograms by key; ties by key.
#pragma once

#include <algorithm>
#include <optional>
#include <vector>

#include "value.h"

namespace dptrace {

inline std::vector<const MapEntry*> sortedEntries(const MapSnapshot& map) {
  std::vector<const MapEntry*> entries;
  for (const MapEntry& e : map.entries) entries.push_back(&e);
  auto rank = [](const MapEntry& e) -> std::optional<Value> {
    if (auto* v = std::get_if<Value>(&e.value)) return *v;
    if (auto* s = std::get_if<Stats>(&e.value)) return Value::uint(s->count);
    if (auto* a = std::get_if<Average>(&e.value))
      return Value::sint(a->count ? a->total / static_cast<int64_t>(a->count) : 0);
    return std::nullopt;  // histograms: by key
  };
  // Keys are unique in a map, so this is a total order: std::sort is deterministic.
  std::sort(entries.begin(), entries.end(), [&](const MapEntry* a, const MapEntry* b) {
    auto ra = rank(*a), rb = rank(*b);
    if (ra && rb && !(*ra == *rb)) return *ra < *rb;
    return a->key < b->key;
  });
  return entries;
}

}  // namespace dptrace
