// What the lexer does with the tokens it matches: mode changes, literal
// decoding, and the lexical errors with their hints.
#include <limits>

#include "parse_context.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace dptrace {
namespace {

std::string quoted(std::string_view text, size_t max = 24) {
  std::string s(text.substr(0, max));
  if (text.size() > max) s += "...";
  return "'" + s + "'";
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view ParseContext::textOf(SourceRange r) const {
  const std::string& t = file.text();
  if (r.begin >= t.size() || r.end <= r.begin) return {};
  return std::string_view(t).substr(r.begin, r.end - r.begin);
}

void ParseContext::remember(Parser::symbol_kind_type kind, SourceRange range) {
  for (size_t i = history.size() - 1; i > 0; --i) {
    history[i] = history[i - 1];
    historyRange[i] = historyRange[i - 1];
  }
  history[0] = kind;
  historyRange[0] = range;
}

Parser::symbol_type ParseContext::attachSpec(const char*, SourceRange loc) {
  return Parser::make_ATTACH_SPEC(std::string(textOf(loc)), loc);
}

Parser::symbol_type ParseContext::openProbe(SourceRange loc) {
  mode = Mode::Body;
  afterPredicate = false;
  parenDepth = 0;
  openBraces.assign(1, loc);
  return Parser::make_PROBE_BEGIN(loc);
}

Parser::symbol_type ParseContext::openPredicate(SourceRange loc) {
  mode = Mode::Predicate;
  parenDepth = 0;
  predicateStart = loc;
  return Parser::make_PRED_BEGIN(loc);
}

Parser::symbol_type ParseContext::openBrace(SourceRange loc) {
  if (mode == Mode::Predicate) {
    diags.error({loc.begin, loc.begin}, "missing '/' at the end of the predicate",
                "a predicate is written between two slashes before the block: xdp:veth0 /udp/ { ... }");
    pending.emplace(openProbe(loc));
    return Parser::make_PRED_END({loc.begin, loc.begin});
  }
  openBraces.push_back(loc);
  return Parser::make_LBRACE(loc);
}

Parser::symbol_type ParseContext::closeBrace(SourceRange loc) {
  if (mode == Mode::Predicate) {
    // A '}' cannot be part of a predicate: end the probe here so that the
    // parser reports it and recovers at this point.
    mode = Mode::TopLevel;
    openBraces.clear();
    return Parser::make_PROBE_END(loc);
  }
  if (!openBraces.empty()) openBraces.pop_back();
  if (openBraces.empty()) {
    mode = Mode::TopLevel;
    return Parser::make_PROBE_END(loc);
  }
  return Parser::make_RBRACE(loc);
}

Parser::symbol_type ParseContext::slash(SourceRange loc) {
  if (mode == Mode::Predicate && parenDepth == 0) {
    mode = Mode::TopLevel;
    afterPredicate = true;
    return Parser::make_PRED_END(loc);
  }
  return Parser::make_DIV(loc);
}

Parser::symbol_type ParseContext::strayBrace(SourceRange loc) {
  return Parser::make_RBRACE(loc);
}

Parser::symbol_type ParseContext::preprocessorLine(const char*, SourceRange loc) {
  std::string line(textOf(loc));
  if (line.rfind("#include", 0) == 0) {
    size_t i = 8;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || (line[i] != '<' && line[i] != '"'))
      diags.error(loc, "#include needs a file name", "write #include <dpdk.h> or #include \"my_types.h\"");
  }
  return Parser::make_C_DEFINITION(line, loc);
}

void ParseContext::shebang(SourceRange loc) {
  if (loc.begin != 0)
    diags.error(loc, "'#!' is only allowed on the first line of a script",
                "the first line may name the interpreter: #!/usr/bin/env dptrace");
}

void ParseContext::junkAfterPredicate(SourceRange loc) {
  afterPredicate = false;
  diags.error(loc, "expected '{' after the predicate, found " + quoted(textOf(loc)),
              "a '/' inside a predicate ends it; to divide there, use parentheses: /(x / 2) == 1/");
}

void ParseContext::unexpectedTopLevel(const char* text, SourceRange loc) {
  std::string_view t = textOf(loc);
  std::string hint = "a script is made of probes (attach-point /predicate/ { statements }), "
                     "C definitions and #include lines";
  if (text[0] == '@' || text[0] == '$')
    hint = "statements go inside a probe's block: BEGIN { @x = 1; }";
  diags.error(loc, "unexpected " + quoted(t) + " at the top level of the script", hint);
}

void ParseContext::unexpectedCharacter(const char* text, SourceRange loc) {
  std::string_view t = textOf(loc);
  std::string hint;
  switch (text[0]) {
    case '#': t = t.substr(0, 1); hint = "#include lines and C definitions go at the top level, outside every probe"; break;
    case '\'': hint = "strings are written in double quotes: \"text\""; break;
    case '\n': return;
    default: break;
  }
  if (text[0] == '#') loc.end = loc.begin + 1;
  std::string shown = static_cast<unsigned char>(text[0]) < 0x20 || text[0] == 0x7f
                          ? "character " + std::to_string(static_cast<unsigned char>(text[0]))
                          : "character " + quoted(t);
  diags.error(loc, "unexpected " + shown, hint);
}

void ParseContext::beginComment(SourceRange loc, int returnState) {
  commentStart = loc;
  commentReturnState = returnState;
}

void ParseContext::unterminatedComment() {
  diags.error(commentStart, "unterminated comment", "a comment that starts with '/*' ends with '*/'");
}

void ParseContext::beginCDefinition(SourceRange loc, const char* keyword) {
  cDefinitionStart = loc;
  cDefinition = keyword;
  cDefinitionDepth = 0;
}

void ParseContext::cDefinitionText(const char* text, int depthChange) {
  cDefinition += text;
  cDefinitionDepth += depthChange;
  if (cDefinitionDepth < 0) cDefinitionDepth = 0;
}

std::optional<Parser::symbol_type> ParseContext::cDefinitionSemicolon() {
  cDefinition += ';';
  if (cDefinitionDepth > 0) return std::nullopt;
  return Parser::make_C_DEFINITION(std::move(cDefinition), {cDefinitionStart.begin, offset});
}

std::optional<Parser::symbol_type> ParseContext::cDefinitionBrace() {
  cDefinitionText("}", -1);
  if (cDefinitionDepth > 0 || cDefinition.rfind("typedef", 0) == 0) return std::nullopt;
  cDefinition += ';';
  return Parser::make_C_DEFINITION(std::move(cDefinition), {cDefinitionStart.begin, offset});
}

void ParseContext::unterminatedCDefinition() {
  diags.error(cDefinitionStart, "unterminated C definition: no ';' after its closing '}'",
              "a C definition at the top level ends like this: struct pkt { int len; };");
}

Parser::symbol_type ParseContext::integer(const char* text, SourceRange loc) {
  std::string_view t(text);
  unsigned base = 10;
  std::string_view digits = t;
  if (t.size() > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) base = 16, digits = t.substr(2);
  else if (t.size() > 1 && t[0] == '0' && (t[1] == 'b' || t[1] == 'B')) base = 2, digits = t.substr(2);
  else if (t.size() > 1 && t[0] == '0' && t.find_first_of("eE") == std::string_view::npos)
    base = 8, digits = t.substr(1);  // 0755, as C and bpftrace read it

  // Scientific notation, as bpftrace takes it for integers: 1e6, 5e3.
  uint64_t scale = 1;
  if (base == 10)
    if (size_t e = digits.find_first_of("eE"); e != std::string_view::npos && e > 0 && e + 1 < digits.size() &&
                                               digits.find_first_not_of("0123456789", e + 1) == std::string_view::npos) {
      unsigned exponent = 0;
      for (char c : digits.substr(e + 1)) exponent = exponent * 10 + static_cast<unsigned>(c - '0');
      for (unsigned i = 0; i < exponent && scale != 0; ++i)
        scale = scale > std::numeric_limits<uint64_t>::max() / 10 ? 0 : scale * 10;
      digits = digits.substr(0, e);
      if (scale == 0) {
        diags.error(loc, "number " + quoted(t) + " does not fit in 64 bits",
                    "the largest number is 18446744073709551615 (0xffffffffffffffff)");
        return Parser::make_INTEGER({0, std::string(t)}, loc);
      }
    }
  uint64_t value = 0;
  bool anyDigit = false;
  for (size_t i = 0; i < digits.size(); ++i) {
    char c = digits[i];
    if (c == '_') continue;
    int v = hexValue(c);
    if (v < 0 || static_cast<unsigned>(v) >= base) {
      std::string kind = base == 16 ? "hexadecimal" : base == 2 ? "binary" : base == 8 ? "octal" : "decimal";
      SourceRange at{loc.begin + static_cast<uint32_t>(t.size() - digits.size() + i), loc.end};
      diags.error(at, "invalid digit " + quoted(std::string_view(&digits[i], 1)) + " in " + kind + " number " + quoted(t),
                  base == 10  ? "names start with a letter or '_'; hexadecimal numbers with 0x"
                  : base == 8 ? "a number that starts with 0 is octal (0755); write a decimal one without the 0"
                              : "");
      return Parser::make_INTEGER({0, std::string(t)}, loc);
    }
    if (value > (std::numeric_limits<uint64_t>::max() - static_cast<unsigned>(v)) / base) {
      diags.error(loc, "number " + quoted(t) + " does not fit in 64 bits",
                  "the largest number is 18446744073709551615 (0xffffffffffffffff)");
      return Parser::make_INTEGER({0, std::string(t)}, loc);
    }
    value = value * base + static_cast<unsigned>(v);
    anyDigit = true;
  }
  if (!anyDigit) {
    diags.error(loc, "number " + quoted(t) + " has no digits", "write 0x10 or 0b1010");
  }
  if (anyDigit && value > std::numeric_limits<uint64_t>::max() / scale) {
    diags.error(loc, "number " + quoted(t) + " does not fit in 64 bits",
                "the largest number is 18446744073709551615 (0xffffffffffffffff)");
    return Parser::make_INTEGER({0, std::string(t)}, loc);
  }
  return Parser::make_INTEGER({value * scale, std::string(t)}, loc);
}

Parser::symbol_type ParseContext::string(const char*, SourceRange loc, bool terminated) {
  std::string_view raw = textOf(loc);  // not yytext as a C string: the literal may hold NUL bytes
  raw.remove_prefix(1);
  if (terminated) raw.remove_suffix(1);
  else
    diags.error({loc.begin, loc.begin + 1}, "unterminated string",
                "a string ends with '\"' on the same line; write \\n for a line break");

  std::string value;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      value += raw[i];
      continue;
    }
    uint32_t at = loc.begin + 1 + static_cast<uint32_t>(i);
    if (i + 1 >= raw.size()) break;  // only in an unterminated string
    char c = raw[++i];
    switch (c) {
      case 'n': value += '\n'; break;
      case 't': value += '\t'; break;
      case 'r': value += '\r'; break;
      case 'a': value += '\a'; break;
      case 'b': value += '\b'; break;
      case 'f': value += '\f'; break;
      case 'v': value += '\v'; break;
      case 'e': value += '\x1b'; break;
      case '\\': value += '\\'; break;
      case '"': value += '"'; break;
      case '\'': value += '\''; break;
      case 'x': {
        int hi = i + 1 < raw.size() ? hexValue(raw[i + 1]) : -1;
        if (hi < 0) {
          diags.error({at, at + 2}, "'\\x' needs one or two hexadecimal digits", "for example \"\\x41\" is \"A\"");
          break;
        }
        int v = hi;
        ++i;
        int lo = i + 1 < raw.size() ? hexValue(raw[i + 1]) : -1;
        if (lo >= 0) v = v * 16 + lo, ++i;
        value += static_cast<char>(v);
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          int v = c - '0';
          for (int n = 0; n < 2 && i + 1 < raw.size() && raw[i + 1] >= '0' && raw[i + 1] <= '7'; ++n)
            v = v * 8 + (raw[++i] - '0');
          if (v > 255) {
            diags.error({at, at + 4}, "octal escape is larger than a byte", "the largest is \\377");
            break;
          }
          value += static_cast<char>(v);
          break;
        }
        diags.error({at, at + 2}, "unknown escape sequence '\\" + std::string(1, c) + "'",
                    "known escapes: \\n \\t \\r \\\\ \\\" \\xHH \\0");
        value += c;
    }
  }
  return Parser::make_STRING(value, loc);
}

