#include "writes.h"

namespace dptrace {
namespace {

const char* opText(WriteOp op) {
  switch (op) {
    case WriteOp::Assign: return "assigned";
    case WriteOp::Compound: return "changed with a compound assignment";
    case WriteOp::Increment: return "incremented or decremented";
    case WriteOp::Swap: return "swapped";
  }
  return "written";
}

// A packet view's field named by `e` (ip.ttl), or null.
const PacketField* packetFieldOf(const ast::Expr& e) {
  if (e.kind != ast::ExprKind::Field) return nullptr;
  const auto& f = static_cast<const ast::Field&>(e);
  if (f.base->kind != ast::ExprKind::Identifier) return nullptr;
  return findPacketField(static_cast<const ast::Identifier&>(*f.base).name, f.field);
}

}  // namespace

bool hasWritableShape(const ast::Expr& e) {
  switch (e.kind) {
    case ast::ExprKind::Variable:
    case ast::ExprKind::Map:
    case ast::ExprKind::Field:
    case ast::ExprKind::Index:
      return true;
    case ast::ExprKind::Unary:
      return static_cast<const ast::Unary&>(e).op == ast::UnaryOp::Deref;
    default:
      return false;
  }
}

std::string notWritableHint(const ast::Expr& e) {
  switch (e.kind) {
    case ast::ExprKind::Identifier:
      return "'" + static_cast<const ast::Identifier&>(e).name +
             "' is a builtin; store values in a scratch variable ($x) or a map (@x)";
    case ast::ExprKind::Call:
      return "the result of a call cannot be assigned to; did you mean '@x = " +
             static_cast<const ast::Call&>(e).callee + "(...)'?";
    case ast::ExprKind::Binary:
      return "to compare two values, use '=='";
    default:
      return "values are stored in scratch variables ($x), maps (@x, @x[key]) and packet fields (udp.dport)";
  }
}

std::string writableFieldList() {
  std::string s;
  for (const PacketField& f : allPacketFields())
    if (f.writable) s += (s.empty() ? "" : ", ") + std::string(f.view) + "." + f.name;
  return s;
}

std::optional<WritePlace> writePlace(const ast::Expr& target, WriteOp op, WriteRefusal& why) {
  if (target.kind == ast::ExprKind::Variable || target.kind == ast::ExprKind::Map) {
    bool variable = target.kind == ast::ExprKind::Variable;
    std::string name = variable ? "$" + static_cast<const ast::Variable&>(target).name
                                : "@" + static_cast<const ast::Map&>(target).name;
    if (op == WriteOp::Swap) {
      why = {"swap() exchanges two packet fields, not " + name, "swap two variables through a third: $t = $a; $a = $b; $b = $t;"};
      return std::nullopt;
    }
    return WritePlace{variable ? WritePlace::Kind::Variable : WritePlace::Kind::Map, nullptr, name};
  }
  if (const PacketField* f = packetFieldOf(target)) {
    std::string name = std::string(f->view) + "." + f->name;
    if (!f->writable) {
      why = {name + " cannot be " + opText(op), "writable fields: " + writableFieldList()};
      return std::nullopt;
    }
    if (op == WriteOp::Swap && std::string_view(f->view) == "pkt") {
      why = {name + " cannot be swapped", "assign it: pkt.len = ...;"};
      return std::nullopt;
    }
    bool integer = f->type.is(TypeKind::Integer);
    if ((op == WriteOp::Compound || op == WriteOp::Increment) && !integer) {
      why = {name + " is " + f->type.kindName() + ": it cannot be " + opText(op),
             "assign it a whole value: " + name + " = ..." + (op == WriteOp::Compound ? "" : ";")};
      return std::nullopt;
    }
    return WritePlace{WritePlace::Kind::PacketField, f, name};
  }
  if (op == WriteOp::Swap) {
    why = {"swap() exchanges two writable packet fields", "for example swap(eth.src, eth.dst)"};
    return std::nullopt;
  }
  why = {"dptrace never writes traced memory: only variables, maps and packet fields can be " + std::string(opText(op)),
         "copy the value into a scratch variable and change that: $x = ...;"};
  return std::nullopt;
}

}  // namespace dptrace
