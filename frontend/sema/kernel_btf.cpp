#include "kernel_btf.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <unordered_set>
#include <cerrno>
#include <cstring>

namespace dptrace {
namespace {

constexpr const char* kSysfsBtf = "/sys/kernel/btf/";

std::string libbpfError(int e) {
  e = e < 0 ? -e : e;
  if (e >= 4000 && e < 4100) return "neither raw BTF nor an ELF file with a .BTF section";  // libbpf's own codes
  return std::strerror(e);
}

}  // namespace

uint32_t skipTypedefs(const btf* b, uint32_t id, bool* bigEndian) {
  for (int depth = 0; depth < 32 && id != 0; ++depth) {
    const btf_type* t = btf__type_by_id(b, id);
    if (t == nullptr) return 0;
    if (btf_is_typedef(t) && bigEndian) {
      std::string_view n = btfString(b, t->name_off);
      if (n == "__be16" || n == "__be32" || n == "__be64") *bigEndian = true;
    }
    if (!btf_is_typedef(t) && !btf_is_mod(t)) return id;
    id = t->type;
  }
  return id;
}

std::string btfName(const btf* b, const btf_type* t) { return btfString(b, t->name_off); }

const char* btfString(const btf* b, uint32_t offset) {
  const char* s = btf__name_by_offset(b, offset);  // null for an offset past the strings
  return s ? s : "";
}

std::string anonymousRecordName(const std::string& module, uint32_t id) {
  return "(anon " + (module.empty() ? "" : module + ":") + std::to_string(id) + ")";
}

// The module whose BTF `b` is ("" for vmlinux), for the names of its anonymous records.
std::string KernelBtf::moduleOf(const btf* b, uint32_t id) const {
  for (const auto& [module, l] : loaded_)
    if (l.types == b) return module.empty() || id < btf__type_cnt(btf__base_btf(b)) ? "" : module;
  return "";
}

KernelBtf::KernelBtf(BtfSources sources) : sources_(std::move(sources)) {}

KernelBtf::~KernelBtf() {
  for (auto& [name, l] : loaded_) btf__free(l.types);
}

std::string KernelBtf::pathOf(const std::string& module) const {
  if (module.empty()) return sources_.vmlinux.empty() ? std::string(kSysfsBtf) + "vmlinux" : sources_.vmlinux;
  auto given = sources_.modules.find(module);
  return given != sources_.modules.end() ? given->second : kSysfsBtf + module;
}

namespace {

int silentLibbpf(enum libbpf_print_level, const char*, va_list) { return 0; }

// Why `path` cannot be read as a file at all, or empty.
std::string unreadable(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "cannot open '" + path + "': " + std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return "'" + path + "' is a directory, not a BTF file";
  return "";
}

// Whether the file parses as split BTF over the running kernel's. The
// kernel's BTF (5 MB) is read once per process and kept: a fuzzer asks this
// of every input that is no kernel's BTF.
bool isSplitBtf(const std::string& path) {
  static btf* const base = btf__load_vmlinux_btf();
  if (base == nullptr) return false;
  btf* split = btf__parse_split(path.c_str(), base);
  btf__free(split);
  return split != nullptr;
}

}  // namespace

const btf* KernelBtf::types(const std::string& module, std::string& error) {
  Loaded& l = loaded_[module];
  if (l.tried) {
    error = l.error;
    return l.types;
  }
  l.tried = true;
  // libbpf's own words ("failed to get EHDR") would come before dptrace's.
  libbpf_print_fn_t before = libbpf_set_print(silentLibbpf);
  load(module, l);
  libbpf_set_print(before);
  error = l.error;
  return l.types;
}

void KernelBtf::load(const std::string& module, Loaded& l) {
  std::string path = pathOf(module);
  bool given = module.empty() ? !sources_.vmlinux.empty() : sources_.modules.count(module) > 0;
  if (std::string why = given ? unreadable(path) : ""; !why.empty()) {
    l.error = why;
    return;
  }
  if (module.empty()) {
    l.types = btf__parse(path.c_str(), nullptr);
    if (!l.types) {
      int e = errno;
      std::string error;
      if (!given && access(path.c_str(), F_OK) != 0)
        l.error = "this kernel has no BTF (" + path + " is missing): it was built without CONFIG_DEBUG_INFO_BTF";
      else if (e == ENOENT)
        l.error = "'" + path + "' holds no BTF: an ELF file without a .BTF section (pahole -J FILE adds one)";
      else if (isSplitBtf(path))
        l.error = "'" + path + "' is a module's split BTF, not a kernel's: give it with --btf-module NAME=" + path;
      else
        l.error = "'" + path + "' is not a BTF file dptrace can read (" + libbpfError(e) + ")";
    }
    return;
  }
  {
    std::string baseError;
    const btf* base = types("", baseError);
    if (!base) {
      l.error = "the BTF of module " + module + " is split BTF over the kernel's, and there is no kernel BTF to read "
                "it against: " + baseError;
    } else if (!given && access(path.c_str(), F_OK) != 0) {
      l.error = "module " + module + " is not loaded (" + path + " is missing)";
    } else if (btf* whole = btf__parse(path.c_str(), nullptr); whole != nullptr) {
      // A split BTF refers to its base's types and strings: alone it does not parse.
      btf__free(whole);
      l.error = "'" + path + "' is a complete BTF (a kernel's?), not the split BTF of module " + module +
                " over " + pathOf("");
    } else {
      l.types = btf__parse_split(path.c_str(), const_cast<btf*>(base));
      if (!l.types)
        l.error = "'" + path + "' is not split BTF of module " + module + " over " + pathOf("") + " (" +
                  libbpfError(errno) + ")";
    }
  }
}

Type KernelBtf::typeOf(const btf* b, uint32_t id) const { return typeOf(b, id, 0); }

// Depth-limited: pointers and arrays of a damaged BTF may form a cycle
// (a pointer to itself), which no kernel's has.
Type KernelBtf::typeOf(const btf* b, uint32_t id, int depth) const {
  if (depth > 16) return Type();
  id = skipTypedefs(b, id);
  const btf_type* t = id ? btf__type_by_id(b, id) : nullptr;
  if (t == nullptr) return Type();
  if (btf_is_int(t)) {
    uint8_t encoding = btf_int_encoding(t);
    if (encoding & BTF_INT_BOOL) return Type::boolean();
    if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8) return Type();
    return Type::integer(t->size * 8, (encoding & BTF_INT_SIGNED) != 0);
  }
  if (btf_is_any_enum(t)) {
    if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8) return Type();
    return Type::integer(t->size * 8, btf_kflag(t));
  }
  if (btf_is_ptr(t)) {
    uint32_t to = skipTypedefs(b, t->type);
    const btf_type* p = to ? btf__type_by_id(b, to) : nullptr;
    if (p == nullptr) return Type::pointer(Type());
    if (btf_is_composite(p) || btf_is_fwd(p)) {
      std::string n = btfName(b, p);
      return Type::pointer(Type::structure(n.empty() ? anonymousRecordName(moduleOf(b, to), to) : n));
    }
    if (btf_is_func_proto(p)) return Type::u64();  // a function's address
    Type pointee = typeOf(b, to, depth + 1);
    return Type::pointer(pointee.is(TypeKind::Void) || pointee.is(TypeKind::String) || pointee.is(TypeKind::Array)
                             ? Type()
                             : pointee);
  }
  if (btf_is_array(t)) {
    const struct btf_array* a = btf_array(t);
    Type element = typeOf(b, a->type, depth + 1);
    uint32_t elementId = skipTypedefs(b, a->type);
    const btf_type* e = elementId ? btf__type_by_id(b, elementId) : nullptr;
    bool plainChar = e && btf_is_int(e) && btfName(b, e) == "char";  // u8 and unsigned char arrays are bytes
    if (plainChar && a->nelems > 0) return Type::string(a->nelems);
    if (element.is(TypeKind::Integer) && a->nelems > 0) return Type::array(element, a->nelems);
    return Type();
  }
  if (btf_is_composite(t)) {
    std::string n = btfName(b, t);
    return Type::structure(n.empty() ? anonymousRecordName(moduleOf(b, id), id) : n);
  }
  return Type();  // floats, functions, void
}

