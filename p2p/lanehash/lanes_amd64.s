#include "textflag.h"

// Four SHA-256 compressions at once with the SHA extensions. One lane's
// rounds are a chain of SHA256RNDS2, each waiting for the one before, so a
// core that can start one such instruction a cycle but finishes it four
// cycles later sits idle three cycles in four with one message. Four
// messages give it four independent chains. The message schedule of the
// next block (SHA256MSG1/2 and the additions of K) is computed between the
// rounds of this one, so that it fills those idle cycles too.
//
// Both kernels: lane l keeps its state in X(2l+1) (A,B,E,F) and X(2l+2)
// (C,D,G,H), the layout SHA256RNDS2 works on. X0 is the instruction's
// implicit operand (two words of W+K), X15 the byte-swap mask, and SI, DI,
// R8 and R9 point at the lanes' next blocks. Frame: two buffers of
// W[t]+K[t] (t < 64) for the four lanes, lane l at 256*l, one read by the
// rounds (R10) while the other is written (R11); the lanes' states before
// the block at 2048(SP). They differ in where each lane's schedule lives.

// R runs two rounds of one lane on the W+K words at o(R10); dst, which
// held C,D,G,H, comes out holding the new A,B,E,F.
#define R(o, src, dst) MOVQ o(R10), X0; SHA256RNDS2 X0, src, dst

// EVEN and ODD run two rounds of every lane; the state registers swap
// roles after each.
#define EVEN(o) R(o, X1, X2); R(256+o, X3, X4); R(512+o, X5, X6); R(768+o, X7, X8)
#define ODD(o) R(o, X2, X1); R(256+o, X4, X3); R(512+o, X6, X5); R(768+o, X8, X7)

// PLAIN runs the 64 rounds of the four lanes with nothing beside them (a
// call's last block).
#define PLAIN \
	EVEN(0); ODD(8); EVEN(16); ODD(24); EVEN(32); ODD(40); EVEN(48); ODD(56) \
	EVEN(64); ODD(72); EVEN(80); ODD(88); EVEN(96); ODD(104); EVEN(112); ODD(120) \
	EVEN(128); ODD(136); EVEN(144); ODD(152); EVEN(160); ODD(168); EVEN(176); ODD(184) \
	EVEN(192); ODD(200); EVEN(208); ODD(216); EVEN(224); ODD(232); EVEN(240); ODD(248)

// LOAD reads the words a..h of one state at off(AX) as A,B,E,F and C,D,G,H.
#define LOAD(off, ABEF, CDGH) \
	MOVOU off(AX), X9; \
	MOVOU off+16(AX), CDGH; \
	PSHUFD $0xB1, X9, X9; \
	PSHUFD $0x1B, CDGH, CDGH; \
	MOVOU X9, ABEF; \
	PALIGNR $8, CDGH, ABEF; \
	PBLENDW $0xF0, X9, CDGH

// STORE writes them back as a..h.
#define STORE(off, ABEF, CDGH) \
	PSHUFD $0x1B, ABEF, ABEF; \
	PSHUFD $0xB1, CDGH, CDGH; \
	MOVOU ABEF, X9; \
	PBLENDW $0xF0, CDGH, X9; \
	PALIGNR $8, ABEF, CDGH; \
	MOVOU X9, off(AX); \
	MOVOU CDGH, off+16(AX)

// SAVE keeps the states before a block; ADDSAVED adds them back after it
// (the feed-forward).
#define SAVE \
	MOVOU X1, 2048(SP); MOVOU X2, 2064(SP); MOVOU X3, 2080(SP); MOVOU X4, 2096(SP); \
	MOVOU X5, 2112(SP); MOVOU X6, 2128(SP); MOVOU X7, 2144(SP); MOVOU X8, 2160(SP)
#define ADD1(o, S) MOVOU o(SP), X9; PADDD X9, S
#define ADDSAVED \
	ADD1(2048, X1); ADD1(2064, X2); ADD1(2080, X3); ADD1(2096, X4); \
	ADD1(2112, X5); ADD1(2128, X6); ADD1(2144, X7); ADD1(2160, X8)

// NEXTBLOCK moves the lane pointers on and swaps the schedule buffers.
#define NEXTBLOCK ADDQ $64, SI; ADDQ $64, DI; ADDQ $64, R8; ADDQ $64, R9; XCHGQ R10, R11

