//go:build !unix

package gnn

func processCPUSeconds() float64 { return 0 }
