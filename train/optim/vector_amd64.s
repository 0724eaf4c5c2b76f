#include "textflag.h"

// AVX2 forms of update (adamw.go), update16 (moments16.go), step8 and
// code8 (moments8.go): eight
// values per iteration with the Go loops' IEEE single-precision
// operations, each rounded on its own, in the same order, so the results
// are the same bits.
// Constants too many for the sixteen registers live in the frame.

// BCAST32 broadcasts a 32-bit immediate into the frame slot at off(SP).
#define BCAST32(imm, off) \
	MOVL         imm, AX    \
	MOVQ         AX, X0     \
	VPBROADCASTD X0, Y0     \
	VMOVDQU      Y0, off(SP)

// BCAST64 broadcasts a 64-bit immediate into the frame slot at off(SP).
#define BCAST64(imm, off) \
	MOVQ         imm, AX    \
	MOVQ         AX, X0     \
	VPBROADCASTQ X0, Y0     \
	VMOVDQU      Y0, off(SP)

// Frame of adam16AVX2: mix's constants where MIX reads them (C_C1LO to
// C_C2HI), the bfloat16 masks, the counters' step, the parameters
// (paramsF32, in its field order) and room for the first counters.
#define H_LOW16 128
#define H_EXP 160
#define H_MANT 192
#define H_ONE 224
#define H_INC 256
#define H_DECAY 288
#define H_B1 320
#define H_B2 352
#define H_C1 384
#define H_C2 416
#define H_STEP 448
#define H_ISB2 480
#define H_EPS 512
#define H_KEYS 544

// NARROW16 is narrow (moments16.go) on each 32-bit lane of X, a float32,
// with the low 16 bits of R's lanes: D's lanes get the bfloat16 codes.
// A lane whose exponent is all ones (Inf, NaN) keeps its top half, its
// lowest bit set if its mantissa is not zero; any other lane gets the top
// half of its bits plus R's. T and U are scratch; Z holds zeros.
#define NARROW16(X, R, D, T, U, Z) \
	VPAND     H_LOW16(SP), R, D \
	VPADDD    X, D, D           \
	VPSRLD    $16, D, D         \
	VPAND     H_MANT(SP), X, T  \
	VPCMPEQD  Z, T, T           \
	VPANDN    H_ONE(SP), T, T   \
	VPSRLD    $16, X, U         \
	VPOR      T, U, U           \
	VPAND     H_EXP(SP), X, T   \
	VPCMPEQD  H_EXP(SP), T, T   \
	VPBLENDVB T, U, D, D

// PARAM broadcasts the float32 at off(AX) into the frame slot at slot(SP).
#define PARAM(off, slot) \
	VBROADCASTSS off(AX), Y0 \
	VMOVUPS      Y0, slot(SP)

// Frame of step8AVX2: the parameters (params8: the two scales at 0 and 4,
// then paramsF32 from 8, its decay unused), then the grids' offsets and
// the magnitude and sign masks.
#define S_MSCALE 0
#define S_SSCALE 32
#define S_B1 64
#define S_B2 96
#define S_C1 128
#define S_C2 160
#define S_STEP 192
#define S_ISB2 224
#define S_EPS 256
#define S_MBASE 288
#define S_SBASE 320
#define S_ABS 352
#define S_SIGN 384

