package gnn

import "fmt"

// sgemm computes C += A·B for row-major float32 matrices: A is m×k with row
// stride lda, B is k×n with row stride ldb, C is m×n with row stride ldc.
// Accumulating (rather than overwriting) lets callers pre-load C with a
// broadcast bias, so "x·W + b" is one pass over C.
func sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemm(haveAVX512, m, n, k, a, lda, 1, b, ldb, c, ldc)
}

// sgemmTN computes C += Aᵀ·B where A is stored k×m row-major (stride lda):
// the weight-gradient form dW += dYᵀ·X, read in place without a transpose.
func sgemmTN(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmPar(m, n, k, a, 1, lda, b, ldb, c, ldc)
}

// sgemmPar is sgemm split over rows of C across goroutines when the product
// is large enough to amortise them.
func sgemmPar(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmPar(m, n, k, a, lda, 1, b, ldb, c, ldc)
}

func gemmPar(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int) {
	w := workersFor(m, n*k)
	if w <= 1 {
		gemm(haveAVX512, m, n, k, a, lda, ka, b, ldb, c, ldc)
		return
	}
	parallelFor(w, m, 6, func(lo, hi int) {
		gemm(haveAVX512, hi-lo, n, k, a[lo*lda:], lda, ka, b, ldb, c[lo*ldc:], ldc)
	})
}

// padMax is the side of the stack tiles used for the last m%6 rows.
const padMax = 256

// gemm is the general form: A[i][p] is a[i*lda + p*ka]. avx512 chooses the
// 32-column kernel where the CPU has it (a parameter so tests can run the
// AVX2-only path on an AVX-512 machine).
//
// The shapes are computed by this package, never taken from input, so a
// violated bound is a programming error: it panics before the assembly
// kernels could touch memory outside the slices.
func gemm(avx512 bool, m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	if lda < 1 || ka < 1 || ldb < n || ldc < n ||
		len(a) <= (m-1)*lda+(k-1)*ka || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("gnn: gemm bounds m=%d n=%d k=%d lda=%d ka=%d ldb=%d ldc=%d len(a)=%d len(b)=%d len(c)=%d",
			m, n, k, lda, ka, ldb, ldc, len(a), len(b), len(c)))
	}
	if !haveFMA || n < 16 {
		gemmGo(m, n, k, a, lda, ka, b, ldb, c, ldc)
		return
	}
	n16 := n &^ 15
	n32 := 0
	if avx512 && haveAVX512 {
		n32 = n &^ 31
	}
	// panels runs the vector kernels over columns [j0, j1) of B and C.
	panels := func(k int, a *float32, lda, ka int, b []float32, c []float32, ldc, j0, j1 int) {
		j := j0
		for ; j+32 <= j1 && j < n32; j += 32 {
			sgemm6x32(k, a, lda, ka, &b[j], ldb, &c[j], ldc)
		}
		for ; j+16 <= j1; j += 16 {
			sgemm6x16(k, a, lda, ka, &b[j], ldb, &c[j], ldc)
		}
	}
	m6 := m - m%6
	for i := 0; i < m6; i += 6 {
		panels(k, &a[i*lda], lda, ka, b, c[i*ldc:], ldc, 0, n16)
	}
	if rem := m - m6; rem > 0 {
		// The last rows go through the 6-row kernel on zero-padded stack
		// tiles, in chunks of padMax along k and n. A one-row kernel was a
		// visible share of the profile: per-relation sender sets make many
		// small products.
		var pa, pc [6 * padMax]float32
		for j0 := 0; j0 < n16; j0 += padMax {
			nc := min(padMax, n16-j0)
			for r := range rem {
				copy(pc[r*nc:(r+1)*nc], c[(m6+r)*ldc+j0:(m6+r)*ldc+j0+nc])
			}
			for k0 := 0; k0 < k; k0 += padMax {
				kc := min(padMax, k-k0)
				for r := range rem {
					row := pa[r*kc : (r+1)*kc]
					base := (m6+r)*lda + k0*ka
					if ka == 1 {
						copy(row, a[base:base+kc])
					} else {
						for p := range row {
							row[p] = a[base+p*ka]
						}
					}
				}
				clear(pa[rem*kc : 6*kc])
				panels(kc, &pa[0], kc, 1, b[k0*ldb+j0:], pc[:], nc, 0, nc)
			}
			for r := range rem {
				copy(c[(m6+r)*ldc+j0:(m6+r)*ldc+j0+nc], pc[r*nc:(r+1)*nc])
			}
		}
	}
	if n16 < n {
		gemmGo(m, n-n16, k, a, lda, ka, b[n16:], ldb, c[n16:], ldc)
	}
}

// gemmGo is the portable kernel: i-k-j order so the inner loop streams one
// row of B into one row of C. Zero entries of A are skipped, which pays off
// with ReLU outputs and dropout masks.
func gemmGo(m, n, k int, a []float32, lda, ka int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		for p := 0; p < k; p++ {
			av := a[i*lda+p*ka]
			if av == 0 {
				continue
			}
			brow := b[p*ldb : p*ldb+n]
			brow = brow[:len(crow)]
			for j := range crow {
				crow[j] += av * brow[j]
			}
		}
	}
}

// transpose writes the transpose of the r×c row-major matrix src (stride ld)
// into dst as a c×r row-major matrix.
func transpose(dst, src []float32, r, c, ld int) {
	const blk = 32
	for i0 := 0; i0 < r; i0 += blk {
		i1 := min(i0+blk, r)
		for j0 := 0; j0 < c; j0 += blk {
			j1 := min(j0+blk, c)
			for i := i0; i < i1; i++ {
				row := src[i*ld:]
				for j := j0; j < j1; j++ {
					dst[j*r+i] = row[j]
				}
			}
		}
	}
}
