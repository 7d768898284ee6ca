package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logster/logster/internal/auth"
)

// runCmd runs a subcommand in-process and returns its exit code and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// The token lifecycle through the CLI on a SQLite store: create prints the
// secret once on stdout, list shows it without the secret, revoke marks it.
func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("api:\n  sqlite_path: "+filepath.Join(dir, "alerts.db")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, secret, stderr := runCmd(t, "token", "create", "--config", cfg, "--tenant", "acme", "--tenant", "globex", "--role", "analyst", "--name", "alice", "--expires", "90d")
	if code != 0 {
		t.Fatalf("create: %d %s", code, stderr)
	}
	secret = strings.TrimSpace(secret)
	id, err := auth.ParseID(secret)
	if err != nil || !strings.Contains(stderr, id) {
		t.Fatalf("secret %q (%v), stderr %q", secret, err, stderr)
	}
	code, out, stderr := runCmd(t, "token", "list", "--config", cfg, "--json")
	if code != 0 {
		t.Fatalf("list: %d %s", code, stderr)
	}
	var toks []auth.Token
	if err := json.Unmarshal([]byte(out), &toks); err != nil || len(toks) != 1 {
		t.Fatalf("list %q: %v", out, err)
	}
	if tk := toks[0]; tk.ID != id || tk.Role != auth.RoleAnalyst || strings.Join(tk.Tenants, ",") != "acme,globex" || tk.ExpiresAt.IsZero() || strings.Contains(out, secret) {
		t.Fatalf("listed %+v", tk)
	}
	if code, _, stderr := runCmd(t, "token", "revoke", "--config", cfg, id); code != 0 {
		t.Fatalf("revoke: %d %s", code, stderr)
	}
	if _, out, _ := runCmd(t, "token", "list", "--config", cfg); !strings.Contains(out, "revoked") {
		t.Fatalf("table after revoke:\n%s", out)
	}
	bad := [][]string{
		{"token", "create", "--config", cfg, "--role", "root", "--name", "x", "--tenant", "a"},
		{"token", "create", "--config", cfg, "--role", "viewer", "--name", "x"},
		{"token", "create", "--config", cfg, "--role", "viewer", "--name", "x", "--tenant", "a", "--expires", "soon"},
		{"token", "revoke", "--config", cfg, "nope"},
		{"token", "revoke", "--config", cfg},
	}
	for _, args := range bad {
		if code, _, _ := runCmd(t, args...); code == 0 {
			t.Errorf("%v succeeded", args)
		}
	}
	if code, _, _ := runCmd(t, "token", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: %d", code)
	}
	mem := filepath.Join(dir, "mem.yaml")
	os.WriteFile(mem, []byte("api:\n  store: memory\n"), 0o600) //nolint:errcheck // checked by the run below
	if code, _, stderr := runCmd(t, "token", "create", "--config", mem, "--role", "viewer", "--name", "x", "--tenant", "a"); code == 0 || !strings.Contains(stderr, "memory") {
		t.Errorf("memory store accepted: %s", stderr)
	}
}
