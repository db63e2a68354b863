// A probe kind, as the front end sees it: its name and aliases, the syntax of
// its attach spec and how to read one. Later layers (codegen, runtime) keep
// their own per-kind hooks, found by the same canonical name.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "probe_kind.h"

namespace dptrace {

// The parts of one attach spec after the provider name, split at ':' (a part
// in double quotes may hold ':'), with their ranges for diagnostics.
class SpecReader {
public:
  SpecReader(ast::AttachPoint& ap, Diagnostics& diags, const char* syntax);

  ast::AttachPoint& attachPoint() { return *ap_; }
  std::string_view providerWord() const { return providerWord_; }
  size_t size() const { return parts_.size(); }
  const std::string& part(size_t i) const { return parts_[i]; }
  SourceRange range(size_t i) const { return ranges_[i]; }

  // Reports "NAME takes between min and max parts" with the syntax as a hint.
  bool expectParts(size_t min, size_t max);
  // Reports an empty part; returns false if part i is empty.
  bool expectNonEmpty(size_t i, const char* what);
  void error(size_t i, std::string message, std::string hint = {});
  void errorWhole(std::string message, std::string hint = {});

private:
  ast::AttachPoint* ap_;
  Diagnostics* diags_;
  const char* syntax_;
  std::string providerWord_;
  std::vector<std::string> parts_;
  std::vector<SourceRange> ranges_;
};

struct ProviderInfo {
  ProbeKind kind;
  const char* name;                   // canonical, as in the AST: "uprobe"
  std::vector<const char*> aliases;   // "u", "kfunc"
  const char* syntax;                 // "uprobe:PATH:FUNCTION | uprobe:PATH:0xOFFSET"
  const char* summary;                // one line for listings and the manual
  const char* targetLabel;            // what AttachPoint::target holds here ("binary"), or null
  const char* functionLabel;          // what AttachPoint::function holds here, or null
  // Reads the parts into the attach point; reports every problem it finds.
  void (*read)(SpecReader& spec);
};

// ------------------------------------------------------------ the registry
std::span<const ProviderInfo* const> allProviders();
const ProviderInfo* findProvider(std::string_view nameOrAlias);
const ProviderInfo& providerOf(ProbeKind kind);

// One function per provider file.
const ProviderInfo& beginProvider();
const ProviderInfo& endProvider();
const ProviderInfo& intervalProvider();
const ProviderInfo& uprobeProvider();
const ProviderInfo& uretprobeProvider();
const ProviderInfo& fentryProvider();
const ProviderInfo& fexitProvider();
const ProviderInfo& tracepointProvider();
const ProviderInfo& rawTracepointProvider();
const ProviderInfo& xdpProvider();
const ProviderInfo& afxdpProvider();
const ProviderInfo& profileProvider();
const ProviderInfo& softwareProvider();
const ProviderInfo& hardwareProvider();
const ProviderInfo& usdtProvider();
const ProviderInfo& kprobeProvider();
const ProviderInfo& kretprobeProvider();
const ProviderInfo& watchpointProvider();

// Helpers shared by the provider files.
bool parseUnsigned(std::string_view text, uint64_t& out, int base = 10);
// A number in an attach point as bpftrace reads it (C's base 0): 0x10 is
// hexadecimal, 010 octal, 10 decimal.
bool parseNumber(std::string_view text, uint64_t& out);
// Interface names: 1..15 bytes, no '/', ':' or white space (as the kernel requires).
bool checkInterfaceName(SpecReader& spec, size_t part);
// KIND:[MODULE:]NAME (fentry, fexit, rawtracepoint): the module into
// target, the name into function. `noun` says what NAME is ("kernel
// function"), `placeholder` how the syntax writes it ("FUNCTION").
void readModuleAndName(SpecReader& spec, const std::string& noun, const std::string& placeholder,
                       const std::string& example);

}  // namespace dptrace
