#include "textflag.h"

// SSE forms of add1, addScaled and scale: the same IEEE single-precision
// operations, four lanes at a time, so the results are bit-identical to the
// portable Go loops. Each product is rounded (MULPS) before it is added
// (ADDPS); no fused multiply-add is used. len(b) >= len(a) is the caller's
// duty.

// func addTo(a, b []float32)
TEXT ·addTo(SB), NOSPLIT, $0-48
	MOVQ a_base+0(FP), DI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), SI
	XORQ AX, AX
	MOVQ CX, DX
	ANDQ $-16, DX

add16:
	CMPQ AX, DX
	JGE  addtail
	MOVUPS (DI)(AX*4), X0
	MOVUPS 16(DI)(AX*4), X1
	MOVUPS 32(DI)(AX*4), X2
	MOVUPS 48(DI)(AX*4), X3
	MOVUPS (SI)(AX*4), X4
	MOVUPS 16(SI)(AX*4), X5
	MOVUPS 32(SI)(AX*4), X6
	MOVUPS 48(SI)(AX*4), X7
	ADDPS  X4, X0
	ADDPS  X5, X1
	ADDPS  X6, X2
	ADDPS  X7, X3
	MOVUPS X0, (DI)(AX*4)
	MOVUPS X1, 16(DI)(AX*4)
	MOVUPS X2, 32(DI)(AX*4)
	MOVUPS X3, 48(DI)(AX*4)
	ADDQ   $16, AX
	JMP    add16

addtail:
	CMPQ  AX, CX
	JGE   adddone
	MOVSS (DI)(AX*4), X0
	ADDSS (SI)(AX*4), X0
	MOVSS X0, (DI)(AX*4)
	INCQ  AX
	JMP   addtail

adddone:
	RET

// func addScaledTo(a, b []float32, k float32)
TEXT ·addScaledTo(SB), NOSPLIT, $0-52
	MOVQ   a_base+0(FP), DI
	MOVQ   a_len+8(FP), CX
	MOVQ   b_base+24(FP), SI
	MOVSS  k+48(FP), X8
	SHUFPS $0, X8, X8
	XORQ   AX, AX
	MOVQ   CX, DX
	ANDQ   $-8, DX

sadd8:
	CMPQ   AX, DX
	JGE    saddtail
	MOVUPS (SI)(AX*4), X4
	MOVUPS 16(SI)(AX*4), X5
	MULPS  X8, X4
	MULPS  X8, X5
	MOVUPS (DI)(AX*4), X0
	MOVUPS 16(DI)(AX*4), X1
	ADDPS  X4, X0
	ADDPS  X5, X1
	MOVUPS X0, (DI)(AX*4)
	MOVUPS X1, 16(DI)(AX*4)
	ADDQ   $8, AX
	JMP    sadd8

saddtail:
	CMPQ  AX, CX
	JGE   sadddone
	MOVSS (SI)(AX*4), X4
	MULSS X8, X4
	MOVSS (DI)(AX*4), X0
	ADDSS X4, X0
	MOVSS X0, (DI)(AX*4)
	INCQ  AX
	JMP   saddtail

sadddone:
	RET

// func scaleTo(a, b []float32, k float32)
TEXT ·scaleTo(SB), NOSPLIT, $0-52
	MOVQ   a_base+0(FP), DI
	MOVQ   a_len+8(FP), CX
	MOVQ   b_base+24(FP), SI
	MOVSS  k+48(FP), X8
	SHUFPS $0, X8, X8
	XORQ   AX, AX
	MOVQ   CX, DX
	ANDQ   $-8, DX

mul8:
	CMPQ   AX, DX
	JGE    multail
	MOVUPS (SI)(AX*4), X4
	MOVUPS 16(SI)(AX*4), X5
	MULPS  X8, X4
	MULPS  X8, X5
	MOVUPS X4, (DI)(AX*4)
	MOVUPS X5, 16(DI)(AX*4)
	ADDQ   $8, AX
	JMP    mul8

