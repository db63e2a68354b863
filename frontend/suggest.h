// "did you mean ...?" for misspelt names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dptrace {

size_t editDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a likely typo
// (case is ignored); empty otherwise.
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);

// fnmatch-style '*' and '?' matching of attach-point patterns.
bool wildcardMatch(const std::string& pattern, const std::string& name);
bool hasWildcard(std::string_view s);

}  // namespace dptrace
