// floor BPF_OBJECT BINARY FUNCTION: attaches the hand-written uretprobe,
// prints "attached", and stays until stdin closes.
#include <bpf/libbpf.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  struct bpf_object* obj = bpf_object__open_file(argv[1], NULL);
  if (!obj || bpf_object__load(obj)) return 1;
  struct bpf_program* prog = bpf_object__find_program_by_name(obj, "on_return");
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = 1, .func_name = argv[3]);
  struct bpf_link* link = bpf_program__attach_uprobe_opts(prog, -1, argv[2], 0, &opts);
  if (!link) return 1;
  fprintf(stderr, "attached\n");
  char c;
  while (read(0, &c, 1) > 0) {
  }
  bpf_link__destroy(link);
  bpf_object__close(obj);
  return 0;
}
