package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/ingest"
	"github.com/logster/logster/internal/normalize"
)

func init() {
	register(command{
		name:    "replay",
		summary: "send log files (JSON lines, .zip, .tar.gz, .evtx) to the raw Kafka topics",
		run:     runReplay,
	})
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", stderr)
	broker := fs.String("broker", "127.0.0.1:9092", "Kafka bootstrap server(s), comma-separated")
	rps := fs.Float64("rate", 0, "records per second (0 = as fast as the brokers take them)")
	dry := fs.Bool("dry-run", false, "read and route the records, print the per-topic counts, send nothing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: logster replay [--broker 127.0.0.1:9092] [--rate N] FILE...")
		fmt.Fprintln(stderr, "\nSends each raw record to its raw topic: Windows records to sysmon-logs, auditd")
		fmt.Fprintln(stderr, "records to linux-auditd-logs, eBPF records to the process/file/network topic.")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	if *rps < 0 {
		return die(stderr, "--rate must be >= 0")
	}
	n, err := normalize.New(config.Default().Normalizer, nil)
	if err != nil {
		return die(stderr, "%v", err)
	}
	var prod *bus.Producer
	if !*dry {
		k := config.Default().Kafka
		k.BootstrapServers = splitList(*broker)
		prod, err = bus.NewProducer(k, "replay", nil, nil)
		if err != nil {
			return die(stderr, "%v", err)
		}
		defer prod.Shutdown(context.Background())
	}
	pb := newProgress(stderr)
	st, err := ingest.Replay(ctx, fs.Args(), n, replayProducer(prod), ingest.ReplayOptions{
		Rate:        *rps,
		OnFile:      func(i, total int, name string) { pb.file(i, total, filepath.Base(name)) },
		OnRecords:   pb.add,
		OnWarning:   func(file, msg string) { pb.note(fmt.Sprintf("%s: %s", file, msg)) },
		OnFileError: func(file string, err error) { pb.note(fmt.Sprintf("logster: %s: %v", file, err)) },
	})
	pb.done()
	if err != nil && ctx.Err() == nil {
		return die(stderr, "send to %s: %v", *broker, err)
	}
	for _, t := range bus.RawTopics {
		if st.ByTopic[t] > 0 {
			fmt.Fprintf(stderr, "  %-26s %d\n", t, st.ByTopic[t])
		}
	}
	verb := "sent"
	if *dry {
		verb = "routed (dry run)"
	}
	fmt.Fprintf(stderr, "%d records %s, %d skipped (unrecognised format)\n", st.Total(), verb, st.Skipped)
	if st.Failed > 0 || ctx.Err() != nil {
		return 1
	}
	return 0
}

// replayProducer avoids handing ingest.Replay a typed nil (dry run).
func replayProducer(p *bus.Producer) ingest.Producer {
	if p == nil {
		return nil
	}
	return p
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// progress draws a one-line progress display on a terminal and prints
// occasional plain lines otherwise (logs, CI).
type progress struct {
	w         io.Writer
	tty       bool
	start     time.Time
	last      time.Time
	n         int
	fileI     int
	fileN     int
	name      string
	lastWidth int
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: isTerminal(w), start: time.Now()}
}

// isTerminal reports whether w is a terminal (progress drawn in place).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

func (p *progress) file(i, n int, name string) {
	p.fileI, p.fileN, p.name = i, n, name
	p.draw(true)
}

func (p *progress) add(k int) {
	p.n += k
	p.draw(false)
}

func (p *progress) note(msg string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r%*s\r", p.lastWidth, "")
	}
	fmt.Fprintln(p.w, msg)
	p.draw(true)
}

func (p *progress) draw(force bool) {
	now := time.Now()
	every := 100 * time.Millisecond
	if !p.tty {
		every = 10 * time.Second
	}
	if !force && now.Sub(p.last) < every {
		return
	}
	if !p.tty && force && p.n > 0 && !p.last.IsZero() && now.Sub(p.last) < every {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	r := 0.0
	if el > 0 {
		r = float64(p.n) / el
	}
	const width = 24
	filled := 0
	if p.fileN > 0 {
		filled = min(width, width*(p.fileI-1)/p.fileN)
	}
	bar := strings.Repeat("=", filled) + ">" + strings.Repeat(" ", width-filled)
	line := fmt.Sprintf("[%s] file %d/%d %s  %d records  %.0f/s", bar, min(p.fileI, p.fileN), p.fileN, truncName(p.name, 40), p.n, r)
	if p.tty {
		fmt.Fprintf(p.w, "\r%-*s", p.lastWidth, line)
		p.lastWidth = len(line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) done() {
	p.fileI = p.fileN + 1
	p.last = time.Time{} // the final line is always drawn
	p.draw(true)
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func truncName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n+1:]
}
