#include "ast_printer.h"

#include <ostream>
#include <type_traits>

#include "providers/provider.h"
#include "sema/type_check.h"
#include "visitor.h"

namespace dptrace {

std::string quoteString(const std::string& value) {
  static const char* const kHex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c >= 0x7f) out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
        else out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

namespace {

class AstPrinter : public ast::Visitor<AstPrinter, true> {
public:
  AstPrinter(std::ostream& out, const TypeTable* types) : out_(out), types_(types) {}
  using Visitor::visit;

  void program(const ast::Program& p) {
    line("program");
    Nest n(*this);
    for (const ast::CDefinition& c : p.cDefinitions) line("c-definition " + quoteString(c.text));
    for (const ast::Probe& probe : p.probes) visit(probe);
  }

  void visit(const ast::Probe& p) {
    line("probe");
    Nest n(*this);
    for (const ast::AttachPoint& ap : p.attachPoints) visit(ap);
    if (p.predicate) {
      line("predicate");
      Nest m(*this);
      visitExpr(*p.predicate);
    }
    block("block", p.body);
  }

  void visit(const ast::AttachPoint& ap) {
    const ProviderInfo* provider = ap.kind == ProbeKind::None ? nullptr : &providerOf(ap.kind);
    std::string text = std::string("attach ") + probeKindName(ap.kind);
    auto field = [&](const char* label, const std::string& value) {
      if (!value.empty()) text += std::string(" ") + label + "=" + value;
    };
    field(provider && provider->targetLabel ? provider->targetLabel : "target", ap.target);
    field(provider && provider->functionLabel ? provider->functionLabel : "function", ap.function);
    if (ap.offset) text += std::string(ap.function.empty() ? " offset=0x" : " plus=0x") + hex(*ap.offset);
    if (!ap.unit.empty()) text += " every=" + std::to_string(ap.period) + ap.unit;
    if (ap.queue) text += " queue=" + std::to_string(*ap.queue);
    line(text + "  (" + ap.raw + ")");
  }

  void block(const char* label, const ast::Block& b) {
    line(label);
    Nest n(*this);
    for (const ast::StmtPtr& s : b.stmts) visitStmt(*s);
  }

  // ---- expressions
  void visit(const ast::Integer& e) { line("integer " + std::to_string(e.value) + typed(e)); }
  void visit(const ast::String& e) { line("string " + quoteString(e.value) + typed(e)); }
  void visit(const ast::Identifier& e) { line("builtin " + e.name + typed(e)); }
  void visit(const ast::Variable& e) { line("variable $" + e.name + typed(e)); }
  void visit(const ast::Map& e) { node("map @" + e.name, e); }
  void visit(const ast::Unary& e) { node(std::string("unary ") + ast::spelling(e.op), e); }
  void visit(const ast::Binary& e) { node(std::string("binary ") + ast::spelling(e.op), e); }
  void visit(const ast::Ternary& e) { node("ternary", e); }
  void visit(const ast::Field& e) { node(std::string("field ") + (e.arrow ? "->" : ".") + e.field, e); }
  void visit(const ast::TupleIndex& e) { node("tuple-index " + std::to_string(e.index), e); }
  void visit(const ast::Index& e) { node("index", e); }
  void visit(const ast::Cast& e) { node("cast " + e.type.spelling(), e); }
  void visit(const ast::Tuple& e) { node("tuple", e); }
  void visit(const ast::Call& e) {
    line("call " + e.callee + typed(e));
    Nest n(*this);
    if (e.typeArgument) line("type " + e.typeArgument->spelling());
    for (const ast::Argument& a : e.args) {
      if (a.name.empty()) {
        visitExpr(*a.value);
        continue;
      }
      line("named " + a.name);
      Nest m(*this);
      visitExpr(*a.value);
    }
  }

  // ---- statements
  void visit(const ast::Assign& s) { node(std::string("assign ") + ast::spelling(s.op), s); }
  void visit(const ast::Jump& s) { line(ast::spelling(s.jump)); }
  void visit(const ast::If& s) {
    line("if");
    Nest n(*this);
    visitExpr(*s.cond);
    block("then", s.then);
    if (s.otherwise) block("else", *s.otherwise);
  }
  void visit(const ast::While& s) {
    line("while");
    Nest n(*this);
    visitExpr(*s.cond);
    block("body", s.body);
  }
  void visit(const ast::Unroll& s) {
    line("unroll");
    Nest n(*this);
    visitExpr(*s.count);
    block("body", s.body);
  }

private:
  struct Nest {
    explicit Nest(AstPrinter& p) : p(p) { ++p.depth_; }
    ~Nest() { --p.depth_; }
    AstPrinter& p;
  };

  template <typename N>
  void node(const std::string& text, const N& n) {
    if constexpr (std::is_base_of_v<ast::Expr, N>) line(text + typed(n));
    else line(text);
    Nest nest(*this);
    Visitor::visit(n);
  }

  void line(const std::string& text) { out_ << std::string(depth_ * 2, ' ') << text << '\n'; }

  static std::string hex(uint64_t v) {
    static const char* const kHex = "0123456789abcdef";
    std::string s;
    do s.insert(s.begin(), kHex[v & 15]), v >>= 4;
    while (v != 0);
    return s;
  }

  // " : u16" when the types are known and this expression has one.
  std::string typed(const ast::Expr& e) const {
    if (types_ == nullptr) return "";
    auto it = types_->exprs.find(&e);
    return it == types_->exprs.end() ? "" : " : " + it->second.str();
  }

  std::ostream& out_;
  const TypeTable* types_;
  int depth_ = 0;
};

}  // namespace

void printAst(const ast::Program& program, std::ostream& out) {
  AstPrinter printer(out, nullptr);
  printer.program(program);
}

void printTypedAst(const ast::Program& program, const TypeTable& types, std::ostream& out) {
  AstPrinter printer(out, &types);
  printer.program(program);
  if (types.maps.empty()) return;
  out << "maps\n";
  for (const auto& [name, info] : types.maps) {
    std::string keys;
    for (const Type& k : info.keys) keys += (keys.empty() ? "" : ", ") + k.str();
    out << "  @" << name << (keys.empty() ? "" : "[" + keys + "]") << " : " << info.value.str() << "\n";
  }
}

}  // namespace dptrace