// ENTER loads the arguments, the lanes' pointers and states, and the
// schedule buffers' places; with no blocks it jumps to ret.
#define ENTER(ret) \
	MOVQ h+0(FP), AX; MOVQ p+8(FP), BX; MOVQ n+16(FP), CX; \
	TESTQ CX, CX; JZ ret; \
	MOVQ 0(BX), SI; MOVQ 8(BX), DI; MOVQ 16(BX), R8; MOVQ 24(BX), R9; \
	LEAQ 1024(SP), R10; LEAQ 0(SP), R11; MOVOU bswap<>(SB), X15; \
	LOAD(0, X1, X2); LOAD(32, X3, X4); LOAD(64, X5, X6); LOAD(96, X7, X8)

// LAST hashes the last block, with nothing to schedule, and stores the
// states.
#define LAST \
	SAVE; PLAIN; ADDSAVED; \
	STORE(0, X1, X2); STORE(32, X3, X4); STORE(64, X5, X6); STORE(96, X7, X8)

// The AVX-512 kernel, blocks4x, keeps each lane's schedule window in
// registers of its own, X(16+4l) to X(19+4l), which only EVEX-encoded
// instructions reach, so that the four lanes' schedules (each a chain
// through SHA256MSG2) advance side by side, one group of each lane in
// turn. SHA256MSG1/2 reach only X0-X15, so their operands pass through X9
// and X10; X11 is scratch.

// LOADX loads the 16 message bytes at koff(P) as big-endian words into W
// (through X9) and stores W+K at soff(R11).
#define LOADX(P, koff, W, soff) \
	MOVOU koff(P), X9; PSHUFB X15, X9; VMOVDQA64 X9, W; \
	VPADDD k256<>+koff(SB), X9, X10; VMOVDQU X10, soff(R11)

// NEXTX turns A, the lane's words four groups back, into its next four,
// W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], passing the SHA
// instructions' operands through X9 and X10, and stores them plus K like
// LOADX.
#define NEXTX(A, B, C, D, koff, soff) \
	VMOVDQA64 A, X9; VMOVDQA64 B, X10; SHA256MSG1 X10, X9; \
	VPALIGNR $4, C, D, X11; VPADDD X11, X9, X9; \
	VMOVDQA64 D, X10; SHA256MSG2 X10, X9; VMOVDQA64 X9, A; \
	VPADDD k256<>+koff(SB), X9, X10; VMOVDQU X10, soff(R11)