std::optional<KernelSignature> KernelBtf::signatureOf(const btf* b, uint32_t proto, size_t skip, const btf* namesFrom,
                                                      uint32_t namedProto) {
  const btf_type* p = btf__type_by_id(b, proto);
  if (p == nullptr || !btf_is_func_proto(p)) return std::nullopt;
  const btf_type* named = namesFrom ? btf__type_by_id(namesFrom, namedProto) : nullptr;
  if (named && (!btf_is_func_proto(named) || btf_vlen(named) != btf_vlen(p))) named = nullptr;
  KernelSignature k;
  k.namesKnown = true;
  const btf_param* params = btf_params(p);
  for (size_t i = skip; i < btf_vlen(p); ++i) {
    Parameter param;
    const char* n = btf__name_by_offset(b, params[i].name_off);
    if ((n == nullptr || *n == '\0') && named && i < btf_vlen(named))  // the stub may have fewer parameters
      n = btf__name_by_offset(namesFrom, btf_params(named)[i].name_off);
    if (n == nullptr || *n == '\0') {
      k.namesKnown = false;
      param.name = "arg" + std::to_string(i - skip);
    } else {
      param.name = n;
    }
    if (params[i].type == 0) break;  // "..." in a variadic prototype
    bool bigEndian = false;
    skipTypedefs(b, params[i].type, &bigEndian);
    param.type = typeOf(b, params[i].type);
    if (bigEndian) param.type = param.type.withNetworkOrigin();
    param.location = {ParameterLocation::Kind::IntegerRegister, k.slots};
    uint32_t id = skipTypedefs(b, params[i].type);
    const btf_type* t = btf__type_by_id(b, id);
    long size = btf__resolve_size(b, id);
    if (t && btf_is_composite(t)) {
      param.type = Type();
      param.unreadable = "a struct passed by value";
    } else if (t && btf_is_float(t)) {
      param.unreadable = "a floating-point value";
    } else if (param.type.is(TypeKind::Void)) {
      param.unreadable = "of a type dptrace cannot read";
    }
    k.slots += size > 8 ? static_cast<uint32_t>((size + 7) / 8) : 1;
    k.signature.params.push_back(std::move(param));
  }
  uint32_t ret = skipTypedefs(b, p->type);
  const btf_type* r = ret ? btf__type_by_id(b, ret) : nullptr;
  if (r && (btf_is_composite(r) || btf_is_float(r)))
    k.signature.retUnreadable = btf_is_float(r) ? "a floating-point value" : "a struct returned by value";
  else
    k.signature.ret = typeOf(b, p->type);
  if (bool bigEndian = false; (skipTypedefs(b, p->type, &bigEndian), bigEndian)) k.signature.ret = k.signature.ret.withNetworkOrigin();
  k.signature.outOfLine = true;
  return k;
}

