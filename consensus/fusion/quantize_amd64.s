#include "textflag.h"

// AVX2 form of quantizeAddGo: eight values per iteration with the same
// IEEE operations (a single-precision multiply by k, an exact widening to
// float64, one rounding add of 1.5*2^16 whose mantissa bits minus the
// constant's are the integer q), so the sums are bit-identical. A value
// out of range or non-finite adds zero and sets the sign bit of the
// result.

// QUANT8 converts the eight floats at (SI) into q in Y2 (low four) and Y3
// (high four), zeroing bad lanes and OR-ing their flags into Y10.
#define QUANT8 \
	PREFETCHT0   4096(SI)         \
	PREFETCHT0   8192(DI)         \
	VMOVUPS      (SI), Y0         \
	VMULPS       Y15, Y0, Y0      \
	VPAND        Y12, Y0, Y1      \
	VPCMPGTD     Y11, Y1, Y1      \
	VPOR         Y1, Y10, Y10     \
	VCVTPS2PD    X0, Y2           \
	VEXTRACTF128 $1, Y0, X3       \
	VCVTPS2PD    X3, Y3           \
	VADDPD       Y13, Y2, Y2      \
	VADDPD       Y13, Y3, Y3      \
	VPSUBQ       Y13, Y2, Y2      \
	VPSUBQ       Y13, Y3, Y3      \
	VPMOVSXDQ    X1, Y4           \
	VEXTRACTI128 $1, Y1, X5       \
	VPMOVSXDQ    X5, Y5           \
	VPANDN       Y2, Y4, Y2       \
	VPANDN       Y3, Y5, Y3

// func quantizeAVX2(acc []int64, v []float32, k float32, neg bool) uint32
TEXT ·quantizeAVX2(SB), NOSPLIT, $0-60
	MOVQ         acc_base+0(FP), DI
	MOVQ         acc_len+8(FP), CX
	MOVQ         v_base+24(FP), SI
	VBROADCASTSS k+48(FP), Y15
	MOVQ         $0x40f8000000000000, AX
	MOVQ         AX, X13
	VPBROADCASTQ X13, Y13
	MOVL         $0x7f800000, AX
	MOVL         AX, X12
	VPBROADCASTD X12, Y12
	MOVL         $0x447fffff, AX
	MOVL         AX, X11
	VPBROADCASTD X11, Y11
	VPXOR        Y10, Y10, Y10
	SHRQ         $3, CX
	JZ           qdone
	MOVBLZX      neg+52(FP), AX
	TESTL        AX, AX
	JNZ          qsub

qadd:
	QUANT8
	VPADDQ  (DI), Y2, Y2
	VPADDQ  32(DI), Y3, Y3
	VMOVDQU Y2, (DI)
	VMOVDQU Y3, 32(DI)
	ADDQ    $32, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     qadd
	JMP     qdone

qsub:
	QUANT8
	VMOVDQU (DI), Y6
	VMOVDQU 32(DI), Y7
	VPSUBQ  Y2, Y6, Y6
	VPSUBQ  Y3, Y7, Y7
	VMOVDQU Y6, (DI)
	VMOVDQU Y7, 32(DI)
	ADDQ    $32, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     qsub

qdone:
	VMOVMSKPS Y10, AX
	VZEROUPPER
	XORL      DX, DX
	TESTL     AX, AX
	JZ        qret
	MOVL      $0x80000000, DX

qret:
	MOVL DX, ret+56(FP)
	RET

// Q1 adds the q of the eight floats at (PTR)(BX*1), times the broadcast K,
// to Y6 (low four) and Y7 (high four) as raw float64 bits of x + 1.5*2^16
// (the caller subtracts the constant's bits once per delta), and folds
// their magnitudes' bits into Y9.
#define Q1(PTR, K) \
	PREFETCHT0   4096(PTR)(BX*1)    \
	VMULPS       (PTR)(BX*1), K, Y0 \
	VPAND        Y10, Y0, Y1        \
	VPMAXUD      Y1, Y9, Y9         \
	VCVTPS2PD    X0, Y2             \
	VEXTRACTF128 $1, Y0, X3         \
	VCVTPS2PD    X3, Y3             \
	VADDPD       Y11, Y2, Y2        \
	VADDPD       Y11, Y3, Y3        \
	VPADDQ       Y2, Y6, Y6         \
	VPADDQ       Y3, Y7, Y7

