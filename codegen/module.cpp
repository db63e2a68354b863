// The module of one script: BTF-defined maps in .maps, the license, one BPF
// program per attach point, then O2 and the BPF back end.
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <ostream>

#include "lowering.h"
#include "suggest.h"
#include "host_target.h"
#include "syscalls.h"
#include "visitor.h"

extern "C" void LLVMInitializeBPFTargetInfo();
extern "C" void LLVMInitializeBPFTarget();
extern "C" void LLVMInitializeBPFTargetMC();
extern "C" void LLVMInitializeBPFAsmPrinter();

namespace dptrace {
namespace {

constexpr uint32_t kMapHash = 1, kMapArray = 2, kMapPercpuHash = 5, kMapPercpuArray = 6, kMapStackTrace = 7, kMapXsk = 17,
                   kMapRingbuf = 27;

// The most rx queues an interface's XSKMAP covers.
constexpr uint32_t kXskMapEntries = 256;
constexpr uint32_t kMapLruHash = 9;
// DPDK queues dptrace maps (RTE_MAX_ETHPORTS 32 x a few hundred queues in use),
// and threads in a uretprobe's call at once.
constexpr uint32_t kQueueEntries = 8192, kRecordEntries = 4096;

// Maps a probe deletes entries of (they stay hashes: a BPF program cannot
// reset another CPU's slot of a per-CPU array).
// The maps the script passes to some functions: delete() (they stay
// hashes), clear() and zero() (their counts may go down).
struct MapsPassedTo : ast::Visitor<MapsPassedTo, true> {
  using Visitor::visit;
  explicit MapsPassedTo(std::set<std::string> callees) : callees(std::move(callees)) {}
  std::set<std::string> callees, names;
  void visit(const ast::Call& c) {
    if (callees.count(c.callee) && !c.args.empty() && c.args[0].value->kind == ast::ExprKind::Map)
      names.insert(static_cast<const ast::Map&>(*c.args[0].value).name);
    Visitor::visit(c);
  }
};

// Whether a probe needs a program of its own per function: uaddr()'s value
// moves with the probe's own address, and an emit() record's layout names
// the probe (the function's), fixed per call site.
struct NeedsOwnProgram : ast::Visitor<NeedsOwnProgram, true> {
  using Visitor::visit;
  bool found = false;
  void visit(const ast::Call& c) {
    found = found || c.callee == "uaddr" || c.callee == "emit";
    Visitor::visit(c);
  }
};

// Per map, the largest key of its stores when every store names one integer
// constant (`largest`), else the map is in `other`: a count() map stored only
// under small constants becomes an array (arraySlots).
struct StoredKeys : ast::Visitor<StoredKeys, true> {
  using Visitor::visit;
  std::map<std::string, uint64_t> largest;
  std::set<std::string> other;
  void visit(const ast::Assign& a) {
    if (a.target->kind == ast::ExprKind::Map) {
      const auto& m = static_cast<const ast::Map&>(*a.target);
      if (m.keys.size() == 1 && m.keys[0]->kind == ast::ExprKind::Integer)
        largest[m.name] = std::max(largest[m.name], static_cast<const ast::Integer&>(*m.keys[0]).value);
      else
        other.insert(m.name);
    }
    Visitor::visit(a);
  }
};

// The `while` loops of a probe, for locating a verifier refusal about one.
struct Loops : ast::Visitor<Loops, true> {
  using Visitor::visit;
  std::vector<SourceRange> ranges;
  void visit(const ast::While& w) {
    ranges.push_back(w.range);
    Visitor::visit(w);
  }
};

// Where the blocks of an xdp program send frames: tx() and redirect("IF").
struct PacketSends : ast::Visitor<PacketSends, true> {
  using Visitor::visit;
  bool transmits = false;
  std::set<std::string> redirects;
  void visit(const ast::Call& c) {
    if (c.callee == "tx") transmits = true;
    if (c.callee == "redirect" && c.args.size() == 1 && c.args[0].value->kind == ast::ExprKind::String)
      redirects.insert(static_cast<const ast::String&>(*c.args[0].value).value);
    Visitor::visit(c);
  }
};

std::vector<SourceRange> loopsOf(const std::vector<const ast::Probe*>& probes) {
  Loops loops;
  for (const ast::Probe* p : probes) loops.visit(p->body);
  return loops.ranges;
}

std::string symbolFor(size_t index, const std::string& name) {
  std::string clean;
  for (char c : name) clean += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
  std::string s = "m" + std::to_string(index) + "_" + clean;
  return s.substr(0, 15);
}

}  // namespace

RawSyscall rawSyscallFor(const ast::AttachPoint& ap) {
  RawSyscall raw;
  if (ap.kind != ProbeKind::Tracepoint || ap.target != "syscalls" || !syscallRegisters().available) return raw;
  for (auto [prefix, kind] : {std::pair{"sys_enter_", RawSyscall::Kind::Enter}, std::pair{"sys_exit_", RawSyscall::Kind::Exit}}) {
    std::string_view f = ap.function;
    if (f.substr(0, std::string_view(prefix).size()) != prefix) continue;
    if (auto nr = syscallNumber(f.substr(std::string_view(prefix).size()))) {
      raw.kind = kind;
      raw.number = *nr;
    }
  }
  return raw;
}

namespace {

// The ELF section libbpf knows the program's type by; empty for kinds this
// code generator cannot lower yet.
std::string sectionFor(const ast::AttachPoint& ap, const RawSyscall& raw) {
  if (raw.kind == RawSyscall::Kind::Enter) return "raw_tp/sys_enter";
  if (raw.kind == RawSyscall::Kind::Exit) return "raw_tp/sys_exit";
  switch (ap.kind) {
    case ProbeKind::Begin:
    case ProbeKind::End: return "raw_tp";
    case ProbeKind::Interval:
    case ProbeKind::Profile:
    case ProbeKind::Software:
    case ProbeKind::Hardware:
    case ProbeKind::Watchpoint: return "perf_event";
    case ProbeKind::Tracepoint: return "tracepoint/" + ap.target + "/" + ap.function;
    case ProbeKind::Uprobe:
    case ProbeKind::Usdt: return "uprobe";
    case ProbeKind::Uretprobe: return "uretprobe";
    case ProbeKind::Xdp: return "xdp";
    case ProbeKind::Fentry: return "fentry/" + ap.function;
    case ProbeKind::Kprobe: return "kprobe/" + ap.function;
    case ProbeKind::Kretprobe: return "kretprobe/" + ap.function;
    case ProbeKind::Fexit: return "fexit/" + ap.function;
    case ProbeKind::RawTracepoint: return "tp_btf/" + ap.function;
    case ProbeKind::Afxdp:
    case ProbeKind::None: return "";
  }
  return "";
}

llvm::TargetMachine* bpfTargetMachine(std::string& error) {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
  });
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget("bpfel", error);
  if (target == nullptr) return nullptr;
  return target->createTargetMachine("bpfel", "v3", "", llvm::TargetOptions(), llvm::Reloc::PIC_);
}

