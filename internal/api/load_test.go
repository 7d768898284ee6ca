package api

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
	"github.com/logster/logster/internal/store/storetest"
)

// The load check: GET /alerts over loopback HTTP against 100k stored alerts,
// per backend and per typical filter, reporting p50/p99 latency.
//
//	go test ./internal/api -run '^$' -bench ListAlerts100k -benchtime 300x
//
// PostgreSQL runs when LOGSTER_TEST_POSTGRES_URL is set.
const loadAlerts = 100_000

var loadFilters = []struct{ name, query string }{
	{"default", ""},
	{"tenant+status", "tenant_id=t5&status=open"},
	{"severity+since", fmt.Sprintf("severity=critical&since=%d", loadBase+6*86400)},
	{"hostname", "hostname=host-ep1234"},
	{"endpoint+range", fmt.Sprintf("tenant_id=t4&endpoint_id=ep1234&since=%d&until=%d", loadBase, loadBase+7*86400)},
	{"text", "q=t1003&limit=50"},
	{"deep-offset", "offset=50000&limit=100"},
}

const loadBase = 1_780_000_000

func loadAlert(i int) *schema.Alert {
	tenant := fmt.Sprintf("t%d", i%10)
	ep := fmt.Sprintf("ep%d", i%5000)
	// last_seen spreads over a week, 6 s apart.
	a := storetest.Alert(tenant, ep, 1, float64(loadBase+6*i))
	a.AlertID = schema.AlertID("load", fmt.Sprint(i))
	a.Hostname = "host-" + ep
	a.Status = schema.AllStatuses[i%len(schema.AllStatuses)]
	a.Severity = schema.AllSeverities[(i/7)%len(schema.AllSeverities)]
	a.TTPTechniques = [][]string{{"T1059.001"}, {"T1003.001", "T1550.002"}, {"T1021.002"}, {"T1053.005"}}[i%4]
	a.InferenceIDs = []string{fmt.Sprintf("inf-%d", i)}
	return a
}

var (
	loadMu     sync.Mutex
	loadStores = map[string]store.Store{}
)

// loadStore seeds a backend once per process (benchmarks re-run their body
// while calibrating b.N).
func loadStore(b *testing.B, backend string) store.Store {
	b.Helper()
	loadMu.Lock()
	defer loadMu.Unlock()
	if st, ok := loadStores[backend]; ok {
		return st
	}
	ctx := context.Background()
	var st store.Store
	var err error
	dsn := ""
	// PostgreSQL commits in parallel; SQLite has one writer anyway.
	writers := 1
	switch backend {
	case "sqlite":
		st, err = store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "load.db"))
	case "postgres":
		dsn = storetest.PostgresDSN(b)
		st, err = store.OpenPostgres(ctx, dsn)
		writers = 8
	}
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < loadAlerts; i += writers {
				if _, err := st.IngestAlert(ctx, loadAlert(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.Logf("%s: seeded %d alerts in %s", backend, loadAlerts, time.Since(start).Round(time.Millisecond))
	if dsn != "" {
		// The steady state of a live database: autovacuum has set the
		// visibility map (index-only counts) and collected statistics.
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "VACUUM ANALYZE alerts"); err != nil {
			b.Fatal(err)
		}
	}
	loadStores[backend] = st
	return st
}

func BenchmarkListAlerts100k(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			st := loadStore(b, backend)
			cfg := testConfig()
			cfg.Host, cfg.Port, cfg.Auth = "127.0.0.1", 0, "disabled"
			srv := NewServer(cfg, New(Deps{Store: st, Config: cfg}), nil)
			if err := srv.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer srv.Shutdown(context.Background()) //nolint:errcheck // benchmark teardown
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			for _, f := range loadFilters {
				b.Run(f.name, func(b *testing.B) {
					url := "http://" + srv.Addr() + "/alerts?" + f.query
					lat := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for range b.N {
						t0 := time.Now()
						res, err := client.Get(url)
						if err != nil {
							b.Fatal(err)
						}
						_, err = io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if err != nil || res.StatusCode != 200 {
							b.Fatalf("%s: %d %v", url, res.StatusCode, err)
						}
						lat = append(lat, time.Since(t0))
					}
					b.StopTimer()
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
				})
			}
		})
	}
}
