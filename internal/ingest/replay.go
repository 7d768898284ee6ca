package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/time/rate"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/normalize"
)

// replayBatch is how many records are produced before waiting for acks.
const replayBatch = 500

// Producer publishes records and waits for their acknowledgement
// (bus.Producer); nil means route only (dry run).
type Producer interface {
	Produce(ctx context.Context, recs ...*kgo.Record) error
}

// ReplayOptions tune Replay.
type ReplayOptions struct {
	// Rate limits records per second (0 = as fast as the brokers take them).
	Rate float64
	// OnFile is called before each file (1-based index).
	OnFile func(i, n int, name string)
	// OnRecords is called after each produced batch with its size.
	OnRecords func(n int)
	// OnWarning reports reader warnings (a truncated .tar.gz, skipped members).
	OnWarning func(file, msg string)
	// OnFileError reports a file that could not be opened or read; Replay
	// goes on with the next file.
	OnFileError func(file string, err error)
}

// ReplayStats counts what Replay sent.
type ReplayStats struct {
	ByTopic map[string]int // records per raw topic
	Skipped int            // records in no format the normalizer routes
	Failed  int            // files that could not be read
}

// Replay reads raw records from files (JSON lines, .zip, .tar.gz, .evtx) and
// sends each to the raw topic its format belongs on, keyed as the
// normalizer will key it, in file order — the order a shipper would have
// delivered them.
func Replay(ctx context.Context, files []string, n *normalize.Normalizer, prod Producer, o ReplayOptions) (ReplayStats, error) {
	st := ReplayStats{ByTopic: map[string]int{}}
	var lim *rate.Limiter
	if o.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(o.Rate), max(1, min(int(o.Rate), replayBatch)))
	}
	batch := make([]*kgo.Record, 0, replayBatch)
	send := func() error {
		k := len(batch)
		if k == 0 {
			return nil
		}
		if prod != nil {
			if err := prod.Produce(ctx, batch...); err != nil {
				return fmt.Errorf("replay: send: %w", err)
			}
		}
		batch = batch[:0]
		if o.OnRecords != nil {
			o.OnRecords(k)
		}
		return nil
	}
	for i, path := range files {
		if o.OnFile != nil {
			o.OnFile(i+1, len(files), path)
		}
		r, err := Open(path)
		if err != nil {
			st.Failed++
			if o.OnFileError != nil {
				o.OnFileError(path, err)
			}
			continue
		}
		for ctx.Err() == nil {
			rec, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					st.Failed++
					if o.OnFileError != nil {
						o.OnFileError(path, err)
					}
				}
				break
			}
			topic, key, ok := n.Route(rec.Data, rec.EVTX)
			if !ok {
				st.Skipped++
				continue
			}
			if lim != nil {
				if err := lim.Wait(ctx); err != nil {
					break
				}
			}
			st.ByTopic[topic]++
			batch = append(batch, bus.NewRecord(topic, key, append([]byte(nil), rec.Data...)))
			if len(batch) >= replayBatch {
				if err := send(); err != nil {
					r.Close()
					return st, err
				}
			}
		}
		if o.OnWarning != nil {
			for _, w := range r.Warnings() {
				o.OnWarning(path, w)
			}
		}
		r.Close()
		if err := ctx.Err(); err != nil {
			return st, err
		}
	}
	return st, send()
}

// Total is the number of records sent.
func (s ReplayStats) Total() int {
	t := 0
	for _, n := range s.ByTopic {
		t += n
	}
	return t
}