// Q4START loads the four-delta passes' constants (Y11 = 1.5*2^16, Y8 =
// four times its bits, Y10 = the magnitude mask, Y9 = the largest magnitude
// seen) and turns the value count in CX into the count of eight-value groups.
#define Q4START \
	MOVQ         $0x40f8000000000000, AX      \
	MOVQ         AX, X11                      \
	VPBROADCASTQ X11, Y11                     \
	MOVQ         $0x03e0000000000000, AX      \
	MOVQ         AX, X8                       \
	VPBROADCASTQ X8, Y8                       \
	MOVL         $0x7fffffff, AX              \
	MOVL         AX, X10                      \
	VPBROADCASTD X10, Y10                     \
	VPXOR        Y9, Y9, Y9                   \
	XORQ         BX, BX                       \
	SHRQ         $3, CX

// Q4STORE removes the four constants from Y6:Y7, adds them to the eight
// sums at DI and moves to the next group.
#define Q4STORE \
	VPSUBQ  Y8, Y6, Y6     \
	VPSUBQ  Y8, Y7, Y7     \
	VPADDQ  (DI), Y6, Y6   \
	VPADDQ  32(DI), Y7, Y7 \
	VMOVDQU Y6, (DI)       \
	VMOVDQU Y7, 32(DI)     \
	ADDQ    $32, BX        \
	ADDQ    $64, DI

// Q4BAD sets DX to 0x80000000 if a magnitude in Y9 is SumLimit or more
// (or not finite), else 0.
#define Q4BAD \
	MOVL         $0x447fffff, AX \
	MOVL         AX, X5          \
	VPBROADCASTD X5, Y5          \
	VPCMPGTD     Y5, Y9, Y9      \
	VMOVMSKPS    Y9, AX          \
	VZEROUPPER                   \
	XORL         DX, DX          \
	TESTL        AX, AX          \
	SETNE        DL              \
	SHLL         $31, DX

// Q1PLAIN is Q1 with k = 1: the floats are widened straight from memory.
#define Q1PLAIN(PTR) \
	PREFETCHT0 4096(PTR)(BX*1)     \
	VPAND     (PTR)(BX*1), Y10, Y1 \
	VPMAXUD   Y1, Y9, Y9           \
	VCVTPS2PD (PTR)(BX*1), Y2      \
	VCVTPS2PD 16(PTR)(BX*1), Y3    \
	VADDPD    Y11, Y2, Y2          \
	VADDPD    Y11, Y3, Y3          \
	VPADDQ    Y2, Y6, Y6           \
	VPADDQ    Y3, Y7, Y7

// func quantize4AVX2(acc []int64, a, b, c, d []float32, k *[4]float32) uint32
//
// Adds the q of k[0]*a, k[1]*b, k[2]*c and k[3]*d to acc over len(acc) &^ 7
// values. Bad values are not zeroed (the caller diagnoses and discards the
// sum); the sign bit of the result is set if there was one.
TEXT ·quantize4AVX2(SB), NOSPLIT, $0-132
	MOVQ         k+120(FP), AX
	VBROADCASTSS 0(AX), Y12
	VBROADCASTSS 4(AX), Y13
	VBROADCASTSS 8(AX), Y14
	VBROADCASTSS 12(AX), Y15
	MOVQ acc_base+0(FP), DI
	MOVQ acc_len+8(FP), CX
	MOVQ a_base+24(FP), R8
	MOVQ b_base+48(FP), R9
	MOVQ c_base+72(FP), R10
	MOVQ d_base+96(FP), R11
	Q4START
	JZ           q4done

q4loop:
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	Q1(R8, Y12)
	Q1(R9, Y13)
	Q1(R10, Y14)
	Q1(R11, Y15)
	Q4STORE
	DECQ  CX
	JNZ   q4loop

q4done:
	Q4BAD
	MOVL DX, ret+128(FP)
	RET

