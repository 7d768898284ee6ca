package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logster/logster/internal/schema"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// sqliteTypes renders the shared schema text for this dialect.
var sqliteTypes = strings.NewReplacer(
	"{{serial}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
	"{{float}}", "REAL",
	"{{bigint}}", "INTEGER",
)

var sqliteDialect = &dialect{
	name:     "sqlite",
	contains: func(h, n string) string { return "instr(" + h + ", " + n + ") > 0" },
	migrations: []migration{
		{1, render(schemaV1, sqliteTypes)},
		{2, render(schemaV2, sqliteTypes)},
	},
}

// OpenSQLite opens (creating if needed) the SQLite store at path and applies
// migrations. The database runs in WAL mode so readers never block the
// writer, with a busy timeout so concurrent writers wait instead of failing,
// and every transaction starts IMMEDIATE so a read-modify-write cannot be
// overtaken between its read and its write.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	// NORMAL is durable against process crashes in WAL mode; only a power
	// loss can take back the last transactions.
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One writer at a time anyway; a few connections let reads proceed
	// while a write transaction is open.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	s := &sqlStore{db: db, d: sqliteDialect}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	// Refresh the planner's statistics when they are stale (cheap when
	// they are not), so the list indexes are chosen on a grown database.
	if _, err := db.ExecContext(ctx, "PRAGMA optimize=0x10002"); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: optimize: %w", path, err)
	}
	ss := &sqliteStore{sqlStore: s, stop: make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1)}
	go ss.optimizeLoop()
	return ss, nil
}

// sqliteStore adds SQLite's housekeeping to the shared implementation.
type sqliteStore struct {
	*sqlStore
	stop      chan struct{}
	done      chan struct{}
	kick      chan struct{}
	created   atomic.Int64
	closeOnce sync.Once
}

// optimizeInterval is how often statistics are refreshed in a long-running
// process, as SQLite recommends. Growth triggers a refresh too (at 1k, 10k,
// 100k ... alerts created since start): without statistics SQLite picks
// the per-tenant index for an endpoint drill-down, 100x slower at 100k
// alerts.
const optimizeInterval = time.Hour

// IngestAlert counts creations to refresh statistics as the table grows.
func (s *sqliteStore) IngestAlert(ctx context.Context, a *schema.Alert) (IngestResult, error) {
	res, err := s.sqlStore.IngestAlert(ctx, a)
	if res == Created {
		n := s.created.Add(1)
		for p := int64(1000); p <= n; p *= 10 {
			if p == n {
				select {
				case s.kick <- struct{}{}:
				default:
				}
			}
		}
	}
	return res, err
}

func (s *sqliteStore) optimizeLoop() {
	defer close(s.done)
	t := time.NewTicker(optimizeInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
		// A failure only leaves statistics stale; the next round retries.
		_, _ = s.db.Exec("PRAGMA optimize=0x10002")
	}
}

// Close stops the housekeeping and closes the database.
func (s *sqliteStore) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		err = s.sqlStore.Close()
	})
	return err
}
