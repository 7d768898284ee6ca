package store

import (
	"context"
	"fmt"

	"github.com/logster/logster/internal/config"
)

// Open opens the store selected by api.store.
func Open(ctx context.Context, cfg config.API) (Store, error) {
	switch cfg.Store {
	case "memory":
		return NewMemory(), nil
	case "sqlite":
		return OpenSQLite(ctx, cfg.SQLitePath)
	case "postgres":
		return OpenPostgres(ctx, cfg.PostgresDSN)
	}
	return nil, fmt.Errorf("unknown alert store %q", cfg.Store)
}