multail:
	CMPQ  AX, CX
	JGE   muldone
	MOVSS (SI)(AX*4), X4
	MULSS X8, X4
	MOVSS X4, (DI)(AX*4)
	INCQ  AX
	JMP   multail

muldone:
	RET

// mulAddTo and divAddTo: out[i] = base[i] + (a[i] OP k), OP rounded before
// the add, returning a word whose sign bit is set if any out[i] is NaN or
// infinite ((bits & 0x7f800000) + 0x00800000, OR-ed over all outputs).

// func mulAddTo(out, base, a []float32, k float32) uint32
TEXT ·mulAddTo(SB), NOSPLIT, $0-84
	MOVQ   out_base+0(FP), DI
	MOVQ   out_len+8(FP), CX
	MOVQ   base_base+24(FP), SI
	MOVQ   a_base+48(FP), R8
	MOVSS  k+72(FP), X8
	SHUFPS $0, X8, X8
	MOVQ   $0x7f800000, AX
	MOVQ   AX, X9
	PSHUFD $0, X9, X9
	MOVQ   $0x00800000, AX
	MOVQ   AX, X10
	PSHUFD $0, X10, X10
	PXOR   X11, X11
	XORQ   BX, BX
	XORQ   AX, AX
	MOVQ   CX, DX
	ANDQ   $-8, DX

mul_vec:
	CMPQ   AX, DX
	JGE    mul_tail
	MOVUPS (R8)(AX*4), X0
	MOVUPS 16(R8)(AX*4), X1
	MULPS    X8, X0
	MULPS    X8, X1
	MOVUPS (SI)(AX*4), X2
	MOVUPS 16(SI)(AX*4), X3
	ADDPS  X2, X0
	ADDPS  X3, X1
	MOVUPS X0, (DI)(AX*4)
	MOVUPS X1, 16(DI)(AX*4)
	PAND   X9, X0
	PAND   X9, X1
	PADDL  X10, X0
	PADDL  X10, X1
	POR    X0, X11
	POR    X1, X11
	ADDQ   $8, AX
	JMP    mul_vec

mul_tail:
	CMPQ  AX, CX
	JGE   mul_done
	MOVSS (R8)(AX*4), X0
	MULSS   X8, X0
	ADDSS (SI)(AX*4), X0
	MOVSS X0, (DI)(AX*4)
	MOVQ  X0, R9
	ANDL  $0x7f800000, R9
	ADDL  $0x00800000, R9
	ORL   R9, BX
	INCQ  AX
	JMP   mul_tail

mul_done:
	PSHUFD $0x4e, X11, X0
	POR    X0, X11
	PSHUFD $0xb1, X11, X0
	POR    X0, X11
	MOVQ   X11, R9
	ORL    R9, BX
	MOVL   BX, ret+80(FP)
	RET

// func divAddTo(out, base, a []float32, k float32) uint32
TEXT ·divAddTo(SB), NOSPLIT, $0-84
	MOVQ   out_base+0(FP), DI
	MOVQ   out_len+8(FP), CX
	MOVQ   base_base+24(FP), SI
	MOVQ   a_base+48(FP), R8
	MOVSS  k+72(FP), X8
	SHUFPS $0, X8, X8
	MOVQ   $0x7f800000, AX
	MOVQ   AX, X9
	PSHUFD $0, X9, X9
	MOVQ   $0x00800000, AX
	MOVQ   AX, X10
	PSHUFD $0, X10, X10
	PXOR   X11, X11
	XORQ   BX, BX
	XORQ   AX, AX
	MOVQ   CX, DX
	ANDQ   $-8, DX

div_vec:
	CMPQ   AX, DX
	JGE    div_tail
	MOVUPS (R8)(AX*4), X0
	MOVUPS 16(R8)(AX*4), X1
	DIVPS    X8, X0
	DIVPS    X8, X1
	MOVUPS (SI)(AX*4), X2
	MOVUPS 16(SI)(AX*4), X3
	ADDPS  X2, X0
	ADDPS  X3, X1
	MOVUPS X0, (DI)(AX*4)
	MOVUPS X1, 16(DI)(AX*4)
	PAND   X9, X0
	PAND   X9, X1
	PADDL  X10, X0
	PADDL  X10, X1
	POR    X0, X11
	POR    X1, X11
	ADDQ   $8, AX
	JMP    div_vec

