package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// postgresTypes renders the shared schema text for this dialect.
var postgresTypes = strings.NewReplacer(
	"{{serial}}", "BIGSERIAL PRIMARY KEY",
	"{{float}}", "DOUBLE PRECISION",
	"{{bigint}}", "BIGINT",
)

var postgresDialect = &dialect{
	name:       "postgres",
	numbered:   true,
	forUpdate:  " FOR UPDATE",
	skipLocked: " FOR UPDATE SKIP LOCKED",
	contains:   func(h, n string) string { return "strpos(" + h + ", " + n + ") > 0" },
	// A transaction-scoped advisory lock: replicas starting together apply
	// the migrations one after the other, the later ones as no-ops.
	lockMigrations: "SELECT pg_advisory_xact_lock(7465627361)",
	migrations: []migration{
		{1, render(schemaV1, postgresTypes)},
		{2, render(schemaV2, postgresTypes)},
	},
}

// OpenPostgres connects to PostgreSQL (a pgx DSN or URL, e.g.
// postgres://logster@db:5432/logster) and applies migrations. Several API
// replicas may share one database: row locks make triage changes and ingest
// merges atomic across them.
func OpenPostgres(ctx context.Context, dsn string) (Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &sqlStore{db: db, d: postgresDialect}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