// The kernel rewrites each load from a BPF program's context (its first
// argument) for the field at that constant offset, and refuses one whose
// offset is computed ("dereference of modified ctx ptr"). LLVM turns
// `c ? ctx->a : ctx->b` into a load from `ctx + (c ? a : b)`: SimplifyCFG
// sinks the two loads into one, and the back end's DAG combiner merges a
// select of two loads. So every load at a constant offset from the context
// goes through llvm.preserve.static.offset, which the BPF back end's passes
// keep as one call per field until code generation (its offset an immediate
// no pass can merge), and is volatile, so that the DAG combiner leaves it
// alone too. The cost: two reads of one field are two instructions.
void keepContextLoadsApart(llvm::Module& module) {
  const llvm::DataLayout& layout = module.getDataLayout();
  for (llvm::Function& f : module) {
    if (f.isDeclaration() || f.arg_empty() || !f.getArg(0)->getType()->isPointerTy()) continue;
    llvm::Value* context = nullptr;
    for (llvm::BasicBlock& block : f)
      for (llvm::Instruction& i : block) {
        auto* load = llvm::dyn_cast<llvm::LoadInst>(&i);
        if (load == nullptr) continue;
        llvm::APInt offset(64, 0);
        if (load->getPointerOperand()->stripAndAccumulateConstantOffsets(layout, offset, true) != f.getArg(0)) continue;
        if (context == nullptr) {
          llvm::IRBuilder<> entry(&*f.getEntryBlock().getFirstInsertionPt());
          context = entry.CreateIntrinsic(llvm::Intrinsic::preserve_static_offset, {}, {f.getArg(0)});
        }
        llvm::IRBuilder<> b(load);
        load->setOperand(load->getPointerOperandIndex(),
                         offset.isZero() ? context : b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), context, offset.getZExtValue()));
        load->setVolatile(true);
      }
  }
}

void optimize(llvm::Module& module, llvm::TargetMachine& tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(module, mam);
}

}  // namespace

ModuleLowering::ModuleLowering(const ast::Program& program, const TypeTable& types, const CodegenOptions& options,
                               Diagnostics& diags, CodeTarget target)
    : program_(program), types_(types), options_(options), diags_(diags), target_(target) {
  context_ = std::make_unique<llvm::LLVMContext>();
  module_ = std::make_unique<llvm::Module>(diags.file().name(), *context_);
  module_->addModuleFlag(llvm::Module::Warning, "Debug Info Version", llvm::DEBUG_METADATA_VERSION);
  module_->addModuleFlag(llvm::Module::Warning, "Dwarf Version", 4);
  di_ = std::make_unique<llvm::DIBuilder>(*module_);
  diFile_ = di_->createFile(diags.file().name(), ".");
  cu_ = di_->createCompileUnit(llvm::dwarf::DW_LANG_C, diFile_, "dptrace", true, "", 0);
  core_ = std::make_unique<CoreTypes>(*module_, *di_, diFile_, *types_.imported);
}

void ModuleLowering::unsupported(SourceRange r, const std::string& what) {
  diags_.error(r, what + " is not supported by the code generator yet",
               "--emit typed-ast shows the checked program; this construct arrives with a later issue");
}

// A libbpf BTF-defined map: struct { int (*type)[T]; int (*max_entries)[N];
// int (*key_size)[K]; int (*value_size)[V]; } SYMBOL SEC(".maps");
llvm::GlobalVariable* ModuleLowering::mapDefinition(const std::string& symbol, uint32_t bpfType, uint32_t maxEntries,
                                                    uint32_t keySize, uint32_t valueSize) {
  std::vector<std::pair<const char*, uint32_t>> fields = {{"type", bpfType}, {"max_entries", maxEntries}};
  if (keySize) fields.push_back({"key_size", keySize});
  if (valueSize) fields.push_back({"value_size", valueSize});

  llvm::DIType* intType = di_->createBasicType("int", 32, llvm::dwarf::DW_ATE_signed);
  std::vector<llvm::Metadata*> members;
  for (size_t i = 0; i < fields.size(); ++i) {
    llvm::Metadata* range = di_->getOrCreateSubrange(0, static_cast<int64_t>(fields[i].second));
    auto* array = di_->createArrayType(uint64_t{fields[i].second} * 32, 32, intType, di_->getOrCreateArray({range}));
    auto* pointer = di_->createPointerType(array, 64);
    members.push_back(di_->createMemberType(cu_, fields[i].first, diFile_, 0, 64, 64, i * 64,
                                            llvm::DINode::FlagZero, pointer));
  }
  auto* structType = di_->createStructType(cu_, "", diFile_, 0, fields.size() * 64, 64, llvm::DINode::FlagZero,
                                           nullptr, di_->getOrCreateArray(members));

  auto* irType = llvm::StructType::get(*context_, std::vector<llvm::Type*>(fields.size(), llvm::PointerType::get(*context_, 0)));
  auto* global = new llvm::GlobalVariable(*module_, irType, false, llvm::GlobalValue::ExternalLinkage,
                                          llvm::ConstantAggregateZero::get(irType), symbol);
  global->setSection(".maps");
  global->setAlignment(llvm::Align(8));
  global->setDSOLocal(true);
  global->addDebugInfo(di_->createGlobalVariableExpression(cu_, symbol, "", diFile_, 0, structType, false));
  return global;
}

