// Package auth holds the REST API's access model: bearer API tokens that are
// scoped to tenants and carry one role.
//
// A token is shown to its owner once, when it is created; only the SHA-256 of
// it is stored. Tokens are 256-bit random strings, so a plain (unsalted,
// unstretched) hash is enough: there is nothing to brute-force the way there
// is with a password. The token embeds its id, so a lookup is by id and the
// hash comparison is constant-time.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Role is what a token may do.
type Role string

const (
	// RoleViewer reads alerts, endpoints and metrics.
	RoleViewer Role = "viewer"
	// RoleAnalyst reads, triages alerts (PATCH) and records feedback.
	RoleAnalyst Role = "analyst"
	// RoleAdmin does everything, including token management and the
	// feedback export.
	RoleAdmin Role = "admin"
)

// Roles lists the roles from least to most privileged.
var Roles = []Role{RoleViewer, RoleAnalyst, RoleAdmin}

// ParseRole validates s as a role.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("invalid role %q: want viewer, analyst or admin", s)
}

func (r Role) rank() int { return slices.Index(Roles, r) + 1 }

// Permission is one kind of action the API checks.
type Permission int

const (
	// PermRead: GET alerts, endpoints.
	PermRead Permission = iota + 1
	// PermTriage: PATCH alerts, POST feedback.
	PermTriage
	// PermAdmin: token management, feedback export.
	PermAdmin
)

// Allows reports whether the role grants p.
func (r Role) Allows(p Permission) bool {
	switch p {
	case PermRead:
		return r.rank() >= 1
	case PermTriage:
		return r.rank() >= RoleAnalyst.rank()
	case PermAdmin:
		return r == RoleAdmin
	}
	return false
}

// AllTenants is the tenant-list entry that grants every tenant.
const AllTenants = "*"

// Token is a stored API token. Hash is the hex SHA-256 of the secret token
// string; the secret itself is never stored.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Tenants   []string  `json:"tenants"`
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
	// ExpiresAt zero means the token never expires.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// RevokedAt zero means the token is live.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Active reports whether the token may be used at now.
func (t *Token) Active(now time.Time) bool {
	if !t.RevokedAt.IsZero() {
		return false
	}
	return t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt)
}

// Scope returns the tenants the token may see.
func (t *Token) Scope() Scope { return NewScope(t.Tenants) }

// Scope is the set of tenants a caller may see.
type Scope struct {
	// All grants every tenant; Tenants is then ignored.
	All     bool
	Tenants []string
}

// NewScope builds a scope from a token's tenant list ("*" = all).
func NewScope(tenants []string) Scope {
	if slices.Contains(tenants, AllTenants) {
		return Scope{All: true}
	}
	return Scope{Tenants: slices.Clone(tenants)}
}

// Everything is the scope of an administrator of every tenant (and of every
// caller when auth is disabled).
var Everything = Scope{All: true}

// Allows reports whether tenant is in the scope.
func (s Scope) Allows(tenant string) bool { return s.All || slices.Contains(s.Tenants, tenant) }

// Covers reports whether every tenant of other is in s (an admin may only
// hand out what it holds).
func (s Scope) Covers(other Scope) bool {
	if s.All {
		return true
	}
	if other.All {
		return false
	}
	for _, t := range other.Tenants {
		if !s.Allows(t) {
			return false
		}
	}
	return true
}

// Principal is the authenticated caller of one request.
type Principal struct {
	TokenID string
	Name    string
	Role    Role
	Scope   Scope
}

// Actor is how the principal appears in the audit trail.
func (p *Principal) Actor() string {
	if p.TokenID == "" {
		return p.Name
	}
	return p.Name + " (token " + p.TokenID + ")"
}

// Anonymous is the principal of every request when auth is disabled: it may
// do everything, and the audit trail says so.
var Anonymous = Principal{Name: "anonymous", Role: RoleAdmin, Scope: Everything}

// Errors of token handling.
var (
	ErrMalformed = errors.New("malformed token")
	ErrInvalid   = errors.New("invalid, expired or revoked token")
)

const tokenPrefix = "lgs_"

// NewToken creates a token with a random id and secret. It returns the record
// to store and the secret string to show the user once.
func NewToken(name string, role Role, tenants []string, ttl time.Duration, now time.Time) (Token, string, error) {
	if err := ValidateName(name); err != nil {
		return Token{}, "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return Token{}, "", err
	}
	tenants, err := NormalizeTenants(tenants)
	if err != nil {
		return Token{}, "", err
	}
	var idb [6]byte
	var secret [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return Token{}, "", fmt.Errorf("generate token id: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return Token{}, "", fmt.Errorf("generate token secret: %w", err)
	}
	id := hex.EncodeToString(idb[:])
	plain := tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	t := Token{
		ID:        id,
		Name:      name,
		Role:      role,
		Tenants:   tenants,
		Hash:      Hash(plain),
		CreatedAt: now.UTC(),
	}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl).UTC()
	}
	return t, plain, nil
}

// Hash returns the stored form of a token string.
func Hash(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// ParseID extracts the token id from a token string without verifying it.
func ParseID(plain string) (string, error) {
	rest, ok := strings.CutPrefix(plain, tokenPrefix)
	if !ok {
		return "", ErrMalformed
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 12 || len(secret) != 43 {
		return "", ErrMalformed
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", ErrMalformed
	}
	return id, nil
}

// Verify checks plain against the stored token in constant time and checks
// that the token is live at now.
func Verify(t *Token, plain string, now time.Time) error {
	got := Hash(plain)
	if subtle.ConstantTimeCompare([]byte(got), []byte(t.Hash)) != 1 {
		return ErrInvalid
	}
	if !t.Active(now) {
		return ErrInvalid
	}
	return nil
}

// ValidateName checks a token's human-readable name.
func ValidateName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("token name must not be empty")
	}
	if len(name) > 100 {
		return errors.New("token name longer than 100 bytes")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return errors.New("token name contains control characters")
		}
	}
	return nil
}

// NormalizeTenants validates a tenant list: non-empty names without commas
// or control characters, or "*" alone. Duplicates are removed.
func NormalizeTenants(tenants []string) ([]string, error) {
	var out []string
	for _, t := range tenants {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
			return nil, errors.New("empty tenant name")
		case len(t) > 128:
			return nil, fmt.Errorf("tenant %q longer than 128 bytes", t[:16]+"...")
		case strings.ContainsAny(t, ",\n\r\t"):
			return nil, fmt.Errorf("tenant %q contains a separator", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("a token needs at least one tenant (or * for all)")
	}
	if slices.Contains(out, AllTenants) && len(out) > 1 {
		return nil, errors.New(`"*" grants every tenant and cannot be combined with names`)
	}
	slices.Sort(out)
	return out, nil
}

// ParseTTL parses a token lifetime: Go durations ("720h") plus days ("90d")
// and weeks ("2w"). "" and "0" mean no expiry.
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 || v > 36500 {
				return 0, fmt.Errorf("invalid lifetime %q: want e.g. 90d, 2w or 720h", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid lifetime %q: want e.g. 90d, 2w or 720h", s)
	}
	return d, nil
}
