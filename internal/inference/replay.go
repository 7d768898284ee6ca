package inference

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/window"
)

// ReplayStats counts what the window store did with replayed events.
type ReplayStats struct {
	Events   int            `json:"events"`
	Outcomes map[string]int `json:"outcomes"` // added, duplicate, late, over_cap, future, invalid
	Windows  int            `json:"windows"`
}

// Replay cuts events into windows exactly as the service does — the same
// in-process window store, the same watermark, lateness, cap and due rules,
// events taken in the order given (the order they would arrive on their
// partition) — and calls fn with each window in the order the service would
// evaluate it. When the events run out, every endpoint is treated as gone
// quiet (its watermark jumps past its last window), as the idle timeout
// does live. Offline evaluation and training use it so that a model is
// measured on the windows production would score.
func Replay(ctx context.Context, spec window.Spec, events []*schema.NormalizedEvent, fn func(*window.Window) error) (ReplayStats, error) {
	st := ReplayStats{Outcomes: map[string]int{}}
	store, err := window.NewMemory(spec)
	if err != nil {
		return st, err
	}
	defer store.Close()
	// Windows of recordings years old must not trip the future check or
	// the TTL: the replay's wall clock is the events' own latest time.
	var clock float64
	for _, ev := range events {
		if ev.Timestamp > clock && !math.IsInf(ev.Timestamp, 0) {
			clock = ev.Timestamp
		}
	}
	now := time.Unix(0, int64(clock*1e9)).Add(time.Minute)

	drain := func(key window.Key, meta window.Meta) error {
		for {
			w, ok := meta.Due(spec, meta.Watermark)
			if !ok {
				return nil
			}
			win, err := store.Window(ctx, key, w)
			if err != nil {
				return fmt.Errorf("replay: read window %d of %s: %w", w, key, err)
			}
			if len(win.Events) > 0 {
				st.Windows++
				if err := fn(win); err != nil {
					return err
				}
			}
			if meta, err = store.Commit(ctx, key, w, now); err != nil {
				return fmt.Errorf("replay: commit window %d of %s: %w", w, key, err)
			}
		}
	}
	keys := map[window.Key]bool{}
	for _, ev := range events {
		st.Events++
		outcome, meta, err := store.Add(ctx, 0, ev, now, now)
		if err != nil {
			return st, fmt.Errorf("replay: add event %s: %w", ev.EventID, err)
		}
		st.Outcomes[outcome.String()]++
		if outcome != window.Added {
			continue
		}
		keys[meta.Key] = true
		if err := drain(meta.Key, meta); err != nil {
			return st, err
		}
	}
	ordered := make([]window.Key, 0, len(keys))
	for k := range keys {
		ordered = append(ordered, k)
	}
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].String() < ordered[j].String() })
	for _, k := range ordered {
		meta, ok, err := store.Meta(ctx, k)
		if err != nil || !ok {
			return st, fmt.Errorf("replay: endpoint %s vanished: %v", k, err)
		}
		if len(meta.Panes) == 0 {
			continue
		}
		// Quiet endpoint: event time moves past every retained window.
		last := meta.Panes[len(meta.Panes)-1].Pane
		_, end := spec.Bounds(last + spec.Panes())
		if meta, err = store.Advance(ctx, k, end+spec.Late.Seconds()+1, now); err != nil {
			return st, fmt.Errorf("replay: advance %s: %w", k, err)
		}
		if err := drain(k, meta); err != nil {
			return st, err
		}
	}
	return st, nil
}
