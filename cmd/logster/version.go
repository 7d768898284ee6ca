package main

import (
	"context"
	"fmt"
	"io"

	"github.com/logster/logster/internal/version"
)

func init() {
	register(command{name: "version", summary: "print the version", run: func(_ context.Context, args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet("version", stderr)
		if code, done := parseFlags(fs, args); done {
			return code
		}
		fmt.Fprintln(stdout, version.Full())
		return 0
	}})
}