div_tail:
	CMPQ  AX, CX
	JGE   div_done
	MOVSS (R8)(AX*4), X0
	DIVSS   X8, X0
	ADDSS (SI)(AX*4), X0
	MOVSS X0, (DI)(AX*4)
	MOVQ  X0, R9
	ANDL  $0x7f800000, R9
	ADDL  $0x00800000, R9
	ORL   R9, BX
	INCQ  AX
	JMP   div_tail

div_done:
	PSHUFD $0x4e, X11, X0
	POR    X0, X11
	PSHUFD $0xb1, X11, X0
	POR    X0, X11
	MOVQ   X11, R9
	ORL    R9, BX
	MOVL   BX, ret+80(FP)
	RET

// func add4To(a, b, c, d, e []float32)
// a[i] = (((a[i] + b[i]) + c[i]) + d[i]) + e[i]: four deltas per pass over
// a, the same additions in the same order as four addTo calls.
TEXT ·add4To(SB), NOSPLIT, $0-120
	MOVQ a_base+0(FP), DI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), SI
	MOVQ c_base+48(FP), R8
	MOVQ d_base+72(FP), R9
	MOVQ e_base+96(FP), R10
	XORQ AX, AX
	MOVQ CX, DX
	ANDQ $-16, DX

q16:
	CMPQ   AX, DX
	JGE    q4tail
	MOVUPS (DI)(AX*4), X0
	MOVUPS 16(DI)(AX*4), X1
	MOVUPS 32(DI)(AX*4), X2
	MOVUPS 48(DI)(AX*4), X3
	MOVUPS (SI)(AX*4), X4
	MOVUPS 16(SI)(AX*4), X5
	MOVUPS 32(SI)(AX*4), X6
	MOVUPS 48(SI)(AX*4), X7
	ADDPS  X4, X0
	ADDPS  X5, X1
	ADDPS  X6, X2
	ADDPS  X7, X3
	MOVUPS (R8)(AX*4), X4
	MOVUPS 16(R8)(AX*4), X5
	MOVUPS 32(R8)(AX*4), X6
	MOVUPS 48(R8)(AX*4), X7
	ADDPS  X4, X0
	ADDPS  X5, X1
	ADDPS  X6, X2
	ADDPS  X7, X3
	MOVUPS (R9)(AX*4), X4
	MOVUPS 16(R9)(AX*4), X5
	MOVUPS 32(R9)(AX*4), X6
	MOVUPS 48(R9)(AX*4), X7
	ADDPS  X4, X0
	ADDPS  X5, X1
	ADDPS  X6, X2
	ADDPS  X7, X3
	MOVUPS (R10)(AX*4), X4
	MOVUPS 16(R10)(AX*4), X5
	MOVUPS 32(R10)(AX*4), X6
	MOVUPS 48(R10)(AX*4), X7
	ADDPS  X4, X0
	ADDPS  X5, X1
	ADDPS  X6, X2
	ADDPS  X7, X3
	MOVUPS X0, (DI)(AX*4)
	MOVUPS X1, 16(DI)(AX*4)
	MOVUPS X2, 32(DI)(AX*4)
	MOVUPS X3, 48(DI)(AX*4)
	ADDQ   $16, AX
	JMP    q16

q4tail:
	CMPQ  AX, CX
	JGE   q4done
	MOVSS (DI)(AX*4), X0
	ADDSS (SI)(AX*4), X0
	ADDSS (R8)(AX*4), X0
	ADDSS (R9)(AX*4), X0
	ADDSS (R10)(AX*4), X0
	MOVSS X0, (DI)(AX*4)
	INCQ  AX
	JMP   q4tail

q4done:
	RET

