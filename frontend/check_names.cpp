#include "check_names.h"

#include <set>

#include "builtins.h"
#include "suggest.h"
#include "visitor.h"

namespace dptrace {
namespace {

std::vector<std::string> namesWhere(bool functions) {
  std::vector<std::string> names;
  for (const BuiltinInfo& b : allBuiltins())
    if (isFunctionKind(b.kind) == functions) names.push_back(b.name == std::string_view("argN") ? "arg0" : b.name == std::string_view("sargN") ? "sarg0" : b.name);
  return names;
}

class CheckNames : public ast::Visitor<CheckNames, true> {
public:
  CheckNames(Diagnostics& diags, bool checkIdentifiers, const std::set<std::string>& constants)
      : diags_(diags), checkIdentifiers_(checkIdentifiers), constants_(constants) {}
  using Visitor::visit;

  void visit(const ast::Call& call) {
    checkCall(call);
    if (call.callee == "kstack" || call.callee == "ustack") return;  // its mode is a word, not a name
    Visitor::visit(call);
  }

  void visit(const ast::Identifier& id) {
    if (!checkIdentifiers_ || constants_.count(id.name)) return;
    const BuiltinInfo* b = findBuiltin(id.name);
    if (b != nullptr && !isFunctionKind(b->kind)) return;
    if (b != nullptr)
      return diags_.error(id.range, "'" + id.name + "' is used without parentheses",
                          std::string("call it: ") + b->signature);
    if (const char* what = bpftraceOnlyBuiltin(id.name))
      return diags_.error(id.range, "'" + id.name + "' (" + what + " in bpftrace) is not supported by dptrace yet");
    std::string guess = closestMatch(id.name, namesWhere(false));
    diags_.error(id.range, "unknown name '" + id.name + "'",
                 guess.empty() ? "scratch variables start with '$' ($x), maps with '@' (@x)"
                               : "did you mean '" + guess + "'?");
  }

private:
  void checkCall(const ast::Call& call) {
    const BuiltinInfo* b = findBuiltin(call.callee);
    if (b == nullptr && bpftraceOnlyBuiltin(call.callee))
      return diags_.error(call.calleeRange, call.callee + "() (" + bpftraceOnlyBuiltin(call.callee) +
                                                " in bpftrace) is not supported by dptrace yet");
    if (b == nullptr) {
      std::string guess = closestMatch(call.callee, namesWhere(true));
      return diags_.error(call.calleeRange, "unknown function '" + call.callee + "'",
                          guess.empty() ? "" : "did you mean '" + guess + "'?");
    }
    if (call.callee == "kstack" || call.callee == "ustack") {  // bpftrace's kstack(N), kstack(perf), kstack(perf, N)
      std::string error;
      if (!stackOptions(call, error)) diags_.error(call.range, error, "write " + call.callee + "(perf), " + call.callee + "(8) or " +
                                                                   call.callee + "(bpftrace, 8): a mode, up to 127 frames, or both");
      return;
    }
    if (!isFunctionKind(b->kind))
      return diags_.error(call.calleeRange, "'" + call.callee + "' is a " + kindName(b->kind) + ", not a function",
                          "write it without parentheses: " + std::string(b->signature));

    int n = static_cast<int>(call.args.size());
    if (n < b->minArgs || (b->maxArgs >= 0 && n > b->maxArgs)) {
      std::string want = b->minArgs == b->maxArgs ? std::to_string(b->minArgs)
                         : b->maxArgs < 0         ? "at least " + std::to_string(b->minArgs)
                         : b->maxArgs == b->minArgs + 1 ? std::to_string(b->minArgs) + " or " + std::to_string(b->maxArgs)
                                                  : std::to_string(b->minArgs) + " to " + std::to_string(b->maxArgs);
      diags_.error(call.range, call.callee + "() takes " + want + " argument" + (want == "1" || want == "at least 1" ? "" : "s") + ", not " +
                                   std::to_string(n),
                   std::string("write it as ") + b->signature);
    }

    bool named = call.callee == "emit";
    std::set<std::string> fields;
    for (const ast::Argument& arg : call.args) {
      if (named && arg.name.empty())
        diags_.error(arg.value->range, "every field of emit() needs a name",
                     "write emit(len = pkt.len, src = ip.src): the name is the field's name in the record");
      else if (!named && !arg.name.empty())
        diags_.error(arg.nameRange, call.callee + "() does not take named arguments",
                     "only emit(name = expr, ...) names its arguments; to compare, use '=='");
      else if (named && !fields.insert(arg.name).second)
        diags_.error(arg.nameRange, "emit() names the field '" + arg.name + "' twice",
                     "each field of a record has its own name");
    }
  }

  Diagnostics& diags_;
  bool checkIdentifiers_;
  const std::set<std::string>& constants_;
};

struct UnknownIdentifiers : ast::Visitor<UnknownIdentifiers, true> {
  using Visitor::visit;
  std::set<std::string> names;
  void visit(const ast::Identifier& id) {
    if (findBuiltin(id.name) == nullptr) names.insert(id.name);
  }
};

}  // namespace

void checkNames(const ast::Program& program, Diagnostics& diags, const std::set<std::string>& constants) {
  CheckNames pass(diags, program.cDefinitions.empty(), constants);
  pass.visitProgram(program);
}

std::set<std::string> unknownIdentifiers(const ast::Program& program) {
  UnknownIdentifiers pass;
  pass.visitProgram(program);
  return pass.names;
}

}  // namespace dptrace
