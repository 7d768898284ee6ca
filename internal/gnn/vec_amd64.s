//go:build !purego

#include "textflag.h"

// Eight-lane float32 kernels for the element-wise work that dominated
// profiles once the GEMMs were vectorised: exp (attention softmax), ELU, and
// y += a*x (message aggregation). exp is the same Cephes scheme as expf in
// mathf.go: clamp, n = floor(x*log2(e) + 0.5), r = x - n*ln2 (in two parts),
// a degree-6 polynomial, then scale by 2^n through the exponent bits.
// Callers pass n as a multiple of 8 and finish the tail in Go.

DATA expc<>+0(SB)/4, $0x3fb8aa3b
DATA expc<>+4(SB)/4, $0x3fb8aa3b
DATA expc<>+8(SB)/4, $0x3fb8aa3b
DATA expc<>+12(SB)/4, $0x3fb8aa3b
DATA expc<>+16(SB)/4, $0x3fb8aa3b
DATA expc<>+20(SB)/4, $0x3fb8aa3b
DATA expc<>+24(SB)/4, $0x3fb8aa3b
DATA expc<>+28(SB)/4, $0x3fb8aa3b
DATA expc<>+32(SB)/4, $0x3f000000
DATA expc<>+36(SB)/4, $0x3f000000
DATA expc<>+40(SB)/4, $0x3f000000
DATA expc<>+44(SB)/4, $0x3f000000
DATA expc<>+48(SB)/4, $0x3f000000
DATA expc<>+52(SB)/4, $0x3f000000
DATA expc<>+56(SB)/4, $0x3f000000
DATA expc<>+60(SB)/4, $0x3f000000
DATA expc<>+64(SB)/4, $0x3f800000
DATA expc<>+68(SB)/4, $0x3f800000
DATA expc<>+72(SB)/4, $0x3f800000
DATA expc<>+76(SB)/4, $0x3f800000
DATA expc<>+80(SB)/4, $0x3f800000
DATA expc<>+84(SB)/4, $0x3f800000
DATA expc<>+88(SB)/4, $0x3f800000
DATA expc<>+92(SB)/4, $0x3f800000
DATA expc<>+96(SB)/4, $0x3f318000
DATA expc<>+100(SB)/4, $0x3f318000
DATA expc<>+104(SB)/4, $0x3f318000
DATA expc<>+108(SB)/4, $0x3f318000
DATA expc<>+112(SB)/4, $0x3f318000
DATA expc<>+116(SB)/4, $0x3f318000
DATA expc<>+120(SB)/4, $0x3f318000
DATA expc<>+124(SB)/4, $0x3f318000
DATA expc<>+128(SB)/4, $0xb95e8083
DATA expc<>+132(SB)/4, $0xb95e8083
DATA expc<>+136(SB)/4, $0xb95e8083
DATA expc<>+140(SB)/4, $0xb95e8083
DATA expc<>+144(SB)/4, $0xb95e8083
DATA expc<>+148(SB)/4, $0xb95e8083
DATA expc<>+152(SB)/4, $0xb95e8083
DATA expc<>+156(SB)/4, $0xb95e8083
DATA expc<>+160(SB)/4, $0x39506967
DATA expc<>+164(SB)/4, $0x39506967
DATA expc<>+168(SB)/4, $0x39506967
DATA expc<>+172(SB)/4, $0x39506967
DATA expc<>+176(SB)/4, $0x39506967
DATA expc<>+180(SB)/4, $0x39506967
DATA expc<>+184(SB)/4, $0x39506967
DATA expc<>+188(SB)/4, $0x39506967
DATA expc<>+192(SB)/4, $0x3ab743ce
DATA expc<>+196(SB)/4, $0x3ab743ce
DATA expc<>+200(SB)/4, $0x3ab743ce
DATA expc<>+204(SB)/4, $0x3ab743ce
DATA expc<>+208(SB)/4, $0x3ab743ce
DATA expc<>+212(SB)/4, $0x3ab743ce
DATA expc<>+216(SB)/4, $0x3ab743ce
DATA expc<>+220(SB)/4, $0x3ab743ce
DATA expc<>+224(SB)/4, $0x3c088908
DATA expc<>+228(SB)/4, $0x3c088908
DATA expc<>+232(SB)/4, $0x3c088908
DATA expc<>+236(SB)/4, $0x3c088908
DATA expc<>+240(SB)/4, $0x3c088908
DATA expc<>+244(SB)/4, $0x3c088908
DATA expc<>+248(SB)/4, $0x3c088908
DATA expc<>+252(SB)/4, $0x3c088908
DATA expc<>+256(SB)/4, $0x3d2aa9c1
DATA expc<>+260(SB)/4, $0x3d2aa9c1
DATA expc<>+264(SB)/4, $0x3d2aa9c1
DATA expc<>+268(SB)/4, $0x3d2aa9c1
DATA expc<>+272(SB)/4, $0x3d2aa9c1
DATA expc<>+276(SB)/4, $0x3d2aa9c1
DATA expc<>+280(SB)/4, $0x3d2aa9c1
DATA expc<>+284(SB)/4, $0x3d2aa9c1
DATA expc<>+288(SB)/4, $0x3e2aaaaa
DATA expc<>+292(SB)/4, $0x3e2aaaaa
DATA expc<>+296(SB)/4, $0x3e2aaaaa
DATA expc<>+300(SB)/4, $0x3e2aaaaa
DATA expc<>+304(SB)/4, $0x3e2aaaaa
DATA expc<>+308(SB)/4, $0x3e2aaaaa
DATA expc<>+312(SB)/4, $0x3e2aaaaa
DATA expc<>+316(SB)/4, $0x3e2aaaaa
DATA expc<>+320(SB)/4, $0x3f000000
DATA expc<>+324(SB)/4, $0x3f000000
DATA expc<>+328(SB)/4, $0x3f000000
DATA expc<>+332(SB)/4, $0x3f000000
DATA expc<>+336(SB)/4, $0x3f000000
DATA expc<>+340(SB)/4, $0x3f000000
DATA expc<>+344(SB)/4, $0x3f000000
DATA expc<>+348(SB)/4, $0x3f000000
DATA expc<>+352(SB)/4, $0xc2aeac4f
DATA expc<>+356(SB)/4, $0xc2aeac4f
DATA expc<>+360(SB)/4, $0xc2aeac4f
DATA expc<>+364(SB)/4, $0xc2aeac4f
DATA expc<>+368(SB)/4, $0xc2aeac4f
DATA expc<>+372(SB)/4, $0xc2aeac4f
DATA expc<>+376(SB)/4, $0xc2aeac4f
DATA expc<>+380(SB)/4, $0xc2aeac4f
DATA expc<>+384(SB)/4, $0x42b0c0a5
DATA expc<>+388(SB)/4, $0x42b0c0a5
DATA expc<>+392(SB)/4, $0x42b0c0a5
DATA expc<>+396(SB)/4, $0x42b0c0a5
DATA expc<>+400(SB)/4, $0x42b0c0a5
DATA expc<>+404(SB)/4, $0x42b0c0a5
DATA expc<>+408(SB)/4, $0x42b0c0a5
DATA expc<>+412(SB)/4, $0x42b0c0a5
DATA expc<>+416(SB)/4, $0x0000007f
DATA expc<>+420(SB)/4, $0x0000007f
DATA expc<>+424(SB)/4, $0x0000007f
DATA expc<>+428(SB)/4, $0x0000007f
DATA expc<>+432(SB)/4, $0x0000007f
DATA expc<>+436(SB)/4, $0x0000007f
DATA expc<>+440(SB)/4, $0x0000007f
DATA expc<>+444(SB)/4, $0x0000007f
GLOBL expc<>(SB), RODATA|NOPTR, $448

