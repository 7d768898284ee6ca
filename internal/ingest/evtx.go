package ingest

import (
	"errors"
	"fmt"
	"io"

	"github.com/logster/logster/internal/evtx"
)

// The EVTX reader (internal/evtx) renders each record in Winlogbeat 8 shape,
// so .evtx input goes through the same Winlogbeat parser as live traffic and
// a record read from EVTX gets the same event id as its Winlogbeat copy.
func init() {
	OpenEVTX = func(r io.ReaderAt, size int64) (EVTXReader, error) {
		er, err := evtx.NewReader(r, size)
		if err != nil {
			return nil, err
		}
		return &evtxAdapter{r: er}, nil
	}
}

// maxEVTXWarnings bounds the damage reports kept per file.
const maxEVTXWarnings = 20

type evtxAdapter struct {
	r       *evtx.Reader
	buf     []byte
	warns   []string
	damaged int
}

// Next returns the next record as JSON. Damaged chunks and records are
// skipped (and reported through Warnings); only I/O errors end the file.
func (a *evtxAdapter) Next() ([]byte, error) {
	for {
		rec, err := a.r.Next()
		if err != nil {
			var e *evtx.Error
			if errors.As(err, &e) && !e.Fatal() {
				a.damage(err)
				continue
			}
			if errors.Is(err, io.EOF) && a.damaged > len(a.warns) {
				a.warns = append(a.warns, fmt.Sprintf("%d more damage reports not shown", a.damaged-len(a.warns)))
			}
			return nil, err
		}
		b, err := rec.AppendWinlogbeatJSON(a.buf[:0])
		if err != nil {
			a.damage(fmt.Errorf("render record: %w", err))
			continue
		}
		a.buf = b
		return b, nil
	}
}

func (a *evtxAdapter) damage(err error) {
	a.damaged++
	if len(a.warns) < maxEVTXWarnings {
		a.warns = append(a.warns, "evtx: "+err.Error()+" (skipped)")
	}
}

func (a *evtxAdapter) Warnings() []string { return a.warns }

func (a *evtxAdapter) Close() error { return nil }
