// The C importer module (libdptrace_cimport.so): the one file that uses Clang.
// It parses the script's C text as a C11 translation unit for x86_64 Linux
// (the layout of the probed processes and of the kernel) and turns every
// named struct, union and enum into dptrace's types.
#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/RecordLayout.h>
#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Frontend/ASTUnit.h>
#include <clang/Lex/LiteralSupport.h>
#include <clang/Lex/MacroInfo.h>
#include <clang/Lex/Preprocessor.h>
#include <clang/Tooling/Tooling.h>
#include <llvm/ADT/SmallString.h>

#include "c_import.h"

namespace dptrace {
namespace {

// Clang's diagnostics, located in the script: in the C text itself, or at the
// #include line through which a header was reached.
class Collector : public clang::DiagnosticConsumer {
public:
  explicit Collector(CImportResult& result) : result_(result) {}

  void HandleDiagnostic(clang::DiagnosticsEngine::Level level, const clang::Diagnostic& info) override {
    DiagnosticConsumer::HandleDiagnostic(level, info);
    if (level < clang::DiagnosticsEngine::Error) return;  // warnings in system headers are noise here
    llvm::SmallString<256> text;
    info.FormatDiagnostic(text);
    CImportMessage m;
    m.text = text.str().str();
    m.fromScript = false;
    if (info.hasSourceManager() && info.getLocation().isValid()) {
      const clang::SourceManager& sm = info.getSourceManager();
      clang::SourceLocation loc = sm.getFileLoc(info.getLocation());
      clang::SourceLocation inScript = loc;
      while (inScript.isValid() && sm.getFileID(inScript) != sm.getMainFileID())
        inScript = sm.getIncludeLoc(sm.getFileID(inScript));
      if (inScript.isValid()) {
        m.fromScript = true;
        m.offset = sm.getFileOffset(inScript);
        if (inScript != loc) {
          clang::PresumedLoc p = sm.getPresumedLoc(loc);
          m.text = "in " + std::string(p.getFilename()) + ":" + std::to_string(p.getLine()) + ": " + m.text;
        }
      } else if (clang::PresumedLoc p = sm.getPresumedLoc(loc);
                 p.isValid() && std::string(p.getFilename()) != "<built-in>") {  // in a header of --include
        m.text = "in " + std::string(p.getFilename()) + ":" + std::to_string(p.getLine()) + ": " + m.text;
      }
    }
    result_.messages.push_back(std::move(m));
  }

private:
  CImportResult& result_;
};

class Importer {
public:
  Importer(clang::ASTContext& ctx, CImportResult& result) : ctx_(ctx), result_(result) {}

