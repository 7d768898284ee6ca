package gnn

// Element-wise kernels with an AVX2 fast path; the scalar loops handle the
// tail and machines without AVX2/FMA.

// expInPlace sets x[i] = exp(x[i]).
func expInPlace(x []float32) {
	n8 := 0
	if haveFMA {
		n8 = len(x) &^ 7
		if n8 > 0 {
			expAVX(&x[0], n8)
		}
	}
	for i := n8; i < len(x); i++ {
		x[i] = expf(x[i])
	}
}

// eluInPlace sets x[i] = elu(x[i]).
func eluInPlace(x []float32) {
	n8 := 0
	if haveFMA {
		n8 = len(x) &^ 7
		if n8 > 0 {
			eluAVX(&x[0], n8)
		}
	}
	for i := n8; i < len(x); i++ {
		x[i] = elu(x[i])
	}
}

// axpy computes y += a*x over len(y) elements (x must be at least as long).
func axpy(a float32, x, y []float32) {
	x = x[:len(y)]
	n8 := 0
	if haveFMA {
		n8 = len(y) &^ 7
		if n8 > 0 {
			axpyAVX(a, &x[0], &y[0], n8)
		}
	}
	for i := n8; i < len(y); i++ {
		y[i] += a * x[i]
	}
}
