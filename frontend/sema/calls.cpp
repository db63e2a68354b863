// Typing of calls: functions, aggregations, map functions and packet actions,
// with printf's format checked against its arguments.
#include <arpa/inet.h>
#include <string.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fstream>

#include "builtins.h"
#include "dwarf_signatures.h"
#include "suggest.h"
#include "usdt.h"
#include "packet_views.h"
#include "type_checker.h"
#include "writes.h"

namespace dptrace {
namespace {

struct Conversion {
  size_t at;          // offset of '%' in the format
  size_t length;      // of the whole conversion, "%-08lld" is 7
  char letter;        // d i u x X o c s p
};

// The conversions of a printf format; `bad` is set to the offset of the first
// one dptrace does not know.
std::vector<Conversion> conversions(const std::string& fmt, std::optional<size_t>& bad) {
  std::vector<Conversion> out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') continue;
    size_t start = i++;
    if (i < fmt.size() && fmt[i] == '%') continue;
    while (i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos) ++i;
    while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') ++i;
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') ++i;
    }
    while (i < fmt.size() && std::string_view("hlzjt").find(fmt[i]) != std::string_view::npos) ++i;
    if (i >= fmt.size() || std::string_view("diuxXocspr").find(fmt[i]) == std::string_view::npos) {
      if (!bad) bad = start;
      continue;
    }
    char letter = fmt[i];
    if (letter == 'r' && i + 1 < fmt.size() && (fmt[i + 1] == 'x' || fmt[i + 1] == 'h')) ++i;  // %rx, %rh
    out.push_back({start, i - start + 1, letter});
  }
  return out;
}

// A kernel symbol's address from /proc/kallsyms (as root: with non-zero
// addresses), as bpftrace's kaddr() finds it at compile time.
std::optional<uint64_t> kernelSymbolAddress(const std::string& name) {
  std::ifstream in("/proc/kallsyms");
  std::string line;
  while (std::getline(in, line)) {
    // "ffffffff82a0c5c0 D avenrun" (a module's symbols end in " [module]")
    size_t first = line.find(' '), second = first == std::string::npos ? first : line.find(' ', first + 1);
    if (second == std::string::npos) continue;
    size_t end = line.find_first_of(" \t", second + 1);
    if (line.compare(second + 1, end == std::string::npos ? std::string::npos : end - second - 1, name) != 0) continue;
    uint64_t address = std::strtoull(line.c_str(), nullptr, 16);
    if (address != 0) return address;
  }
  return std::nullopt;
}

// Where a register is in x86-64's struct pt_regs, by bpftrace's names.
std::optional<uint64_t> ptRegsOffset(const std::string& name) {
  static const char* const kRegs[] = {"r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax",
                                      "cx",  "dx",  "si",  "di",  "orig_ax", "ip", "cs", "flags", "sp", "ss"};
  for (size_t i = 0; i < std::size(kRegs); ++i)
    if (name == kRegs[i]) return i * 8;
  return std::nullopt;
}

}  // namespace

// The per-function rules, given access to the checker.
struct CallTyping {
  TypeChecker& tc;
  const ast::Call& c;
  const BuiltinInfo& b;

  const ast::Expr& arg(size_t i) { return *c.args[i].value; }
  void error(SourceRange r, std::string m, std::string h = {}) { tc.error(r, std::move(m), std::move(h)); }

  std::optional<Type> integerArg(size_t i, const char* what) {
    auto t = tc.typeOf(arg(i));
    if (t && !t->isIntegerLike()) {
      error(arg(i).range, std::string(what) + " must be an integer, not " + t->kindName());
      return std::nullopt;
    }
    return t;
  }

  std::optional<Constant> constantArg(size_t i, const char* what) {
    auto k = constantOf(arg(i));
    if (!k) error(arg(i).range, std::string(what) + " must be a constant number");
    else tc.set(arg(i), Type::s64());
    return k;
  }

  const ast::String* stringLiteral(size_t i, const char* what) {
    if (arg(i).kind != ast::ExprKind::String) {
      error(arg(i).range, std::string(what) + " must be a string in double quotes");
      return nullptr;
    }
    tc.typeOf(arg(i));
    return &static_cast<const ast::String&>(arg(i));
  }