// func step8AVX2(w, g []float32, mc []int8, sc []uint8, mb, sb []float32, p *params8) (mMax, sMax uint32)
TEXT ·step8AVX2(SB), NOSPLIT, $416-160
	MOVQ         p+144(FP), AX
	VBROADCASTSS 0(AX), Y0
	VMOVUPS      Y0, S_MSCALE(SP)
	VBROADCASTSS 4(AX), Y0
	VMOVUPS      Y0, S_SSCALE(SP)
	VBROADCASTSS 12(AX), Y0
	VMOVUPS      Y0, S_B1(SP)
	VBROADCASTSS 16(AX), Y0
	VMOVUPS      Y0, S_B2(SP)
	VBROADCASTSS 20(AX), Y0
	VMOVUPS      Y0, S_C1(SP)
	VBROADCASTSS 24(AX), Y0
	VMOVUPS      Y0, S_C2(SP)
	VBROADCASTSS 28(AX), Y0
	VMOVUPS      Y0, S_STEP(SP)
	VBROADCASTSS 32(AX), Y0
	VMOVUPS      Y0, S_ISB2(SP)
	VBROADCASTSS 36(AX), Y0
	VMOVUPS      Y0, S_EPS(SP)
	BCAST32($889, S_MBASE)
	BCAST32($1777, S_SBASE)
	BCAST32($0x7fffffff, S_ABS)
	BCAST32($0x80000000, S_SIGN)
	VPXOR        Y13, Y13, Y13
	VPXOR        Y14, Y14, Y14
	VPXOR        Y15, Y15, Y15
	MOVQ         w_base+0(FP), DI
	MOVQ         g_base+24(FP), SI
	MOVQ         mc_base+48(FP), R8
	MOVQ         mc_len+56(FP), CX
	MOVQ         sc_base+72(FP), R9
	MOVQ         mb_base+96(FP), R10
	MOVQ         sb_base+120(FP), R11
	SHRQ         $3, CX
	JZ           sdone

sloop:
	// decode: |m| and s as float32 bits (k+base)<<shift, 0 for code 0
	VPMOVSXBD    (R8), Y0
	VPMOVZXBD    (R9), Y1
	VPABSD       Y0, Y2
	VPCMPEQD     Y13, Y2, Y3
	VPADDD       S_MBASE(SP), Y2, Y2
	VPSLLD       $20, Y2, Y2
	VPANDN       Y2, Y3, Y2
	VMULPS       S_MSCALE(SP), Y2, Y2
	VPAND        S_SIGN(SP), Y0, Y3
	VPXOR        Y3, Y2, Y2
	VPCMPEQD     Y13, Y1, Y4
	VPADDD       S_SBASE(SP), Y1, Y1
	VPSLLD       $19, Y1, Y1
	VMULPS       S_SSCALE(SP), Y1, Y1
	VMULPS       Y1, Y1, Y1
	VPANDN       Y2, Y4, Y2
	VPANDN       Y1, Y4, Y1

	// the moments: mi = b1*m + c1*g, vi = b2*v + (c2*g)*g, si = sqrt(vi)
	VMOVUPS      (SI), Y5
	VMULPS       S_B1(SP), Y2, Y2
	VMULPS       S_C1(SP), Y5, Y6
	VADDPS       Y6, Y2, Y2
	VMULPS       S_B2(SP), Y1, Y1
	VMULPS       S_C2(SP), Y5, Y6
	VMULPS       Y5, Y6, Y6
	VADDPS       Y6, Y1, Y1
	VSQRTPS      Y1, Y1
	VMOVUPS      Y2, (R10)
	VMOVUPS      Y1, (R11)
	VPAND        S_ABS(SP), Y2, Y3
	VPMAXUD      Y3, Y14, Y14
	VPAND        S_ABS(SP), Y1, Y3
	VPMAXUD      Y3, Y15, Y15

	// the step: w -= (step*mi) / (si*isb2 + eps)
	VMULPS       S_ISB2(SP), Y1, Y1
	VADDPS       S_EPS(SP), Y1, Y1
	VMULPS       S_STEP(SP), Y2, Y2
	VDIVPS       Y1, Y2, Y2
	VMOVUPS      (DI), Y3
	VSUBPS       Y2, Y3, Y3
	VMOVUPS      Y3, (DI)

	ADDQ         $32, DI
	ADDQ         $32, SI
	ADDQ         $32, R10
	ADDQ         $32, R11
	ADDQ         $8, R8
	ADDQ         $8, R9
	DECQ         CX
	JNZ          sloop

