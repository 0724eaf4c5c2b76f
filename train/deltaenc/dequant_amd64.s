#include "textflag.h"

// AVX2 form of dequantizeRow's loop: each int8 widened to int32 and
// converted to float32 (exactly: |q| <= 128), then one single-precision
// multiply by s, rounded to nearest even as Go's float32(float32(q) * s):
// the same bits. Sixteen values per iteration, then eight.

// func dequantizeAVX2(dst []float32, src []byte, s float32)
TEXT ·dequantizeAVX2(SB), NOSPLIT, $0-52
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), CX
	MOVQ         src_base+24(FP), SI
	VBROADCASTSS s+48(FP), Y15
	SHRQ         $3, CX
	JZ           ddone

d16:
	CMPQ      CX, $2
	JB        d8
	VPMOVSXBD (SI), Y0
	VPMOVSXBD 8(SI), Y1
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VMULPS    Y15, Y0, Y0
	VMULPS    Y15, Y1, Y1
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y1, 32(DI)
	ADDQ      $16, SI
	ADDQ      $64, DI
	SUBQ      $2, CX
	JMP       d16

d8:
	TESTQ     CX, CX
	JZ        ddone
	VPMOVSXBD (SI), Y0
	VCVTDQ2PS Y0, Y0
	VMULPS    Y15, Y0, Y0
	VMOVUPS   Y0, (DI)

ddone:
	VZEROUPPER
	RET
