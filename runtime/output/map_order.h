// The order in which a map's entries print: by value, smallest first (as
// bpftrace does), histograms by key; ties by key.
#pragma once

#include <algorithm>
#include <optional>
#include <vector>

#include "aggregation.h"
#include "value.h"

namespace dptrace {

inline std::vector<const MapEntry*> sortedEntries(const MapSnapshot& map) {
  std::vector<const MapEntry*> entries;
  for (const MapEntry& e : map.entries) entries.push_back(&e);
  // Numbers rank by their value whatever their C type; other values (strings,
  // addresses) by Value's order; histograms have no rank and sort by key.
  struct Rank {
    bool numeric = false;
    __int128 number = 0;
    std::optional<Value> other;
  };
  auto rank = [](const MapEntry& e) -> std::optional<Rank> {
    if (auto* v = std::get_if<Value>(&e.value)) {
      if (auto* i = std::get_if<int64_t>(&v->v)) return Rank{true, *i, {}};
      if (auto* u = std::get_if<uint64_t>(&v->v)) return Rank{true, static_cast<__int128>(*u), {}};
      return std::nullopt;  // strings, addresses, tuples: by key, as bpftrace prints them
    }
    if (auto* s = std::get_if<Stats>(&e.value)) return Rank{true, static_cast<__int128>(s->count), {}};
    if (auto* a = std::get_if<Average>(&e.value)) return Rank{true, averageOf(a->count, a->total), {}};
    return std::nullopt;
  };
  auto less = [](const Rank& a, const Rank& b) -> std::optional<bool> {  // nullopt: equal
    if (a.numeric != b.numeric) return a.numeric;
    if (a.numeric) return a.number == b.number ? std::nullopt : std::optional<bool>(a.number < b.number);
    if (*a.other == *b.other) return std::nullopt;
    return *a.other < *b.other;
  };
  // Keys are unique in a map, so this is a total order: std::sort is deterministic.
  std::sort(entries.begin(), entries.end(), [&](const MapEntry* a, const MapEntry* b) {
    auto ra = rank(*a), rb = rank(*b);
    if (ra && rb)
      if (auto l = less(*ra, *rb)) return *l;
    return a->key < b->key;
  });
  return entries;
}

// print(@m, top, div): the `top` entries that sort last (the largest; 0 keeps
// all), their numbers divided by `div`, as bpftrace prints them.
inline void keepTop(MapSnapshot& map, uint64_t top, uint64_t div) {
  std::vector<MapEntry> kept;
  std::vector<const MapEntry*> sorted = sortedEntries(map);
  size_t from = top == 0 || top >= sorted.size() ? 0 : sorted.size() - static_cast<size_t>(top);
  for (size_t i = from; i < sorted.size(); ++i) kept.push_back(*sorted[i]);
  if (div > 1)
    for (MapEntry& e : kept)
      if (auto* v = std::get_if<Value>(&e.value)) {
        if (auto* i = std::get_if<int64_t>(&v->v)) *i /= static_cast<int64_t>(div);
        else if (auto* u = std::get_if<uint64_t>(&v->v)) *u /= div;
      }
  map.entries = std::move(kept);
}

}  // namespace dptrace