// SCHEDX runs the 64 rounds of the four lanes while scheduling their next
// blocks, one group of each lane in turn; FIRSTX schedules the first block
// alone.
#define SCHEDX \
	EVEN(0); LOADX(SI, 0, X16, 0); LOADX(DI, 0, X20, 256) \
	ODD(8); LOADX(R8, 0, X24, 512); LOADX(R9, 0, X28, 768) \
	EVEN(16); LOADX(SI, 16, X17, 16); LOADX(DI, 16, X21, 272) \
	ODD(24); LOADX(R8, 16, X25, 528); LOADX(R9, 16, X29, 784) \
	EVEN(32); LOADX(SI, 32, X18, 32); LOADX(DI, 32, X22, 288) \
	ODD(40); LOADX(R8, 32, X26, 544); LOADX(R9, 32, X30, 800) \
	EVEN(48); LOADX(SI, 48, X19, 48); LOADX(DI, 48, X23, 304) \
	ODD(56); LOADX(R8, 48, X27, 560); LOADX(R9, 48, X31, 816) \
	EVEN(64); NEXTX(X16, X17, X18, X19, 64, 64); NEXTX(X20, X21, X22, X23, 64, 320) \
	ODD(72); NEXTX(X24, X25, X26, X27, 64, 576); NEXTX(X28, X29, X30, X31, 64, 832) \
	EVEN(80); NEXTX(X17, X18, X19, X16, 80, 80); NEXTX(X21, X22, X23, X20, 80, 336) \
	ODD(88); NEXTX(X25, X26, X27, X24, 80, 592); NEXTX(X29, X30, X31, X28, 80, 848) \
	EVEN(96); NEXTX(X18, X19, X16, X17, 96, 96); NEXTX(X22, X23, X20, X21, 96, 352) \
	ODD(104); NEXTX(X26, X27, X24, X25, 96, 608); NEXTX(X30, X31, X28, X29, 96, 864) \
	EVEN(112); NEXTX(X19, X16, X17, X18, 112, 112); NEXTX(X23, X20, X21, X22, 112, 368) \
	ODD(120); NEXTX(X27, X24, X25, X26, 112, 624); NEXTX(X31, X28, X29, X30, 112, 880) \
	EVEN(128); NEXTX(X16, X17, X18, X19, 128, 128); NEXTX(X20, X21, X22, X23, 128, 384) \
	ODD(136); NEXTX(X24, X25, X26, X27, 128, 640); NEXTX(X28, X29, X30, X31, 128, 896) \
	EVEN(144); NEXTX(X17, X18, X19, X16, 144, 144); NEXTX(X21, X22, X23, X20, 144, 400) \
	ODD(152); NEXTX(X25, X26, X27, X24, 144, 656); NEXTX(X29, X30, X31, X28, 144, 912) \
	EVEN(160); NEXTX(X18, X19, X16, X17, 160, 160); NEXTX(X22, X23, X20, X21, 160, 416) \
	ODD(168); NEXTX(X26, X27, X24, X25, 160, 672); NEXTX(X30, X31, X28, X29, 160, 928) \
	EVEN(176); NEXTX(X19, X16, X17, X18, 176, 176); NEXTX(X23, X20, X21, X22, 176, 432) \
	ODD(184); NEXTX(X27, X24, X25, X26, 176, 688); NEXTX(X31, X28, X29, X30, 176, 944) \
	EVEN(192); NEXTX(X16, X17, X18, X19, 192, 192); NEXTX(X20, X21, X22, X23, 192, 448) \
	ODD(200); NEXTX(X24, X25, X26, X27, 192, 704); NEXTX(X28, X29, X30, X31, 192, 960) \
	EVEN(208); NEXTX(X17, X18, X19, X16, 208, 208); NEXTX(X21, X22, X23, X20, 208, 464) \
	ODD(216); NEXTX(X25, X26, X27, X24, 208, 720); NEXTX(X29, X30, X31, X28, 208, 976) \
	EVEN(224); NEXTX(X18, X19, X16, X17, 224, 224); NEXTX(X22, X23, X20, X21, 224, 480) \
	ODD(232); NEXTX(X26, X27, X24, X25, 224, 736); NEXTX(X30, X31, X28, X29, 224, 992) \
	EVEN(240); NEXTX(X19, X16, X17, X18, 240, 240); NEXTX(X23, X20, X21, X22, 240, 496) \
	ODD(248); NEXTX(X27, X24, X25, X26, 240, 752); NEXTX(X31, X28, X29, X30, 240, 1008)

