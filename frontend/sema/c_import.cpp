#include "c_import.h"

#include "builtins.h"
#include "packet_views.h"

#include <filesystem>

#include "c_import_paths.h"
#include "child_call.h"
#include "modules.h"
#include "type_codecs.h"

namespace dptrace {

// The importer's answer, as its child process sends it (codec.h; the
// struct layouts' fields are listed in type_codecs.h).
static_assert(sizeof(CImportMessage) == 48, "CImportMessage changed: list its new field in CodecFields below");
template <>
struct CodecFields<CConstant> {
  template <class Codec, class V>
  static void walk(Codec& c, V& k) {
    c(k.magnitude), c(k.negative);
  }
};
template <>
struct CodecFields<CImportMessage> {
  template <class Codec, class V>
  static void walk(Codec& c, V& m) {
    c(m.error), c(m.offset), c(m.text), c(m.fromScript);
  }
};
template <>
struct CodecFields<CImportResult> {
  template <class Codec, class V>
  static void walk(Codec& c, V& r) {
    c(r.structs), c(r.enums), c(r.constants), c(r.messages);
  }
};

namespace {

constexpr int kImportSeconds = 60;

// Clang runs on the script's C text and on the headers it includes, which
// other people wrote: in a child process (child_call.h), so that a crash or a
// hang inside Clang becomes an error at the C text, not a dead dptrace.
std::optional<CImportFailure> importInChild(CImportFunction entry, const CImportRequest& request,
                                            CImportResult& result) {
  const std::string hint = "simplify or split the C definitions (or the headers they include); please report the script";
  ChildEnd end = callInChild(
      [&] {
        CImportResult answer;
        entry(request, answer);
        return answer;
      },
      secondsFromEnvironment("DPTRACE_CIMPORT_SECONDS", kImportSeconds), result);
  switch (end.how) {
    case ChildEnd::How::Answered: return std::nullopt;
    case ChildEnd::How::CannotStart: return CImportFailure{"cannot run the C importer: " + end.detail, "", true};
    case ChildEnd::How::Late:
      return CImportFailure{"the C importer (Clang) did not finish the C definitions in " + std::to_string(end.seconds) +
                                " s",
                            hint + " (DPTRACE_CIMPORT_SECONDS=N gives it longer)"};
    case ChildEnd::How::Crashed:
      return CImportFailure{"the C importer (Clang) crashed on the C definitions (" + end.detail + ")", hint};
    case ChildEnd::How::NoAnswer: break;
  }
  return CImportFailure{"the C importer (Clang) ended without an answer (" + end.detail + ")", hint};
}

}  // namespace

namespace fs = std::filesystem;
std::vector<std::string> stdlibIncludeDirs() {
  std::string dir = firstExistingPath({"../share/dptrace/stdlib", DPTRACE_STDLIB_INSTALL_DIR, DPTRACE_STDLIB_BUILD_DIR});
  if (dir.empty()) return {};
  return {dir};
}

std::optional<CImportFailure> importCDefinitions(const std::string& fileName, const std::string& script,
                                                 const std::vector<std::pair<uint32_t, uint32_t>>& cRanges,
                                                 const std::vector<std::string>& userIncludeDirs, CImportResult& result,
                                                 const std::vector<std::string>& includes) {
  const std::string reinstall = "reinstall dptrace (cmake --install)";
  std::string module = firstExistingPath({"../lib/dptrace/libdptrace_cimport.so", DPTRACE_CIMPORT_INSTALL_PATH,
                                          ifRunFromBuildTree(DPTRACE_CIMPORT_BUILD_PATH)});
  if (module.empty()) return CImportFailure{"dptrace's C importer (libdptrace_cimport.so) is not installed", reinstall, true};
  std::string why;
  auto entry = reinterpret_cast<CImportFunction>(loadModuleSymbol(module, kCImportSymbol, why));
  if (entry == nullptr) return CImportFailure{"dptrace's C importer cannot be loaded: " + why, reinstall, true};

  CImportRequest request;
  // #include "x.h" searches the script's directory; -e scripts live in the current one.
  std::error_code ec;
  request.fileName = fs::is_regular_file(fileName, ec) ? fs::absolute(fileName).string()
                                                       : (fs::current_path() / "command-line.dpt").string();
  request.code.assign(script.size(), ' ');
  for (size_t i = 0; i < script.size(); ++i)
    if (script[i] == '\n') request.code[i] = '\n';
  for (const auto& [begin, end] : cRanges)
    for (uint32_t i = begin; i < end && i < script.size(); ++i) request.code[i] = script[i];
  // A struct, union or enum that ends at its '}' (bpftrace takes them so)
  // gets its ';' in the byte after it, a blank or the line's end: every
  // offset stays where it is (Clang's diagnostics are mapped back by offset).
  for (const auto& [begin, end] : cRanges) {
    if (end == 0 || end > script.size() || script[end - 1] != '}') continue;
    if (end == request.code.size()) request.code += ';';
    else if (request.code[end] == ' ' || request.code[end] == '\n' || request.code[end] == '\r') request.code[end] = ';';
  }
  request.includeDirs = userIncludeDirs;
  request.includes = includes;
  for (std::string& dir : stdlibIncludeDirs()) request.includeDirs.push_back(std::move(dir));
  request.resourceDir = DPTRACE_CLANG_RESOURCE_DIR;
  // As bpftrace: scripts test BPFTRACE_HAVE_BTF to use the kernel's types
  // (from BTF) rather than their own copies of kernel structs (runqlen.bt).
  if (fs::exists("/sys/kernel/btf/vmlinux", ec)) request.defines = {"BPFTRACE_HAVE_BTF", "DPTRACE_HAVE_BTF"};
  return importInChild(entry, request, result);
}

namespace {

// A walk over every expression slot, so that a node can be replaced.
struct ConstantSubstitution {
  const std::map<std::string, CConstant>& constants;