llvm::GlobalVariable* ModuleLowering::devMap() {
  constexpr uint32_t kMapDevmapHash = 25;
  if (!devMap_) devMap_ = mapDefinition(kDevMap, kMapDevmapHash, kDevMapEntries, 4, 4);
  return devMap_;
}

void ModuleLowering::createMaps() {
  MapsPassedTo deleted({"delete"}), resets({"clear", "zero"});
  deleted.visitProgram(program_);
  StoredKeys stored;
  stored.visitProgram(program_);
  resets.visitProgram(program_);
  for (const auto& [name, mapInfo] : types_.maps) {
    if (!mapInfo.assigned) continue;
    MapLayout l;
    l.name = name;
    l.symbol = symbolFor(info_.maps.size(), name);
    l.role = roleOf(mapInfo.value);
    l.keys = mapInfo.keys;
    l.value = mapInfo.value.is(TypeKind::Aggregation) ? mapInfo.value.elements()[0] : mapInfo.value;
    l.keySize = l.keys.empty() ? 8 : slotsSize(l.keys);
    l.perCpu = l.role != MapRole::Value;
    l.valueSize = l.role == MapRole::Value ? slotSize(l.value) : aggregationValueSize(l.role);
    if (l.role == MapRole::Hist) {
      l.keySize += 8;  // the bucket
      l.buckets = kHistBuckets;
    }
    if (l.role == MapRole::Lhist) {
      LinearBounds b = mapInfo.lhist.value_or(LinearBounds{});
      l.lhistMin = b.min, l.lhistMax = b.max, l.lhistStep = std::max<int64_t>(b.step, 1);
      l.keySize += 8;
      l.buckets = linearBuckets(l.lhistMin, l.lhistMax, l.lhistStep);
    }
    if (l.role == MapRole::Value && l.valueSize == 0) {
      diags_.error(mapInfo.firstUse, "internal error: @" + name + " has no value type");
      continue;
    }
    uint32_t type = l.perCpu ? kMapPercpuHash : kMapHash;
    uint32_t entries = options_.mapSize;
    std::optional<uint64_t> largest;
    // Not under --pin: a pinned map must fit the next script too, which may store under another constant.
    if (auto c = stored.largest.find(name); c != stored.largest.end() && !stored.other.count(name) && !options_.pinned)
      largest = c->second;
    uint32_t slots = options_.hashMaps ? 0 : arraySlots(l.role, l.keys, deleted.names.count(name) != 0, largest);
    if (slots) {
      l.array = true;
      l.arraySlots = slots;
      l.keySize = 4;
      l.valueSize = aggregationValueSize(l.role, true);
      type = kMapPercpuArray;
      entries = slots;
    }
    l.userSpace = mapInfo.userSpace;
    l.reset = resets.names.count(name) != 0;
    if (SourceRange r = mapInfo.firstStore; r.end > r.begin) {  // "script.dpt:3: @n[pid] = count()"
      const SourceFile& file = diags_.file();
      LineColumn at = file.lineColumn(r.begin);
      std::string statement = file.text().substr(r.begin, std::min<uint32_t>(r.end - r.begin, 200));
      for (char& c : statement)
        if (c == '\n' || c == '\t') c = ' ';
      l.source = file.name() + ":" + std::to_string(at.line) + ": " + statement;
    }
    MapGlobal g;
    g.index = info_.maps.size();
    // A map lives on one side: in the object, or in dptrace (host code
    // reaches it through a pointer the runtime puts in its global).
    if (host() && l.userSpace) g.global = hostGlobal(l.symbol);
    if (!host() && !l.userSpace) g.global = mapDefinition(l.symbol, type, entries, l.keySize, l.valueSize);
    maps_[name] = g;
    info_.maps.push_back(std::move(l));
  }
  if (host()) {
    events_ = hostGlobal(info_.eventsMap);
    lost_ = hostGlobal(info_.lostMap);
    refused_ = hostGlobal(info_.refusedMap);
    start_ = hostGlobal(info_.startMap);
    loopCap_ = hostGlobal(kHostLoopCapSymbol);
    return;
  }
  events_ = mapDefinition(info_.eventsMap, kMapRingbuf, kRingbufBytes, 0, 0);
  lost_ = mapDefinition(info_.lostMap, kMapPercpuArray, 1, 4, 8);
  refused_ = mapDefinition(info_.refusedMap, kMapPercpuArray, std::max<uint32_t>(1, static_cast<uint32_t>(info_.maps.size())), 4, 8);
  start_ = mapDefinition(info_.startMap, kMapArray, 2, 4, 8);  // [0] start ns, [1] cpid
  for (const AfxdpBody& body : info_.afxdp) {
    if (options_.pcap) {
      if (!afxdpHit_) afxdpHit_ = mapDefinition(info_.afxdpHitMap, kMapArray, 1, 4, 8);
      continue;
    }
    if (xskMaps_.count(body.interface)) continue;
    std::string symbol = "xsk" + std::to_string(xskMaps_.size());
    xskMaps_[body.interface] = mapDefinition(symbol, kMapXsk, kXskMapEntries, 4, 4);
  }
}

