package gnn

import (
	"runtime"
	"sync"
)

// parallelGrain is roughly how many scalar multiply-adds a goroutine must have
// to be worth starting (spawning and joining costs a few microseconds).
const parallelGrain = 1 << 16

// workersFor returns how many goroutines to use for n independent items of
// about costPerItem multiply-adds each. It returns 1 for small work so that
// callers take their sequential path, which does not allocate.
func workersFor(n, costPerItem int) int {
	w := runtime.GOMAXPROCS(0)
	if w <= 1 || n < 2 {
		return 1
	}
	total := n * max(costPerItem, 1)
	if byWork := total / parallelGrain; byWork < w {
		w = byWork
	}
	if w > n {
		w = n
	}
	return max(w, 1)
}

// parallelFor splits [0, n) into w contiguous chunks (each a multiple of
// align items, except the last) and runs fn on them concurrently, the first
// chunk on the calling goroutine. Goroutines are started per call rather than
// kept in a pool: there is nothing to shut down, and callers only get here
// when the work dwarfs the spawn cost.
func parallelFor(w, n, align int, fn func(lo, hi int)) {
	if align < 1 {
		align = 1
	}
	chunk := (n + w - 1) / w
	chunk = (chunk + align - 1) / align * align
	if w <= 1 || chunk >= n {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, chunk)
	wg.Wait()
}
