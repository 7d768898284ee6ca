package gnn

import (
	"math/rand/v2"
	"testing"
)

func naiveMatmul(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*lda+p*ka]) * float64(b[p*ldb+j])
			}
			c[i*ldc+j] += float32(s)
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// TestGemmMatchesNaive covers every path of the dispatcher: 6-row blocks,
// padded remainder rows (with k and n beyond one tile), 16/32-column panels,
// the Go column tail, row-major and transposed A, and the parallel split.
func TestGemmMatchesNaive(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {1, 16, 1}, {6, 16, 3}, {7, 17, 5}, {13, 33, 128}, {12, 128, 128},
		{5, 130, 7}, {40, 2, 128}, {13, 48, 9}, {6, 96, 17}, {8, 300, 20}, {4, 64, 600}, {128, 32, 700}, {0, 16, 4}, {3, 16, 0}}
	type impl struct {
		name     string
		f        func(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int)
		rowMajor bool // only handles ka == 1
	}
	impls := []impl{
		{"dispatch", func(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int) {
			gemm(true, m, n, k, a, lda, ka, b, ldb, c, ldc)
		}, false},
		{"avx2-only", func(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int) {
			gemm(false, m, n, k, a, lda, ka, b, ldb, c, ldc)
		}, false},
		{"go", gemmGo, false},
		{"parallel", gemmPar, false},
		{"sgemm", func(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int) {
			sgemm(m, n, k, a, lda, b, ldb, c, ldc)
		}, true},
	}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, transposed := range []bool{false, true} {
			lda, ka := k+3, 1
			size := max(m*lda, 1)
			if transposed { // A stored k×m with row stride m+2
				lda, ka = 1, m+2
				size = max(k*ka, 1)
			}
			ldb, ldc := n+5, n+1
			a := randSlice(rng, size)
			b := randSlice(rng, max(k*ldb, 1))
			c0 := randSlice(rng, max(m*ldc, 1))
			want := append([]float32(nil), c0...)
			naiveMatmul(m, n, k, a, lda, ka, b, ldb, want, ldc)
			for _, im := range impls {
				if im.rowMajor && transposed {
					continue
				}
				got := append([]float32(nil), c0...)
				im.f(m, n, k, a, lda, ka, b, ldb, got, ldc)
				for i := range got {
					if d := got[i] - want[i]; d > 2e-3 || d < -2e-3 {
						t.Fatalf("%s %v transposed=%v: c[%d]=%g want %g", im.name, s, transposed, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func benchGemm(b *testing.B, f func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int), m, n, k int) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, w, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
	b.SetBytes(int64(2 * m * n * k)) // reported MB/s == MFLOP/s
	for b.Loop() {
		f(m, n, k, a, k, w, n, c, n)
	}
}

func BenchmarkGemm(b *testing.B) {
	goKernel := func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		gemmGo(m, n, k, a, lda, 1, b, ldb, c, ldc)
	}
	avx2 := func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		gemm(false, m, n, k, a, lda, 1, b, ldb, c, ldc)
	}
	b.Run("asm-600x128x128", func(b *testing.B) { benchGemm(b, sgemm, 600, 128, 128) })
	b.Run("avx2-600x128x128", func(b *testing.B) { benchGemm(b, avx2, 600, 128, 128) })
	b.Run("go-600x128x128", func(b *testing.B) { benchGemm(b, goKernel, 600, 128, 128) })
	b.Run("asm-61x128x128", func(b *testing.B) { benchGemm(b, sgemm, 61, 128, 128) })
}