  void printf(const char* what = "the format of printf()") {
    const ast::String* fmt = stringLiteral(0, what);
    if (!fmt) return;
    std::optional<size_t> bad;
    auto convs = conversions(fmt->value, bad);
    if (bad) {
      uint32_t at = fmt->range.begin + 1 + static_cast<uint32_t>(*bad);
      return error({at, at + 2}, "unknown printf conversion", "use %d %u %x %s %c %p (with l/ll sizes), %r for buf(), or %% for '%'");
    }
    size_t given = c.args.size() - 1;
    if (given != convs.size())
      return error(c.range, "the format has " + std::to_string(convs.size()) + " conversion" +
                                (convs.size() == 1 ? "" : "s") + " but printf() is given " + std::to_string(given) +
                                " value" + (given == 1 ? "" : "s"),
                   "each %d, %s, ... takes one argument after the format");
    for (size_t i = 0; i < convs.size(); ++i) {
      auto t = tc.plainValue(arg(i + 1), "a printf() argument");
      if (!t) continue;
      char letter = convs[i].letter;
      std::string conv = fmt->value.substr(convs[i].at, convs[i].length);
      if ((letter == 'r') != t->is(TypeKind::Buffer)) {
        if (letter == 'r') error(arg(i + 1).range, "'" + conv + "' prints a buf() buffer, and this is " + t->kindName(),
                                 "read the bytes with buf(p, n)");
        else error(arg(i + 1).range, "'" + conv + "' cannot print a buf() buffer", "print it with %r, %rx or %rh");
        continue;
      }
      if (letter == 'r') continue;
      bool wantsText = letter == 's';
      bool isText = t->is(TypeKind::String) || t->isAddress() || t->is(TypeKind::Mac) || t->is(TypeKind::Array) ||
                    t->is(TypeKind::Deferred);
      bool isNumber = t->isIntegerLike() || t->is(TypeKind::Pointer);
      if (wantsText && !isText)
        error(arg(i + 1).range, "'" + conv + "' prints a string, and this is " + t->kindName(),
              t->is(TypeKind::Pointer) ? "read the string it points to with str(): str(p)"
              : isNumber              ? "print numbers with %d, %u or %x"
                                      : "");
      else if (!wantsText && !isNumber)
        error(arg(i + 1).range, "'" + conv + "' prints a number, and this is " + t->kindName(),
              isText ? "print it with %s" : "");
    }
  }

  // The size in bytes of a value of type t, as sizeof() gives it; 0 if it has none.
  uint64_t byteSize(const Type& t) {
    switch (t.kind()) {
      case TypeKind::Integer: return t.bits() / 8;
      case TypeKind::Bool: return 1;
      case TypeKind::String:
      case TypeKind::Array:
      case TypeKind::Record:
      case TypeKind::Buffer: return t.capacity();
      case TypeKind::Ipv4: return 4;
      case TypeKind::Ipv6: return 16;
      case TypeKind::Inet: return 24;
      case TypeKind::Mac: return 6;
      case TypeKind::Pointer: return 8;
      case TypeKind::Struct: {
        const StructLayout* layout = tc.types_.imported->findStruct(t.name());
        return layout ? layout->size : 0;
      }
      case TypeKind::Tuple: {
        uint64_t total = 0;
        for (const Type& e : t.elements()) total += byteSize(e);
        return total;
      }
      case TypeKind::Deferred: return 16;
      case TypeKind::Void:
      case TypeKind::Aggregation: return 0;
    }
    return 0;
  }

  void sizeOf() {
    uint64_t size = 0;
    if (c.typeArgument) {
      const ast::TypeName& name = *c.typeArgument;
      if (name.pointers > 0) size = 8;
      else if (name.kind == ast::TypeName::Kind::Builtin) size = name.name == "bool" ? 1 : std::stoul(name.name.substr(name.name.find_first_of("0123456789"))) / 8;
      else if (name.kind == ast::TypeName::Kind::Enum) {
        auto it = tc.types_.imported->enums.find(name.name);
        if (it == tc.types_.imported->enums.end()) return error(name.range, name.spelling() + " is not known");
        size = byteSize(it->second);
      } else {
        const StructLayout* layout = tc.types_.imported->findStruct(name.name);
        if (!layout)
          return error(name.range, name.spelling() + " is not known",
                       "define it in the script, #include a header that does, or probe a binary built with -g");
        size = layout->size;
      }
    } else if (c.args.size() == 1) {
      auto t = tc.typeOf(arg(0));
      if (!t) return;
      size = byteSize(*t);
      if (size == 0) return error(arg(0).range, "sizeof() of " + t->kindName() + " has no meaning");
    } else {
      return error(c.range, "sizeof() takes one type or one value", "sizeof(struct task_struct), sizeof(u32), sizeof($x)");
    }
    tc.types_.values[&c] = size;
    tc.set(c, Type::u64());
  }