// A pointer-sized global of the host code that the runtime fills (with a
// user-space map, or the event sink) before the code runs.
llvm::GlobalVariable* ModuleLowering::hostGlobal(const std::string& symbol) {
  auto* type = llvm::PointerType::get(*context_, 0);
  auto* g = new llvm::GlobalVariable(*module_, type, false, llvm::GlobalValue::ExternalLinkage,
                                     llvm::ConstantPointerNull::get(type), symbol);
  g->setAlignment(llvm::Align(8));
  g->setDSOLocal(true);
  return g;
}

void ModuleLowering::createLicense() {
  auto* text = llvm::ConstantDataArray::getString(*context_, "GPL");
  auto* license = new llvm::GlobalVariable(*module_, text->getType(), true, llvm::GlobalValue::ExternalLinkage, text,
                                           "_license");
  license->setSection("license");
}

// A probe function `long NAME(void *ctx)` in `section`, with the BTF the kernel wants.
// With an empty section: a static subprogram in .text (where libbpf wants
// them), called by a program, never inlined into it.
llvm::Function* ModuleLowering::probeFunction(const ast::Probe& probe, const std::string& name, const std::string& section) {
  bool subprogram = section.empty();
  auto* ptr = llvm::PointerType::get(*context_, 0);
  auto* fnType = llvm::FunctionType::get(llvm::Type::getInt64Ty(*context_), {ptr}, false);
  auto* fn = llvm::Function::Create(fnType, subprogram ? llvm::GlobalValue::InternalLinkage : llvm::GlobalValue::ExternalLinkage,
                                    name, *module_);
  if (!subprogram) fn->setSection(section);
  if (subprogram) fn->addFnAttr(llvm::Attribute::NoInline);
  fn->getArg(0)->setName("ctx");
  fn->addFnAttr(llvm::Attribute::NoUnwind);  // no .eh_frame in the object

  LineColumn where = diags_.file().lineColumn(probe.range.begin);
  llvm::DIType* intType = di_->createBasicType("int", 32, llvm::dwarf::DW_ATE_signed);
  llvm::DIType* ctxType = di_->createPointerType(di_->createBasicType("unsigned long long", 64, llvm::dwarf::DW_ATE_unsigned), 64);
  auto* subroutine = di_->createSubroutineType(di_->getOrCreateTypeArray({intType, ctxType}));
  auto flags = llvm::DISubprogram::SPFlagDefinition;
  if (subprogram) flags |= llvm::DISubprogram::SPFlagLocalToUnit;
  auto* sp = di_->createFunction(diFile_, name, name, diFile_, where.line, subroutine, where.line,
                                 llvm::DINode::FlagPrototyped, flags);
  fn->setSubprogram(sp);
  // The kernel wants named arguments in a FUNC's prototype; the BTF emitter
  // takes the name from the parameter's debug variable.
  di_->createParameterVariable(sp, "ctx", 1, diFile_, where.line, ctxType, /*AlwaysPreserve=*/true);
  return fn;
}

std::string ModuleLowering::programName(const ast::AttachPoint& ap, size_t n) {
  return std::string(ap.kind == ProbeKind::Begin ? "begin" : ap.kind == ProbeKind::End ? "end" : probeKindName(ap.kind)) +
         "_" + std::to_string(n);
}

void ModuleLowering::lowerProbe(const ast::Probe& probe, const ast::AttachPoint& ap, size_t n,
                                const std::string& binary, const std::string& symbol, const UserArguments& user,
                                std::optional<uint64_t> fileOffset) {
  RawSyscall raw = rawSyscallFor(ap);
  std::string section = sectionFor(ap, raw);
  if (section.empty()) {
    diags_.error(ap.range, std::string(probeKindName(ap.kind)) + " probes need a code generator this build of dptrace does not have yet",
                 "BEGIN, END, interval, tracepoint, uprobe and xdp probes run today; --emit typed-ast checks the rest");
    return;
  }
  std::string name = programName(ap, n) + (user.save ? "_entry" : "");
  if (user.save) section = "uprobe";
  llvm::Function* fn = probeFunction(probe, name, section);
  lowerFunction(*this, probe, ap, raw, symbol, fn, false, user);
  std::string rawTracepoint = raw.kind == RawSyscall::Kind::Enter ? "sys_enter"
                              : raw.kind == RawSyscall::Kind::Exit ? "sys_exit" : "";
  ProgramInfo info;
  info.function = name;
  info.section = section;
  info.attach = ap;
  info.rawTracepoint = rawTracepoint;
  info.binary = binary;
  info.symbol = symbol;
  info.fileOffset = fileOffset;
  if (user.site) info.semaphore = user.site->semaphore;
  info.fastPath = user.fastPath;
  info.savesArguments = user.save;
  info.symbols = user.shared;
  info.attachPoints = user.save ? 0 : user.shared.empty() ? 1 : static_cast<uint32_t>(user.shared.size());  // the uretprobe's half: not a probe of its own
  info.loops = loopsOf({&probe});
  info_.programs.push_back(std::move(info));
}

llvm::GlobalVariable* ModuleLowering::stacks(uint32_t frames) {
  llvm::GlobalVariable*& map = stacks_[frames];
  if (!map)  // stack id -> up to `frames` instruction pointers
    map = mapDefinition(stackMapName(frames), kMapStackTrace, 4096, 4, frames * 8);
  return map;
}

void ModuleLowering::requestHeap(const std::string& function, llvm::GlobalVariable* standIn, uint32_t bytes) {
  Heap& h = heaps_[heapGroup_.empty() ? function : heapGroup_];
  h.standIns.push_back(standIn);
  h.bytes = std::max(h.bytes, bytes);
  heapUsers_.insert(function);
}

