package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TokenLookup finds a stored token by id; it returns an error wrapping
// ErrNotFound (or any error) when there is none.
type TokenLookup interface {
	TokenByID(ctx context.Context, id string) (*Token, error)
}

// ErrNotFound is what a TokenLookup wraps when the id is unknown.
var ErrNotFound = errors.New("token not found")

// Authenticator turns an Authorization header into a Principal.
type Authenticator struct {
	Tokens TokenLookup
	Now    func() time.Time
}

// Authenticate verifies "Bearer <token>". Unknown, malformed, expired and
// revoked tokens all yield ErrInvalid or ErrMalformed so a caller cannot
// tell which; store failures are returned wrapped so they become 5xx.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (*Principal, error) {
	scheme, plain, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, ErrMalformed
	}
	plain = strings.TrimSpace(plain)
	id, err := ParseID(plain)
	if err != nil {
		return nil, err
	}
	t, err := a.Tokens.TokenByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		// Hash anyway so an unknown id costs the same as a wrong secret.
		_ = Verify(&Token{}, plain, time.Time{})
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if err := Verify(t, plain, now()); err != nil {
		return nil, err
	}
	return &Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Scope: t.Scope()}, nil
}