// func quantize4PlainAVX2(acc []int64, a, b, c, d []float32) uint32
//
// quantize4AVX2 with every multiplier 1.
TEXT ·quantize4PlainAVX2(SB), NOSPLIT, $0-124
	MOVQ acc_base+0(FP), DI
	MOVQ acc_len+8(FP), CX
	MOVQ a_base+24(FP), R8
	MOVQ b_base+48(FP), R9
	MOVQ c_base+72(FP), R10
	MOVQ d_base+96(FP), R11
	Q4START
	JZ    p4done

p4loop:
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	Q1PLAIN(R8)
	Q1PLAIN(R9)
	Q1PLAIN(R10)
	Q1PLAIN(R11)
	Q4STORE
	DECQ  CX
	JNZ   p4loop

p4done:
	Q4BAD
	MOVL DX, ret+120(FP)
	RET

// func finishAVX2(out, base []float32, acc []int64, div float64) uint32
//
// out[i] = base[i] + float32(float64(acc[i]) / div) over len(out) &^ 3
// values, four at a time, while every acc[i] is below 2^51 in magnitude:
// then float64(acc[i]) is exact as the float64 bits of acc[i] + 1.5*2^52
// minus that constant. It stops at the first group of four holding a
// larger value and returns how many values it wrote in the low 32 bits and,
// in bit 63, whether any result was non-finite.
TEXT ·finishAVX2(SB), NOSPLIT, $0-88
	MOVQ         out_base+0(FP), DI
	MOVQ         out_len+8(FP), CX
	MOVQ         base_base+24(FP), SI
	MOVQ         acc_base+48(FP), R8
	VBROADCASTSD div+72(FP), Y15
	MOVQ         $0x4338000000000000, AX
	MOVQ         AX, X14
	VPBROADCASTQ X14, Y14
	MOVQ         $0x0007ffffffffffff, AX
	MOVQ         AX, X13
	VPBROADCASTQ X13, Y13
	MOVQ         $0xfff8000000000000, AX
	MOVQ         AX, X12
	VPBROADCASTQ X12, Y12
	MOVL         $0x7f800000, AX
	MOVL         AX, X11
	VPBROADCASTD X11, X11
	MOVL         $0x00800000, AX
	MOVL         AX, X10
	VPBROADCASTD X10, X10
	VPXOR        X9, X9, X9
	XORQ         BX, BX
	SHRQ         $2, CX
	JZ           fdone

floop:
	VMOVDQU   (R8)(BX*8), Y0
	VPCMPGTQ  Y13, Y0, Y1
	VPCMPGTQ  Y0, Y12, Y2
	VPOR      Y2, Y1, Y1
	VPTEST    Y1, Y1
	JNZ       fdone
	VPADDQ    Y14, Y0, Y0
	VSUBPD    Y14, Y0, Y0
	VDIVPD    Y15, Y0, Y0
	VCVTPD2PSY Y0, X0
	VADDPS    (SI)(BX*4), X0, X0
	VMOVUPS   X0, (DI)(BX*4)
	VPAND     X11, X0, X1
	VPADDD    X10, X1, X1
	VPOR      X1, X9, X9
	ADDQ      $4, BX
	DECQ      CX
	JNZ       floop

fdone:
	VMOVMSKPS X9, AX
	VZEROUPPER
	MOVQ      BX, DX
	TESTL     AX, AX
	JZ        fret
	BTSQ      $63, DX

fret:
	MOVQ DX, ret+80(FP)
	RET

// func squaresAVX2(lanes *[16]float64, v []float32)
// Sixteen values per iteration: each widened exactly to float64, squared
// (exactly) and added to its lane, one rounding per add as in Go.
TEXT ·squaresAVX2(SB), NOSPLIT, $0-32
	MOVQ    lanes+0(FP), DI
	MOVQ    v_base+8(FP), SI
	MOVQ    v_len+16(FP), CX
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	SHRQ    $4, CX
	JZ      sqstore

sqloop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VMULPD    Y4, Y4, Y4
	VMULPD    Y5, Y5, Y5
	VMULPD    Y6, Y6, Y6
	VMULPD    Y7, Y7, Y7
	VADDPD    Y4, Y0, Y0
	VADDPD    Y5, Y1, Y1
	VADDPD    Y6, Y2, Y2
	VADDPD    Y7, Y3, Y3
	ADDQ      $64, SI
	DECQ      CX
	JNZ       sqloop

sqstore:
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VZEROUPPER
	RET