std::optional<KernelSignature> KernelBtf::function(const std::string& module, const std::string& name, std::string& error) {
  const btf* b = types(module, error);
  if (!b) return std::nullopt;
  int id = btf__find_by_name_kind(b, name.c_str(), BTF_KIND_FUNC);
  if (id <= 0) {
    error = "no function '" + name + "' in the BTF of " + (module.empty() ? "the kernel" : "module " + module);
    return std::nullopt;
  }
  auto k = signatureOf(b, btf__type_by_id(b, static_cast<uint32_t>(id))->type, 0, nullptr, 0);
  if (!k) error = "the BTF of '" + name + "' has no prototype";
  return k;
}

std::optional<KernelSignature> KernelBtf::tracepoint(const std::string& module, const std::string& name, std::string& error) {
  const btf* b = types(module, error);
  if (!b) return std::nullopt;
  int id = btf__find_by_name_kind(b, ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF);
  const btf_type* t = id > 0 ? btf__type_by_id(b, static_cast<uint32_t>(id)) : nullptr;
  const btf_type* ptr = t ? btf__type_by_id(b, t->type) : nullptr;
  if (ptr == nullptr || !btf_is_ptr(ptr)) {
    error = "no tracepoint '" + name + "' in the BTF of " + (module.empty() ? "the kernel" : "module " + module);
    return std::nullopt;
  }
  // btf_trace_NAME's parameters are unnamed; __probestub_NAME has the names.
  int stub = btf__find_by_name_kind(b, ("__probestub_" + name).c_str(), BTF_KIND_FUNC);
  uint32_t namedProto = stub > 0 ? btf__type_by_id(b, static_cast<uint32_t>(stub))->type : 0;
  auto k = signatureOf(b, ptr->type, 1, stub > 0 ? b : nullptr, namedProto);  // the first is the tracepoint's void *__data
  if (!k) error = "the BTF of tracepoint '" + name + "' has no prototype";
  return k;
}