sdone:
	VEXTRACTI128 $1, Y14, X0
	VPMAXUD      X0, X14, X0
	VPSHUFD      $0x4e, X0, X1
	VPMAXUD      X1, X0, X0
	VPSHUFD      $0xb1, X0, X1
	VPMAXUD      X1, X0, X0
	VMOVD        X0, AX
	MOVL         AX, mMax+152(FP)
	VEXTRACTI128 $1, Y15, X0
	VPMAXUD      X0, X15, X0
	VPSHUFD      $0x4e, X0, X1
	VPMAXUD      X1, X0, X0
	VPSHUFD      $0xb1, X0, X1
	VPMAXUD      X1, X0, X0
	VMOVD        X0, AX
	MOVL         AX, sMax+156(FP)
	VZEROUPPER
	RET

// Frame of code8AVX2.
#define C_C1LO 0
#define C_C1HI 32
#define C_C2LO 64
#define C_C2HI 96
#define C_ABS 128
#define C_M20 160
#define C_M19 192
#define C_MBASE 224
#define C_SBASE 256
#define C_TOP7 288
#define C_TOP8 320
#define C_SHUF 352
#define C_INC 384
#define C_KEYS 416

// MUL64 sets each 64-bit lane of Z to Z times the constant whose low and
// high halves are broadcast at lo(SP) and hi(SP), mod 2^64.
#define MUL64(Z, lo, hi, T1, T2) \
	VPSRLQ   $32, Z, T1    \
	VPMULUDQ lo(SP), T1, T1 \
	VPMULUDQ hi(SP), Z, T2 \
	VPADDQ   T2, T1, T1    \
	VPSLLQ   $32, T1, T1   \
	VPMULUDQ lo(SP), Z, Z  \
	VPADDQ   T1, Z, Z

// MIX is mix (moments16.go) on each 64-bit lane of Z.
#define MIX(Z, T1, T2) \
	VPSRLQ $30, Z, T1              \
	VPXOR  T1, Z, Z                \
	MUL64(Z, C_C1LO, C_C1HI, T1, T2) \
	VPSRLQ $27, Z, T1              \
	VPXOR  T1, Z, Z                \
	MUL64(Z, C_C2LO, C_C2HI, T1, T2) \
	VPSRLQ $31, Z, T1              \
	VPXOR  T1, Z, Z

// MIXCONSTS puts mix's multipliers where MUL64 reads them (C_C1LO to
// C_C2HI).
#define MIXCONSTS \
	BCAST64($0x1ce4e5b9, C_C1LO) \
	BCAST64($0xbf58476d, C_C1HI) \
	BCAST64($0x133111eb, C_C2LO) \
	BCAST64($0x94d049bb, C_C2HI)

// COUNTERS sets the random-bit counters of values 0-3 (Y8) and 4-7 (Y9)
// to key + (i+1)*0x9e3779b97f4a7c15 for the key in AX, with BX holding
// 0x9e3779b97f4a7c15, through the 64 bytes of the frame at slot; it
// leaves AX moved on by eight steps.
#define COUNTERS(slot) \
	ADDQ    BX, AX            \
	MOVQ    AX, slot+0(SP)    \
	ADDQ    BX, AX            \
	MOVQ    AX, slot+8(SP)    \
	ADDQ    BX, AX            \
	MOVQ    AX, slot+16(SP)   \
	ADDQ    BX, AX            \
	MOVQ    AX, slot+24(SP)   \
	ADDQ    BX, AX            \
	MOVQ    AX, slot+32(SP)   \
	ADDQ    BX, AX            \
	MOVQ    AX, slot+40(SP)   \
	ADDQ    BX, AX            \
	MOVQ    AX, slot+48(SP)   \
	ADDQ    BX, AX            \
	MOVQ    AX, slot+56(SP)   \
	VMOVDQU slot+0(SP), Y8    \
	VMOVDQU slot+32(SP), Y9

// RANDOM8 is mix of the counters in Y8 and Y9: the low halves of the
// eight results in Y2 and the high halves in Y3, in value order; it moves
// each counter on by inc.
#define RANDOM8(inc) \
	VMOVDQA Y8, Y0             \
	MIX(Y0, Y4, Y5)            \
	VMOVDQA Y9, Y1             \
	MIX(Y1, Y4, Y5)            \
	VSHUFPS $0x88, Y1, Y0, Y2  \
	VPERMQ  $0xd8, Y2, Y2      \
	VSHUFPS $0xdd, Y1, Y0, Y3  \
	VPERMQ  $0xd8, Y3, Y3      \
	VPADDQ  inc, Y8, Y8        \
	VPADDQ  inc, Y9, Y9

