// The parts of --export that need no libcurl: the checks done before a
// run, and the loader of the exporter (net_module.h).
#include "export.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "net_module.h"

namespace dptrace {

// The URL as written with what stands between the user name's ':' and the
// '@' of its authority masked, for messages (whether or not it parses).
std::string maskedUrl(const std::string& text) {
  size_t scheme = text.find("://");
  size_t from = scheme == std::string::npos ? 0 : scheme + 3;
  size_t end = text.find_first_of("/?#", from);
  size_t at = text.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at == std::string::npos || at < from) return text;
  size_t colon = text.find(':', from);
  if (colon == std::string::npos || colon > at) return text;
  return text.substr(0, colon + 1) + "***" + text.substr(at);
}

std::optional<std::string> exportHeaderProblem(const std::string& header) {
  size_t colon = header.find(':');
  std::string name = header.substr(0, colon);
  auto token = [](unsigned char c) { return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c); };
  if (colon == std::string::npos || name.empty() || !std::all_of(name.begin(), name.end(), token))
    return "is not NAME: VALUE (a name of letters, digits and !#$%&'*+-.^_`|~, then a colon)";
  if (header.find_first_of("\r\n") != std::string::npos) return "is not on one line";
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* own : {"content-length", "content-type", "transfer-encoding", "host", "expect", "connection"})
    if (lower == own) return "sets a header dptrace writes itself";
  if (lower.rfind("x-dptrace-", 0) == 0) return "sets a header dptrace writes itself";
  if (header.find_first_not_of(" \t", colon + 1) == std::string::npos) return "has no value";
  return std::nullopt;
}

std::optional<ExportUrl> parseExportUrl(const std::string& text, std::string& error) {
  const NetModule* net = netModule(error);
  return net ? net->parseExportUrl(text, error) : std::nullopt;
}

std::unique_ptr<Exporter> makeExporter(std::string& error) {
  const NetModule* net = netModule(error);
  return net ? net->makeExporter() : nullptr;
}

}  // namespace dptrace