// The names `pick` gives the types of a module's own BTF (vmlinux's for ""), sorted, once each.
template <typename Pick>
std::vector<std::string> KernelBtf::ownNames(const std::string& module, Pick pick) {
  std::string error;
  std::vector<std::string> names;
  const btf* b = types(module, error);
  if (!b) return names;
  uint32_t first = module.empty() ? 1 : btf__type_cnt(btf__base_btf(b));
  for (uint32_t id = first; id < btf__type_cnt(b); ++id)
    if (std::optional<std::string> n = pick(btf__type_by_id(b, id), b)) names.push_back(std::move(*n));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<std::string> KernelBtf::functionNames(const std::string& module) {
  return ownNames(module, [](const btf_type* t, const btf* b) -> std::optional<std::string> {
    if (!btf_is_func(t)) return std::nullopt;
    return btfName(b, t);
  });
}

std::map<std::string, std::pair<uint64_t, bool>> KernelBtf::enumConstants(const std::vector<std::string>& names) {
  std::map<std::string, std::pair<uint64_t, bool>> found;  // value, negative
  // A name that enums of the kernel give different values (Opt_err) stands
  // for none of them: it is left out, and the script's use of it is an error.
  std::set<std::string> conflicting;
  auto record = [&](const std::string& name, std::pair<uint64_t, bool> value) {
    auto [it, fresh] = found.emplace(name, value);
    if (!fresh && it->second != value) conflicting.insert(name);
  };
  std::vector<std::string> modules{""};
  for (const auto& [m, file] : sources_.modules) modules.push_back(m);
  for (const std::string& module : modules) {
    std::string error;
    const btf* b = types(module, error);
    if (b == nullptr) continue;
    uint32_t n = btf__type_cnt(b);
    for (uint32_t id = module.empty() ? 1 : btf__type_cnt(btf__base_btf(b)); id < n; ++id) {
      const btf_type* t = btf__type_by_id(b, id);
      if (btf_is_enum(t)) {
        const struct btf_enum* e = btf_enum(t);
        bool isSigned = btf_kflag(t);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) {
          const char* name = btf__name_by_offset(b, e[i].name_off);
          if (!name || std::find(names.begin(), names.end(), name) == names.end()) continue;
          int64_t v = isSigned ? static_cast<int64_t>(e[i].val) : static_cast<int64_t>(static_cast<uint32_t>(e[i].val));
          record(name, {v < 0 ? static_cast<uint64_t>(-v) : static_cast<uint64_t>(v), v < 0});
        }
      } else if (btf_is_enum64(t)) {
        const struct btf_enum64* e = btf_enum64(t);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) {
          const char* name = btf__name_by_offset(b, e[i].name_off);
          if (!name || std::find(names.begin(), names.end(), name) == names.end()) continue;
          uint64_t v = btf_enum64_value(&e[i]);
          bool negative = btf_kflag(t) && static_cast<int64_t>(v) < 0;
          record(name, {negative ? static_cast<uint64_t>(-static_cast<int64_t>(v)) : v, negative});
        }
      }
    }
  }
  for (const std::string& name : conflicting) found.erase(name);
  return found;
}

std::vector<std::string> KernelBtf::tracepointNames(const std::string& module) {
  return ownNames(module, [](const btf_type* t, const btf* b) -> std::optional<std::string> {
    if (!btf_is_typedef(t)) return std::nullopt;
    std::string n = btfName(b, t);
    if (n.rfind("btf_trace_", 0) != 0) return std::nullopt;
    return n.substr(10);
  });
}