// PACK8 stores the low bytes of the eight 32-bit lanes of Y (X its low
// half) at (dst), using T (XT its low half).
#define PACK8(Y, X, T, XT, dst) \
	VPSHUFB      C_SHUF(SP), Y, Y \
	VEXTRACTI128 $1, Y, XT        \
	VPUNPCKLDQ   XT, X, X         \
	VMOVQ        X, (dst)

// func code8AVX2(mc []int8, sc []uint8, mb, sb []float32, mInv, sInv float32, key uint64)
TEXT ·code8AVX2(SB), NOSPLIT, $480-112
	MIXCONSTS
	BCAST32($0x7fffffff, C_ABS)
	BCAST32($0xfffff, C_M20)
	BCAST32($0x7ffff, C_M19)
	BCAST32($889, C_MBASE)
	BCAST32($1777, C_SBASE)
	BCAST32($127, C_TOP7)
	BCAST32($255, C_TOP8)
	MOVQ         $0x808080800c080400, AX
	MOVQ         AX, X0
	MOVQ         $0x8080808080808080, AX
	MOVQ         AX, X1
	VPUNPCKLQDQ  X1, X0, X0
	VINSERTI128  $1, X0, Y0, Y0
	VMOVDQU      Y0, C_SHUF(SP)

	// the random-bit counters of values 0-3 (Y8) and 4-7 (Y9)
	MOVQ         key+104(FP), AX
	MOVQ         $0x9e3779b97f4a7c15, BX
	COUNTERS(C_KEYS)
	SHLQ         $3, BX
	MOVQ         BX, X0
	VPBROADCASTQ X0, Y10
	MOVL         $0x3f800000, AX
	MOVQ         AX, X0
	VPBROADCASTD X0, Y12
	VPXOR        Y13, Y13, Y13
	VBROADCASTSS sInv+100(FP), Y14
	VBROADCASTSS mInv+96(FP), Y15

	MOVQ         mc_base+0(FP), R8
	MOVQ         mc_len+8(FP), CX
	MOVQ         sc_base+24(FP), R9
	MOVQ         mb_base+48(FP), R10
	MOVQ         sb_base+72(FP), R11
	SHRQ         $3, CX
	JZ           cdone

cloop:
	// r = mix(counter): low halves in Y2, high halves in Y3, value order
	RANDOM8(Y10)

	// m: code = clamp(((bits(min(|x|*mInv, 1)) + r&(2^20-1)) >> 20) - 889, 0, 127), signed as x
	VMOVUPS      (R10), Y4
	VPAND        C_ABS(SP), Y4, Y5
	VMULPS       Y15, Y5, Y5
	VMINPS       Y5, Y12, Y5
	VPAND        C_M20(SP), Y2, Y6
	VPADDD       Y6, Y5, Y5
	VPSRLD       $20, Y5, Y5
	VPSUBD       C_MBASE(SP), Y5, Y5
	VPMAXSD      Y13, Y5, Y5
	VPMINSD      C_TOP7(SP), Y5, Y5
	VPSRAD       $31, Y4, Y6
	VPXOR        Y6, Y5, Y5
	VPSUBD       Y6, Y5, Y5
	PACK8(Y5, X5, Y6, X6, R8)

	// sqrt(v): code = clamp(((bits(min(s*sInv, 1)) + (r>>32)&(2^19-1)) >> 19) - 1777, 0, 255)
	VMOVUPS      (R11), Y7
	VMULPS       Y14, Y7, Y7
	VMINPS       Y7, Y12, Y7
	VPAND        C_M19(SP), Y3, Y6
	VPADDD       Y6, Y7, Y7
	VPSRLD       $19, Y7, Y7
	VPSUBD       C_SBASE(SP), Y7, Y7
	VPMAXSD      Y13, Y7, Y7
	VPMINSD      C_TOP8(SP), Y7, Y7
	PACK8(Y7, X7, Y6, X6, R9)

	ADDQ         $32, R10
	ADDQ         $32, R11
	ADDQ         $8, R8
	ADDQ         $8, R9
	DECQ         CX
	JNZ          cloop