#define FIRSTX \
	LOADX(SI, 0, X16, 0); LOADX(DI, 0, X20, 256); LOADX(R8, 0, X24, 512); LOADX(R9, 0, X28, 768) \
	LOADX(SI, 16, X17, 16); LOADX(DI, 16, X21, 272); LOADX(R8, 16, X25, 528); LOADX(R9, 16, X29, 784) \
	LOADX(SI, 32, X18, 32); LOADX(DI, 32, X22, 288); LOADX(R8, 32, X26, 544); LOADX(R9, 32, X30, 800) \
	LOADX(SI, 48, X19, 48); LOADX(DI, 48, X23, 304); LOADX(R8, 48, X27, 560); LOADX(R9, 48, X31, 816) \
	NEXTX(X16, X17, X18, X19, 64, 64); NEXTX(X20, X21, X22, X23, 64, 320); NEXTX(X24, X25, X26, X27, 64, 576); NEXTX(X28, X29, X30, X31, 64, 832) \
	NEXTX(X17, X18, X19, X16, 80, 80); NEXTX(X21, X22, X23, X20, 80, 336); NEXTX(X25, X26, X27, X24, 80, 592); NEXTX(X29, X30, X31, X28, 80, 848) \
	NEXTX(X18, X19, X16, X17, 96, 96); NEXTX(X22, X23, X20, X21, 96, 352); NEXTX(X26, X27, X24, X25, 96, 608); NEXTX(X30, X31, X28, X29, 96, 864) \
	NEXTX(X19, X16, X17, X18, 112, 112); NEXTX(X23, X20, X21, X22, 112, 368); NEXTX(X27, X24, X25, X26, 112, 624); NEXTX(X31, X28, X29, X30, 112, 880) \
	NEXTX(X16, X17, X18, X19, 128, 128); NEXTX(X20, X21, X22, X23, 128, 384); NEXTX(X24, X25, X26, X27, 128, 640); NEXTX(X28, X29, X30, X31, 128, 896) \
	NEXTX(X17, X18, X19, X16, 144, 144); NEXTX(X21, X22, X23, X20, 144, 400); NEXTX(X25, X26, X27, X24, 144, 656); NEXTX(X29, X30, X31, X28, 144, 912) \
	NEXTX(X18, X19, X16, X17, 160, 160); NEXTX(X22, X23, X20, X21, 160, 416); NEXTX(X26, X27, X24, X25, 160, 672); NEXTX(X30, X31, X28, X29, 160, 928) \
	NEXTX(X19, X16, X17, X18, 176, 176); NEXTX(X23, X20, X21, X22, 176, 432); NEXTX(X27, X24, X25, X26, 176, 688); NEXTX(X31, X28, X29, X30, 176, 944) \
	NEXTX(X16, X17, X18, X19, 192, 192); NEXTX(X20, X21, X22, X23, 192, 448); NEXTX(X24, X25, X26, X27, 192, 704); NEXTX(X28, X29, X30, X31, 192, 960) \
	NEXTX(X17, X18, X19, X16, 208, 208); NEXTX(X21, X22, X23, X20, 208, 464); NEXTX(X25, X26, X27, X24, 208, 720); NEXTX(X29, X30, X31, X28, 208, 976) \
	NEXTX(X18, X19, X16, X17, 224, 224); NEXTX(X22, X23, X20, X21, 224, 480); NEXTX(X26, X27, X24, X25, 224, 736); NEXTX(X30, X31, X28, X29, 224, 992) \
	NEXTX(X19, X16, X17, X18, 240, 240); NEXTX(X23, X20, X21, X22, 240, 496); NEXTX(X27, X24, X25, X26, 240, 752); NEXTX(X31, X28, X29, X30, 240, 1008)

// blocks4 (SSE) keeps the schedule words W in an aligned buffer at R12,
// lane l at 256*l, where the SHA and PALIGNR instructions read them as
// memory operands, and each lane's newest four words in X(9+l): with no
// register window of their own, the four lanes' schedules advance side by
// side, one group of each lane in turn. X13 and X14 are scratch.

// LOADM loads the 16 message bytes at koff(P) as big-endian words into D,
// keeps them at off(R12) and stores W+K at off(R11).
#define LOADM(P, koff, off, D) \
	MOVOU koff(P), D; PSHUFB X15, D; MOVO D, off(R12); \
	MOVOU k256<>+koff(SB), X14; PADDD D, X14; MOVOU X14, off(R11)

// NEXTM computes the lane's next four words from those four groups back
// (at a, b and c) and D, W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16],
// and keeps and stores them like LOADM.
#define NEXTM(a, b, c, koff, off, D) \
	MOVO a(R12), X13; SHA256MSG1 b(R12), X13; \
	MOVO D, X14; PALIGNR $4, c(R12), X14; PADDD X14, X13; \
	SHA256MSG2 D, X13; MOVO X13, off(R12); MOVO X13, D; \
	MOVOU k256<>+koff(SB), X14; PADDD X13, X14; MOVOU X14, off(R11)

