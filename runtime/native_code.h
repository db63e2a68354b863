// The host code of afxdp bodies, made runnable: the x86-64 ELF relocatable
// object the code generator emitted (position-independent, small code model),
// placed in memory of this process and relocated. The same object, loaded
// the same way, whether it was compiled just now or comes from the object
// cache, so a repeated run never loads LLVM (docs/runtime.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dptrace {

class NativeCode {
public:
  NativeCode() = default;
  NativeCode(const NativeCode&) = delete;
  NativeCode& operator=(const NativeCode&) = delete;
  ~NativeCode();

  // Loads `object`, resolving its undefined symbols from `externals` (name ->
  // address). False with `error` for anything it does not know how to place
  // or relocate, or a symbol it cannot resolve.
  bool load(const std::vector<char>& object, const std::map<std::string, void*>& externals, std::string& error);

  // The address of a defined global symbol (a function, a map's global), or null.
  void* symbol(const std::string& name) const;

private:
  void* memory_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, void*> symbols_;
};

}  // namespace dptrace