  void aggregation() {
    Aggregation a = Aggregation::Count;
    std::string n = b.name;
    if (n == "sum") a = Aggregation::Sum;
    if (n == "avg") a = Aggregation::Avg;
    if (n == "min") a = Aggregation::Min;
    if (n == "max") a = Aggregation::Max;
    if (n == "stats") a = Aggregation::Stats;
    if (n == "hist") a = Aggregation::Hist;
    if (n == "lhist") a = Aggregation::Lhist;
    Type argument = Type::u64();
    if (!c.args.empty()) {
      auto t = integerArg(0, (n + "()'s value").c_str());
      if (!t) return;
      argument = t->is(TypeKind::Bool) ? Type::integer(8, false) : *t;
    }
    if (a == Aggregation::Lhist) {
      auto lo = constantArg(1, "lhist()'s min");
      auto hi = constantArg(2, "lhist()'s max");
      auto step = constantArg(3, "lhist()'s step");
      if (!lo || !hi || !step) return;
      auto value = [](const Constant& k) { return k.negative ? -static_cast<int64_t>(k.magnitude) : static_cast<int64_t>(k.magnitude); };
      if (value(*step) <= 0) return error(arg(3).range, "lhist()'s step must be above 0");
      if (value(*hi) <= value(*lo)) return error(arg(2).range, "lhist()'s max must be above its min");
      if ((value(*hi) - value(*lo)) / value(*step) > 1000)
        return error(c.range, "lhist() would have more than 1000 buckets", "use a larger step, or hist()");
      // One map, one set of buckets: a second lhist() into it must agree.
      LinearBounds bounds{value(*lo), value(*hi), value(*step), c.range};
      MapInfo& info = tc.types_.maps[tc.aggregationMap_->name];
      if (info.lhist && !(*info.lhist == bounds)) {
        auto text = [](const LinearBounds& b) {
          return "min " + std::to_string(b.min) + ", max " + std::to_string(b.max) + ", step " + std::to_string(b.step);
        };
        error(c.range, "@" + tc.aggregationMap_->name + " is an lhist() with " + text(*info.lhist) +
                           " elsewhere; here it is given " + text(bounds),
              "one map has one set of buckets: use the same bounds, or another map");
        tc.diags_.note(info.lhist->at, "the other lhist() of @" + tc.aggregationMap_->name + " is here");
        return;
      }
      if (!info.lhist) info.lhist = bounds;
    }
    tc.set(c, Type::aggregation(a, argument));
  }