// SCHEDM runs the 64 rounds of the four lanes while scheduling their next
// blocks; FIRSTM schedules the first block alone.
#define SCHEDM \
	EVEN(0); LOADM(SI, 0, 0, X9); LOADM(DI, 0, 256, X10) \
	ODD(8); LOADM(R8, 0, 512, X11); LOADM(R9, 0, 768, X12) \
	EVEN(16); LOADM(SI, 16, 16, X9); LOADM(DI, 16, 272, X10) \
	ODD(24); LOADM(R8, 16, 528, X11); LOADM(R9, 16, 784, X12) \
	EVEN(32); LOADM(SI, 32, 32, X9); LOADM(DI, 32, 288, X10) \
	ODD(40); LOADM(R8, 32, 544, X11); LOADM(R9, 32, 800, X12) \
	EVEN(48); LOADM(SI, 48, 48, X9); LOADM(DI, 48, 304, X10) \
	ODD(56); LOADM(R8, 48, 560, X11); LOADM(R9, 48, 816, X12) \
	EVEN(64); NEXTM(0, 16, 32, 64, 64, X9); NEXTM(256, 272, 288, 64, 320, X10) \
	ODD(72); NEXTM(512, 528, 544, 64, 576, X11); NEXTM(768, 784, 800, 64, 832, X12) \
	EVEN(80); NEXTM(16, 32, 48, 80, 80, X9); NEXTM(272, 288, 304, 80, 336, X10) \
	ODD(88); NEXTM(528, 544, 560, 80, 592, X11); NEXTM(784, 800, 816, 80, 848, X12) \
	EVEN(96); NEXTM(32, 48, 64, 96, 96, X9); NEXTM(288, 304, 320, 96, 352, X10) \
	ODD(104); NEXTM(544, 560, 576, 96, 608, X11); NEXTM(800, 816, 832, 96, 864, X12) \
	EVEN(112); NEXTM(48, 64, 80, 112, 112, X9); NEXTM(304, 320, 336, 112, 368, X10) \
	ODD(120); NEXTM(560, 576, 592, 112, 624, X11); NEXTM(816, 832, 848, 112, 880, X12) \
	EVEN(128); NEXTM(64, 80, 96, 128, 128, X9); NEXTM(320, 336, 352, 128, 384, X10) \
	ODD(136); NEXTM(576, 592, 608, 128, 640, X11); NEXTM(832, 848, 864, 128, 896, X12) \
	EVEN(144); NEXTM(80, 96, 112, 144, 144, X9); NEXTM(336, 352, 368, 144, 400, X10) \
	ODD(152); NEXTM(592, 608, 624, 144, 656, X11); NEXTM(848, 864, 880, 144, 912, X12) \
	EVEN(160); NEXTM(96, 112, 128, 160, 160, X9); NEXTM(352, 368, 384, 160, 416, X10) \
	ODD(168); NEXTM(608, 624, 640, 160, 672, X11); NEXTM(864, 880, 896, 160, 928, X12) \
	EVEN(176); NEXTM(112, 128, 144, 176, 176, X9); NEXTM(368, 384, 400, 176, 432, X10) \
	ODD(184); NEXTM(624, 640, 656, 176, 688, X11); NEXTM(880, 896, 912, 176, 944, X12) \
	EVEN(192); NEXTM(128, 144, 160, 192, 192, X9); NEXTM(384, 400, 416, 192, 448, X10) \
	ODD(200); NEXTM(640, 656, 672, 192, 704, X11); NEXTM(896, 912, 928, 192, 960, X12) \
	EVEN(208); NEXTM(144, 160, 176, 208, 208, X9); NEXTM(400, 416, 432, 208, 464, X10) \
	ODD(216); NEXTM(656, 672, 688, 208, 720, X11); NEXTM(912, 928, 944, 208, 976, X12) \
	EVEN(224); NEXTM(160, 176, 192, 224, 224, X9); NEXTM(416, 432, 448, 224, 480, X10) \
	ODD(232); NEXTM(672, 688, 704, 224, 736, X11); NEXTM(928, 944, 960, 224, 992, X12) \
	EVEN(240); NEXTM(176, 192, 208, 240, 240, X9); NEXTM(432, 448, 464, 240, 496, X10) \
	ODD(248); NEXTM(688, 704, 720, 240, 752, X11); NEXTM(944, 960, 976, 240, 1008, X12)