// func expAVX(x *float32, n int)
TEXT ·expAVX(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	JZ   expdone

exploop:
	VMOVUPS (SI), Y0
	VMAXPS       expc<>+352(SB), Y0, Y0
	VMINPS       expc<>+384(SB), Y0, Y0
	VMOVUPS      expc<>+0(SB), Y1
	VFMADD213PS  expc<>+32(SB), Y0, Y1
	VROUNDPS     $1, Y1, Y1
	VFNMADD231PS expc<>+96(SB), Y1, Y0
	VFNMADD231PS expc<>+128(SB), Y1, Y0
	VMULPS       Y0, Y0, Y2
	VMOVUPS      expc<>+160(SB), Y3
	VFMADD213PS  expc<>+192(SB), Y0, Y3
	VFMADD213PS  expc<>+224(SB), Y0, Y3
	VFMADD213PS  expc<>+256(SB), Y0, Y3
	VFMADD213PS  expc<>+288(SB), Y0, Y3
	VFMADD213PS  expc<>+320(SB), Y0, Y3
	VFMADD213PS  Y0, Y2, Y3
	VADDPS       expc<>+64(SB), Y3, Y3
	VCVTTPS2DQ   Y1, Y1
	VPADDD       expc<>+416(SB), Y1, Y1
	VPSLLD       $23, Y1, Y1
	VMULPS       Y1, Y3, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	DECQ    CX
	JNZ     exploop

expdone:
	VZEROUPPER
	RET

// func eluAVX(x *float32, n int)
// elu(x) = max(x, 0) + exp(min(x, 0)) - 1; exact for x > 0 because the
// polynomial gives exp(0) = 1 exactly.
TEXT ·eluAVX(SB), NOSPLIT, $0-16
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	SHRQ   $3, CX
	JZ     eludone
	VXORPS Y7, Y7, Y7

eluloop:
	VMOVUPS (SI), Y5
	VMINPS  Y7, Y5, Y0
	VMAXPS       expc<>+352(SB), Y0, Y0
	VMINPS       expc<>+384(SB), Y0, Y0
	VMOVUPS      expc<>+0(SB), Y1
	VFMADD213PS  expc<>+32(SB), Y0, Y1
	VROUNDPS     $1, Y1, Y1
	VFNMADD231PS expc<>+96(SB), Y1, Y0
	VFNMADD231PS expc<>+128(SB), Y1, Y0
	VMULPS       Y0, Y0, Y2
	VMOVUPS      expc<>+160(SB), Y3
	VFMADD213PS  expc<>+192(SB), Y0, Y3
	VFMADD213PS  expc<>+224(SB), Y0, Y3
	VFMADD213PS  expc<>+256(SB), Y0, Y3
	VFMADD213PS  expc<>+288(SB), Y0, Y3
	VFMADD213PS  expc<>+320(SB), Y0, Y3
	VFMADD213PS  Y0, Y2, Y3
	VADDPS       expc<>+64(SB), Y3, Y3
	VCVTTPS2DQ   Y1, Y1
	VPADDD       expc<>+416(SB), Y1, Y1
	VPSLLD       $23, Y1, Y1
	VMULPS       Y1, Y3, Y0
	VSUBPS  expc<>+64(SB), Y0, Y0
	VMAXPS  Y7, Y5, Y5
	VADDPS  Y5, Y0, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	DECQ    CX
	JNZ     eluloop

eludone:
	VZEROUPPER
	RET

// func axpyAVX(a float32, x *float32, y *float32, n int)
TEXT ·axpyAVX(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	CMPQ         CX, $32
	JLT          axpy8

axpy32:
	VMOVUPS     (SI), Y1
	VMOVUPS     32(SI), Y2
	VMOVUPS     64(SI), Y3
	VMOVUPS     96(SI), Y4
	VFMADD213PS (DI), Y0, Y1
	VFMADD213PS 32(DI), Y0, Y2
	VFMADD213PS 64(DI), Y0, Y3
	VFMADD213PS 96(DI), Y0, Y4
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	CMPQ        CX, $32
	JGE         axpy32

axpy8:
	CMPQ CX, $8
	JLT  axpydone
	VMOVUPS     (SI), Y1
	VFMADD213PS (DI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpy8

axpydone:
	VZEROUPPER
	RET
