package gnn

// workspace is per-call scratch memory. Slices are carved out of one backing
// array per element type; when a call needs more than the array holds, the
// overflow is allocated normally and the array is grown at the next reset,
// so a pooled workspace reaches zero allocations after the largest graph it
// has seen.
type workspace struct {
	f      []float32
	fOff   int
	fNeed  int
	i      []int32
	iOff   int
	iNeed  int
	plans  []relPlan
	hin    [][]float32
	hout   [][]float32
	scores [][]float32
}

func (w *workspace) reset() {
	if w.fNeed > len(w.f) {
		w.f = make([]float32, w.fNeed+w.fNeed/4)
	}
	if w.iNeed > len(w.i) {
		w.i = make([]int32, w.iNeed+w.iNeed/4)
	}
	w.fOff, w.fNeed, w.iOff, w.iNeed = 0, 0, 0, 0
}

// floats returns n float32s with unspecified contents.
func (w *workspace) floats(n int) []float32 {
	w.fNeed += n
	if w.fOff+n > len(w.f) {
		return make([]float32, n)
	}
	s := w.f[w.fOff : w.fOff+n : w.fOff+n]
	w.fOff += n
	return s
}

// zeros returns n zeroed float32s.
func (w *workspace) zeros(n int) []float32 {
	s := w.floats(n)
	clear(s)
	return s
}

// ints returns n int32s with unspecified contents.
func (w *workspace) ints(n int) []int32 {
	w.iNeed += n
	if w.iOff+n > len(w.i) {
		return make([]int32, n)
	}
	s := w.i[w.iOff : w.iOff+n : w.iOff+n]
	w.iOff += n
	return s
}

// relPlan is the edge structure of one relation, shared by every layer:
// edges sorted by destination (CSR) so each destination's softmax and sum is
// a contiguous run, and the distinct source nodes compacted so that lin_src
// is applied only to nodes that actually send a message.
type relPlan struct {
	off     []int32 // [Nd+1] run of destination i is pos off[i]..off[i+1]
	perm    []int32 // [E] sorted position -> original edge index
	srcC    []int32 // [E] sorted position -> compact source index
	srcList []int32 // [S] compact source index -> source node
	alpha   []float32
}

func buildPlan(w *workspace, el EdgeList, ns, nd int) relPlan {
	E := len(el.Src)
	p := relPlan{off: w.ints(nd + 1), perm: w.ints(E), srcC: w.ints(E)}
	clear(p.off)
	for _, d := range el.Dst {
		p.off[d+1]++
	}
	for i := 1; i <= nd; i++ {
		p.off[i] += p.off[i-1]
	}
	next := w.ints(nd)
	copy(next, p.off[:nd])
	for e, d := range el.Dst {
		p.perm[next[d]] = int32(e)
		next[d]++
	}
	stamp := w.ints(ns)
	for i := range stamp {
		stamp[i] = -1
	}
	list := w.ints(min(ns, E))
	s := int32(0)
	for pos, e := range p.perm {
		j := el.Src[e]
		if stamp[j] < 0 {
			stamp[j] = s
			list[s] = j
			s++
		}
		p.srcC[pos] = stamp[j]
	}
	p.srcList = list[:s]
	return p
}
