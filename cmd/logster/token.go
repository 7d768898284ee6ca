package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/store"
)

func init() {
	register(command{
		name:    "token",
		summary: "manage API tokens in the configured alert store: create, list, revoke",
		run:     runToken,
	})
}

const tokenUsage = `usage: logster token <create|list|revoke> [flags]

  logster token create --tenant T [--tenant T2 | --tenant '*'] --role viewer|analyst|admin --name N [--expires 90d]
      prints the new token on stdout, once: only its SHA-256 is stored
  logster token list [--json]
  logster token revoke ID

Every subcommand takes --config FILE (env LOGSTER_CONFIG) and works on the
store selected by api.store (api.sqlite_path or api.postgres_dsn).
`

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, tokenUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return tokenList(ctx, args[1:], stdout, stderr)
	case "revoke":
		return tokenRevoke(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "logster token: unknown subcommand %q\n\n%s", args[0], tokenUsage)
	return 2
}

// multiFlag collects a repeatable, comma-separable flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*m = append(*m, p)
		}
	}
	return nil
}

// openTokenStore opens the alert store named by the configuration. A memory
// store is refused: a token created there would vanish with this process.
func openTokenStore(ctx context.Context, cfgPath string) (store.Store, error) {
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		return nil, err
	}
	if cfg.API.Store == "memory" {
		return nil, fmt.Errorf("api.store is memory: tokens would be lost when this command exits; configure sqlite or postgres")
	}
	st, err := store.Open(ctx, cfg.API)
	if err != nil {
		return nil, fmt.Errorf("open alert store (%s): %w", cfg.API.Store, err)
	}
	return st, nil
}

func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("token create", stderr)
	cfgPath := fs.String("config", os.Getenv("LOGSTER_CONFIG"), "service config file (env LOGSTER_CONFIG)")
	var tenants multiFlag
	fs.Var(&tenants, "tenant", "tenant the token may see (repeatable or comma-separated; '*' = all)")
	role := fs.String("role", "", "viewer (read), analyst (read, triage, feedback) or admin (everything)")
	name := fs.String("name", "", "who or what uses the token (shown in the audit trail)")
	expires := fs.String("expires", "", "lifetime, e.g. 90d, 2w or 720h (default: never)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return die(stderr, "token create: unexpected argument %q", fs.Arg(0))
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return die(stderr, "token create: --role: %v", err)
	}
	ttl, err := auth.ParseTTL(*expires)
	if err != nil {
		return die(stderr, "token create: --expires: %v", err)
	}
	tok, secret, err := auth.NewToken(*name, r, tenants, ttl, time.Now())
	if err != nil {
		return die(stderr, "token create: %v", err)
	}
	tok.CreatedBy = "cli"
	if u := os.Getenv("USER"); u != "" {
		tok.CreatedBy = "cli:" + u
	}
	st, err := openTokenStore(ctx, *cfgPath)
	if err != nil {
		return die(stderr, "token create: %v", err)
	}
	defer st.Close()
	if err := st.CreateToken(ctx, tok); err != nil {
		return die(stderr, "token create: %v", err)
	}
	exp := "never"
	if !tok.ExpiresAt.IsZero() {
		exp = tok.ExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(stderr, "created token %s (name %q, role %s, tenants %s, expires %s)\n", tok.ID, tok.Name, tok.Role, strings.Join(tok.Tenants, ","), exp)
	fmt.Fprintln(stderr, "copy it now: it is not shown again. Use it as 'Authorization: Bearer <token>'.")
	fmt.Fprintln(stdout, secret)
	return 0
}

func tokenList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("token list", stderr)
	cfgPath := fs.String("config", os.Getenv("LOGSTER_CONFIG"), "service config file (env LOGSTER_CONFIG)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	st, err := openTokenStore(ctx, *cfgPath)
	if err != nil {
		return die(stderr, "token list: %v", err)
	}
	defer st.Close()
	toks, err := st.ListTokens(ctx)
	if err != nil {
		return die(stderr, "token list: %v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(toks); err != nil {
			return die(stderr, "token list: %v", err)
		}
		return 0
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tTENANTS\tCREATED\tEXPIRES\tSTATE")
	for _, t := range toks {
		exp, state := "never", "active"
		if !t.ExpiresAt.IsZero() {
			exp = t.ExpiresAt.Format(time.RFC3339)
		}
		switch {
		case !t.RevokedAt.IsZero():
			state = "revoked " + t.RevokedAt.Format(time.RFC3339)
		case !t.Active(now):
			state = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, strings.Join(t.Tenants, ","), t.CreatedAt.Format(time.RFC3339), exp, state)
	}
	if err := tw.Flush(); err != nil {
		return die(stderr, "token list: %v", err)
	}
	return 0
}

func tokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("token revoke", stderr)
	cfgPath := fs.String("config", os.Getenv("LOGSTER_CONFIG"), "service config file (env LOGSTER_CONFIG)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 1 {
		return die(stderr, "token revoke: give exactly one token ID (see 'logster token list')")
	}
	id := fs.Arg(0)
	st, err := openTokenStore(ctx, *cfgPath)
	if err != nil {
		return die(stderr, "token revoke: %v", err)
	}
	defer st.Close()
	if err := st.RevokeToken(ctx, id, time.Now()); err != nil {
		return die(stderr, "token revoke %s: %v", id, err)
	}
	fmt.Fprintf(stdout, "revoked token %s\n", id)
	return 0
}
