// Which side of the kernel boundary each map lives on. An afxdp block's body
// runs in dptrace: the maps it writes are user-space maps, which kernel code
// (predicates, xdp blocks, other probes) cannot reach, and kernel maps cannot
// be read from a body without a system call per packet. Both are refused
// here, with the two places named. print(), clear() and zero() of a whole
// map are done by the runtime, so they work on either side from anywhere.
#include "map_sides.h"

#include "visitor.h"

namespace dptrace {
namespace {

struct Access {
  SourceRange at;
  bool write;
};

struct MapAccesses : ast::Visitor<MapAccesses, true> {
  using Visitor::visit;
  bool user = false;  // inside an afxdp body
  std::map<std::string, std::vector<Access>> kernel, body;

  void record(const ast::Map& m, bool write) {
    (user ? body : kernel)[m.name].push_back({m.range, write});
  }
  void visit(const ast::Map& m) {
    record(m, false);
    for (const auto& k : m.keys) visitExpr(*k);
  }
  void visit(const ast::Assign& a) {
    if (a.target->kind == ast::ExprKind::Map) {
      const auto& m = static_cast<const ast::Map&>(*a.target);
      record(m, true);
      for (const auto& k : m.keys) visitExpr(*k);
    } else {
      visitExpr(*a.target);
    }
    visitExpr(*a.value);
  }
  void visit(const ast::Unary& u) {
    bool step = u.op == ast::UnaryOp::PreIncrement || u.op == ast::UnaryOp::PreDecrement ||
                u.op == ast::UnaryOp::PostIncrement || u.op == ast::UnaryOp::PostDecrement;
    if (step && u.operand->kind == ast::ExprKind::Map) {
      const auto& m = static_cast<const ast::Map&>(*u.operand);
      record(m, true);
      for (const auto& k : m.keys) visitExpr(*k);
      return;
    }
    Visitor::visit(u);
  }
  void visit(const ast::Call& c) {
    bool whole = c.callee == "print" || c.callee == "clear" || c.callee == "zero";
    if (whole && c.args.size() == 1 && c.args[0].value->kind == ast::ExprKind::Map &&
        static_cast<const ast::Map&>(*c.args[0].value).keys.empty())
      return;  // the runtime does it, on whichever side the map lives
    if (c.callee == "delete" && c.args.size() == 1 && c.args[0].value->kind == ast::ExprKind::Map) {
      const auto& m = static_cast<const ast::Map&>(*c.args[0].value);
      record(m, true);
      for (const auto& k : m.keys) visitExpr(*k);
      return;
    }
    Visitor::visit(c);
  }
};

// Whether an afxdp body rewrites the frame, and whether it ever sends it.
struct FrameUse : ast::Visitor<FrameUse, true> {
  using Visitor::visit;
  bool writes = false, transmits = false;
  void visit(const ast::Assign& a) {
    writes |= a.target->kind == ast::ExprKind::Field;
    Visitor::visit(a);
  }
  void visit(const ast::Unary& u) {
    bool step = u.op == ast::UnaryOp::PreIncrement || u.op == ast::UnaryOp::PreDecrement ||
                u.op == ast::UnaryOp::PostIncrement || u.op == ast::UnaryOp::PostDecrement;
    writes |= step && u.operand->kind == ast::ExprKind::Field;
    Visitor::visit(u);
  }
  void visit(const ast::Call& c) {
    writes |= c.callee == "swap" || c.callee == "vlan_push" || c.callee == "vlan_pop";
    transmits |= c.callee == "tx";
    Visitor::visit(c);
  }
};

bool isAfxdp(const ast::Probe& p) {
  for (const ast::AttachPoint& ap : p.attachPoints)
    if (ap.kind == ProbeKind::Afxdp) return true;
  return false;
}

const Access* firstWrite(const std::vector<Access>& accesses) {
  for (const Access& a : accesses)
    if (a.write) return &a;
  return nullptr;
}

}  // namespace

void checkMapSides(const ast::Program& program, Diagnostics& diags, TypeTable& types) {
  MapAccesses accesses;
  for (const ast::Probe& probe : program.probes) {
    bool afxdp = isAfxdp(probe);
    if (afxdp)
      for (const ast::AttachPoint& ap : probe.attachPoints)
        if (ap.kind != ProbeKind::Afxdp) {
          diags.error(ap.range, "an afxdp block cannot also carry '" + ap.raw + "'",
                      "its body runs in dptrace, not in the kernel: give this attach point a block of its own");
          return;
        }
    accesses.user = false;
    if (probe.predicate) accesses.visitExpr(*probe.predicate);
    accesses.user = afxdp;
    accesses.visit(probe.body);
    if (afxdp) {
      FrameUse use;
      use.visit(probe.body);
      if (use.writes && !use.transmits)
        diags.warning(probe.attachPoints.front().range,
                      "this afxdp body rewrites the frame but never calls tx(): every frame it takes is dropped",
                      "drop() is an afxdp body's default; end it with tx() to send the frame back out");
    }
  }
  for (auto& [name, info] : types.maps) {
    auto body = accesses.body.find(name);
    if (body == accesses.body.end()) continue;
    const Access* userWrite = firstWrite(body->second);
    auto kernel = accesses.kernel.find(name);
    if (!userWrite) {
      const Access* kernelWrite = kernel == accesses.kernel.end() ? nullptr : firstWrite(kernel->second);
      diags.error(body->second.front().at,
                  "@" + name + " is a kernel map: an afxdp body runs in dptrace and cannot read it per packet",
                  "read it in the afxdp block's predicate (which runs in the kernel), or keep a map the body writes itself");
      if (kernelWrite) diags.note(kernelWrite->at, "@" + name + " is written in the kernel here");
      continue;
    }
    info.userSpace = true;
    if (kernel != accesses.kernel.end()) {
      diags.error(kernel->second.front().at,
                  "@" + name + " is kept in dptrace by an afxdp body, so kernel code cannot use it",
                  "predicates, xdp blocks and BEGIN, END, interval and other probes run in the kernel; "
                  "print(@" + name + "), clear() and zero() of the whole map work from them, or keep another map there");
      diags.note(userWrite->at, "the afxdp body writes @" + name + " here");
    }
  }
}

}  // namespace dptrace