// Each heap a one-element per-CPU array "heap_N", as large as its largest user.
void ModuleLowering::finishHeaps() {
  size_t n = 0;
  for (auto& [group, h] : heaps_) {
    llvm::GlobalVariable* map = mapDefinition("heap_" + std::to_string(n++), kMapPercpuArray, 1, 4, h.bytes);
    for (llvm::GlobalVariable* standIn : h.standIns) {
      standIn->replaceAllUsesWith(map);
      standIn->eraseFromParent();
    }
  }
  heaps_.clear();
}

llvm::GlobalVariable* ModuleLowering::queues() {
  if (!queues_) queues_ = mapDefinition(info_.queuesMap, kMapHash, kQueueEntries, 8, 4);
  return queues_;
}

llvm::GlobalVariable* ModuleLowering::skipped() {
  if (!skipped_) skipped_ = mapDefinition(info_.skippedMap, kMapPercpuArray, 2, 4, 8);
  return skipped_;
}

void ModuleLowering::lowerUserProbe(const ast::Probe& probe, const ast::AttachPoint& ap, const UprobeTarget& target, size_t& n) {
  auto signature = types_.imported->signatures.find(ap.target + ":" + ap.function);
  std::vector<unsigned> saved;
  if (ap.kind == ProbeKind::Uretprobe)
    saved = parametersRead(probe, signature == types_.imported->signatures.end() ? nullptr : &signature->second);
  // A uretprobe that reads arguments: its entry half records them, per
  // thread, for the return (the registers hold other values by then).
  auto lower = [&](const std::string& symbol, UserArguments user, std::optional<uint64_t> fileOffset) {
    if (!saved.empty()) {
      user.saved = saved;
      user.record = mapDefinition("args_" + std::to_string(n), kMapLruHash, kRecordEntries, 16,
                                  static_cast<uint32_t>(8 * (saved.size() + 1)));
      UserArguments entry = user;
      entry.save = true;
      lowerProbe(probe, ap, n, target.binary, symbol, entry, fileOffset);
    }
    lowerProbe(probe, ap, n++, target.binary, symbol, user, fileOffset);
  };
  if (ap.offset && ap.function.empty()) lower("", {}, std::nullopt);  // by file offset
  // A wildcard's functions share one program, attached once with a cookie
  // each (func and probe read their names by it), unless the body needs
  // something of each function's own: the arguments a uretprobe records,
  // uaddr(), emit().
  NeedsOwnProgram own;
  own.visit(probe);
  bool shared = (ap.kind == ProbeKind::Uprobe || ap.kind == ProbeKind::Uretprobe) && hasWildcard(ap.function) &&
                target.functions.size() > 1 && saved.empty() && !own.found && target_ == CodeTarget::Bpf;
  if (shared) {
    UserArguments user;
    user.shared = target.functions;
    lowerProbe(probe, ap, n++, target.binary, "", user, std::nullopt);
  }
  for (size_t i = 0; !shared && i < target.functions.size(); ++i) {
    UserArguments user;
    if (i < target.addresses.size()) user.address = target.addresses[i];
    lower(target.functions[i], user, std::nullopt);
  }
  for (size_t i = 0; i < target.inlined.size(); ++i) {
    UserArguments user;
    user.site = &target.inlined[i];
    user.address = target.inlined[i].address;
    lower(ap.kind == ProbeKind::Usdt ? target.inlined[i].caller : "", user, target.inlinedOffsets[i]);  // usdt: "provider:name"

  }
  if (target.fastPath != FastPath::None) {
    UserArguments user;
    user.fastPath = target.fastPath;
    lower("", user, std::nullopt);
  }
}

// A tracepoint attach point. A pattern's matches each get a program, except
// syscalls: those sys_enter_* (sys_exit_*) share one program on the raw
// sys_enter (sys_exit) tracepoint that branches on the syscall number to the
// block lowered for that syscall, a subprogram of its own each (one function
// holding 360 copies of a block outgrows the BPF jump range), so that
// tracepoint:syscalls:sys_enter_* runs one block per syscall, not 360.
void ModuleLowering::lowerTracepoints(const ast::Probe& probe, const ast::AttachPoint& ap, size_t& n) {
  auto matched = types_.imported->tracepointMatches.find(ap.target + ":" + ap.function);
  if (matched == types_.imported->tracepointMatches.end()) return lowerProbe(probe, ap, n++, "", "");
  std::vector<SyscallCase> enter, exit;
  for (const std::string& name : matched->second) {
    ast::AttachPoint& one = expanded_.emplace_back(ap);
    size_t colon = name.find(':');
    one.target = name.substr(0, colon);
    one.function = name.substr(colon + 1);
    one.raw = "tracepoint:" + name;
    RawSyscall raw = rawSyscallFor(one);
    if (raw.kind == RawSyscall::Kind::Enter) enter.push_back({&one, raw});
    else if (raw.kind == RawSyscall::Kind::Exit) exit.push_back({&one, raw});
    else lowerProbe(probe, one, n++, "", "");
  }
  // The kernel takes at most 256 subprograms per program: 128 cases a program.
  constexpr size_t kCasesPerProgram = 128;
  for (const auto* all : {&enter, &exit}) {
    bool isEnter = all == &enter;
    for (size_t first = 0; first < all->size(); first += kCasesPerProgram) {
      std::vector<SyscallCase> cases(all->begin() + static_cast<std::ptrdiff_t>(first),
                                     all->begin() + static_cast<std::ptrdiff_t>(std::min(all->size(), first + kCasesPerProgram)));
      std::string name = programName(ap, n++);
      std::string section = isEnter ? "raw_tp/sys_enter" : "raw_tp/sys_exit";
      std::vector<llvm::Function*> blocks;
      heapGroup_ = name;  // one call of them at a time: they share one heap (a program takes at most 64 maps)
      for (const SyscallCase& c : cases) {
        llvm::Function* block = probeFunction(probe, name + "_" + c.ap->function, "");
        lowerFunction(*this, probe, *c.ap, c.raw, "", block, /*filtered=*/true);
        blocks.push_back(block);
      }
      heapGroup_.clear();
      llvm::Function* fn = probeFunction(probe, name, section);
      lowerSyscallDispatch(*this, probe, cases, blocks, fn);
      ProgramInfo info;
      info.function = name;
      info.section = section;
      info.attach = ap;
      info.rawTracepoint = isEnter ? "sys_enter" : "sys_exit";
      info.attachPoints = static_cast<uint32_t>(cases.size());
      info.loops = loopsOf({&probe});
      info_.programs.push_back(std::move(info));
    }
  }
}