cdone:
	VZEROUPPER
	RET

// ADAM8 is update on the eight values at (DI) (w), (SI) (m), (DX) (v)
// and (R8) (g), with decay, b1, b2, c1, c2, step, isb2 and eps
// broadcast in Y8-Y15 (ADAMPARAMS), and moves the four pointers on:
// m = b1*m + c1*g, v = b2*v + (c2*g)*g, then
// w = w*decay - (step*m) / (sqrt(v)*isb2 + eps).
#define ADAM8 \
	VMOVUPS (R8), Y0       \
	VMULPS  (SI), Y9, Y1   \
	VMULPS  Y0, Y11, Y2    \
	VADDPS  Y2, Y1, Y1     \
	VMULPS  (DX), Y10, Y3  \
	VMULPS  Y0, Y12, Y4    \
	VMULPS  Y0, Y4, Y4     \
	VADDPS  Y4, Y3, Y3     \
	VMOVUPS Y1, (SI)       \
	VMOVUPS Y3, (DX)       \
	VSQRTPS Y3, Y3         \
	VMULPS  Y14, Y3, Y3    \
	VADDPS  Y15, Y3, Y3    \
	VMULPS  Y13, Y1, Y1    \
	VDIVPS  Y3, Y1, Y1     \
	VMULPS  (DI), Y8, Y5   \
	VSUBPS  Y1, Y5, Y5     \
	VMOVUPS Y5, (DI)       \
	ADDQ    $32, DI        \
	ADDQ    $32, SI        \
	ADDQ    $32, DX        \
	ADDQ    $32, R8

// ADAMPARAMS broadcasts the paramsF32 at (AX) into Y8-Y15.
#define ADAMPARAMS \
	VBROADCASTSS 0(AX), Y8   \
	VBROADCASTSS 4(AX), Y9   \
	VBROADCASTSS 8(AX), Y10  \
	VBROADCASTSS 12(AX), Y11 \
	VBROADCASTSS 16(AX), Y12 \
	VBROADCASTSS 20(AX), Y13 \
	VBROADCASTSS 24(AX), Y14 \
	VBROADCASTSS 28(AX), Y15

// func adamAVX2(w, m, v, g []float32, p *paramsF32)
TEXT ·adamAVX2(SB), NOSPLIT, $0-104
	MOVQ p+96(FP), AX
	ADAMPARAMS
	MOVQ w_base+0(FP), DI
	MOVQ w_len+8(FP), CX
	MOVQ m_base+24(FP), SI
	MOVQ v_base+48(FP), DX
	MOVQ g_base+72(FP), R8
	SHRQ $3, CX
	JZ   adone

aloop:
	ADAM8
	DECQ CX
	JNZ  aloop

adone:
	VZEROUPPER
	RET

// func adamRowsAVX2(w, m, v, g []float32, rows []int32, dim int, p *paramsF32)
TEXT ·adamRowsAVX2(SB), NOSPLIT, $0-136
	MOVQ p+128(FP), AX
	ADAMPARAMS
	MOVQ w_base+0(FP), R9
	MOVQ m_base+24(FP), R10
	MOVQ v_base+48(FP), R11
	MOVQ g_base+72(FP), R8
	MOVQ rows_base+96(FP), R12
	MOVQ rows_len+104(FP), R13
	MOVQ dim+120(FP), R14
	SHLQ $2, R14
	TESTQ R13, R13
	JZ   rdone

