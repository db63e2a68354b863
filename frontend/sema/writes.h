// What a script may write, in one table: scratch variables, maps and the
// writable packet fields (with their ranges), for each way of writing --
// '=', compound assignment ('+=' ...), '++'/'--' and swap(). The parser asks
// it whether an expression has a writable shape at all; the type checker and
// the calls (swap, vlan_push) ask it what may be written where.
//
//   place                 =            op=, ++, --         swap()
//   $var, @map[k]         any value    integers            no
//   writable pkt field    its kind     integer fields      two of one type
//   read-only pkt field   no           no                  no
//   anything else         no: dptrace never writes traced memory
#pragma once

#include <optional>
#include <string>

#include "ast.h"
#include "packet_views.h"

namespace dptrace {

enum class WriteOp { Assign, Compound, Increment, Swap };

struct WritePlace {
  enum class Kind { Variable, Map, PacketField } kind;
  const PacketField* field = nullptr;  // for PacketField
  std::string name;                    // "$x", "@m", "ip.ttl": for messages
};

struct WriteRefusal {
  std::string message;
  std::string hint;
};

// Syntax only (the parser): variables, maps, fields, indexes and '*p' have
// the shape of something written; calls, builtins and operators do not.
bool hasWritableShape(const ast::Expr& e);
std::string notWritableHint(const ast::Expr& e);

// The place `target` names, if `op` may write it; else why not. The value's
// kind is checked by the caller (it knows the types).
std::optional<WritePlace> writePlace(const ast::Expr& target, WriteOp op, WriteRefusal& why);

// The writable packet fields, for hints: "ip.src, ip.dst, ip.ttl, ...".
std::string writableFieldList();

}  // namespace dptrace