Parser::symbol_type ParseContext::positionalParameter(const char* text, SourceRange loc) {
  if (text[1] == '#') return Parser::make_INTEGER({positional.size(), text}, loc);
  unsigned long n = std::strtoul(text + 1, nullptr, 10);
  if (n == 0) {
    diags.error(loc, "there is no positional parameter $0", "they are $1, $2, ... (the words after the script)");
    return Parser::make_INTEGER({0, text}, loc);
  }
  if (n > positional.size()) return Parser::make_INTEGER({0, text}, loc);  // missing: 0, as bpftrace
  const std::string& arg = positional[n - 1];
  // A number (decimal, 0x hexadecimal, 0 octal) is an integer; anything else a string.
  char* end = nullptr;
  errno = 0;
  unsigned long long v = arg.empty() || arg[0] == '-' ? 0 : std::strtoull(arg.c_str(), &end, 0);
  if (end && *end == '\0' && errno == 0) return Parser::make_INTEGER({v, text}, loc);
  return Parser::make_STRING(arg, loc);
}

Parser::symbol_type ParseContext::positionalString(const char* text, SourceRange loc) {
  const char* dollar = std::strchr(text, '$');
  unsigned long n = std::strtoul(dollar + 1, nullptr, 10);
  if (n == 0) diags.error(loc, "there is no positional parameter $0", "they are $1, $2, ... (the words after the script)");
  return Parser::make_STRING(n >= 1 && n <= positional.size() ? positional[n - 1] : std::string(), loc);
}

Parser::symbol_type ParseContext::badVariable(const char* text, SourceRange loc) {
  if (text[1] == '\0')
    diags.error(loc, "expected a variable name after '$'", "scratch variables look like $name, e.g. $len = pkt.len;");
  else
    diags.error(loc, "positional parameters such as " + quoted(text) + " are not supported",
                "write the value into the script, or use a scratch variable such as $port");
  return Parser::make_VARIABLE("_", loc);
}

Parser::symbol_type ParseContext::endOfInput() {
  // Just after the last token, so that "missing '}'" points where it belongs
  // even when comments or blank lines follow.
  uint32_t end = history[0] == Parser::symbol_kind::S_YYEMPTY ? 0 : historyRange[0].end;
  return Parser::make_END({end, end});
}

}  // namespace dptrace