rrow:
	MOVLQSX (R12), AX
	IMULQ   R14, AX
	CMPQ    R13, $16
	JLE     rcur

	// the first 256 bytes of w, m and v of the row 16 ahead: a row's
	// update is far shorter than a miss to memory, so the next row alone
	// would arrive late (BenchmarkSparse: 16 ahead takes 0.4x the time of
	// 1 ahead, 32 ahead 0.5x)
	MOVLQSX    64(R12), BX
	IMULQ      R14, BX
	PREFETCHT0 (R9)(BX*1)
	PREFETCHT0 64(R9)(BX*1)
	PREFETCHT0 128(R9)(BX*1)
	PREFETCHT0 192(R9)(BX*1)
	PREFETCHT0 (R10)(BX*1)
	PREFETCHT0 64(R10)(BX*1)
	PREFETCHT0 128(R10)(BX*1)
	PREFETCHT0 192(R10)(BX*1)
	PREFETCHT0 (R11)(BX*1)
	PREFETCHT0 64(R11)(BX*1)
	PREFETCHT0 128(R11)(BX*1)
	PREFETCHT0 192(R11)(BX*1)

rcur:
	LEAQ (R9)(AX*1), DI
	LEAQ (R10)(AX*1), SI
	LEAQ (R11)(AX*1), DX
	MOVQ R14, CX
	SHRQ $5, CX

rloop:
	ADAM8
	DECQ CX
	JNZ  rloop
	ADDQ $4, R12
	DECQ R13
	JNZ  rrow

rdone:
	VZEROUPPER
	RET

// SETUP16 fills adam16's frame (the paramsF32 at (AX)) and sets Y13 to
// zeros and BX to the counters' step.
#define SETUP16 \
	PARAM(0, H_DECAY)                 \
	PARAM(4, H_B1)                    \
	PARAM(8, H_B2)                    \
	PARAM(12, H_C1)                   \
	PARAM(16, H_C2)                   \
	PARAM(20, H_STEP)                 \
	PARAM(24, H_ISB2)                 \
	PARAM(28, H_EPS)                  \
	MIXCONSTS                         \
	BCAST32($0xffff, H_LOW16)         \
	BCAST32($0x7f800000, H_EXP)       \
	BCAST32($0x7fffff, H_MANT)        \
	BCAST32($1, H_ONE)                \
	MOVQ    $0xf1bbcdcbfa53e0a8, AX   \
	MOVQ    AX, X0                    \
	VPBROADCASTQ X0, Y0               \
	VMOVDQU Y0, H_INC(SP)             \
	MOVQ    $0x9e3779b97f4a7c15, BX   \
	VPXOR   Y13, Y13, Y13

// ADAM16 is update16 on the eight values at (DI) (w), (SI) (m), (DX) (v)
// and (R8) (g), with the counters in Y8 and Y9, and moves the counters
// and the four pointers on.
#define ADAM16 \
	RANDOM8(H_INC(SP))                    \
	VMOVUPS      (R8), Y0                 \
	VPMOVZXWD    (SI), Y4                 \
	VPSLLD       $16, Y4, Y4              \
	VMULPS       H_B1(SP), Y4, Y4         \
	VMULPS       H_C1(SP), Y0, Y1         \
	VADDPS       Y1, Y4, Y4               \
	VPMOVZXWD    (DX), Y5                 \
	VPSLLD       $16, Y5, Y5              \
	VMULPS       H_B2(SP), Y5, Y5         \
	VMULPS       H_C2(SP), Y0, Y1         \
	VMULPS       Y0, Y1, Y1               \
	VADDPS       Y1, Y5, Y5               \
	NARROW16(Y4, Y2, Y6, Y10, Y11, Y13)   \
	NARROW16(Y5, Y3, Y7, Y10, Y11, Y13)   \
	VPACKUSDW    Y7, Y6, Y6               \
	VPERMQ       $0xd8, Y6, Y6            \
	VMOVDQU      X6, (SI)                 \
	VEXTRACTI128 $1, Y6, X7               \
	VMOVDQU      X7, (DX)                 \
	VSQRTPS      Y5, Y5                   \
	VMULPS       H_ISB2(SP), Y5, Y5       \
	VADDPS       H_EPS(SP), Y5, Y5        \
	VMULPS       H_STEP(SP), Y4, Y4       \
	VDIVPS       Y5, Y4, Y4               \
	VMOVUPS      (DI), Y1                 \
	VMULPS       H_DECAY(SP), Y1, Y1      \
	VSUBPS       Y4, Y1, Y1               \
	VMOVUPS      Y1, (DI)                 \
	ADDQ         $32, DI                  \
	ADDQ         $16, SI                  \
	ADDQ         $16, DX                  \
	ADDQ         $32, R8

