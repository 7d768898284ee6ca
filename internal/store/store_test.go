package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
	"github.com/logster/logster/internal/store/storetest"
)

func TestMemoryContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
}

func TestSQLiteContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "alerts.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgresContract(t *testing.T) {
	t.Parallel()
	storetest.RequirePostgres(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.OpenPostgres(context.Background(), storetest.PostgresDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Alerts, history, feedback and tokens survive closing and reopening the
// SQLite file (a restart of the api service).
func TestSQLiteRestartDurability(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "alerts.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := storetest.Alert("acme", "ep1", 3, 1000)
	if _, err := s.IngestAlert(ctx, a); err != nil {
		t.Fatal(err)
	}
	st := schema.StatusInvestigating
	notes := "escalated"
	want, _, err := s.PatchAlert(ctx, auth.Everything, a.AlertID, store.Patch{Status: &st, Notes: &notes}, "alice", timeAt(1100))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFeedback(ctx, auth.Everything, schema.Feedback{AlertID: a.AlertID, IsTruePositive: true, Actor: "alice", At: 1200}); err != nil {
		t.Fatal(err)
	}
	tok, _, _ := auth.NewToken("ops", auth.RoleAdmin, []string{"*"}, 0, timeAt(1))
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := store.OpenSQLite(ctx, path) // migrations must be a no-op now
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.GetAlert(ctx, auth.Everything, a.AlertID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != st || got.Notes != notes || got.Revision != 3 || len(got.History) != len(want.History)+1 {
		t.Fatalf("after restart: %+v", got)
	}
	for i, h := range want.History {
		if got.History[i] != h {
			t.Fatalf("history[%d] = %+v, want %+v", i, got.History[i], h)
		}
	}
	if fb, err := s2.ListFeedback(ctx, store.FeedbackQuery{Scope: auth.Everything}); err != nil || fb.Total != 1 {
		t.Fatalf("feedback after restart: %+v %v", fb, err)
	}
	if _, err := s2.TokenByID(ctx, tok.ID); err != nil {
		t.Fatalf("token after restart: %v", err)
	}
	// Redelivery after the restart is still a no-op.
	if r, err := s2.IngestAlert(ctx, a); err != nil || r != store.Unchanged {
		t.Fatalf("redelivery after restart: %v %v", r, err)
	}
}

func TestOpenSelectsBackend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := config.Default().API
	cfg.Store = "memory"
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*store.Memory); !ok {
		t.Fatalf("memory store is %T", s)
	}
	s.Close()
	cfg.Store = "sqlite"
	cfg.SQLitePath = filepath.Join(t.TempDir(), "a.db")
	s, err = store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg.Store = "mongodb"
	if _, err := store.Open(ctx, cfg); err == nil {
		t.Fatal("unknown store accepted")
	}
}
