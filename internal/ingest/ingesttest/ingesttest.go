// Package ingesttest reads dataset recordings for tests of the packages
// downstream of the normalizer.
package ingesttest

import (
	"errors"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/ingest"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/schema"
)

// NormalizeRecording reads one recording through the real normalizer (the
// default configuration) and groups its events by endpoint.
func NormalizeRecording(t testing.TB, path string) map[string][]*schema.NormalizedEvent {
	t.Helper()
	n, err := normalize.New(config.Default().Normalizer, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r, err := ingest.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	byHost := map[string][]*schema.NormalizedEvent{}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		n.Normalize(normalize.Input{Value: rec.Data, Scope: path}, func(ev *schema.NormalizedEvent, _ *normalize.ParseError) {
			if ev != nil {
				byHost[ev.EndpointID] = append(byHost[ev.EndpointID], ev)
			}
		})
	}
	return byHost
}
