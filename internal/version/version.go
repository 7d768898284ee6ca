// Package version reports the build's version, set at link time with
// -ldflags "-X github.com/logster/logster/internal/version.Version=v1.2.3"
// and otherwise taken from the module build info (VCS revision).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is overridden at link time for releases.
var Version = ""

// String returns the version, e.g. "v1.2.3" or "devel+3f2a1c9 (modified)".
func String() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return "devel+" + rev + modified
}

// Full returns the version with the Go toolchain and platform.
func Full() string {
	return fmt.Sprintf("logster %s (%s, %s/%s)", String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
