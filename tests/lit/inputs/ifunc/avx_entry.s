# Functions whose first instruction Linux's x86 uprobes take by its opcode byte
# alone, without its VEX or EVEX prefix, or refuse for its lock prefix
# (runtime/breakpoint_hazard.h), and two they handle.
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

  .globl vxorps_first
  .type vxorps_first, @function
# vxorps_first(x): x; its first instruction is AVX too (c5 f8 57 c0), but 57
# is a push's opcode byte, which the kernel runs out of line: it works.
vxorps_first:
  vxorps %xmm0, %xmm0, %xmm0
  movl %edi, %eax
  ret
  .size vxorps_first, .-vxorps_first

  .globl vucomiss_first
  .type vucomiss_first, @function
# vucomiss_first(x): x; its opcode byte, 2e, is a cs prefix's, which the
# kernel's table of opcodes takes: probed (dptrace refused it until its table
# followed the kernel's).
vucomiss_first:
  vucomiss %xmm0, %xmm0          # c5 f8 2e c0
  movl %edi, %eax
  ret
  .size vucomiss_first, .-vucomiss_first

  .globl vpminsw_first
  .type vpminsw_first, @function
# vpminsw_first(x): x; its opcode byte, ea, was a far jump, which the kernel
# refuses: the probe would never fire.
vpminsw_first:
  vpminsw %xmm0, %xmm0, %xmm0    # c5 f9 ea c0
  movl %edi, %eax
  ret
  .size vpminsw_first, .-vpminsw_first

  .globl vpmaskmov_store
  .type vpmaskmov_store, @function
# Never called. vpmaskmovd %ymm2, %ymm1, (%rdi): its opcode byte and ModRM.reg
# (8e /2) are a mov to %ss's, which the kernel refuses whatever the prefix.
vpmaskmov_store:
  vpmaskmovd %ymm2, %ymm1, (%rdi)  # c4 e2 75 8e 17
  ret
  .size vpmaskmov_store, .-vpmaskmov_store

  .globl jmpw_short
  .type jmpw_short, @function
# Never called. A short jump with a 16-bit operand size (66 eb 00), which the
# kernel does not emulate.
jmpw_short:
  .byte 0x66, 0xeb, 0x00
  ret
  .size jmpw_short, .-jmpw_short

  .globl cs_rep_fill
  .type cs_rep_fill, @function
# Never called. A rep stosb with a cs prefix (2e f3 aa): the kernel refuses it
# for the prefix, before any repetition.
cs_rep_fill:
  .byte 0x2e, 0xf3, 0xaa
  ret
  .size cs_rep_fill, .-cs_rep_fill

  .globl rep_fill
  .type rep_fill, @function
# rep_fill(buf, n): n bytes of 'x' at buf. Its rep stosb (+8) traps once per
# byte under a uprobe: dptrace refuses it.
rep_fill:
  movq %rsi, %rcx                # +0
  movl $0x78, %eax               # +3
  rep stosb                      # +8: f3 aa
  ret                            # +10
  .size rep_fill, .-rep_fill

  .globl lock_first
  .type lock_first, @function
# lock_first(x): x, counting its calls with a locked increment (f0 ff 05 ...).
lock_first:
  lock incl calls(%rip)
  movl %edi, %eax
  ret
  .size lock_first, .-lock_first

  .globl plain_first
  .type plain_first, @function
plain_first:
  movl %edi, %eax
  ret
  .size plain_first, .-plain_first
  .bss
  .globl calls
calls:
  .zero 4
  .section .note.GNU-stack, "", @progbits