namespace {

// Adds the members of composite `id` to `layout`, at `baseBits`, through
// `path`; anonymous struct and union members are flattened into it. Each
// composite is flattened once (`flattened`): in C a struct cannot contain
// itself, and a second anonymous member of one type would repeat its names,
// which C refuses too; a BTF file that does either (a type cycle, or the same
// type shared N times at each of several levels, N^depth fields) gets the first.
void addMembers(const KernelBtf& kernel, const btf* b, uint32_t id, uint32_t baseBits, std::vector<uint32_t>& path,
                StructLayout& layout, std::unordered_set<uint32_t>& flattened, int depth) {
  const btf_type* t = btf__type_by_id(b, id);
  if (t == nullptr || depth > 8 || !flattened.insert(id).second) return;
  const btf_member* members = btf_members(t);
  for (uint32_t i = 0; i < btf_vlen(t); ++i) {
    path.push_back(i);
    uint32_t bits = baseBits + btf_member_bit_offset(t, i);
    uint32_t bitSize = btf_member_bitfield_size(t, i);
    std::string name = btfString(b, members[i].name_off);
    bool bigEndian = false;
    uint32_t type = skipTypedefs(b, members[i].type, &bigEndian);
    const btf_type* mt = btf__type_by_id(b, type);
    if (name.empty()) {
      if (mt && btf_is_composite(mt)) addMembers(kernel, b, type, bits, path, layout, flattened, depth + 1);
      path.pop_back();
      continue;
    }
    StructField f;
    f.name = name;
    f.offset = bits / 8;
    long size = btf__resolve_size(b, type);
    f.size = size > 0 ? static_cast<uint32_t>(size) : 0;
    f.type = kernel.typeOf(b, type);
    f.bigEndian = bigEndian && f.type.is(TypeKind::Integer);
    if (f.bigEndian) f.type = f.type.withNetworkOrigin();
    f.btfPath = path;
    if (bitSize != 0 || bits % 8 != 0) {
      f.bitField = true;
      f.bitOffset = bits;
      f.bitSize = bitSize ? bitSize : f.size * 8;
    }
    layout.fields.push_back(std::move(f));
    path.pop_back();
  }
}

}  // namespace

std::optional<StructLayout> KernelBtf::structLayout(const std::string& name, const std::vector<std::string>& modules) {
  std::vector<std::string> search = modules;
  search.push_back("");
  bool anonymous = name.rfind("(anon ", 0) == 0;
  if (anonymous) {  // "(anon ID)" is vmlinux's, "(anon MODULE:ID)" a module's own
    size_t colon = name.find(':');
    search = {colon == std::string::npos ? "" : name.substr(6, colon - 6)};
  }
  for (const std::string& module : search) {
    std::string error;
    const btf* b = types(module, error);
    if (!b) continue;
    int id = -1;
    if (anonymous) {
      size_t digits = name.find(':') == std::string::npos ? 6 : name.find(':') + 1;
      id = static_cast<int>(std::strtoul(name.c_str() + digits, nullptr, 10));
      const btf_type* t = id > 0 ? btf__type_by_id(b, static_cast<uint32_t>(id)) : nullptr;
      if (!t || !btf_is_composite(t)) id = -1;
    } else {
      id = btf__find_by_name_kind(b, name.c_str(), BTF_KIND_STRUCT);
      if (id <= 0) id = btf__find_by_name_kind(b, name.c_str(), BTF_KIND_UNION);
    }
    if (id <= 0) continue;
    StructLayout layout;
    layout.name = name;
    layout.size = btf__type_by_id(b, static_cast<uint32_t>(id))->size;
    layout.btfId = static_cast<uint32_t>(id);
    // A module's own type is read through its BTF; vmlinux's through vmlinux's.
    layout.btfModule = module.empty() || static_cast<uint32_t>(id) < btf__type_cnt(btf__base_btf(b)) ? "" : module;
    std::vector<uint32_t> path;
    std::unordered_set<uint32_t> flattened;
    addMembers(*this, b, static_cast<uint32_t>(id), 0, path, layout, flattened, 0);
    return layout;
  }
  return std::nullopt;
}

}  // namespace dptrace
