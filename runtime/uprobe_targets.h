// The stage that checks uprobe targets against the file system: the binary
// or library exists and is readable, the function exists (close matches
// when it does not), wildcards expand to the functions they match, a
// stripped binary is explained. Its result tells the code generator how many
// programs to build and the runtime where to attach them.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "program_info.h"
#include "sema/type_check.h"

namespace dptrace {

// Where instructions start in a function's bytes (the disassembler is in the
// code generator's module), for FUNC+OFFSET; nullopt with `error` when the
// bytes cannot be disassembled.
using InstructionStarts =
    std::function<std::optional<std::vector<uint64_t>>(const std::vector<uint8_t>& code, std::string& error)>;

// bpftrace leaves out a uprobe on a library named by its short name whose
// function that library lacks (threadsnoop.bt's uprobe:libpthread:
// pthread_create: since glibc 2.34 the function is in libc). So does dptrace,
// with a warning that says where the function is; a probe left with no
// attach point goes, and a script left with no probe is an error.
void dropFunctionsLibrariesLack(ast::Program& program, Diagnostics& diags);

// `imported` holds the DWARF the type checker read (signatures, inlined
// calls). `pid`: the process of -p, whose GLIBC_TUNABLES are compared with
// dptrace's when a probe is on an indirect function's code (it may run other
// code); `command`: the run starts one (-c). With either, DPDK's burst
// functions can be found through the process's rte_eth_fp_ops.
std::map<const ast::AttachPoint*, UprobeTarget> resolveUprobeTargets(const ast::Program& program, const ImportedTypes& imported,
                                                                     std::optional<int> pid, bool command, Diagnostics& diags,
                                                                     const InstructionStarts& instructionStarts);

}  // namespace dptrace
