# Functions whose first instruction is AVX-encoded, which Linux's x86 uprobes
# take by its opcode byte alone (see breakpointHazard in uprobe_targets.cpp).
  .text
  .globl evex_first
  .type evex_first, @function
# evex_first(b): b in every byte of a 32-bit word, through %ymm17 (AVX-512VL).
evex_first:
  vpbroadcastb %edi, %ymm17      # 62 e2 7d 28 7a cf: 7a is also "jp"
  nop                            # +6: a plain instruction to probe instead
  vmovd %xmm17, %eax
  vzeroupper
  ret
  .size evex_first, .-evex_first

  .globl vex_first
  .type vex_first, @function
# vex_first(x): x, through %xmm0 (AVX).
vex_first:
  vmovd %edi, %xmm0              # c5 f9 6e c7
  vmovd %xmm0, %eax
  ret
  .size vex_first, .-vex_first

  .globl plain_first
  .type plain_first, @function
plain_first:
  movl %edi, %eax
  ret
  .size plain_first, .-plain_first
  .section .note.GNU-stack, "", @progbits