  void declarations(const clang::DeclContext* dc, int depth = 0) {
    if (depth > 16) return;
    for (const clang::Decl* d : dc->decls()) {
      if (const auto* rd = llvm::dyn_cast<clang::RecordDecl>(d)) {
        // C puts nested struct tags at file scope.
        declarations(rd, depth + 1);
        if (!rd->isCompleteDefinition() || rd->getName().empty() || rd->isInvalidDecl()) continue;
        StructLayout layout;
        layout.name = rd->getName().str();
        layout.size = static_cast<uint32_t>(ctx_.getTypeSizeInChars(ctx_.getRecordType(rd)).getQuantity());
        members(rd, 0, layout, 0);
        result_.structs[layout.name] = std::move(layout);
      } else if (const auto* ed = llvm::dyn_cast<clang::EnumDecl>(d)) {
        if (ed->isComplete() && !ed->getName().empty()) result_.enums[ed->getName().str()] = typeOf(ed->getIntegerType());
        for (const clang::EnumConstantDecl* c : ed->enumerators())
        {
          const llvm::APSInt& v = c->getInitVal();
          bool negative = v.isSigned() && v.isNegative();
          uint64_t magnitude = negative ? ~static_cast<uint64_t>(v.getExtValue()) + 1 : v.getZExtValue();
          result_.constants[c->getName().str()] = {magnitude, negative};
        }
      }
    }
  }

private:
  void members(const clang::RecordDecl* rd, uint32_t base, StructLayout& out, int depth) {
    if (depth > 8) return;
    const clang::ASTRecordLayout& layout = ctx_.getASTRecordLayout(rd);
    for (const clang::FieldDecl* f : rd->fields()) {
      uint32_t offset = base + static_cast<uint32_t>(layout.getFieldOffset(f->getFieldIndex()) / 8);
      if (f->isAnonymousStructOrUnion()) {  // its members belong to this struct
        if (const clang::RecordDecl* inner = f->getType()->getAsRecordDecl()) members(inner, offset, out, depth + 1);
        continue;
      }
      if (f->getName().empty()) continue;  // unnamed bit-field padding
      StructField field;
      field.name = f->getName().str();
      field.offset = offset;
      clang::QualType t = f->getType().getCanonicalType();
      field.size = t->isIncompleteType() ? 0 : static_cast<uint32_t>(ctx_.getTypeSizeInChars(t).getQuantity());
      if (f->isBitField()) {  // its bits from the struct's start (x86: the low bits first)
        field.type = typeOf(t);
        field.bitField = true;
        field.bitOffset = base * 8 + static_cast<uint32_t>(layout.getFieldOffset(f->getFieldIndex()));
        field.bitSize = f->getBitWidthValue(ctx_);
        if (!field.type.isIntegerLike() || field.bitSize == 0) field.type = Type();
      } else if (const auto* array = ctx_.getAsConstantArrayType(t))
        field.type = arrayOf(array, field.size);
      else
        field.type = typeOf(t);
      out.fields.push_back(std::move(field));
    }
  }

  // `char name[16]` is a string; a one-dimensional array of other integers
  // (uint8_t mac[6], int v[3]) an array; anything else not readable yet.
  Type arrayOf(const clang::ConstantArrayType* array, uint32_t size) {
    clang::QualType element = array->getElementType().getCanonicalType();
    if (size == 0) return Type();
    if (element->isSpecificBuiltinType(clang::BuiltinType::Char_S) || element->isSpecificBuiltinType(clang::BuiltinType::Char_U))
      return Type::string(size);  // plain char, as DWARF arrays are told apart
    Type t = typeOf(element);
    if (!t.is(TypeKind::Integer) || size % (t.bits() / 8) != 0) return Type();
    return Type::array(t, size / (t.bits() / 8));
  }

  // Our type for a C type; void for what dptrace cannot read yet (floats,
  // functions, arrays of non-chars).
  Type typeOf(clang::QualType qt, int depth = 0) {
    if (depth > 16 || qt.isNull()) return Type();
    clang::QualType t = qt.getCanonicalType();
    if (t->isBooleanType()) return Type::boolean();
    if (const auto* e = t->getAs<clang::EnumType>()) return typeOf(e->getDecl()->getIntegerType(), depth + 1);
    if (t->isIntegerType()) {
      uint64_t bits = ctx_.getTypeSize(t);
      if (bits != 8 && bits != 16 && bits != 32 && bits != 64) return Type();
      return Type::integer(static_cast<uint32_t>(bits), t->isSignedIntegerType());
    }
    if (t->isPointerType()) {
      clang::QualType pointee = t->getPointeeType().getCanonicalType();
      if (const clang::RecordDecl* rd = pointee->getAsRecordDecl())
        return Type::pointer(Type::structure(rd->getName().empty() ? "(anonymous)" : rd->getName().str()));
      if (pointee->isVoidType()) return Type::pointer(Type());
      return Type::pointer(typeOf(pointee, depth + 1));
    }
    if (const clang::RecordDecl* rd = t->getAsRecordDecl())
      return Type::structure(rd->getName().empty() ? "(anonymous)" : rd->getName().str());
    return Type();
  }

