package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/ingest"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/schema"
)

func init() {
	register(command{
		name:    "normalize",
		summary: "normalize log files offline (JSON lines, .zip, .tar.gz, .evtx) to NormalizedEvent JSON lines",
		run:     runNormalize,
	})
}

func runNormalize(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("normalize", stderr)
	source := fs.String("source", "auto", "input format: auto or one of "+sourceNames())
	raw := fs.Bool("raw", false, "print each record as read (Winlogbeat 8 shape for Windows inputs) instead of normalizing")
	host := fs.String("host", "", "host name for records that name none (raw audit lines without node=)")
	cfgPath := fs.String("config", "", "service config for the normalizer section (tenant mappings, max_record_bytes); default: built-in defaults")
	quiet := fs.Bool("quiet", false, "print only the summary, not the events")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: logster normalize [--source auto|...] [--raw] [--host NAME] FILE...")
		fmt.Fprintln(stderr, "\nReads JSON lines, .zip, .tar.gz, .gz and .evtx files (\"-\" is standard input) and writes")
		fmt.Fprintln(stderr, "NormalizedEvents as JSON lines to stdout and a summary to stderr. Exits 0 unless a file")
		fmt.Fprintln(stderr, "cannot be read at all.")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	src, err := normalize.ParseSource(*source)
	if err != nil {
		return die(stderr, "%v", err)
	}
	cfg := config.Default()
	if *cfgPath != "" {
		c, err := config.Load(*cfgPath, []string{})
		if err != nil {
			return die(stderr, "%v", err)
		}
		cfg = *c
	}
	n, err := normalize.New(cfg.Normalizer, nil)
	if err != nil {
		return die(stderr, "%v", err)
	}
	out := bufio.NewWriterSize(stdout, 1<<20)
	defer out.Flush()
	stats := normalize.NewStats()
	var buf []byte
	emit := func(ev *schema.NormalizedEvent, perr *normalize.ParseError) {
		stats.Add(ev, perr)
		if ev != nil && !*quiet {
			buf = normalize.AppendEvent(buf[:0], ev)
			buf = append(buf, '\n')
			out.Write(buf)
		}
	}
	failed := 0
	for _, path := range fs.Args() {
		if ctx.Err() != nil {
			break
		}
		opts := ingest.FileOptions{Source: src, HostHint: *host, Raw: *raw}
		if *raw {
			opts.RawOut = func(b []byte) {
				out.Write(b)
				out.WriteByte('\n')
			}
		}
		warns, err := ingest.NormalizeFile(ctx, n, path, opts, func() { stats.Records++ }, emit)
		for _, w := range warns {
			fmt.Fprintf(stderr, "logster: %s: %s\n", path, w)
		}
		if err != nil {
			fmt.Fprintf(stderr, "logster: %v\n", err)
			failed++
		}
	}
	out.Flush()
	if !*raw {
		stats.Write(stderr)
	} else {
		fmt.Fprintf(stderr, "records read: %d\n", stats.Records)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func sourceNames() string {
	names := make([]string, len(normalize.Sources))
	for i, s := range normalize.Sources {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
