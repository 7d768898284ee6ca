//go:build !purego

package gnn

import "golang.org/x/sys/cpu"

// haveFMA reports whether the AVX2/FMA micro-kernels may run. x/sys/cpu also
// checks that the OS saves the YMM state, so this is safe inside VMs that
// mask AVX.
var haveFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func sgemm6x16(k int, a *float32, lda int, ka int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func expAVX(x *float32, n int)

//go:noescape
func eluAVX(x *float32, n int)

//go:noescape
func axpyAVX(a float32, x *float32, y *float32, n int)

// haveAVX512 enables the 32-column kernel. x/sys/cpu reports it only when
// the OS also saves the ZMM and mask registers.
var haveAVX512 = haveFMA && cpu.X86.HasAVX512F

//go:noescape
func sgemm6x32(k int, a *float32, lda int, ka int, b *float32, ldb int, c *float32, ldc int)
