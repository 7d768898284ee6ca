package window

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

func panesOf(sizes ...int) [][]*schema.NormalizedEvent {
	out := make([][]*schema.NormalizedEvent, len(sizes))
	for i, n := range sizes {
		for j := range n {
			out[i] = append(out[i], &schema.NormalizedEvent{EventID: fmt.Sprintf("%d-%d", i, j)})
		}
	}
	return out
}

func TestFairShares(t *testing.T) {
	t.Parallel()
	cases := []struct {
		sizes []int
		cap   int
		want  []int
	}{
		{[]int{3, 3, 3}, 9, []int{3, 3, 3}},
		{[]int{10, 10, 10}, 10, []int{4, 3, 3}},
		{[]int{10, 2}, 10, []int{8, 2}},
		{[]int{2, 10}, 10, []int{2, 8}},
		{[]int{100, 1, 100}, 11, []int{5, 1, 5}},
		{[]int{100, 1, 100}, 12, []int{6, 1, 5}},
		{[]int{0, 50, 0}, 10, []int{0, 10, 0}},
		{[]int{7, 7, 7, 7}, 10, []int{3, 3, 2, 2}},
		{[]int{1, 2, 3}, 1, []int{1, 0, 0}},
	}
	for _, tc := range cases {
		got := fairShares(panesOf(tc.sizes...), tc.cap)
		if !slices.Equal(got, tc.want) {
			t.Errorf("fairShares(%v, %d) = %v, want %v", tc.sizes, tc.cap, got, tc.want)
		}
		sum := 0
		for i, q := range got {
			sum += q
			if q > tc.sizes[i] {
				t.Errorf("quota above pane size: %v", got)
			}
		}
		total := 0
		for _, n := range tc.sizes {
			total += n
		}
		if sum != min(tc.cap, total) {
			t.Errorf("fairShares(%v, %d) sums to %d", tc.sizes, tc.cap, sum)
		}
	}
	sel, left := selectEvents(panesOf(10, 2), 10)
	if len(sel) != 10 || left != 2 || sel[0].EventID != "0-0" || sel[9].EventID != "1-1" {
		t.Fatalf("selectEvents: %d selected, %d left", len(sel), left)
	}
}

func spec() Spec {
	return Spec{Window: 3 * time.Minute, Stride: time.Minute, Late: 30 * time.Second, MaxEvents: 100, TTL: time.Hour}
}

func TestPaneArithmetic(t *testing.T) {
	t.Parallel()
	s := spec()
	if s.Panes() != 3 {
		t.Fatal(s.Panes())
	}
	for _, ts := range []float64{0.001, 59.999, 60, 60.0000001, 1_700_000_040, 1_700_000_099.999, 1e10 + 0.5, math.Nextafter(120, 0)} {
		p := s.Pane(ts)
		if s.PaneStart(p) > ts || s.PaneStart(p+1) <= ts {
			t.Errorf("Pane(%v) = %d, start %v next %v", ts, p, s.PaneStart(p), s.PaneStart(p+1))
		}
	}
	start, end := s.Bounds(10)
	if start != 480 || end != 660 {
		t.Fatalf("Bounds(10) = %v %v", start, end)
	}
	if f, l := s.WindowsOf(10); f != 10 || l != 12 {
		t.Fatalf("WindowsOf(10) = %d %d", f, l)
	}
}

func TestDueAndNext(t *testing.T) {
	t.Parallel()
	s := spec()
	m := Meta{Closed: NoWindow, Panes: []PaneCount{{Pane: 10, Stored: 1}, {Pane: 20, Stored: 1}}}
	if w, ok := m.NextWindow(s); !ok || w != 10 {
		t.Fatalf("next = %d %v", w, ok)
	}
	// Window 10 ends at 660: due at watermark 690.
	if _, ok := m.Due(s, 689.9); ok {
		t.Fatal("due early")
	}
	if w, ok := m.Due(s, 690); !ok || w != 10 {
		t.Fatalf("due = %d %v", w, ok)
	}
	m.Closed = 12 // windows 10..12 hold pane 10; next with events is 20
	if w, _ := m.NextWindow(s); w != 20 {
		t.Fatalf("next after 12 = %d", w)
	}
	m.Closed = 21
	if w, _ := m.NextWindow(s); w != 22 || !m.Pending(s) {
		t.Fatalf("next after 21 = %d", w)
	}
	m.Closed = 22
	if _, ok := m.NextWindow(s); ok || m.Pending(s) {
		t.Fatal("nothing should be pending")
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	if err := SpecFromConfig(config.Default().Inference).Validate(); err != nil {
		t.Fatalf("default spec: %v", err)
	}
	bad := map[string]func(*Spec){
		"stride < 1s":     func(s *Spec) { s.Stride = 500 * time.Millisecond },
		"not a multiple":  func(s *Spec) { s.Window = 150 * time.Second },
		"window < stride": func(s *Spec) { s.Window = 30 * time.Second },
		"negative late":   func(s *Spec) { s.Late = -time.Second },
		"no events":       func(s *Spec) { s.MaxEvents = 0 },
		"no ttl":          func(s *Spec) { s.TTL = 0 },
		"too many panes":  func(s *Spec) { s.Window = 2000 * time.Second; s.Stride = time.Second },
	}
	for name, mut := range bad {
		s := spec()
		mut(&s)
		if s.Validate() == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestOutcomeNames(t *testing.T) {
	t.Parallel()
	for o, want := range map[Outcome]string{Added: "added", Duplicate: "duplicate", Late: "late", OverCap: "over_cap", Future: "future", Invalid: "invalid"} {
		if o.String() != want {
			t.Errorf("%d = %s", o, o)
		}
	}
}