#define FIRSTM \
	LOADM(SI, 0, 0, X9); LOADM(DI, 0, 256, X10); LOADM(R8, 0, 512, X11); LOADM(R9, 0, 768, X12) \
	LOADM(SI, 16, 16, X9); LOADM(DI, 16, 272, X10); LOADM(R8, 16, 528, X11); LOADM(R9, 16, 784, X12) \
	LOADM(SI, 32, 32, X9); LOADM(DI, 32, 288, X10); LOADM(R8, 32, 544, X11); LOADM(R9, 32, 800, X12) \
	LOADM(SI, 48, 48, X9); LOADM(DI, 48, 304, X10); LOADM(R8, 48, 560, X11); LOADM(R9, 48, 816, X12) \
	NEXTM(0, 16, 32, 64, 64, X9); NEXTM(256, 272, 288, 64, 320, X10); NEXTM(512, 528, 544, 64, 576, X11); NEXTM(768, 784, 800, 64, 832, X12) \
	NEXTM(16, 32, 48, 80, 80, X9); NEXTM(272, 288, 304, 80, 336, X10); NEXTM(528, 544, 560, 80, 592, X11); NEXTM(784, 800, 816, 80, 848, X12) \
	NEXTM(32, 48, 64, 96, 96, X9); NEXTM(288, 304, 320, 96, 352, X10); NEXTM(544, 560, 576, 96, 608, X11); NEXTM(800, 816, 832, 96, 864, X12) \
	NEXTM(48, 64, 80, 112, 112, X9); NEXTM(304, 320, 336, 112, 368, X10); NEXTM(560, 576, 592, 112, 624, X11); NEXTM(816, 832, 848, 112, 880, X12) \
	NEXTM(64, 80, 96, 128, 128, X9); NEXTM(320, 336, 352, 128, 384, X10); NEXTM(576, 592, 608, 128, 640, X11); NEXTM(832, 848, 864, 128, 896, X12) \
	NEXTM(80, 96, 112, 144, 144, X9); NEXTM(336, 352, 368, 144, 400, X10); NEXTM(592, 608, 624, 144, 656, X11); NEXTM(848, 864, 880, 144, 912, X12) \
	NEXTM(96, 112, 128, 160, 160, X9); NEXTM(352, 368, 384, 160, 416, X10); NEXTM(608, 624, 640, 160, 672, X11); NEXTM(864, 880, 896, 160, 928, X12) \
	NEXTM(112, 128, 144, 176, 176, X9); NEXTM(368, 384, 400, 176, 432, X10); NEXTM(624, 640, 656, 176, 688, X11); NEXTM(880, 896, 912, 176, 944, X12) \
	NEXTM(128, 144, 160, 192, 192, X9); NEXTM(384, 400, 416, 192, 448, X10); NEXTM(640, 656, 672, 192, 704, X11); NEXTM(896, 912, 928, 192, 960, X12) \
	NEXTM(144, 160, 176, 208, 208, X9); NEXTM(400, 416, 432, 208, 464, X10); NEXTM(656, 672, 688, 208, 720, X11); NEXTM(912, 928, 944, 208, 976, X12) \
	NEXTM(160, 176, 192, 224, 224, X9); NEXTM(416, 432, 448, 224, 480, X10); NEXTM(672, 688, 704, 224, 736, X11); NEXTM(928, 944, 960, 224, 992, X12) \
	NEXTM(176, 192, 208, 240, 240, X9); NEXTM(432, 448, 464, 240, 496, X10); NEXTM(688, 704, 720, 240, 752, X11); NEXTM(944, 960, 976, 240, 1008, X12)

// func blocks4x(h *[4][8]uint32, p *[4]*byte, n int)
TEXT ·blocks4x(SB), 0, $2176-24
	VZEROUPPER
	ENTER(retx)
	FIRSTX
	NEXTBLOCK
	DECQ CX
	JZ   lastx

loopx:
	SAVE
	SCHEDX
	ADDSAVED
	NEXTBLOCK
	DECQ CX
	JNZ  loopx

lastx:
	LAST
	VZEROUPPER

retx:
	RET

// func blocks4(h *[4][8]uint32, p *[4]*byte, n int)
TEXT ·blocks4(SB), 0, $3232-24
	ENTER(retm)
	LEAQ 2191(SP), R12
	ANDQ $-16, R12
	FIRSTM
	NEXTBLOCK
	DECQ CX
	JZ   lastm

loopm:
	SAVE
	SCHEDM
	ADDSAVED
	NEXTBLOCK
	DECQ CX
	JNZ  loopm

lastm:
	LAST

retm:
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// PSHUFB mask reversing the bytes of each 32-bit word.
DATA bswap<>+0(SB)/8, $0x0405060700010203
DATA bswap<>+8(SB)/8, $0x0c0d0e0f08090a0b
GLOBL bswap<>(SB), RODATA|NOPTR, $16

