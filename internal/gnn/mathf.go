package gnn

import "math"

// expf is a float32 exponential (Cephes expf: range reduction by ln 2 in two
// parts and a degree-6 polynomial), accurate to about 2 ulp. math.Exp works
// in float64 and costs several times more, which showed up in profiles of
// ELU and the attention softmax.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
		lo    = -87.33654
		hi    = 88.37626
	)
	if x < lo {
		return 0
	}
	if x > hi {
		if x != x { // NaN
			return x
		}
		return float32(math.Inf(1))
	}
	fx := x*log2e + 0.5
	n := float32(int32(fx))
	if n > fx { // floor for negative values
		n--
	}
	x = x - n*c1 - n*c2
	z := x * x
	y := ((((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x+5.0000001201e-1)*z + x + 1)
	// 2^n by building the exponent bits; n is in [-126, 127] after clamping,
	// except at the bottom edge where scaling in two steps avoids an
	// out-of-range exponent.
	ni := int32(n)
	if ni < -126 {
		y *= math.Float32frombits(uint32(ni+126+127) << 23)
		return y * math.Float32frombits(uint32(1)<<23) // 2^-126
	}
	return y * math.Float32frombits(uint32(ni+127)<<23)
}

// elu is ELU with alpha = 1: x for x > 0, exp(x) - 1 otherwise.
func elu(x float32) float32 {
	if x > 0 {
		return x
	}
	return expf(x) - 1
}

// leaky is LeakyReLU with negative slope 0.2, as in GATConv.
func leaky(x float32) float32 {
	if x > 0 {
		return x
	}
	return 0.2 * x
}
