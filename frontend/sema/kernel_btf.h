// Kernel types from BTF, read with libbpf's btf API: the running kernel's
// vmlinux (/sys/kernel/btf/vmlinux) or `--btf FILE`, and a module's split BTF
// over it (/sys/kernel/btf/MODULE or `--btf-module NAME=FILE`).
//
// Each BTF is parsed at its first use and types are converted only when a
// script names them (a probe's function or tracepoint, a struct it reaches),
// so a script without kernel types never reads BTF at all.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dwarf_signatures.h"
#include "type.h"

struct btf;
struct btf_type;

namespace dptrace {

// Where the kernel's types come from.
struct BtfSources {
  std::string vmlinux;                         // --btf FILE; empty: the running kernel's
  std::map<std::string, std::string> modules;  // --btf-module NAME=FILE
};

// The arguments of a BTF-typed probe, one 64-bit context slot each (a
// struct passed by value takes as many slots as it has eightbytes): the
// parameters of a kernel function (fentry/fexit) or of a tracepoint
// (rawtracepoint). ParameterLocation::index is the first slot.
struct KernelSignature {
  FunctionSignature signature;
  uint32_t slots = 0;       // fexit: the return value is the slot after the last parameter
  bool namesKnown = true;   // false: the tracepoint's parameters are unnamed, args.argN only
};

class KernelBtf {
public:
  explicit KernelBtf(BtfSources sources);
  ~KernelBtf();
  KernelBtf(const KernelBtf&) = delete;
  KernelBtf& operator=(const KernelBtf&) = delete;

  // vmlinux's types (module ""), or a module's split BTF over them. Null,
  // with `error` in words, when there is none or it cannot be read.
  const struct btf* types(const std::string& module, std::string& error);
  // Where a module's (or vmlinux's) BTF is read from: a path.
  std::string pathOf(const std::string& module) const;
  const BtfSources& sources() const { return sources_; }

  // fentry/fexit: the kernel function `name` of `module` ("" for vmlinux).
  std::optional<KernelSignature> function(const std::string& module, const std::string& name, std::string& error);
  // rawtracepoint: the tracepoint `name`, typed by btf_trace_NAME, with the
  // parameter names of __probestub_NAME.
  std::optional<KernelSignature> tracepoint(const std::string& module, const std::string& name, std::string& error);
  // The names of the functions (FUNC) or tracepoints (btf_trace_*) of a
  // module's own BTF (vmlinux for ""), sorted: for hints and -l.
  std::vector<std::string> functionNames(const std::string& module);
  std::vector<std::string> tracepointNames(const std::string& module);

  // A struct or union named `name`, from the first of `modules` that has it
  // (a module's BTF includes vmlinux's), else vmlinux. Members of anonymous
  // structs and unions are flattened into it, each with its BTF path.
  std::optional<StructLayout> structLayout(const std::string& name, const std::vector<std::string>& modules);

  // The enum constants of vmlinux (and the --btf-module modules) among
  // `names`, by name, with their values (SKB_DROP_REASON_NOT_SPECIFIED): as
  // bpftrace, a script may name them without C text.
  std::map<std::string, std::pair<uint64_t, bool>> enumConstants(const std::vector<std::string>& names);

  // The value type of BTF type `id` (typedefs and qualifiers skipped).
  Type typeOf(const struct btf* types, uint32_t id) const;

private:
  struct Loaded {
    struct btf* types = nullptr;
    std::string error;
    bool tried = false;
  };
  std::optional<KernelSignature> signatureOf(const struct btf* types, uint32_t proto, size_t skip,
                                             const struct btf* namesFrom, uint32_t namedProto);

  std::string moduleOf(const struct btf* b, uint32_t id) const;
  Type typeOf(const struct btf* types, uint32_t id, int depth) const;
  template <typename Pick>
  std::vector<std::string> ownNames(const std::string& module, Pick pick);
  void load(const std::string& module, Loaded& l);

  BtfSources sources_;
  std::map<std::string, Loaded> loaded_;
};

// Type `id` with typedefs, const/volatile/restrict and type tags skipped (0
// if there is none); `bigEndian` is set when a typedef on the way is
// __be16, __be32 or __be64. Shared with codegen's CO-RE types.
uint32_t skipTypedefs(const struct btf* b, uint32_t id, bool* bigEndian = nullptr);
// A BTF type's name ("" for an anonymous one).
std::string btfName(const struct btf* b, const struct btf_type* t);
// The string at `offset` of b's strings, "" when there is none there (a
// damaged or hostile BTF file names past its strings).
const char* btfString(const struct btf* b, uint32_t offset);

// The name of an anonymous struct or union that a script reaches through a
// pointer or a named member: "(anon 1234)" in vmlinux, "(anon gtp5g:126700)"
// in a module's own BTF.
std::string anonymousRecordName(const std::string& module, uint32_t id);

}  // namespace dptrace
