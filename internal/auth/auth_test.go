package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type mapLookup map[string]*Token

func (m mapLookup) TokenByID(_ context.Context, id string) (*Token, error) {
	if t, ok := m[id]; ok {
		return t, nil
	}
	return nil, ErrNotFound
}

func TestNewTokenAndAuthenticate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tok, plain, err := NewToken("alice", RoleAnalyst, []string{"acme", "globex", "acme"}, 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tok.Hash, plain) || tok.Hash == plain || len(tok.Hash) != 64 {
		t.Fatalf("hash %q looks wrong", tok.Hash)
	}
	if got := strings.Join(tok.Tenants, ","); got != "acme,globex" {
		t.Fatalf("tenants = %s", got)
	}
	a := &Authenticator{Tokens: mapLookup{tok.ID: &tok}, Now: func() time.Time { return now.Add(time.Hour) }}
	p, err := a.Authenticate(context.Background(), "Bearer "+plain)
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != RoleAnalyst || !p.Scope.Allows("acme") || p.Scope.Allows("initech") || p.TokenID != tok.ID {
		t.Fatalf("principal = %+v", p)
	}
	if !strings.Contains(p.Actor(), "alice") || !strings.Contains(p.Actor(), tok.ID) {
		t.Fatalf("actor = %q", p.Actor())
	}

	cases := []struct {
		name   string
		header string
		now    time.Time
		want   error
	}{
		{"no scheme", plain, now, ErrMalformed},
		{"basic", "Basic " + plain, now, ErrMalformed},
		{"garbage", "Bearer nope", now, ErrMalformed},
		{"wrong secret", "Bearer " + plain[:len(plain)-1] + flip(plain[len(plain)-1]), now, ErrInvalid},
		{"unknown id", "Bearer lgs_000000000000_" + strings.Repeat("A", 43), now, ErrInvalid},
		{"expired", "Bearer " + plain, now.Add(25 * time.Hour), ErrInvalid},
		{"lower-case scheme", "bearer " + plain, now, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &Authenticator{Tokens: mapLookup{tok.ID: &tok}, Now: func() time.Time { return c.now }}
			_, err := a.Authenticate(context.Background(), c.header)
			if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}

	revoked := tok
	revoked.RevokedAt = now
	a = &Authenticator{Tokens: mapLookup{tok.ID: &revoked}, Now: func() time.Time { return now }}
	if _, err := a.Authenticate(context.Background(), "Bearer "+plain); !errors.Is(err, ErrInvalid) {
		t.Fatalf("revoked token accepted: %v", err)
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestLookupFailureIsNotInvalid(t *testing.T) {
	t.Parallel()
	_, plain, err := NewToken("x", RoleViewer, []string{"*"}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("db down")
	a := &Authenticator{Tokens: failing{boom}}
	if _, err := a.Authenticate(context.Background(), "Bearer "+plain); !errors.Is(err, boom) || errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
}

type failing struct{ err error }

func (f failing) TokenByID(context.Context, string) (*Token, error) { return nil, f.err }

func TestRolesAndScopes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		role                Role
		read, triage, admin bool
	}{
		{RoleViewer, true, false, false},
		{RoleAnalyst, true, true, false},
		{RoleAdmin, true, true, true},
		{Role("root"), false, false, false},
	}
	for _, c := range cases {
		if c.role.Allows(PermRead) != c.read || c.role.Allows(PermTriage) != c.triage || c.role.Allows(PermAdmin) != c.admin {
			t.Errorf("%s: permissions wrong", c.role)
		}
	}
	all := NewScope([]string{"*"})
	ab := NewScope([]string{"a", "b"})
	a := NewScope([]string{"a"})
	if !all.Covers(ab) || !ab.Covers(a) || a.Covers(ab) || ab.Covers(all) || !all.Allows("zzz") {
		t.Fatal("scope coverage wrong")
	}
}

func TestNormalizeTenants(t *testing.T) {
	t.Parallel()
	bad := [][]string{nil, {""}, {"a,b"}, {"*", "a"}, {strings.Repeat("x", 129)}}
	for _, b := range bad {
		if _, err := NormalizeTenants(b); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
	if _, _, err := NewToken("", RoleAdmin, []string{"*"}, 0, time.Now()); err == nil {
		t.Error("empty name accepted")
	}
	if _, _, err := NewToken("x", Role("root"), []string{"*"}, 0, time.Now()); err == nil {
		t.Error("bad role accepted")
	}
}

func TestParseTTL(t *testing.T) {
	t.Parallel()
	cases := map[string]time.Duration{
		"":      0,
		"0":     0,
		"90d":   90 * 24 * time.Hour,
		"2w":    14 * 24 * time.Hour,
		"36h":   36 * time.Hour,
		"1h30m": 90 * time.Minute,
	}
	for in, want := range cases {
		got, err := ParseTTL(in)
		if err != nil || got != want {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1d", "xd", "forever", "-5m", "99999999d"} {
		if _, err := ParseTTL(in); err == nil {
			t.Errorf("ParseTTL(%q) accepted", in)
		}
	}
}
