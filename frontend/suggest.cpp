#include "suggest.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

namespace dptrace {

namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and
// swaps of two neighbouring characters each cost one; case is ignored. Three
// rows of the table at a time (a swap looks two rows back). Past `limit` it
// stops and returns limit + 1: once two rows in a row hold nothing at or
// below it, no later cell can.
size_t distanceAtMost(std::string_view a, std::string_view b, size_t limit) {
  auto same = [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  };
  std::vector<size_t> older(b.size() + 1), previous(b.size() + 1), row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  bool previousOver = false;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    size_t least = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      row[j] = std::min({previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (same(a[i - 1], b[j - 1]) ? 0 : 1)});
      if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1])) row[j] = std::min(row[j], older[j - 2] + 1);
      least = std::min(least, row[j]);
    }
    if (least > limit && previousOver) return limit + 1;
    previousOver = least > limit;
    std::swap(older, previous);
    std::swap(previous, row);
  }
  return std::min(previous[b.size()], limit + 1);
}

}  // namespace

size_t editDistance(std::string_view a, std::string_view b) { return distanceAtMost(a, b, SIZE_MAX - 1); }

std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.size() > 64) return {};  // no name is that long; do not spend time on it
  // A match is at most max(1, |word| / 3) edits away, and a candidate is at
  // least its length's difference away: the others are not measured, and a
  // measure stops where it cannot beat the best so far (the kernel's
  // 150,000 functions, for a kprobe's typo).
  const size_t bound = std::max<size_t>(1, word.size() / 3);
  std::string best;
  size_t bestDistance = SIZE_MAX;
  for (const std::string& c : candidates) {
    size_t apart = c.size() > word.size() ? c.size() - word.size() : word.size() - c.size();
    if (apart > bound) continue;
    size_t limit = std::min(bound, bestDistance - 1);
    size_t d = distanceAtMost(word, c, limit);
    if (d <= limit && d < bestDistance) bestDistance = d, best = c;
  }
  size_t allowed = std::max<size_t>(1, std::min(word.size(), best.size()) / 3);
  return bestDistance <= allowed ? best : std::string();
}

bool wildcardMatch(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

bool hasWildcard(std::string_view s) { return s.find_first_of("*?") != std::string_view::npos; }

}  // namespace dptrace