// func addScaled4To(a, b, c, d, e []float32, k *[4]float32)
// a[i] = (((a[i] + float32(k[0]*b[i])) + float32(k[1]*c[i])) + ...): four
// scaled deltas per pass, each product rounded (MULPS) before it is added,
// the same operations in the same order as four addScaledTo calls.
TEXT ·addScaled4To(SB), NOSPLIT, $0-128
	MOVQ   a_base+0(FP), DI
	MOVQ   a_len+8(FP), CX
	MOVQ   b_base+24(FP), SI
	MOVQ   c_base+48(FP), R8
	MOVQ   d_base+72(FP), R9
	MOVQ   e_base+96(FP), R10
	MOVQ   k+120(FP), R11
	MOVSS  (R11), X8
	SHUFPS $0, X8, X8
	MOVSS  4(R11), X9
	SHUFPS $0, X9, X9
	MOVSS  8(R11), X10
	SHUFPS $0, X10, X10
	MOVSS  12(R11), X11
	SHUFPS $0, X11, X11
	XORQ   AX, AX
	MOVQ   CX, DX
	ANDQ   $-16, DX

s16:
	CMPQ   AX, DX
	JGE    s4tail
	MOVUPS (DI)(AX*4), X0
	MOVUPS 16(DI)(AX*4), X1
	MOVUPS 32(DI)(AX*4), X2
	MOVUPS 48(DI)(AX*4), X3
	MOVUPS (SI)(AX*4), X4
	MOVUPS 16(SI)(AX*4), X5
	MOVUPS 32(SI)(AX*4), X6
	MOVUPS 48(SI)(AX*4), X7
	MULPS  X8, X4
	MULPS  X8, X5
	MULPS  X8, X6
	MULPS  X8, X7
	ADDPS  X4, X0
	ADDPS  X5, X1
	ADDPS  X6, X2
	ADDPS  X7, X3
	MOVUPS (R8)(AX*4), X4
	MOVUPS 16(R8)(AX*4), X5
	MOVUPS 32(R8)(AX*4), X6
	MOVUPS 48(R8)(AX*4), X7
	MULPS  X9, X4
	MULPS  X9, X5
	MULPS  X9, X6
	MULPS  X9, X7
	ADDPS  X4, X0
	ADDPS  X5, X1
	ADDPS  X6, X2
	ADDPS  X7, X3
	MOVUPS (R9)(AX*4), X4
	MOVUPS 16(R9)(AX*4), X5
	MOVUPS 32(R9)(AX*4), X6
	MOVUPS 48(R9)(AX*4), X7
	MULPS  X10, X4
	MULPS  X10, X5
	MULPS  X10, X6
	MULPS  X10, X7
	ADDPS  X4, X0
	ADDPS  X5, X1
	ADDPS  X6, X2
	ADDPS  X7, X3
	MOVUPS (R10)(AX*4), X4
	MOVUPS 16(R10)(AX*4), X5
	MOVUPS 32(R10)(AX*4), X6
	MOVUPS 48(R10)(AX*4), X7
	MULPS  X11, X4
	MULPS  X11, X5
	MULPS  X11, X6
	MULPS  X11, X7
	ADDPS  X4, X0
	ADDPS  X5, X1
	ADDPS  X6, X2
	ADDPS  X7, X3
	MOVUPS X0, (DI)(AX*4)
	MOVUPS X1, 16(DI)(AX*4)
	MOVUPS X2, 32(DI)(AX*4)
	MOVUPS X3, 48(DI)(AX*4)
	ADDQ   $16, AX
	JMP    s16

s4tail:
	CMPQ  AX, CX
	JGE   s4done
	MOVSS (DI)(AX*4), X0
	MOVSS (SI)(AX*4), X4
	MULSS X8, X4
	ADDSS X4, X0
	MOVSS (R8)(AX*4), X4
	MULSS X9, X4
	ADDSS X4, X0
	MOVSS (R9)(AX*4), X4
	MULSS X10, X4
	ADDSS X4, X0
	MOVSS (R10)(AX*4), X4
	MULSS X11, X4
	ADDSS X4, X0
	MOVSS X0, (DI)(AX*4)
	INCQ  AX
	JMP   s4tail

s4done:
	RET
