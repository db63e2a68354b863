#include "diagnostics.h"

#include <cstdio>

#include <algorithm>
#include <ostream>

namespace dptrace {
namespace {

constexpr int kTabStop = 8;
constexpr uint32_t kLongestLine = 300;  // characters of a source line shown with an error
constexpr uint32_t kShownBefore = 100;  // of them, before the range

const char* const kBoldRed = "\033[1;31m";
const char* const kBoldMagenta = "\033[1;35m";
const char* const kBoldGreen = "\033[1;32m";
const char* const kBoldCyan = "\033[1;36m";
const char* const kBold = "\033[1m";
const char* const kReset = "\033[0m";

// A source line as shown to the user: tabs expanded to spaces, plus the
// display column at which each character starts.
struct DisplayLine {
  std::string text;
  std::vector<uint32_t> columnOfChar;  // one entry per character, and one past the end
};

// Where the character at `index` starts (0 for the first, before any stray
// continuation bytes; the end of `line` past its last).
size_t byteOfCharacter(std::string_view line, uint32_t index) {
  if (index == 0) return 0;
  for (size_t i = 0; i < line.size(); ++i)
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80 && index-- == 0) return i;
  return line.size();
}

DisplayLine makeDisplayLine(std::string_view line) {
  DisplayLine out;
  uint32_t column = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    bool startsCharacter = (c & 0xC0) != 0x80;
    if (startsCharacter) out.columnOfChar.push_back(column);
    if (c == '\t') {
      uint32_t width = kTabStop - column % kTabStop;
      out.text.append(width, ' ');
      column += width;
    } else if (c < 0x20 || c == 0x7f) {
      out.text.push_back(' ');  // never echo raw control characters to a terminal
      ++column;
    } else {
      out.text.push_back(static_cast<char>(c));
      if (startsCharacter) ++column;
    }
  }
  out.columnOfChar.push_back(column);
  return out;
}

}  // namespace

void Diagnostics::error(SourceRange range, std::string message, std::string hint) {
  diagnostics_.push_back({Severity::Error, range, std::move(message), std::move(hint), {}});
  ++errorCount_;
}

void Diagnostics::errorUnlocated(std::string message, std::string hint) {
  error({0, 0}, std::move(message), std::move(hint));
  diagnostics_.back().located = false;
}

void Diagnostics::systemError(SourceRange range, std::string message, std::string hint) {
  error(range, std::move(message), std::move(hint));
  systemErrors_ = true;
}

void Diagnostics::warning(SourceRange range, std::string message, std::string hint) {
  diagnostics_.push_back({Severity::Warning, range, std::move(message), std::move(hint), {}});
}

void Diagnostics::note(SourceRange range, std::string message) {
  if (!diagnostics_.empty()) diagnostics_.back().notes.push_back({range, std::move(message)});
}

void Diagnostics::print(std::ostream& out, bool color) const {
  for (; printed_ < diagnostics_.size(); ++printed_)
    if (showWarnings_ || diagnostics_[printed_].severity != Severity::Warning)
      out << renderDiagnostic(*file_, diagnostics_[printed_], color);
}

namespace {

// FILE:LINE:COL: LABEL MESSAGE, the source line, and a caret under the range.
std::string renderLocated(const SourceFile& file, SourceRange range, const std::string& label, const char* labelColor,
                          const std::string& message, bool color) {
  auto paint = [color](const char* code, const std::string& text) {
    return color ? std::string(code) + text + kReset : text;
  };
  LineColumn start = file.lineColumn(range.begin);
  LineColumn end = file.lineColumn(std::max(range.end, range.begin));

  std::string out;
  out += paint(kBold, file.name() + ":" + std::to_string(start.line) + ":" +
                          std::to_string(start.column) + ":");
  out += " " + paint(labelColor, label) + " " + paint(kBold, message) + "\n";

  // A line longer than a screen or two (a generated script's) is shown as
  // the part around the range, "..." for the rest: not 400 KB per error.
  std::string_view text = file.lineText(start.line);
  uint32_t firstIndex = start.column - 1;
  uint32_t endIndex = end.line == start.line ? end.column - 1 : UINT32_MAX;  // both clamped to the line below
  std::string before, after;
  if (uint32_t count = text.size() > kLongestLine ? countCharacters(text) : 0; count > kLongestLine) {
    firstIndex = std::min(firstIndex, count);
    uint32_t from = firstIndex > kShownBefore ? firstIndex - kShownBefore : 0;
    uint32_t to = std::min(from + kLongestLine, count);
    if (from > 0) before = "...";
    if (to < count) after = "...";
    size_t fromByte = byteOfCharacter(text, from), toByte = byteOfCharacter(text, to);
    text = text.substr(fromByte, toByte - fromByte);
    firstIndex -= from;
    endIndex = std::min(std::max(endIndex, from), to) - from;
  }
  DisplayLine line = makeDisplayLine(text);
  out += before + line.text + after + "\n";

  uint32_t lastChar = static_cast<uint32_t>(line.columnOfChar.size() - 1);
  firstIndex = std::min(firstIndex, lastChar);
  endIndex = std::min(endIndex, lastChar);
  uint32_t caretColumn = line.columnOfChar[firstIndex];
  uint32_t endColumn = std::max(line.columnOfChar[endIndex], caretColumn + 1);
  std::string marker = "^" + std::string(endColumn - caretColumn - 1, '~');
  out += std::string(before.size() + caretColumn, ' ') + paint(kBoldGreen, marker) + "\n";
  return out;
}

}  // namespace

std::string renderDiagnostic(const SourceFile& file, const Diagnostic& d, bool color) {
  bool error = d.severity == Severity::Error;
  if (!d.located) {
    std::string label = error ? "error:" : "warning:";
    if (color) label = std::string(error ? kBoldRed : kBoldMagenta) + label + kReset;
    std::string out = "dptrace: " + label + " " + d.message + "\n";
    if (!d.hint.empty()) out += (color ? std::string(kBoldCyan) + "hint:" + kReset : std::string("hint:")) + " " + d.hint + "\n";
    return out;
  }
  std::string out = renderLocated(file, d.range, error ? "error:" : "warning:", error ? kBoldRed : kBoldMagenta,
                                  d.message, color);
  if (!d.hint.empty()) out += (color ? std::string(kBoldCyan) + "hint:" + kReset : std::string("hint:")) + " " + d.hint + "\n";
  for (const DiagnosticNote& n : d.notes) out += renderLocated(file, n.range, "note:", kBoldCyan, n.message, color);
  return out;
}

std::string hexNumber(uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(v));
  return text;
}

}  // namespace dptrace
