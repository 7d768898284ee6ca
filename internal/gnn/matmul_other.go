//go:build !amd64 || purego

package gnn

// Without the assembly kernels every matmul takes the portable Go path.
const haveFMA = false

func sgemm6x16(k int, a *float32, lda int, ka int, b *float32, ldb int, c *float32, ldc int) {
	panic("gnn: sgemm6x16 called without assembly support")
}

func expAVX(x *float32, n int) { panic("gnn: expAVX without assembly support") }
func eluAVX(x *float32, n int) { panic("gnn: eluAVX without assembly support") }
func axpyAVX(a float32, x *float32, y *float32, n int) {
	panic("gnn: axpyAVX without assembly support")
}

const haveAVX512 = false

func sgemm6x32(k int, a *float32, lda int, ka int, b *float32, ldb int, c *float32, ldc int) {
	panic("gnn: sgemm6x32 called without assembly support")
}
