// printf() in user space: the format applied to values read from the ring
// buffer. The type checker has already matched conversions to argument kinds.
#include <cstdio>

#include "output.h"

namespace dptrace {
namespace {

template <typename T>
std::string snprintfValue(const std::string& spec, T value) {
  int n = std::snprintf(nullptr, 0, spec.c_str(), value);
  if (n <= 0) return "";
  std::string out(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), spec.c_str(), value);
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

std::string formatPrintf(const std::string& fmt, const std::vector<Value>& args) {
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    // %[flags][width][.precision][length]conversion; the length is ours to choose.
    std::string spec = "%";
    size_t j = i + 1;
    while (j < fmt.size() && std::string_view("-+ #0123456789.").find(fmt[j]) != std::string_view::npos) spec += fmt[j++];
    // The length modifier says how many bits print, as C's printf reads its
    // argument and bpftrace 0.17 passes it there: none is an int (32 bits:
    // a u64 retval of -1 as an int prints -1, nsecs wraps), h 16, hh 8, and
    // l, ll, z, j, t all 64.
    size_t lengthStart = j;
    while (j < fmt.size() && std::string_view("hlzjt").find(fmt[j]) != std::string_view::npos) ++j;
    std::string_view length(fmt.data() + lengthStart, j - lengthStart);
    unsigned narrow = length == "hh" ? 8 : length == "h" ? 16 : length.empty() ? 32 : 64;
    if (j >= fmt.size()) break;
    char conversion = fmt[j];
    i = j;
    if (next >= args.size()) break;
    const Value& v = args[next++];
    if (conversion == 'r') {  // buf(): %r as bpftrace prints it, %rx all in \xNN, %rh "NN NN"
      char style = j + 1 < fmt.size() && (fmt[j + 1] == 'x' || fmt[j + 1] == 'h') ? fmt[++i] : 'r';
      const auto* b = std::get_if<BufferValue>(&v.v);
      std::string text = !b ? v.text() : style == 'r' ? b->text() : b->hex(style == 'h');
      out += snprintfValue(spec + "s", text.c_str());
    } else if (conversion == 's') {
      out += snprintfValue(spec + "s", v.text().c_str());
    } else if (conversion == 'c') {
      int c = std::holds_alternative<int64_t>(v.v) ? static_cast<int>(std::get<int64_t>(v.v))
              : std::holds_alternative<uint64_t>(v.v) ? static_cast<int>(std::get<uint64_t>(v.v)) : '?';
      out += snprintfValue(spec + "c", c);
    } else if (conversion == 'p') {
      uint64_t p = std::holds_alternative<uint64_t>(v.v) ? std::get<uint64_t>(v.v)
                   : std::holds_alternative<int64_t>(v.v) ? static_cast<uint64_t>(std::get<int64_t>(v.v)) : 0;
      // C's %p, as bpftrace passes it there: 0x1234, (nil) for 0, widths and flags kept.
      out += snprintfValue(spec + "p", reinterpret_cast<void*>(static_cast<uintptr_t>(p)));
    } else if (conversion == 'd' || conversion == 'i') {
      long long x = std::holds_alternative<int64_t>(v.v) ? std::get<int64_t>(v.v)
                    : std::holds_alternative<uint64_t>(v.v) ? static_cast<long long>(std::get<uint64_t>(v.v)) : 0;
      if (narrow == 8) x = static_cast<signed char>(x);
      if (narrow == 16) x = static_cast<short>(x);
      if (narrow == 32) x = static_cast<int>(x);
      out += snprintfValue(spec + "lld", x);
    } else {  // u x X o
      unsigned long long x = std::holds_alternative<uint64_t>(v.v) ? std::get<uint64_t>(v.v)
                             : std::holds_alternative<int64_t>(v.v) ? static_cast<unsigned long long>(std::get<int64_t>(v.v)) : 0;
      if (narrow < 64) x &= (1ull << narrow) - 1;
      out += snprintfValue(spec + "ll" + conversion, x);
    }
  }
  return out;
}

}  // namespace dptrace
