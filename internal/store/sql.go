package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/schema"
)

// dialect is what differs between SQLite and PostgreSQL; everything else is
// one implementation over database/sql.
type dialect struct {
	name string
	// numbered placeholders ($1) instead of ?.
	numbered bool
	// forUpdate locks the selected row until commit (PostgreSQL); SQLite
	// transactions already hold the write lock from BEGIN IMMEDIATE.
	forUpdate string
	// skipLocked, when set, claims outbox rows inside a transaction held
	// while they are published, so replicas sharing the database drain
	// disjoint rows (PostgreSQL: " FOR UPDATE SKIP LOCKED"). Without it
	// (SQLite, one process) no transaction is held across the publish,
	// because that would hold the database's only write lock for as long
	// as the broker takes to answer.
	skipLocked string
	// contains(haystack, needle) as an SQL boolean.
	contains func(haystack, needle string) string
	// lockMigrations serializes migrations of concurrently starting
	// replicas ("" when the transaction itself does that).
	lockMigrations string
	migrations     []migration
}

func (d *dialect) ph(n int) string {
	if d.numbered {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// migration is one schema version. Versions are applied in order, each at
// most once, recorded in schema_migrations.
type migration struct {
	version    int
	statements []string
}

// sqlStore implements Store for SQLite and PostgreSQL.
type sqlStore struct {
	db *sql.DB
	d  *dialect
	// drainMu serializes DrainTriage where the dialect has no row claims
	// (SQLite: one process owns the file).
	drainMu sync.Mutex
}

// migrate applies pending migrations in one transaction. It is idempotent
// and safe when several replicas start at once.
func (s *sqlStore) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin migration: %w", s.d.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if s.d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockMigrations); err != nil {
			return fmt.Errorf("%s: lock migrations: %w", s.d.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("%s: create schema_migrations: %w", s.d.name, err)
	}
	var current sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("%s: read schema version: %w", s.d.name, err)
	}
	latest := s.d.migrations[len(s.d.migrations)-1].version
	if int(current.Int64) > latest {
		return fmt.Errorf("%s: database schema version %d is newer than this build understands (%d): upgrade logster", s.d.name, current.Int64, latest)
	}
	for _, m := range s.d.migrations {
		if m.version <= int(current.Int64) {
			continue
		}
		for _, st := range m.statements {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				return fmt.Errorf("%s: migration %d: %w", s.d.name, m.version, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (`+s.d.ph(1)+`, `+s.d.ph(2)+`)`, m.version, time.Now().Unix()); err != nil {
			return fmt.Errorf("%s: record migration %d: %w", s.d.name, m.version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit migrations: %w", s.d.name, err)
	}
	return nil
}

// builder collects WHERE clauses and their arguments.
type builder struct {
	d     *dialect
	where []string
	args  []any
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return b.d.ph(len(b.args))
}

func (b *builder) add(clause string) { b.where = append(b.where, clause) }

func (b *builder) in(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	phs := make([]string, len(vals))
	for i, v := range vals {
		phs[i] = b.arg(v)
	}
	b.add(col + " IN (" + strings.Join(phs, ", ") + ")")
}

func (b *builder) scope(s auth.Scope) {
	if s.All {
		return
	}
	if len(s.Tenants) == 0 {
		b.add("1 = 0")
		return
	}
	b.in("tenant_id", s.Tenants)
}

func (b *builder) sql() string {
	if len(b.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(b.where, " AND ")
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// alertDoc is the stored JSON form: the alert without its history, which
// lives in alert_history.
func alertDoc(a *schema.Alert) (string, error) {
	c := *a
	c.History = nil
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encode alert %s: %w", a.AlertID, err)
	}
	return string(b), nil
}

func decodeDoc(doc string) (*schema.Alert, error) {
	var a schema.Alert
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, fmt.Errorf("decode stored alert: %w", err)
	}
	return &a, nil
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const alertCols = "alert_id, tenant_id, endpoint_id, hostname, platform, alert_type, status, severity, severity_rank, attack_prob, last_seen, revision, search_text, doc"

func alertValues(a *schema.Alert) ([]any, error) {
	doc, err := alertDoc(a)
	if err != nil {
		return nil, err
	}
	return []any{a.AlertID, a.TenantID, a.EndpointID, a.Hostname, string(a.Platform), string(a.Kind), string(a.Status),
		string(a.Severity), a.Severity.Rank(), a.AttackProb, a.LastSeen, a.Revision, searchText(a), doc}, nil
}

// insertAlert inserts a unless a row with its id exists; it reports whether
// it inserted (false means another writer won the race).
func (s *sqlStore) insertAlert(ctx context.Context, q querier, a *schema.Alert) (bool, error) {
	vals, err := alertValues(a)
	if err != nil {
		return false, err
	}
	phs := make([]string, len(vals))
	for i := range vals {
		phs[i] = s.d.ph(i + 1)
	}
	res, err := q.ExecContext(ctx, "INSERT INTO alerts ("+alertCols+") VALUES ("+strings.Join(phs, ", ")+") ON CONFLICT (alert_id) DO NOTHING", vals...)
	if err != nil {
		return false, fmt.Errorf("insert alert %s: %w", a.AlertID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert alert %s: %w", a.AlertID, err)
	}
	return n == 1, nil
}

func (s *sqlStore) updateAlert(ctx context.Context, q querier, a *schema.Alert) error {
	vals, err := alertValues(a)
	if err != nil {
		return err
	}
	cols := strings.Split(alertCols, ", ")
	sets := make([]string, 0, len(cols)-1)
	for i, c := range cols[1:] {
		sets = append(sets, c+" = "+s.d.ph(i+1))
	}
	args := append(vals[1:], vals[0])
	if _, err := q.ExecContext(ctx, "UPDATE alerts SET "+strings.Join(sets, ", ")+" WHERE alert_id = "+s.d.ph(len(args)), args...); err != nil {
		return fmt.Errorf("update alert %s: %w", a.AlertID, err)
	}
	return nil
}

func (s *sqlStore) insertHistory(ctx context.Context, q querier, alertID, tenant string, changes []schema.StatusChange) error {
	for _, c := range changes {
		_, err := q.ExecContext(ctx, "INSERT INTO alert_history (alert_id, tenant_id, at, actor, field, from_value, to_value, comment) VALUES ("+
			s.d.ph(1)+", "+s.d.ph(2)+", "+s.d.ph(3)+", "+s.d.ph(4)+", "+s.d.ph(5)+", "+s.d.ph(6)+", "+s.d.ph(7)+", "+s.d.ph(8)+")",
			alertID, tenant, c.At, c.Actor, c.Field, c.From, c.To, c.Comment)
		if err != nil {
			return fmt.Errorf("insert history of alert %s: %w", alertID, err)
		}
	}
	return nil
}

func (s *sqlStore) history(ctx context.Context, q querier, alertID string) ([]schema.StatusChange, error) {
	rows, err := q.QueryContext(ctx, "SELECT at, actor, field, from_value, to_value, comment FROM alert_history WHERE alert_id = "+s.d.ph(1)+" ORDER BY id", alertID)
	if err != nil {
		return nil, fmt.Errorf("read history of alert %s: %w", alertID, err)
	}
	defer rows.Close()
	var out []schema.StatusChange
	for rows.Next() {
		var c schema.StatusChange
		if err := rows.Scan(&c.At, &c.Actor, &c.Field, &c.From, &c.To, &c.Comment); err != nil {
			return nil, fmt.Errorf("read history of alert %s: %w", alertID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read history of alert %s: %w", alertID, err)
	}
	return out, nil
}

// loadAlert reads one alert (without history); nil if absent. lock adds the
// dialect's row lock (inside a transaction).
func (s *sqlStore) loadAlert(ctx context.Context, q querier, id string, lock bool) (*schema.Alert, error) {
	query := "SELECT doc FROM alerts WHERE alert_id = " + s.d.ph(1)
	if lock {
		query += s.d.forUpdate
	}
	var doc string
	err := q.QueryRowContext(ctx, query, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read alert %s: %w", id, err)
	}
	return decodeDoc(doc)
}

// IngestAlert implements Store.
func (s *sqlStore) IngestAlert(ctx context.Context, a *schema.Alert) (IngestResult, error) {
	// Fast path without a write transaction: redeliveries, echoes and stale
	// revisions are the common case on a busy topic and change nothing.
	var tenant string
	var rev int64
	err := s.db.QueryRowContext(ctx, "SELECT tenant_id, revision FROM alerts WHERE alert_id = "+s.d.ph(1), a.AlertID).Scan(&tenant, &rev)
	switch {
	case err == nil && tenant == a.TenantID && a.Revision <= rev:
		return Unchanged, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return Unchanged, fmt.Errorf("%s: read alert %s: %w", s.d.name, a.AlertID, err)
	}
	// Two replicas may race to create the same alert; the loser re-reads
	// and merges into the winner's row.
	for range 3 {
		res, retry, err := s.ingestTx(ctx, a)
		if err != nil || !retry {
			return res, err
		}
	}
	return Unchanged, fmt.Errorf("%s: ingest alert %s: lost the insert race repeatedly", s.d.name, a.AlertID)
}

func (s *sqlStore) ingestTx(ctx context.Context, a *schema.Alert) (IngestResult, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Unchanged, false, fmt.Errorf("%s: begin: %w", s.d.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	existing, err := s.loadAlert(ctx, tx, a.AlertID, true)
	if err != nil {
		return Unchanged, false, err
	}
	merged, res, err := Merge(existing, a)
	if err != nil || res == Unchanged {
		return res, false, err
	}
	if res == Created {
		ok, err := s.insertAlert(ctx, tx, merged)
		if err != nil {
			return Unchanged, false, err
		}
		if !ok {
			return Unchanged, true, nil
		}
		if err := s.insertHistory(ctx, tx, merged.AlertID, merged.TenantID, merged.History); err != nil {
			return Unchanged, false, err
		}
	} else if err := s.updateAlert(ctx, tx, merged); err != nil {
		return Unchanged, false, err
	}
	if err := tx.Commit(); err != nil {
		return Unchanged, false, fmt.Errorf("%s: commit alert %s: %w", s.d.name, a.AlertID, err)
	}
	return res, false, nil
}

// GetAlert implements Store.
func (s *sqlStore) GetAlert(ctx context.Context, scope auth.Scope, id string) (*schema.Alert, error) {
	a, err := s.loadAlert(ctx, s.db, id, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.d.name, err)
	}
	if a == nil || !scope.Allows(a.TenantID) {
		return nil, fmt.Errorf("alert %s: %w", id, ErrNotFound)
	}
	if a.History, err = s.history(ctx, s.db, id); err != nil {
		return nil, fmt.Errorf("%s: %w", s.d.name, err)
	}
	return a, nil
}

func (s *sqlStore) alertWhere(q *AlertQuery) *builder {
	b := &builder{d: s.d}
	b.scope(q.Scope)
	if q.TenantID != "" {
		b.add("tenant_id = " + b.arg(q.TenantID))
	}
	b.in("status", strs(q.Statuses))
	b.in("severity", strs(q.Severities))
	b.in("alert_type", strs(q.Kinds))
	if q.EndpointID != "" {
		b.add("endpoint_id = " + b.arg(q.EndpointID))
	}
	if q.Hostname != "" {
		b.add("hostname = " + b.arg(q.Hostname))
	}
	if q.Since != 0 {
		b.add("last_seen >= " + b.arg(q.Since))
	}
	if q.Until != 0 {
		b.add("last_seen <= " + b.arg(q.Until))
	}
	if q.Text != "" {
		b.add(s.d.contains("search_text", b.arg(strings.ToLower(q.Text))))
	}
	return b
}

// ListAlerts implements Store.
func (s *sqlStore) ListAlerts(ctx context.Context, q AlertQuery) (AlertPage, error) {
	b := s.alertWhere(&q)
	where := b.sql()
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM alerts"+where, b.args...).Scan(&total); err != nil {
		return AlertPage{}, fmt.Errorf("%s: count alerts: %w", s.d.name, err)
	}
	out := AlertPage{Alerts: []schema.Alert{}, Total: total}
	if q.Offset >= total {
		return out, nil
	}
	lim := b.arg(normLimit(q.Limit))
	off := b.arg(q.Offset)
	rows, err := s.db.QueryContext(ctx, "SELECT doc FROM alerts"+where+" ORDER BY last_seen DESC, alert_id LIMIT "+lim+" OFFSET "+off, b.args...)
	if err != nil {
		return AlertPage{}, fmt.Errorf("%s: list alerts: %w", s.d.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return AlertPage{}, fmt.Errorf("%s: list alerts: %w", s.d.name, err)
		}
		a, err := decodeDoc(doc)
		if err != nil {
			return AlertPage{}, fmt.Errorf("%s: %w", s.d.name, err)
		}
		out.Alerts = append(out.Alerts, *a)
	}
	if err := rows.Err(); err != nil {
		return AlertPage{}, fmt.Errorf("%s: list alerts: %w", s.d.name, err)
	}
	return out, nil
}

// PatchAlert implements Store.
func (s *sqlStore) PatchAlert(ctx context.Context, scope auth.Scope, id string, p Patch, actor string, at time.Time) (*schema.Alert, []schema.StatusChange, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: begin: %w", s.d.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	a, err := s.loadAlert(ctx, tx, id, true)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.d.name, err)
	}
	if a == nil || !scope.Allows(a.TenantID) {
		return nil, nil, fmt.Errorf("alert %s: %w", id, ErrNotFound)
	}
	changes, err := ApplyPatch(a, p, actor, epoch(at))
	if err != nil {
		return nil, nil, err
	}
	if len(changes) > 0 {
		if err := s.updateAlert(ctx, tx, a); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", s.d.name, err)
		}
		if err := s.insertHistory(ctx, tx, a.AlertID, a.TenantID, changes); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", s.d.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO triage_outbox (alert_id, queued_at) VALUES ("+s.d.ph(1)+", "+s.d.ph(2)+")", id, epoch(at)); err != nil {
			return nil, nil, fmt.Errorf("%s: queue triage change of alert %s: %w", s.d.name, id, err)
		}
	}
	if a.History, err = s.history(ctx, tx, id); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.d.name, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("%s: commit patch of alert %s: %w", s.d.name, id, err)
	}
	return a, changes, nil
}

// DrainTriage implements Store.
func (s *sqlStore) DrainTriage(ctx context.Context, max int, publish func(context.Context, *schema.Alert) error) (int, int, error) {
	var (
		published int
		pubErr    error
		err       error
	)
	if s.d.skipLocked != "" {
		published, pubErr, err = s.drainPerAlert(ctx, max, publish)
	} else {
		published, pubErr, err = s.drainBatch(ctx, max, publish)
	}
	if err != nil {
		return published, -1, err
	}
	// Counted even when ctx ended (a request's deadline, shutdown): the
	// size of a stuck queue is what operators need to see.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	var pending int
	if err := s.db.QueryRowContext(cctx, "SELECT COUNT(*) FROM triage_outbox").Scan(&pending); err != nil {
		return published, -1, fmt.Errorf("%s: count triage outbox: %w", s.d.name, err)
	}
	return published, pending, pubErr
}

// maxOutboxPerAlert bounds the entries one drain step claims (and deletes
// in one statement) for an alert; the rest are taken by the next step.
const maxOutboxPerAlert = 1000

// drainPerAlert drains with row claims (PostgreSQL): one transaction per
// alert, which claims the alert's entries (FOR UPDATE SKIP LOCKED: another
// replica takes other entries), locks the alert row so the state read is
// the committed one and no change commits while it is published, publishes,
// and deletes the entries. Locks are held for one publish only; entries
// lock before their alert row, as PatchAlert never waits on an entry, so
// drainers and analysts cannot deadlock.
func (s *sqlStore) drainPerAlert(ctx context.Context, max int, publish func(context.Context, *schema.Alert) error) (published int, pubErr, err error) {
	for taken := 0; taken < max; {
		n, found, ok, perr, err := s.drainOneAlert(ctx, publish)
		if err != nil {
			return published, nil, err
		}
		if perr != nil {
			return published, perr, nil
		}
		if !found {
			break
		}
		if ok {
			published++
		}
		taken += n
	}
	return published, nil, nil
}

func (s *sqlStore) drainOneAlert(ctx context.Context, publish func(context.Context, *schema.Alert) error) (entries int, found, published bool, pubErr, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, false, nil, fmt.Errorf("%s: begin: %w", s.d.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	var first int64
	var alertID string
	err = tx.QueryRowContext(ctx, "SELECT id, alert_id FROM triage_outbox ORDER BY id LIMIT 1"+s.d.skipLocked).Scan(&first, &alertID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, false, nil, nil
	}
	if err != nil {
		return 0, false, false, nil, fmt.Errorf("%s: read triage outbox: %w", s.d.name, err)
	}
	ids, err := s.outboxIDs(ctx, tx, "SELECT id FROM triage_outbox WHERE alert_id = "+s.d.ph(1)+" ORDER BY id LIMIT "+strconv.Itoa(maxOutboxPerAlert)+s.d.skipLocked, alertID)
	if err != nil {
		return 0, false, false, nil, err
	}
	a, err := s.committedState(ctx, tx, alertID)
	if err != nil {
		return 0, false, false, nil, fmt.Errorf("%s: %w", s.d.name, err)
	}
	if a != nil {
		if perr := publish(ctx, a); perr != nil {
			return 0, true, false, perr, nil
		}
	}
	if err := s.forget(ctx, tx, ids); err != nil {
		return 0, false, false, nil, err
	}
	if err := tx.Commit(); err != nil {
		return 0, false, false, nil, fmt.Errorf("%s: commit triage outbox: %w", s.d.name, err)
	}
	return len(ids), true, a != nil, nil, nil
}

// drainBatch drains without row claims (SQLite: one process owns the file;
// drainMu serializes drains). No transaction is held across a publish: that
// would hold the database's only write lock for as long as the broker takes.
func (s *sqlStore) drainBatch(ctx context.Context, max int, publish func(context.Context, *schema.Alert) error) (published int, pubErr, err error) {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	rows, err := s.db.QueryContext(ctx, "SELECT id, alert_id FROM triage_outbox ORDER BY id LIMIT "+s.d.ph(1), max)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: read triage outbox: %w", s.d.name, err)
	}
	var order []string // alert ids, oldest entry first
	entries := map[string][]int64{}
	for rows.Next() {
		var id int64
		var alertID string
		if err := rows.Scan(&id, &alertID); err != nil {
			rows.Close()
			return 0, nil, fmt.Errorf("%s: read triage outbox: %w", s.d.name, err)
		}
		if _, ok := entries[alertID]; !ok {
			order = append(order, alertID)
		}
		entries[alertID] = append(entries[alertID], id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("%s: read triage outbox: %w", s.d.name, err)
	}
	var done []int64
	for _, id := range order {
		a, err := s.committedState(ctx, nil, id)
		if err != nil {
			return published, nil, fmt.Errorf("%s: %w", s.d.name, err)
		}
		if a != nil {
			if pubErr = publish(ctx, a); pubErr != nil {
				break // keep this and the later entries, in order
			}
			published++
		}
		done = append(done, entries[id]...)
	}
	if err := s.forget(ctx, s.db, done); err != nil {
		return published, nil, err
	}
	return published, pubErr, nil
}

// outboxIDs runs a query returning outbox entry ids.
func (s *sqlStore) outboxIDs(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: read triage outbox: %w", s.d.name, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("%s: read triage outbox: %w", s.d.name, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: read triage outbox: %w", s.d.name, err)
	}
	return ids, nil
}

// forget deletes published outbox entries.
func (s *sqlStore) forget(ctx context.Context, q querier, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	phs := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		phs[i], args[i] = s.d.ph(i+1), id
	}
	if _, err := q.ExecContext(ctx, "DELETE FROM triage_outbox WHERE id IN ("+strings.Join(phs, ", ")+")", args...); err != nil {
		return fmt.Errorf("%s: forget published triage changes: %w", s.d.name, err)
	}
	return nil
}

// committedState reads an alert and its history as one committed state.
// Inside tx (PostgreSQL) the alert row is locked until tx ends; without one
// (SQLite) the two reads get a short transaction of their own, so the
// publish that follows holds no lock.
func (s *sqlStore) committedState(ctx context.Context, tx *sql.Tx, id string) (*schema.Alert, error) {
	q := tx
	if q == nil {
		var err error
		if q, err = s.db.BeginTx(ctx, nil); err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		defer q.Rollback() //nolint:errcheck // read only
	}
	a, err := s.loadAlert(ctx, q, id, tx != nil)
	if err != nil || a == nil {
		return nil, err
	}
	if a.History, err = s.history(ctx, q, id); err != nil {
		return nil, err
	}
	return a, nil
}

// CountAlerts implements Store.
func (s *sqlStore) CountAlerts(ctx context.Context, scope auth.Scope) (int, error) {
	b := &builder{d: s.d}
	b.scope(scope)
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM alerts"+b.sql(), b.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: count alerts: %w", s.d.name, err)
	}
	return n, nil
}

// ListEndpoints implements Store.
func (s *sqlStore) ListEndpoints(ctx context.Context, q EndpointQuery) (EndpointPage, error) {
	b := &builder{d: s.d}
	b.add("endpoint_id <> ''")
	b.scope(q.Scope)
	if q.TenantID != "" {
		b.add("tenant_id = " + b.arg(q.TenantID))
	}
	if q.Text != "" {
		t := strings.ToLower(q.Text)
		b.add("(" + s.d.contains("LOWER(hostname)", b.arg(t)) + " OR " + s.d.contains("LOWER(endpoint_id)", b.arg(t)) + ")")
	}
	where := b.sql()
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM alerts"+where+" GROUP BY tenant_id, endpoint_id) AS e", b.args...).Scan(&total); err != nil {
		return EndpointPage{}, fmt.Errorf("%s: count endpoints: %w", s.d.name, err)
	}
	out := EndpointPage{Endpoints: []EndpointSummary{}, Total: total}
	if q.Offset >= total {
		return out, nil
	}
	var cols strings.Builder
	for _, st := range schema.AllStatuses {
		fmt.Fprintf(&cols, ", SUM(CASE WHEN status = '%s' THEN 1 ELSE 0 END)", st)
	}
	lim := b.arg(normLimit(q.Limit))
	off := b.arg(q.Offset)
	rows, err := s.db.QueryContext(ctx, "SELECT tenant_id, endpoint_id, MAX(hostname), MAX(platform), COUNT(*), MAX(last_seen), MAX(attack_prob), MAX(severity_rank)"+
		cols.String()+" FROM alerts"+where+" GROUP BY tenant_id, endpoint_id ORDER BY MAX(last_seen) DESC, tenant_id, endpoint_id LIMIT "+lim+" OFFSET "+off, b.args...)
	if err != nil {
		return EndpointPage{}, fmt.Errorf("%s: list endpoints: %w", s.d.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e EndpointSummary
		var rank int
		counts := make([]int64, len(schema.AllStatuses))
		dest := []any{&e.TenantID, &e.EndpointID, &e.Hostname, &e.Platform, &e.AlertCount, &e.LastSeen, &e.MaxAttackProb, &rank}
		for i := range counts {
			dest = append(dest, &counts[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return EndpointPage{}, fmt.Errorf("%s: list endpoints: %w", s.d.name, err)
		}
		e.AlertsByStatus = make(map[string]int, len(counts))
		for i, st := range schema.AllStatuses {
			e.AlertsByStatus[string(st)] = int(counts[i])
		}
		if rank >= 1 && rank <= len(schema.AllSeverities) {
			e.MaxSeverity = string(schema.AllSeverities[rank-1])
		}
		out.Endpoints = append(out.Endpoints, e)
	}
	if err := rows.Err(); err != nil {
		return EndpointPage{}, fmt.Errorf("%s: list endpoints: %w", s.d.name, err)
	}
	return out, nil
}

// AddFeedback implements Store.
func (s *sqlStore) AddFeedback(ctx context.Context, scope auth.Scope, fb schema.Feedback) (FeedbackRecord, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return FeedbackRecord{}, fmt.Errorf("%s: begin: %w", s.d.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	a, err := s.loadAlert(ctx, tx, fb.AlertID, true)
	if err != nil {
		return FeedbackRecord{}, fmt.Errorf("%s: %w", s.d.name, err)
	}
	if a == nil || !scope.Allows(a.TenantID) {
		return FeedbackRecord{}, fmt.Errorf("alert %s: %w", fb.AlertID, ErrNotFound)
	}
	rec := newFeedbackRecord(a, fb)
	body, err := json.Marshal(&rec)
	if err != nil {
		return FeedbackRecord{}, fmt.Errorf("encode feedback: %w", err)
	}
	err = tx.QueryRowContext(ctx, "INSERT INTO feedback (alert_id, tenant_id, is_true_positive, at, record) VALUES ("+
		s.d.ph(1)+", "+s.d.ph(2)+", "+s.d.ph(3)+", "+s.d.ph(4)+", "+s.d.ph(5)+") RETURNING id",
		fb.AlertID, a.TenantID, fb.IsTruePositive, fb.At, string(body)).Scan(&rec.ID)
	if err != nil {
		return FeedbackRecord{}, fmt.Errorf("%s: insert feedback: %w", s.d.name, err)
	}
	if err := s.insertHistory(ctx, tx, a.AlertID, a.TenantID, []schema.StatusChange{feedbackChange(fb)}); err != nil {
		return FeedbackRecord{}, fmt.Errorf("%s: %w", s.d.name, err)
	}
	if err := tx.Commit(); err != nil {
		return FeedbackRecord{}, fmt.Errorf("%s: commit feedback: %w", s.d.name, err)
	}
	return rec, nil
}

// ListFeedback implements Store.
func (s *sqlStore) ListFeedback(ctx context.Context, q FeedbackQuery) (FeedbackPage, error) {
	b := &builder{d: s.d}
	b.scope(q.Scope)
	if q.TenantID != "" {
		b.add("tenant_id = " + b.arg(q.TenantID))
	}
	if q.Since != 0 {
		b.add("at >= " + b.arg(q.Since))
	}
	if q.Until != 0 {
		b.add("at <= " + b.arg(q.Until))
	}
	where := b.sql()
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM feedback"+where, b.args...).Scan(&total); err != nil {
		return FeedbackPage{}, fmt.Errorf("%s: count feedback: %w", s.d.name, err)
	}
	out := FeedbackPage{Feedback: []FeedbackRecord{}, Total: total}
	if q.Offset >= total {
		return out, nil
	}
	lim := b.arg(normLimit(q.Limit))
	off := b.arg(q.Offset)
	rows, err := s.db.QueryContext(ctx, "SELECT id, record FROM feedback"+where+" ORDER BY id LIMIT "+lim+" OFFSET "+off, b.args...)
	if err != nil {
		return FeedbackPage{}, fmt.Errorf("%s: list feedback: %w", s.d.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var body string
		if err := rows.Scan(&id, &body); err != nil {
			return FeedbackPage{}, fmt.Errorf("%s: list feedback: %w", s.d.name, err)
		}
		var rec FeedbackRecord
		if err := json.Unmarshal([]byte(body), &rec); err != nil {
			return FeedbackPage{}, fmt.Errorf("%s: decode feedback %d: %w", s.d.name, id, err)
		}
		rec.ID = id
		out.Feedback = append(out.Feedback, rec)
	}
	if err := rows.Err(); err != nil {
		return FeedbackPage{}, fmt.Errorf("%s: list feedback: %w", s.d.name, err)
	}
	return out, nil
}

const tokenCols = "id, name, role, tenants, hash, created_at, created_by, expires_at, revoked_at"

// CreateToken implements Store.
func (s *sqlStore) CreateToken(ctx context.Context, t auth.Token) error {
	tenants, err := json.Marshal(t.Tenants)
	if err != nil {
		return fmt.Errorf("encode tenants: %w", err)
	}
	phs := make([]string, 9)
	for i := range phs {
		phs[i] = s.d.ph(i + 1)
	}
	res, err := s.db.ExecContext(ctx, "INSERT INTO tokens ("+tokenCols+") VALUES ("+strings.Join(phs, ", ")+") ON CONFLICT (id) DO NOTHING",
		t.ID, t.Name, string(t.Role), string(tenants), t.Hash, millis(t.CreatedAt), t.CreatedBy, millis(t.ExpiresAt), millis(t.RevokedAt))
	if err != nil {
		return fmt.Errorf("%s: insert token: %w", s.d.name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: insert token: %w", s.d.name, err)
	} else if n == 0 {
		return fmt.Errorf("token %s: %w", t.ID, ErrExists)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanToken(r scanner) (*auth.Token, error) {
	var t auth.Token
	var role, tenants string
	var created, expires, revoked int64
	if err := r.Scan(&t.ID, &t.Name, &role, &tenants, &t.Hash, &created, &t.CreatedBy, &expires, &revoked); err != nil {
		return nil, err
	}
	t.Role = auth.Role(role)
	if err := json.Unmarshal([]byte(tenants), &t.Tenants); err != nil {
		return nil, fmt.Errorf("decode tenants of token %s: %w", t.ID, err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMillis(created), fromMillis(expires), fromMillis(revoked)
	return &t, nil
}

// TokenByID implements Store.
func (s *sqlStore) TokenByID(ctx context.Context, id string) (*auth.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, "SELECT "+tokenCols+" FROM tokens WHERE id = "+s.d.ph(1), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errTokenNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read token: %w", s.d.name, err)
	}
	return t, nil
}

// ListTokens implements Store.
func (s *sqlStore) ListTokens(ctx context.Context) ([]auth.Token, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+tokenCols+" FROM tokens ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("%s: list tokens: %w", s.d.name, err)
	}
	defer rows.Close()
	out := []auth.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: list tokens: %w", s.d.name, err)
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: list tokens: %w", s.d.name, err)
	}
	return out, nil
}

// RevokeToken implements Store.
func (s *sqlStore) RevokeToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, "UPDATE tokens SET revoked_at = "+s.d.ph(1)+" WHERE id = "+s.d.ph(2)+" AND revoked_at = 0", millis(at), id)
	if err != nil {
		return fmt.Errorf("%s: revoke token: %w", s.d.name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: revoke token: %w", s.d.name, err)
	} else if n == 1 {
		return nil
	}
	// Already revoked (fine) or absent.
	_, err = s.TokenByID(ctx, id)
	return err
}

// Ping implements Store.
func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("%s: ping: %w", s.d.name, err)
	}
	return nil
}

// Close implements Store.
func (s *sqlStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("%s: close: %w", s.d.name, err)
	}
	return nil
}

// schemaV1 is the first schema, written once for both dialects: {{serial}},
// {{float}} and {{bigint}} are replaced per dialect.
var schemaV1 = []string{
	`CREATE TABLE alerts (
		alert_id      TEXT PRIMARY KEY,
		tenant_id     TEXT NOT NULL,
		endpoint_id   TEXT NOT NULL,
		hostname      TEXT NOT NULL,
		platform      TEXT NOT NULL,
		alert_type    TEXT NOT NULL,
		status        TEXT NOT NULL,
		severity      TEXT NOT NULL,
		severity_rank INTEGER NOT NULL,
		attack_prob   {{float}} NOT NULL,
		last_seen     {{float}} NOT NULL,
		revision      {{bigint}} NOT NULL,
		search_text   TEXT NOT NULL,
		doc           TEXT NOT NULL
	)`,
	// The list queries: newest first, optionally per tenant and status.
	`CREATE INDEX alerts_last_seen ON alerts (last_seen DESC, alert_id)`,
	`CREATE INDEX alerts_tenant_last_seen ON alerts (tenant_id, last_seen DESC, alert_id)`,
	`CREATE INDEX alerts_status_last_seen ON alerts (status, last_seen DESC, alert_id)`,
	`CREATE INDEX alerts_tenant_status_last_seen ON alerts (tenant_id, status, last_seen DESC, alert_id)`,
	// "high and critical since yesterday": without it the count scans.
	`CREATE INDEX alerts_severity_last_seen ON alerts (severity, last_seen DESC, alert_id)`,
	// Endpoint and host drill-down (already in list order, so the planner
	// prefers them even before statistics exist) and /endpoints.
	`CREATE INDEX alerts_endpoint ON alerts (tenant_id, endpoint_id, last_seen DESC, alert_id)`,
	`CREATE INDEX alerts_hostname ON alerts (hostname, last_seen DESC, alert_id)`,
	`CREATE TABLE alert_history (
		id         {{serial}},
		alert_id   TEXT NOT NULL,
		tenant_id  TEXT NOT NULL,
		at         {{float}} NOT NULL,
		actor      TEXT NOT NULL,
		field      TEXT NOT NULL,
		from_value TEXT NOT NULL,
		to_value   TEXT NOT NULL,
		comment    TEXT NOT NULL
	)`,
	`CREATE INDEX alert_history_alert ON alert_history (alert_id, id)`,
	`CREATE TABLE feedback (
		id               {{serial}},
		alert_id         TEXT NOT NULL,
		tenant_id        TEXT NOT NULL,
		is_true_positive BOOLEAN NOT NULL,
		at               {{float}} NOT NULL,
		record           TEXT NOT NULL
	)`,
	`CREATE INDEX feedback_tenant ON feedback (tenant_id, id)`,
	`CREATE INDEX feedback_alert ON feedback (alert_id)`,
	`CREATE TABLE tokens (
		id         TEXT PRIMARY KEY,
		name       TEXT NOT NULL,
		role       TEXT NOT NULL,
		tenants    TEXT NOT NULL,
		hash       TEXT NOT NULL,
		created_at {{bigint}} NOT NULL,
		created_by TEXT NOT NULL,
		expires_at {{bigint}} NOT NULL,
		revoked_at {{bigint}} NOT NULL
	)`,
}

// schemaV2 adds the triage outbox (see Store.DrainTriage).
var schemaV2 = []string{
	`CREATE TABLE triage_outbox (
		id        {{serial}},
		alert_id  TEXT NOT NULL,
		queued_at {{float}} NOT NULL
	)`,
}

func render(stmts []string, repl *strings.Replacer) []string {
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = repl.Replace(s)
	}
	return out
}