// The round constants K (FIPS 180-4, 4.2.2).
DATA k256<>+0(SB)/4, $0x428a2f98
DATA k256<>+4(SB)/4, $0x71374491
DATA k256<>+8(SB)/4, $0xb5c0fbcf
DATA k256<>+12(SB)/4, $0xe9b5dba5
DATA k256<>+16(SB)/4, $0x3956c25b
DATA k256<>+20(SB)/4, $0x59f111f1
DATA k256<>+24(SB)/4, $0x923f82a4
DATA k256<>+28(SB)/4, $0xab1c5ed5
DATA k256<>+32(SB)/4, $0xd807aa98
DATA k256<>+36(SB)/4, $0x12835b01
DATA k256<>+40(SB)/4, $0x243185be
DATA k256<>+44(SB)/4, $0x550c7dc3
DATA k256<>+48(SB)/4, $0x72be5d74
DATA k256<>+52(SB)/4, $0x80deb1fe
DATA k256<>+56(SB)/4, $0x9bdc06a7
DATA k256<>+60(SB)/4, $0xc19bf174
DATA k256<>+64(SB)/4, $0xe49b69c1
DATA k256<>+68(SB)/4, $0xefbe4786
DATA k256<>+72(SB)/4, $0x0fc19dc6
DATA k256<>+76(SB)/4, $0x240ca1cc
DATA k256<>+80(SB)/4, $0x2de92c6f
DATA k256<>+84(SB)/4, $0x4a7484aa
DATA k256<>+88(SB)/4, $0x5cb0a9dc
DATA k256<>+92(SB)/4, $0x76f988da
DATA k256<>+96(SB)/4, $0x983e5152
DATA k256<>+100(SB)/4, $0xa831c66d
DATA k256<>+104(SB)/4, $0xb00327c8
DATA k256<>+108(SB)/4, $0xbf597fc7
DATA k256<>+112(SB)/4, $0xc6e00bf3
DATA k256<>+116(SB)/4, $0xd5a79147
DATA k256<>+120(SB)/4, $0x06ca6351
DATA k256<>+124(SB)/4, $0x14292967
DATA k256<>+128(SB)/4, $0x27b70a85
DATA k256<>+132(SB)/4, $0x2e1b2138
DATA k256<>+136(SB)/4, $0x4d2c6dfc
DATA k256<>+140(SB)/4, $0x53380d13
DATA k256<>+144(SB)/4, $0x650a7354
DATA k256<>+148(SB)/4, $0x766a0abb
DATA k256<>+152(SB)/4, $0x81c2c92e
DATA k256<>+156(SB)/4, $0x92722c85
DATA k256<>+160(SB)/4, $0xa2bfe8a1
DATA k256<>+164(SB)/4, $0xa81a664b
DATA k256<>+168(SB)/4, $0xc24b8b70
DATA k256<>+172(SB)/4, $0xc76c51a3
DATA k256<>+176(SB)/4, $0xd192e819
DATA k256<>+180(SB)/4, $0xd6990624
DATA k256<>+184(SB)/4, $0xf40e3585
DATA k256<>+188(SB)/4, $0x106aa070
DATA k256<>+192(SB)/4, $0x19a4c116
DATA k256<>+196(SB)/4, $0x1e376c08
DATA k256<>+200(SB)/4, $0x2748774c
DATA k256<>+204(SB)/4, $0x34b0bcb5
DATA k256<>+208(SB)/4, $0x391c0cb3
DATA k256<>+212(SB)/4, $0x4ed8aa4a
DATA k256<>+216(SB)/4, $0x5b9cca4f
DATA k256<>+220(SB)/4, $0x682e6ff3
DATA k256<>+224(SB)/4, $0x748f82ee
DATA k256<>+228(SB)/4, $0x78a5636f
DATA k256<>+232(SB)/4, $0x84c87814
DATA k256<>+236(SB)/4, $0x8cc70208
DATA k256<>+240(SB)/4, $0x90befffa
DATA k256<>+244(SB)/4, $0xa4506ceb
DATA k256<>+248(SB)/4, $0xbef9a3f7
DATA k256<>+252(SB)/4, $0xc67178f2
GLOBL k256<>(SB), RODATA|NOPTR, $256