// func adam16AVX2(w []float32, m, v []uint16, g []float32, p *paramsF32, key uint64)
// Each eight values: r = mix(counter), its low halves rounding m and its
// high halves v; m = b1*m + c1*g and v = b2*v + (c2*g)*g from the
// widened codes; the new codes carried; w = w*decay - (step*m) /
// (sqrt(v)*isb2 + eps).
TEXT ·adam16AVX2(SB), $608-112
	MOVQ p+96(FP), AX
	SETUP16
	MOVQ key+104(FP), AX
	COUNTERS(H_KEYS)
	MOVQ w_base+0(FP), DI
	MOVQ w_len+8(FP), CX
	MOVQ m_base+24(FP), SI
	MOVQ v_base+48(FP), DX
	MOVQ g_base+72(FP), R8
	SHRQ $3, CX
	JZ   hdone

hloop:
	ADAM16
	DECQ CX
	JNZ  hloop

hdone:
	VZEROUPPER
	RET

// func adam16RowsAVX2(w []float32, m, v []uint16, g []float32, rows []int32, dim int, p *paramsF32, keys []uint64)
// update16 on each of rows of the rows x dim tables, keyed by keys (one
// per row), prefetching the row 16 ahead as adamRowsAVX2 does.
TEXT ·adam16RowsAVX2(SB), $608-160
	MOVQ p+128(FP), AX
	SETUP16
	MOVQ w_base+0(FP), R9
	MOVQ m_base+24(FP), R10
	MOVQ v_base+48(FP), R11
	MOVQ g_base+72(FP), R8
	MOVQ rows_base+96(FP), R12
	MOVQ rows_len+104(FP), R13
	MOVQ dim+120(FP), R14
	MOVQ keys_base+136(FP), R15
	TESTQ R13, R13
	JZ   h2done

h2row:
	MOVLQSX (R12), CX
	IMULQ   R14, CX
	CMPQ    R13, $16
	JLE     h2cur

	// the first 256 bytes of w and 128 of m and v of the row 16 ahead
	MOVLQSX    64(R12), AX
	IMULQ      R14, AX
	PREFETCHT0 (R10)(AX*2)
	PREFETCHT0 64(R10)(AX*2)
	PREFETCHT0 (R11)(AX*2)
	PREFETCHT0 64(R11)(AX*2)
	PREFETCHT0 (R9)(AX*4)
	PREFETCHT0 64(R9)(AX*4)
	PREFETCHT0 128(R9)(AX*4)
	PREFETCHT0 192(R9)(AX*4)

h2cur:
	LEAQ (R9)(CX*4), DI
	LEAQ (R10)(CX*2), SI
	LEAQ (R11)(CX*2), DX
	MOVQ (R15), AX
	COUNTERS(H_KEYS)
	MOVQ R14, CX
	SHRQ $3, CX

h2loop:
	ADAM16
	DECQ CX
	JNZ  h2loop
	ADDQ $4, R12
	ADDQ $8, R15
	DECQ R13
	JNZ  h2row

h2done:
	VZEROUPPER
	RET

// func prefetchRow8(w *float32, m *int8, s *uint8, mScale, sScale *float32)
TEXT ·prefetchRow8(SB), NOSPLIT, $0-40
	MOVQ       w+0(FP), AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	PREFETCHT0 192(AX)
	MOVQ       m+8(FP), AX
	PREFETCHT0 (AX)
	MOVQ       s+16(FP), AX
	PREFETCHT0 (AX)
	MOVQ       mScale+24(FP), AX
	PREFETCHT0 (AX)
	MOVQ       sScale+32(FP), AX
	PREFETCHT0 (AX)
	RET
