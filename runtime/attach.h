// Attaching: one attacher per probe kind, chosen by an exhaustive switch
// (attachProgram), each making bpf_links so that a killed dptrace leaves
// nothing attached. The links of a run are owned by one Links.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "output/output.h"
#include "program_info.h"
#include "runner.h"
#include "target_watch.h"

struct bpf_link;
struct bpf_program;

namespace dptrace {

class Links {
public:
  Links() = default;
  Links(const Links&) = delete;
  Links& operator=(const Links&) = delete;
  ~Links() { closeAll(); }
  // `first`: a uretprobe's return half, released before every entry half.
  void add(bpf_link* link, bool first = false) { links_.push_back({link, -1, first}); }
  void addFd(int fd, bool first = false) { links_.push_back({nullptr, fd, first}); }
  // The return halves, then the others; each set released by up to 32
  // threads at once: a uprobe link's release waits ~100 ms for the kernel,
  // one after another 100 functions took 10 s, together under 1 s.
  void closeAll();

private:
  struct Link {
    bpf_link* link;
    int fd;
    bool first;
  };
  std::vector<Link> links_;
};

struct AttachContext {
  const RunOptions& options;
  Diagnostics& diags;
  Output& out;
  Links& links;
  int targetPid = -1;       // -p or -c: uprobes of this process only
  bool uprobeMulti = true;  // uprobes through uprobe_multi links
  std::map<std::string, std::map<std::string, uint64_t>> functionOffsets;  // binary -> function -> file offset
  std::vector<AttachedInterface> interfaces;  // the XDP links made, for the run to watch
  int leftOut = 0;                            // attach points the kernel refused, left out (not in "Attaching N")
};

// Attaches the program of `p`; returns 0 or the exit status of the failure
// (reported to ctx.diags).
int attachProgram(bpf_program* prog, const ProgramInfo& p, AttachContext& ctx);

// A warning at a script location, said at once (a run may last long): text
// on stderr with the line and a caret, or a JSON notice.
void warnAt(Output& out, const SourceFile& file, SourceRange where, const std::string& message, const std::string& hint);

}  // namespace dptrace