// A packet function `int NAME(struct xdp_md *ctx)` with the BTF that the
// kernel, ip link and the libxdp dispatcher expect; in `section` ("xdp"), or
// none for a host afxdp body.
llvm::Function* ModuleLowering::packetFunction(const std::string& name, const std::string& section, const ast::Probe& first) {
  auto* ptr = llvm::PointerType::get(*context_, 0);
  auto* fnType = llvm::FunctionType::get(llvm::Type::getInt32Ty(*context_), {ptr}, false);
  auto* fn = llvm::Function::Create(fnType, llvm::GlobalValue::ExternalLinkage, name, *module_);
  if (!section.empty()) fn->setSection(section);
  fn->getArg(0)->setName("ctx");
  fn->addFnAttr(llvm::Attribute::NoUnwind);

  LineColumn where = diags_.file().lineColumn(first.range.begin);
  llvm::DIType* intType = di_->createBasicType("int", 32, llvm::dwarf::DW_ATE_signed);
  llvm::DIType* u32 = di_->createTypedef(di_->createBasicType("unsigned int", 32, llvm::dwarf::DW_ATE_unsigned), "__u32",
                                         diFile_, 0, cu_);
  std::vector<llvm::Metadata*> members;
  const char* fields[] = {"data", "data_end", "data_meta", "ingress_ifindex", "rx_queue_index", "egress_ifindex"};
  for (size_t i = 0; i < 6; ++i)
    members.push_back(di_->createMemberType(cu_, fields[i], diFile_, 0, 32, 32, i * 32, llvm::DINode::FlagZero, u32));
  auto* xdpMd = di_->createStructType(cu_, "xdp_md", diFile_, 0, 6 * 32, 32, llvm::DINode::FlagZero, nullptr,
                                      di_->getOrCreateArray(members));
  llvm::DIType* ctxType = di_->createPointerType(xdpMd, 64);
  auto* subroutine = di_->createSubroutineType(di_->getOrCreateTypeArray({intType, ctxType}));
  auto* sp = di_->createFunction(diFile_, name, name, diFile_, where.line, subroutine, where.line,
                                 llvm::DINode::FlagPrototyped, llvm::DISubprogram::SPFlagDefinition);
  fn->setSubprogram(sp);
  di_->createParameterVariable(sp, "ctx", 1, diFile_, where.line, ctxType, /*AlwaysPreserve=*/true);
  return fn;
}

// One XDP program: the xdp and afxdp blocks of one interface, in script order.
void ModuleLowering::lowerPacketProgram(const std::string& interface, const std::vector<PacketBlock>& blocks) {
  std::string name = xdpProgramName(interface);
  llvm::Function* fn = packetFunction(name, "xdp", *blocks.front().probe);
  lowerPacketFunction(*this, blocks, fn);
  ProgramInfo info;
  info.function = name;
  info.section = "xdp";
  info.attach = *blocks.front().ap;
  info.attach.kind = ProbeKind::Xdp;  // attached as an XDP program, whatever its first block
  info.attachPoints = static_cast<uint32_t>(blocks.size());
  PacketSends sends;
  for (const PacketBlock& b : blocks)
    if (b.ap->kind == ProbeKind::Xdp) sends.visit(b.probe->body);  // an afxdp body's tx() is dptrace's
  info.transmits = sends.transmits;
  info.redirects.assign(sends.redirects.begin(), sends.redirects.end());
  std::vector<const ast::Probe*> probes;
  for (const PacketBlock& b : blocks) probes.push_back(b.probe);
  info.loops = loopsOf(probes);
  if (auto xsk = xskMaps_.find(interface); xsk != xskMaps_.end()) info.xskMap = xsk->second->getName().str();
  info_.programs.push_back(std::move(info));
}

// The afxdp bodies, in script order, one per attach point. Live, the frames
// of one queue of an interface go to one socket, so one body: two afxdp
// blocks that could take the same queue are refused (with --pcap, the
// program tells which block took the frame).
void ModuleLowering::planAfxdp() {
  for (const ast::Probe& probe : program_.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      if (ap.kind != ProbeKind::Afxdp) continue;
      AfxdpBody body;
      body.function = "afxdp_" + std::to_string(info_.afxdp.size());
      body.interface = options_.pcap ? "" : ap.target;
      body.queue = ap.queue ? static_cast<int64_t>(*ap.queue) : -1;
      body.attach = ap;
      if (!options_.pcap)
        for (const AfxdpBody& other : info_.afxdp)
          if (other.interface == body.interface && (other.queue < 0 || body.queue < 0 || other.queue == body.queue)) {
            diags_.error(ap.range, "a second afxdp block on the frames of '" + other.attach.raw + "'",
                         "one afxdp block per interface queue: merge the two (if/else on the packet views), "
                         "or name distinct queues (afxdp:IF:0, afxdp:IF:1)");
            diags_.note(other.attach.range, "the first afxdp block on them is here");
          }
      afxdpBodies_[&ap] = static_cast<uint32_t>(info_.afxdp.size());
      info_.afxdp.push_back(std::move(body));
    }
}