  void expr(ast::ExprPtr& e) {
    if (!e) return;
    switch (e->kind) {
      case ast::ExprKind::Identifier: {
        const std::string& name = static_cast<const ast::Identifier&>(*e).name;
        auto c = constants.find(name);
        if (c == constants.end() || findBuiltin(name) || isPacketView(name)) return;
        SourceRange r = e->range;
        uint32_t depth = e->depth;
        ast::ExprPtr value = std::make_unique<ast::Integer>(c->second.magnitude, name, r);
        if (c->second.negative && c->second.magnitude != 0) value = std::make_unique<ast::Unary>(ast::UnaryOp::Negate, std::move(value), r);
        value->depth = depth;
        e = std::move(value);
        return;
      }
      case ast::ExprKind::Map:
        for (auto& k : static_cast<ast::Map&>(*e).keys) expr(k);
        return;
      case ast::ExprKind::Unary: return expr(static_cast<ast::Unary&>(*e).operand);
      case ast::ExprKind::Binary: {
        auto& b = static_cast<ast::Binary&>(*e);
        expr(b.lhs), expr(b.rhs);
        return;
      }
      case ast::ExprKind::Ternary: {
        auto& t = static_cast<ast::Ternary&>(*e);
        expr(t.cond), expr(t.then), expr(t.otherwise);
        return;
      }
      case ast::ExprKind::Field: return expr(static_cast<ast::Field&>(*e).base);
      case ast::ExprKind::TupleIndex: return expr(static_cast<ast::TupleIndex&>(*e).base);
      case ast::ExprKind::Index: {
        auto& i = static_cast<ast::Index&>(*e);
        expr(i.base), expr(i.index);
        return;
      }
      case ast::ExprKind::Call:
        for (auto& a : static_cast<ast::Call&>(*e).args) expr(a.value);
        return;
      case ast::ExprKind::Cast: return expr(static_cast<ast::Cast&>(*e).operand);
      case ast::ExprKind::Tuple:
        for (auto& el : static_cast<ast::Tuple&>(*e).elements) expr(el);
        return;
      case ast::ExprKind::Integer:
      case ast::ExprKind::String:
      case ast::ExprKind::Variable: return;
    }
  }

  void block(ast::Block& b) {
    for (auto& s : b.stmts) stmt(*s);
  }

  void stmt(ast::Stmt& s) {
    switch (s.kind) {
      case ast::StmtKind::Expr: return expr(static_cast<ast::ExprStmt&>(s).expr);
      case ast::StmtKind::Assign: {
        auto& a = static_cast<ast::Assign&>(s);
        expr(a.target), expr(a.value);
        return;
      }
      case ast::StmtKind::If: {
        auto& i = static_cast<ast::If&>(s);
        expr(i.cond);
        block(i.then);
        if (i.otherwise) block(*i.otherwise);
        return;
      }
      case ast::StmtKind::While: {
        auto& w = static_cast<ast::While&>(s);
        expr(w.cond);
        block(w.body);
        return;
      }
      case ast::StmtKind::Unroll: {
        auto& u = static_cast<ast::Unroll&>(s);
        expr(u.count);
        block(u.body);
        return;
      }
      case ast::StmtKind::Jump: return;
    }
  }
};

}  // namespace

void substituteCConstants(ast::Program& program, const std::map<std::string, CConstant>& constants) {
  if (constants.empty()) return;
  ConstantSubstitution walk{constants};
  for (ast::Probe& probe : program.probes) {
    walk.expr(probe.predicate);
    walk.block(probe.body);
  }
}

}  // namespace dptrace
