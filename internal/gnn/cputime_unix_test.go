//go:build unix

package gnn

import "syscall"

// processCPUSeconds is user+system CPU time of this process. Benchmarks
// report it per op next to wall time: on a shared machine wall time mostly
// measures the neighbours.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