// The host code: one function per afxdp body, its maps in dptrace.
void ModuleLowering::lowerHost() {
  for (const ast::Probe& probe : program_.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      if (ap.kind != ProbeKind::Afxdp) continue;
      const AfxdpBody& body = info_.afxdp[afxdpBodies_.at(&ap)];
      llvm::Function* fn = packetFunction(body.function, "", probe);
      lowerPacketFunction(*this, {PacketBlock{&probe, &ap}}, fn);
    }
}

bool ModuleLowering::lower() {
  size_t errorsBefore = diags_.errorCount();
  planAfxdp();
  createMaps();
  if (host()) {
    lowerHost();
    di_->finalize();
    return diags_.errorCount() == errorsBefore;
  }
  createLicense();
  struct CallsExit : ast::Visitor<CallsExit, true> {
    using Visitor::visit;
    bool found = false;
    void visit(const ast::Call& c) {
      found |= c.callee == "exit";
      Visitor::visit(c);
    }
  } exits;
  for (const ast::Probe& probe : program_.probes) exits.visit(probe.body);
  if (exits.found) exited_ = mapDefinition("exited", kMapArray, 1, 4, 8);
  // xdp blocks: one program per interface (one for all with --pcap), in script order.
  std::vector<std::pair<std::string, std::vector<PacketBlock>>> packetPrograms;
  for (const ast::Probe& probe : program_.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      if (ap.kind != ProbeKind::Xdp && ap.kind != ProbeKind::Afxdp) continue;
      std::string interface = options_.pcap ? "" : ap.target;
      auto it = std::find_if(packetPrograms.begin(), packetPrograms.end(), [&](auto& p) { return p.first == interface; });
      if (it == packetPrograms.end()) it = packetPrograms.insert(packetPrograms.end(), {interface, {}});
      it->second.push_back({&probe, &ap});
    }
  for (const auto& [interface, blocks] : packetPrograms) lowerPacketProgram(interface, blocks);
  size_t n = 0;
  for (const ast::Probe& probe : program_.probes)
    for (const ast::AttachPoint& ap : probe.attachPoints) {
      if (ap.kind == ProbeKind::Xdp || ap.kind == ProbeKind::Afxdp) continue;
      if (!isUserProbe(ap.kind)) {
        auto matches = types_.imported->kernelMatches.find(kernelProbeKey(ap));
        if (ap.kind == ProbeKind::Tracepoint) lowerTracepoints(probe, ap, n);
        else if ((isBtfProbe(ap.kind) || isKprobe(ap.kind)) && matches != types_.imported->kernelMatches.end())
          for (const ast::AttachPoint& one : matches->second) lowerProbe(probe, one, n++, "", "");  // a program each
        else lowerProbe(probe, ap, n++, "", "");
        continue;
      }
      auto target = options_.uprobes.find(&ap);
      if (target == options_.uprobes.end()) {
        diags_.error(ap.range, "internal error: the uprobe target of '" + ap.raw + "' was not resolved");
        continue;
      }
      lowerUserProbe(probe, ap, target->second, n);
    }
  finishHeaps();
  core_->finalize();
  di_->finalize();
  return diags_.errorCount() == errorsBefore;
}

namespace {

llvm::TargetMachine* hostTargetMachine(std::string& error) {
  if (!initializeHostTarget()) {
    error = "this build of the code generator (libdptrace_codegen.so) has no x86-64 back end; libdptrace_codegen_host.so has";
    return nullptr;
  }
  std::string triple = llvm::sys::getDefaultTargetTriple();
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (target == nullptr) return nullptr;
  // Position-independent, small code model: runtime/native_code.cpp places
  // the object anywhere and resolves its few relocations. The baseline
  // x86-64 CPU: a cached object stays valid on any x86-64 machine.
  return target->createTargetMachine(triple, "x86-64", "", llvm::TargetOptions(), llvm::Reloc::PIC_,
                                     llvm::CodeModel::Small, llvm::CodeGenOptLevel::Default);
}

// Verifies, optimises and emits one module: its text (IR, assembly) to
// `text`, or its object into `object`. Back-end errors become located errors;
// with `overStack`, a function over the stack limit is put there instead
// (the caller compiles it again with its temporaries in the heap).
bool emitModule(ModuleLowering& lowering, llvm::TargetMachine& tm, const std::string& triple, CodegenOutput output,
                std::ostream* text, std::vector<char>* object, Diagnostics& diags,
                std::set<std::string>* overStack = nullptr) {
  llvm::Module& module = lowering.module();
  std::string verifyErrors;
  llvm::raw_string_ostream verifyStream(verifyErrors);
  if (llvm::verifyModule(module, &verifyStream)) {
    diags.error({0, 0}, "internal error: the generated LLVM IR is invalid", verifyStream.str());
    return false;
  }
  module.setDataLayout(tm.createDataLayout());
  module.setTargetTriple(triple);
  if (triple.starts_with("bpf")) keepContextLoadsApart(module);
  optimize(module, tm);

  if (output == CodegenOutput::LlvmIr || output == CodegenOutput::IrAndAssembly) {
    std::string ir;
    llvm::raw_string_ostream os(ir);
    module.print(os, nullptr);
    *text << os.str();
    if (output == CodegenOutput::LlvmIr) return true;
    *text << kAssemblyFollows;
  }
  // The BPF back end reports what it cannot do (a stack over 512 bytes) as
  // diagnostics: they become located errors, never raw LLVM text.
  struct BackEndErrors {
    std::vector<std::pair<std::string, std::string>> errors;  // function, message
  } backEnd;
  module.getContext().setDiagnosticHandlerCallBack(
      [](const llvm::DiagnosticInfo* info, void* context) {
        if (info->getSeverity() != llvm::DS_Error) return;
        std::string text;
        llvm::raw_string_ostream os(text);
        llvm::DiagnosticPrinterRawOStream printer(os);
        info->print(printer);
        std::string function;
        if (const auto* unsupported = llvm::dyn_cast<llvm::DiagnosticInfoUnsupported>(info))
          function = unsupported->getFunction().getName().str();
        static_cast<BackEndErrors*>(context)->errors.emplace_back(function, os.str());
      },
      &backEnd);
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  bool assembly = output == CodegenOutput::Assembly || output == CodegenOutput::IrAndAssembly;
  auto fileType = assembly ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile;
  if (tm.addPassesToEmitFile(pm, os, nullptr, fileType)) {
    diags.error({0, 0}, "internal error: the back end for " + triple + " cannot emit this file type");
    return false;
  }
  pm.run(module);
  std::set<std::string> reported;  // the back end may say it once per stack object
  for (const auto& [function, message] : backEnd.errors) {
    if (overStack && message.find("stack limit") != std::string::npos && !function.empty()) {
      overStack->insert(function);
      continue;
    }
    if (!reported.insert(function + (message.find("stack limit") != std::string::npos ? "" : message)).second) continue;
    SourceRange where{0, 0};
    for (const ProgramInfo& p : lowering.info().programs)
      if (p.function == function) where = p.attach.range;
    for (const AfxdpBody& b : lowering.info().afxdp)
      if (b.function == function) where = b.attach.range;
    if (message.find("stack limit") != std::string::npos)
      diags.error(where, "this probe needs more than 512 bytes of BPF stack",
                  "use fewer variables or shorter strings in it, or split its work between probes");
    else
      diags.error(where, "the back end cannot compile this probe", message);
  }
  if (!backEnd.errors.empty()) return false;
  if (assembly) text->write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  else object->assign(buffer.begin(), buffer.end());
  return true;
}

}  // namespace