  void run() {
    std::string n = b.name;
    if (c.typeArgument && n != "sizeof")
      return error(c.typeArgument->range, n + "() takes values, not a type", "only sizeof() takes a type");
    if (n == "pass" && tc.kinds_.contains(ProbeKind::Afxdp))
      return error(c.calleeRange, "an afxdp block cannot pass() a packet to the kernel",
                   "its body runs in dptrace after the kernel handed the frame over: end it with tx() or drop()");
    if ((n == "redirect" || n == "abort") && tc.kinds_.contains(ProbeKind::Afxdp))
      return error(c.calleeRange, n + "() is an XDP verdict of the kernel; an afxdp body runs in dptrace, after it",
                   "end the body with tx() or drop(), or do this in an xdp block (afxdp blocks' predicates run there too)");
    if (!tc.allowedHere(b.onlyIn))
      return error(c.calleeRange, n + "() is not available in " + tc.providersText() + " probes",
                   "it exists in: " + b.onlyIn.text());

    switch (b.kind) {
      case BuiltinKind::Aggregation:
        if (tc.aggregationSite_ == &c) return aggregation();
        return error(c.range, n + "() is an aggregation: assign it to a map", "for example: @x = " + std::string(b.signature) + ";");
      case BuiltinKind::MapFunction: return mapFunction(n);
      default: break;
    }
    if (n == "printf") return printf(), tc.set(c, Type());
    if (n == "cgroupid") {  // as bpftrace: the cgroup directory's inode number, when the script compiles
      const ast::String* s = stringLiteral(0, "cgroupid()'s path");
      if (!s) return;
      struct stat st;
      if (stat(s->value.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return error(arg(0).range, "no cgroup at '" + s->value + "'" + (errno ? std::string(": ") + std::strerror(errno) : ""),
                     "a cgroup is a directory under /sys/fs/cgroup");
      tc.types_.values[&c] = st.st_ino;
      return tc.set(c, Type::u64());
    }
    if (n == "path") {  // bpf_d_path(): the kernel writes the path of a struct path
      auto t = tc.typeOf(arg(0));
      if (!t) return;
      // a struct path (its address: args.file->f_path, as bpftrace writes it) or a pointer to one
      const Type* record = t->is(TypeKind::Pointer) ? &t->pointee() : &*t;
      if (!record->is(TypeKind::Struct) || record->name() != "path")
        return error(arg(0).range, "path() takes a struct path (or a pointer to one), and this is " + t->str(),
                     "e.g. path(args.file->f_path)");
      return tc.set(c, Type::string(tc.types_.imported->strLength));
    }
    if (n == "override") {  // as bpftrace: unsafe, an integer, kprobes only (the kernel allows it on ALLOW_ERROR_INJECTION functions)
      if (!tc.types_.imported->unsafe)
        return error(c.calleeRange, "override() changes what a kernel function returns: it needs --unsafe", "run dptrace --unsafe, as bpftrace wants");
      if (!integerArg(0, "override()'s return value")) return;
      return tc.set(c, Type());
    }
    if (n == "debugf") {  // bpf_trace_printk(): to the kernel's trace pipe, as bpftrace 0.17 does
      if (c.args.size() > 4)
        return error(c.range, "debugf() takes at most 3 values after the format (bpf_trace_printk takes 3)",
                     "print more with printf()");
      tc.diags_.warning(c.calleeRange, "debugf() writes to the kernel's trace pipe (/sys/kernel/tracing/trace_pipe), not to dptrace's output",
                 "printf() prints here; debugf() is for debugging, not production (bpf_trace_printk)");
      return printf("the format of debugf()"), tc.set(c, Type());
    }
    if (n == "cat") return printf("cat()'s file name"), tc.set(c, Type());
    if (n == "capture") {  // the snap length: a constant, as the ring buffer's record has one size
      auto k = constantArg(0, "capture()'s byte count");
      if (!k) return;
      if (k->negative || k->magnitude < 1 || k->magnitude > kMaxCaptureBytes)
        return error(arg(0).range, "capture() copies 1 to " + std::to_string(kMaxCaptureBytes) + " bytes of a frame",
                     "capture(" + std::to_string(kMaxCaptureBytes) + ") takes whole jumbo frames; capture(96) headers");
      tc.types_.values[&c] = k->magnitude;
      return tc.set(c, Type());
    }
    if (n == "system") {
      if (!tc.types_.imported->unsafe)
        return error(c.calleeRange, "system() runs a command as root: it needs --unsafe", "run dptrace --unsafe, as bpftrace wants");
      return printf("system()'s command"), tc.set(c, Type());
    }
    if (n == "signal") {
      if (!tc.types_.imported->unsafe)
        return error(c.calleeRange, "signal() sends a signal to the traced task: it needs --unsafe",
                     "run dptrace --unsafe, as bpftrace wants");
      int sig = 0;
      if (arg(0).kind == ast::ExprKind::String) {
        std::string name = static_cast<const ast::String&>(arg(0)).value;
        tc.typeOf(arg(0));
        if (name.rfind("SIG", 0) == 0) name = name.substr(3);
        for (int s = 1; s < 32; ++s)
          if (const char* abbrev = sigabbrev_np(s); abbrev && name == abbrev) sig = s;
        if (sig == 0) return error(arg(0).range, "'" + static_cast<const ast::String&>(arg(0)).value + "' is no signal", "for example signal(\"KILL\") or signal(9)");
      } else if (auto k = constantOf(arg(0))) {
        tc.set(arg(0), Type::s64());
        if (k->negative || k->magnitude < 1 || k->magnitude > 64) return error(arg(0).range, "a signal is a number from 1 to 64");
        sig = static_cast<int>(k->magnitude);
      } else {  // a computed signal: the kernel refuses one out of range (-k says so)
        if (!integerArg(0, "signal()'s signal")) return;
        return tc.set(c, Type());
      }
      tc.types_.values[&c] = static_cast<uint64_t>(sig);
      return tc.set(c, Type());
    }
    if (n == "print") {
      if (const ast::Map* m = tc.wholeMapArgument(c, 0)) {
        // print(@m, top, div), as bpftrace: the `top` largest entries, values divided by `div`.
        if (c.args.size() > 1) {
          auto top = constantArg(1, "print()'s top");
          if (!top) return;
          if (top->negative) return error(arg(1).range, "print()'s top is a count of entries: 0 (all) or more");
        }
        if (c.args.size() > 2) {
          auto div = constantArg(2, "print()'s divisor");
          if (!div) return;
          if (div->negative || div->magnitude == 0) return error(arg(2).range, "print()'s divisor must be 1 or more");
        }
        return (void)m, tc.set(c, Type());
      }
      if (c.args.size() > 1)
        return error(arg(1).range, "print() of a value takes that value alone", "print(@map, top, div) takes a map");
      if (tc.plainValue(arg(0), "print()'s argument")) tc.set(c, Type());
      return;
    }
    if (n == "time") {
      if (!c.args.empty() && !stringLiteral(0, "the format of time()")) return;
      return tc.set(c, Type());
    }
    if (n == "join") {  // join(args->argv[, " "]), as bpftrace: a record of up to 16 strings
      auto t = tc.typeOf(arg(0));
      if (!t) return;
      if (!t->is(TypeKind::Pointer) && !t->is(TypeKind::Integer))
        return error(arg(0).range, "join() reads an array of string pointers, and this is " + t->kindName(),
                     "pass the array itself: join(args->argv)");
      if (c.args.size() == 2 && !stringLiteral(1, "join()'s delimiter")) return;
      return tc.set(c, Type());
    }
    if (n == "sizeof") return sizeOf();
    if (n == "uptr" || n == "kptr") {  // the address space its reads use, as bpftrace's annotations
      auto t = tc.typeOf(arg(0));
      if (!t) return;
      if (!t->is(TypeKind::Pointer) && !t->is(TypeKind::Integer))
        return error(arg(0).range, n + "() marks an address, and this is " + t->kindName());
      return tc.set(c, t->onlyIn(n == "uptr" ? AddressSpace::User : AddressSpace::Kernel));
    }
    if (n == "reg") {
      const ast::String* s = stringLiteral(0, "reg()'s register");
      if (!s) return;
      auto offset = ptRegsOffset(s->value);
      if (!offset)
        return error(arg(0).range, "'" + s->value + "' is no register of x86-64's struct pt_regs",
                     "ip sp bp ax bx cx dx si di r8 .. r15 flags orig_ax cs ss");
      tc.types_.values[&c] = *offset;
      return tc.set(c, Type::u64());
    }
    if (n == "kstack" || n == "ustack") {  // kstack(perf, 8): checked by name (check_names.cpp)
      std::string why;
      auto options = stackOptions(c, why);
      if (!options) return error(c.range, why);
      tc.types_.values[&c] = options->encoded();
      return tc.set(c, Type::deferred(n == "kstack" ? Deferred::Kstack : Deferred::Ustack));
    }
    if (n == "usym" || n == "ksym" || n == "strerror") {
      auto t = tc.typeOf(arg(0));
      if (!t) return;
      if (!t->isIntegerLike() && !t->is(TypeKind::Pointer))
        return error(arg(0).range, n + "() takes " + (n == "strerror" ? "an errno" : "an address") + ", and this is " + t->kindName());
      return tc.set(c, Type::deferred(n == "usym" ? Deferred::Usym : n == "ksym" ? Deferred::Ksym : Deferred::Strerror));
    }
    if (n == "strftime") {
      if (!stringLiteral(0, "the format of strftime()")) return;
      if (!integerArg(1, "strftime()'s time")) return;
      return tc.set(c, Type::deferred(Deferred::Strftime));
    }
    if (n == "strcontains") {  // strcontains(haystack, needle): 1 when needle is in haystack
      for (size_t i = 0; i < 2; ++i) {
        auto t = tc.typeOf(arg(i));
        if (!t) return;
        if (!t->is(TypeKind::String))
          return error(arg(i).range, "strcontains() looks for a string in a string, and this is " + t->kindName(),
                       t->is(TypeKind::Pointer) ? "read the string first: str(p)" : "");
      }
      return tc.set(c, Type::integer(64, false));
    }
    if (n == "strncmp") {  // strncmp(s1, s2, n): 0 when the first n bytes match, as bpftrace
      for (size_t i = 0; i < 2; ++i) {
        auto t = tc.typeOf(arg(i));
        if (!t) return;
        if (!t->is(TypeKind::String))
          return error(arg(i).range, "strncmp() compares strings, and this is " + t->kindName(),
                       t->is(TypeKind::Pointer) ? "read the string first: str(p)" : "");
      }
      auto k = constantArg(2, "strncmp()'s length");
      if (!k) return;
      if (k->negative) return error(arg(2).range, "strncmp()'s length cannot be negative");
      tc.types_.values[&c] = k->magnitude;
      return tc.set(c, Type::integer(64, false));
    }
    if (n == "macaddr") {
      auto t = tc.typeOf(arg(0));
      if (!t) return;
      if (t->is(TypeKind::Mac)) return tc.set(c, *t);
      // An address in a 64-bit integer (kprobe:arp_create's sarg0) is read as a pointer is, as bpftrace reads it.
      if ((t->is(TypeKind::Array) && t->capacity() >= 6) || t->is(TypeKind::Pointer) || (t->is(TypeKind::Integer) && t->bits() == 64))
        return tc.set(c, Type::mac());
      return error(arg(0).range, "macaddr() reads 6 bytes from an array or through a pointer (or a 64-bit address), and this is " +
                                     t->str());
    }
    if (n == "kaddr") {
      const ast::String* s = stringLiteral(0, "kaddr()'s symbol");
      if (!s) return;
      std::optional<uint64_t> address = kernelSymbolAddress(s->value);
      if (!address)
        return error(arg(0).range, "the kernel has no symbol '" + s->value + "' in /proc/kallsyms",
                     "bpftrace says: Failed to resolve kernel symbol; data symbols are listed only with CONFIG_KALLSYMS_ALL");
      tc.types_.values[&c] = *address;
      return tc.set(c, Type::u64().in(AddressSpace::Kernel));
    }
    if (n == "str") {
      auto t = tc.typeOf(arg(0));
      if (!t) return;
      if (!t->is(TypeKind::String) && !t->is(TypeKind::Pointer) && !t->is(TypeKind::Integer))
        return error(arg(0).range, "str() reads a string from an address, and this is " + t->kindName());
      // As bpftrace 0.17: str(p, n) is n characters and the NUL, and at most
      // BPFTRACE_STRLEN bytes, the NUL included (str(p, 3) is "/et", and
      // "/e" with BPFTRACE_STRLEN=3).
      uint32_t size = tc.types_.imported->strLength;
      if (c.args.size() == 2) {  // a constant, or a length computed when it runs (at most the capacity)
        if (auto k = constantOf(arg(1))) {
          tc.set(arg(1), Type::s64());
          if (k->negative || k->magnitude > 1024) return error(arg(1).range, "str()'s length must be from 0 to 1024");
          size = std::min(size, static_cast<uint32_t>(k->magnitude) + 1);
        } else if (!integerArg(1, "str()'s length")) {
          return;
        } else if (t->is(TypeKind::String)) {
          return error(arg(1).range, "str() of a string takes a constant length", "str($s, 8)");
        }
      }
      return tc.set(c, Type::string(t->is(TypeKind::String) ? std::min(size, t->capacity()) : size));
    }
    if (n == "uaddr") {  // the symbol of the probed binary; where it is in the process: codegen
      const ast::String* s = stringLiteral(0, "uaddr()'s symbol");
      if (!s) return;
      std::string binary;
      for (const ast::AttachPoint& ap : tc.probe_->attachPoints) {
        if (!binary.empty() && findBinary(ap.target) != binary)
          return error(c.range, "uaddr() names a symbol of the probed binary, and this block probes two ('" + binary + "', '" +
                                    findBinary(ap.target) + "')",
                       "give each binary a block of its own");
        binary = findBinary(ap.target);
      }
      std::vector<std::string> names;
      std::string why;
      auto sym = findElfSymbol(binary, s->value, names, why);
      if (!sym) {
        if (!why.empty()) return error(arg(0).range, "cannot read '" + binary + "': " + why);
        std::string guess = closestMatch(s->value, names);
        return error(arg(0).range, "'" + binary + "' has no symbol '" + s->value + "'",
                     guess.empty() ? "uaddr() takes a variable or function of the probed binary (nm -D lists them)"
                                   : "did you mean '" + guess + "'?");
      }
      // A position-independent file's symbol is found from where the probe
      // fired, which a return probe does not know.
      if (sym->relocatable)
        for (const ast::AttachPoint& ap : tc.probe_->attachPoints)
          if (ap.kind == ProbeKind::Uretprobe || (ap.offset && ap.function.empty()))
            return error(c.range, "uaddr() in a " + std::string(ap.kind == ProbeKind::Uretprobe ? "uretprobe" : "probe by file offset") +
                                      " of a position-independent binary: where '" + s->value + "' is in the process is not known there",
                         "read it at the function's entry (a uprobe) and keep it in a map by tid");
      tc.types_.values[&c] = sym->address | (sym->relocatable ? kUaddrRelocatable : 0);
      uint32_t bits = sym->size == 1 || sym->size == 2 || sym->size == 4 || sym->size == 8 ? static_cast<uint32_t>(sym->size * 8) : 64;
      return tc.set(c, Type::pointer(Type::integer(bits, true)).onlyIn(AddressSpace::User));  // signed, as bpftrace 0.17 reads it
    }
    if (n == "cgroup_path") {  // found in user space when it prints, as bpftrace does
      if (!integerArg(0, "cgroup_path()'s cgroup id")) return;
      if (c.args.size() == 2 && !stringLiteral(1, "cgroup_path()'s filter")) return;
      return tc.set(c, Type::deferred(Deferred::CgroupPath));
    }
    if (n == "buf") {  // buf(p, n), buf(array[, n]): as bpftrace, BPFTRACE_STRLEN bytes at most unless n is a constant
      auto t = tc.typeOf(arg(0));
      if (!t) return;
      // An array's bytes (a string literal's without its NUL, as bpftrace takes it).
      bool array = t->is(TypeKind::Array) || t->is(TypeKind::String);
      if (!array && !t->is(TypeKind::Pointer) && !t->is(TypeKind::Integer))
        return error(arg(0).range, "buf() reads bytes from an address or an array, and this is " + t->kindName());
      if (!array && c.args.size() < 2)
        return error(c.range, "buf() of an address needs the number of bytes", "buf(p, 16)");
      uint32_t size = !array ? tc.types_.imported->strLength
                      : arg(0).kind == ast::ExprKind::String ? static_cast<uint32_t>(static_cast<const ast::String&>(arg(0)).value.size())
                                                              : t->capacity();
      if (c.args.size() == 2) {
        if (auto k = constantOf(arg(1))) {
          tc.set(arg(1), Type::s64());
          if (k->negative) return error(arg(1).range, "buf()'s length cannot be negative");
          uint32_t most = tc.types_.imported->strLength;  // as bpftrace: BPFTRACE_STRLEN bytes at most
          if (k->magnitude > most)
            tc.diags_.warning(arg(1).range, "buf() reads at most " + std::to_string(most) + " bytes (BPFTRACE_STRLEN): " +
                                                std::to_string(k->magnitude) + " is cut to " + std::to_string(most),
                              "set BPFTRACE_STRLEN (up to 200) for more, as with bpftrace");
          size = std::min<uint32_t>(array ? size : most, static_cast<uint32_t>(std::min<uint64_t>(k->magnitude, most)));
        } else if (!integerArg(1, "buf()'s length")) {
          return;
        }
      }
      return tc.set(c, Type::buffer(size));
    }
    if (n == "bswap") {  // as bpftrace: the same integer type, bytes reversed (a byte is itself)
      auto t = tc.typeOf(arg(0));
      if (!t) return;
      if (!t->is(TypeKind::Integer))
        return error(arg(0).range, "bswap() reverses the bytes of an integer, and this is " + t->kindName());
      return tc.set(c, Type::integer(t->bits(), t->isSigned()));
    }
    if (n == "ntop") {
      // ntop(af, addr): the family, a constant (AF_INET 2, AF_INET6 10), says which the bytes are.
      const ast::Expr& address = arg(c.args.size() - 1);
      std::optional<uint64_t> family;
      if (c.args.size() == 2) {
        auto k = constantArg(0, "ntop()'s address family");
        if (!k) return;
        if (k->negative || (k->magnitude != 2 && k->magnitude != 10))
          return error(arg(0).range, "ntop()'s address family is AF_INET (2) or AF_INET6 (10)");
        family = k->magnitude;
      }
      auto t = tc.typeOf(address);
      if (!t) return;
      if (family) {
        bool v6 = *family == 10;
        if (v6 ? (t->is(TypeKind::Ipv6) || (t->is(TypeKind::Array) && t->capacity() == 16))
               : (t->is(TypeKind::Ipv4) || t->is(TypeKind::Integer) || (t->is(TypeKind::Array) && t->capacity() >= 4)))
          return tc.set(c, v6 ? Type::ipv6() : Type::ipv4());
        return error(address.range, std::string("ntop(") + (v6 ? "AF_INET6" : "AF_INET") + ", ...) takes " +
                                        (v6 ? "16 bytes (an array)" : "an integer or 4 bytes") + ", and this is " + t->str());
      }
      if (t->isAddress()) return tc.set(c, *t);
      if (t->is(TypeKind::Integer)) return tc.set(c, Type::ipv4());
      // The bytes of an address in an array (u8 saddr[4], u8 saddr_v6[16], u32 addr[4]).
      if (t->is(TypeKind::Array) && t->capacity() == 4) return tc.set(c, Type::ipv4());
      if (t->is(TypeKind::Array) && t->capacity() == 16) return tc.set(c, Type::ipv6());
      return error(arg(0).range, "ntop() makes an address of an integer (IPv4) or of 4 or 16 bytes, and this is " +
                                     t->str());
    }
    if (n == "pton") {
      const ast::String* s = stringLiteral(0, "pton()'s address");
      if (!s) return;
      unsigned char buf[16];
      if (inet_pton(AF_INET, s->value.c_str(), buf) == 1) return tc.set(c, Type::ipv4());
      if (inet_pton(AF_INET6, s->value.c_str(), buf) == 1) return tc.set(c, Type::ipv6());
      return error(arg(0).range, "'" + s->value + "' is not an IPv4 or IPv6 address", "for example pton(\"10.0.0.1\") or pton(\"fc00::1\")");
    }
    if (n == "exit") return tc.set(c, Type());
    if (n == "emit") {
      for (const ast::Argument& a : c.args) {
        auto t = tc.plainValue(*a.value, "an emit() field");
        if (t && t->is(TypeKind::Aggregation)) error(a.value->range, "an emit() field cannot be " + t->kindName());
      }
      return tc.set(c, Type());
    }
    if (n == "redirect" && arg(0).kind != ast::ExprKind::String) {  // an ifindex, through the device map
      auto t = tc.typeOf(arg(0));
      if (t && !t->isIntegerLike())
        return error(arg(0).range, "redirect() takes an interface's name in double quotes or its index, not " + t->kindName(),
                     "redirect(\"veth1\"), or redirect(fib.ifindex) after fib_lookup()");
      return tc.set(c, Type());
    }
    if (n == "fib_lookup") return tc.set(c, Type::integer(32, false));
    if (n == "redirect") {
      const ast::String* s = stringLiteral(0, "redirect()'s interface");
      if (!s) return;
      if (s->value.empty() || s->value.size() > 15)
        return error(arg(0).range, "'" + s->value + "' is not an interface name", "list interfaces with: ip link");
      return tc.set(c, Type());
    }
    if (n == "swap") {
      auto a = tc.typeOf(arg(0));
      auto bb = tc.typeOf(arg(1));
      if (!a || !bb) return;
      for (size_t i = 0; i < 2; ++i) {
        WriteRefusal why;
        if (!writePlace(arg(i), WriteOp::Swap, why)) return error(arg(i).range, why.message, why.hint);
      }
      if (!(*a == *bb)) return error(c.range, "swap() needs two fields of one type, not " + a->str() + " and " + bb->str());
      return tc.set(c, Type());
    }
    if (n == "vlan_push") {
      const PacketField& id = *findPacketField("vlan", "id");
      if (auto k = constantOf(arg(0)); k && (k->negative || !fitsField(*k, id)))
        return error(arg(0).range, "a VLAN id is from " + fieldRange(id), "ids above 4095 do not fit the tag's 12 bits");
      if (!integerArg(0, "vlan_push()'s id")) return;
      return tc.set(c, Type());
    }
    // pass drop tx abort vlan_pop
    tc.set(c, Type());
  }

  void mapFunction(const std::string& n) {
    const ast::Map* m = tc.wholeMapArgument(c, 0);
    if (n == "delete") {
      if (arg(0).kind != ast::ExprKind::Map)
        return error(arg(0).range, "delete() removes a map entry: delete(@m[key])");
      const auto& target = static_cast<const ast::Map&>(arg(0));
      MapInfo& info = tc.mapInfo(target);
      if (target.keys.empty() && !info.keys.empty())
        return error(arg(0).range, "delete() needs the key of the entry to remove", "clear(@" + target.name + ") removes every entry");
      if (!target.keys.empty() && !tc.checkMapKeys(target, info)) return;
      return tc.set(c, Type());
    }
    if (m == nullptr)
      return error(arg(0).range, n + "() works on a whole map: " + n + "(@name)");
    tc.set(c, Type());
  }
};

// The map named by argument i when it is a whole map (@m, even if @m has
// keys), marked as used; null otherwise.
const ast::Map* TypeChecker::wholeMapArgument(const ast::Call& c, size_t i) {
  if (i >= c.args.size() || c.args[i].value->kind != ast::ExprKind::Map) return nullptr;
  const auto& m = static_cast<const ast::Map&>(*c.args[i].value);
  if (!m.keys.empty()) return nullptr;
  mapInfo(m);
  return &m;
}

void TypeChecker::visit(const ast::Call& c) {
  const BuiltinInfo* b = findBuiltin(c.callee);
  if (b == nullptr) return error(c.calleeRange, "unknown function '" + c.callee + "'");
  CallTyping{*this, c, *b}.run();
}

}  // namespace dptrace
