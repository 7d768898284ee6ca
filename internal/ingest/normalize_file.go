package ingest

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/logster/logster/internal/normalize"
)

// FileOptions configures NormalizeFile.
type FileOptions struct {
	// Source forces a format (normalize.SourceAuto detects per record).
	Source normalize.Source
	// HostHint names the host of records that name none.
	HostHint string
	// Raw prints records (Winlogbeat 8 shape for Windows) to RawOut
	// instead of normalizing them.
	Raw    bool
	RawOut func([]byte)
}

// NormalizeFile runs one file through the normalizer: a first pass that
// learns clock offsets when the file's shape needs them, then the records,
// then whatever audit events are still open at the end of the file.
func NormalizeFile(ctx context.Context, n *normalize.Normalizer, path string, opts FileOptions, onRecord func(), emit normalize.Emit) ([]string, error) {
	if !opts.Raw && path != "-" {
		if err := primeFile(n, path); err != nil {
			return nil, err
		}
	}
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	asm := normalize.NewAuditAssembler(0, 100_000)
	for {
		if ctx.Err() != nil {
			return r.Warnings(), ctx.Err()
		}
		rec, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			// Records before the failure were read: report and keep them.
			return append(r.Warnings(), err.Error()), nil
		}
		if onRecord != nil {
			onRecord()
		}
		in := normalize.Input{Value: rec.Data, Source: opts.Source, HostHint: opts.HostHint, Scope: path, Audit: asm}
		if rec.EVTX && in.Source == normalize.SourceAuto {
			in.Source = normalize.SourceEVTX
		}
		if opts.Raw {
			if b, ok := n.RawWinlogbeat(in); ok {
				opts.RawOut(b)
			} else {
				opts.RawOut(rec.Data)
			}
			continue
		}
		n.Normalize(in, emit)
	}
	n.FlushAudit(asm, time.Now(), true, emit)
	return r.Warnings(), nil
}

// primeFile reads a file whose first records are in a local-time shape
// once, learning its clock offset (see Normalizer.NeedsClockPriming).
func primeFile(n *normalize.Normalizer, path string) error {
	r, err := Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	need := false
	for i := 0; ; i++ {
		rec, err := r.Next()
		if err != nil {
			return nil // read errors are reported by the main pass
		}
		if !need {
			if i >= 100 {
				return nil
			}
			need = n.NeedsClockPriming(rec.Data)
			if !need {
				continue
			}
		}
		n.Prime(path, rec.Data)
	}
}