std::optional<CompiledScript> compileScript(const ast::Program& program, const TypeTable& types,
                                            const CodegenOptions& options, Diagnostics& diags,
                                            CodegenOutput output, std::ostream* text) {
  std::string error;
  std::unique_ptr<llvm::TargetMachine> tm(bpfTargetMachine(error));
  if (!tm) {
    diags.error({0, 0}, "internal error: no BPF target in this LLVM: " + error);
    return std::nullopt;
  }
  // A function that needs the heap is lowered again with its variables and
  // temporaries there (all but the smallest), so that what stays on its stack
  // leaves LLVM room to spill. Should the back end still find a function over
  // the stack, it is lowered heap-first too and the module compiled once
  // more -- unless the module reads kernel structs: LLVM's BPF struct-access
  // pass keeps the globals of the module it ran on (a static map), and a
  // second such module in one process would meet them freed.
  CodegenOptions retry = options;
  // Lowers the module; once more with the functions that use the heap heap-first.
  auto lowerAll = [&]() -> std::unique_ptr<ModuleLowering> {
    auto lowering = std::make_unique<ModuleLowering>(program, types, retry, diags);
    if (!lowering->lower()) return nullptr;
    const std::set<std::string>& users = lowering->heapUsers();
    if (std::includes(retry.heapArenas.begin(), retry.heapArenas.end(), users.begin(), users.end())) return lowering;
    retry.heapArenas.insert(users.begin(), users.end());
    lowering = std::make_unique<ModuleLowering>(program, types, retry, diags);
    return lowering->lower() ? std::move(lowering) : nullptr;
  };
  std::unique_ptr<ModuleLowering> lowering = lowerAll();
  if (!lowering) return std::nullopt;
  CompiledScript info = lowering->info();
  bool structReads = false;
  for (const llvm::Function& f : lowering->module())
    structReads |= f.isDeclaration() && f.getName().starts_with("llvm.preserve.");
  bool textOnly = output == CodegenOutput::LlvmIr || output == CodegenOutput::IrAndAssembly;
  std::set<std::string> overStack;
  if (!emitModule(*lowering, *tm, "bpfel", output, text, &info.object, diags, textOnly || structReads ? nullptr : &overStack)) {
    if (overStack.empty() || diags.errorCount() > 0) return std::nullopt;
    retry.heapArenas.insert(overStack.begin(), overStack.end());
    lowering = lowerAll();
    if (!lowering) return std::nullopt;
    info = lowering->info();
    if (!emitModule(*lowering, *tm, "bpfel", output, text, &info.object, diags)) return std::nullopt;
  }
  if (info.afxdp.empty()) return info;

  // The afxdp bodies: the same IR generator, for the host.
  ModuleLowering host(program, types, options, diags, CodeTarget::Host);
  // printf() and time() sites of the bodies are numbered after the kernel's.
  host.info().printfs = info.printfs;
  host.info().timeFormats = info.timeFormats;
  if (!host.lower()) return std::nullopt;
  info.printfs = host.info().printfs;
  info.timeFormats = host.info().timeFormats;
  std::unique_ptr<llvm::TargetMachine> hostTm(hostTargetMachine(error));
  if (!hostTm) {
    diags.error({0, 0}, "internal error: no host target in this LLVM: " + error);
    return std::nullopt;
  }
  if (text) *text << "\n; ---- afxdp bodies: host code, run in dptrace on each frame\n";
  return emitModule(host, *hostTm, hostTm->getTargetTriple().str(), output, text, &info.hostObject, diags)
             ? std::optional<CompiledScript>(std::move(info))
             : std::nullopt;
}

}  // namespace dptrace
