// A script's text and the positions inside it.
//
// Locations are byte offsets into the text; line and column are computed only
// when a diagnostic is rendered. Columns count characters (UTF-8 code points),
// so a caret lines up under the character a student sees.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dptrace {

// A half-open range [begin, end) of byte offsets in one SourceFile.
struct SourceRange {
  uint32_t begin = 0;
  uint32_t end = 0;

  bool operator==(const SourceRange&) const = default;
  static SourceRange join(SourceRange a, SourceRange b) {
    return {a.begin < b.begin ? a.begin : b.begin, a.end > b.end ? a.end : b.end};
  }
};

struct LineColumn {
  uint32_t line = 1;    // 1-based
  uint32_t column = 1;  // 1-based, in characters
};

class SourceFile {
public:
  // `name` is what diagnostics print: a path, or "<stdin>" for -e.
  SourceFile(std::string name, std::string text);

  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }

  LineColumn lineColumn(uint32_t offset) const;
  // The text of a 1-based line, without its line break.
  std::string_view lineText(uint32_t line) const;
  uint32_t lineCount() const { return static_cast<uint32_t>(lineStarts_.size()); }

private:
  std::string name_;
  std::string text_;
  std::vector<uint32_t> lineStarts_;
};

// Number of UTF-8 code points in `bytes` (continuation bytes are not counted).
uint32_t countCharacters(std::string_view bytes);

}  // namespace dptrace