  clang::ASTContext& ctx_;
  CImportResult& result_;
};

// The integer an object-like macro stands for, when its tokens are an integer
// literal, maybe negated or in parentheses, or the name of another such macro
// or of an enum constant.
std::optional<CConstant> macroValue(clang::Preprocessor& pp, const clang::MacroInfo& macro,
                                    const std::map<std::string, CConstant>& enums, int depth = 0) {
  if (depth > 8 || macro.isFunctionLike() || macro.isBuiltinMacro()) return std::nullopt;
  auto tokens = macro.tokens();
  size_t first = 0, last = tokens.size();
  while (first + 1 < last && tokens[first].is(clang::tok::l_paren) && tokens[last - 1].is(clang::tok::r_paren)) ++first, --last;
  bool negative = false;
  if (first < last && tokens[first].is(clang::tok::minus)) negative = true, ++first;
  while (first + 1 < last && tokens[first].is(clang::tok::l_paren) && tokens[last - 1].is(clang::tok::r_paren)) ++first, --last;
  if (last - first != 1) return std::nullopt;
  const clang::Token& t = tokens[first];
  std::optional<CConstant> v;
  if (t.is(clang::tok::numeric_constant)) {
    llvm::SmallString<32> buffer;
    bool invalid = false;
    llvm::StringRef spelling = pp.getSpelling(t, buffer, &invalid);
    if (invalid) return std::nullopt;
    clang::NumericLiteralParser literal(spelling, t.getLocation(), pp.getSourceManager(), pp.getLangOpts(),
                                        pp.getTargetInfo(), pp.getDiagnostics());
    llvm::APInt value(64, 0);
    if (literal.hadError || !literal.isIntegerLiteral() || literal.GetIntegerValue(value)) return std::nullopt;
    v = CConstant{value.getZExtValue(), false};
  } else if (t.is(clang::tok::identifier)) {
    clang::IdentifierInfo* id = t.getIdentifierInfo();
    if (const clang::MacroInfo* inner = id ? pp.getMacroInfo(id) : nullptr) v = macroValue(pp, *inner, enums, depth + 1);
    else if (auto e = enums.find(id ? id->getName().str() : ""); e != enums.end()) v = e->second;
  }
  if (v && negative) v->negative = !v->negative;
  return v;
}

}  // namespace
}  // namespace dptrace

extern "C" __attribute__((visibility("default"))) void dptrace_import_c(const dptrace::CImportRequest& request,
                                                                        dptrace::CImportResult& result) {
  std::vector<std::string> args = {"-xc", "-std=gnu11", "--target=x86_64-linux-gnu", "-fsyntax-only",
                                   "-Wno-everything", "-resource-dir", request.resourceDir,
                                   "-ferror-limit=20"};
  for (const std::string& dir : request.includeDirs) args.push_back("-I" + dir);
  for (const std::string& define : request.defines) args.push_back("-D" + define);
  // The language's integer type names mean the same in C text.
  const char* prelude = "dptrace-prelude.h";
  args.push_back("-include");
  args.push_back(prelude);
  for (const std::string& header : request.includes) {
    args.push_back("-include");
    args.push_back(header);
  }
  clang::tooling::FileContentMappings files = {
      {prelude,
       "#include <stdint.h>\n#include <stdbool.h>\n"
       "typedef uint8_t u8; typedef uint16_t u16; typedef uint32_t u32; typedef uint64_t u64;\n"
       "typedef int8_t s8; typedef int16_t s16; typedef int32_t s32; typedef int64_t s64;\n"}};
  dptrace::Collector collector(result);
  std::unique_ptr<clang::ASTUnit> unit = clang::tooling::buildASTFromCodeWithArgs(
      request.code, args, request.fileName, "dptrace", std::make_shared<clang::PCHContainerOperations>(),
      clang::tooling::getClangStripDependencyFileAdjuster(), files, &collector);
  if (!unit) {
    if (result.messages.empty()) result.messages.push_back({true, 0, "Clang could not parse the C definitions"});
    return;
  }
  dptrace::Importer importer(unit->getASTContext(), result);
  importer.declarations(unit->getASTContext().getTranslationUnitDecl());
  clang::Preprocessor& pp = unit->getPreprocessor();
  std::map<std::string, dptrace::CConstant> enumConstants = result.constants;
  for (auto it = pp.macro_begin(); it != pp.macro_end(); ++it)
    if (const clang::MacroInfo* macro = pp.getMacroInfo(it->first))
      if (auto v = dptrace::macroValue(pp, *macro, enumConstants)) result.constants[it->first->getName().str()] = *v;
}
