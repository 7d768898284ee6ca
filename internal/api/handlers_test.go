package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

func everything() auth.Scope { return auth.Everything }

// metricHas reports whether counter name sums to want (want < 0: to > 0).
func metricHas(t *testing.T, e *env, name string, want float64) bool {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	if want < 0 {
		return sum > 0
	}
	return sum == want
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed(alert("acme", "ws1", 1), alert("globex", "ws1", 2))
	e.clock.Advance(90 * time.Second)
	r := e.do(req{method: "GET", path: "/health"})
	var h healthBody
	r.json(t, &h)
	if r.Code != 200 || h.Status != "ok" || h.Service != "logster-api" || h.AlertsCount != 2 || h.UptimeSeconds != 90 || h.Auth != "enabled" {
		t.Fatalf("%d %+v", r.Code, h)
	}
	// A token is not needed, and a bad one does not matter.
	if r := e.do(req{method: "GET", path: "/health", as: "garbage"}); r.Code != 200 {
		t.Fatalf("health with bad token: %d", r.Code)
	}
	// Store down: 503 with status error.
	st := store.NewMemory()
	e2 := newEnvOn(t, st)
	st.Close()
	r = e2.do(req{method: "GET", path: "/health"})
	r.json(t, &h)
	if r.Code != http.StatusServiceUnavailable || h.Status != "error" {
		t.Fatalf("store down: %d %+v", r.Code, h)
	}
}

func TestAuthDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.API) { c.Auth = "disabled" })
	a := alert("acme", "ws1", 1000)
	e.seed(a)
	var h healthBody
	e.do(req{method: "GET", path: "/health"}).json(t, &h)
	if h.Auth != "disabled" {
		t.Fatalf("health auth = %q", h.Auth)
	}
	if r := e.do(req{method: "GET", path: "/alerts"}); r.Code != 200 {
		t.Fatalf("list without token: %d", r.Code)
	}
	r := e.do(req{method: "PATCH", path: "/alerts/" + a.AlertID, body: map[string]any{"status": "acknowledged"}})
	var got schema.Alert
	r.json(t, &got)
	if r.Code != 200 || got.History[0].Actor != "anonymous" {
		t.Fatalf("patch without token: %d %s", r.Code, r.raw)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expired, _, _ := auth.NewToken("old", auth.RoleAdmin, []string{"*"}, time.Hour, e.clock.Now().Add(-2*time.Hour))
	_ = e.st.CreateToken(context.Background(), expired)
	revokedSecret := e.token("gone", auth.RoleAdmin, "*")
	id, _ := auth.ParseID(revokedSecret)
	if err := e.st.RevokeToken(context.Background(), id, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		header string
		code   int
	}{
		{"missing", "", 401},
		{"basic", "Basic YWRtaW46YWRtaW4=", 401},
		{"garbage", "Bearer garbage", 401},
		{"unknown", "Bearer lgs_0123456789ab_" + strings.Repeat("A", 43), 401},
		{"revoked", "Bearer " + revokedSecret, 401},
		{"valid", "Bearer " + e.tokens["viewer"], 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.header != "" {
				h["Authorization"] = c.header
			}
			r := e.do(req{method: "GET", path: "/alerts", header: h})
			if r.Code != c.code {
				t.Fatalf("%d, want %d", r.Code, c.code)
			}
			if c.code == 401 && r.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	if !metricHas(t, e, "api_auth_failures_total", -1) {
		t.Error("auth failures not counted")
	}
}

// A failing token lookup is a server error, not a 401.
func TestAuthStoreFailure(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	e := newEnvOn(t, st)
	st.Close()
	if r := e.do(req{method: "GET", path: "/alerts", as: "viewer"}); r.Code != http.StatusInternalServerError {
		t.Fatalf("%d", r.Code)
	}
}

func TestRolePermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := alert("acme", "ws1", 1000)
	e.seed(a)
	type call struct {
		method, path string
		body         any
	}
	patch := call{"PATCH", "/alerts/" + a.AlertID, map[string]any{"notes": "x"}}
	feedback := call{"POST", "/feedback", map[string]any{"alert_id": a.AlertID, "is_true_positive": true}}
	cases := []struct {
		as   string
		c    call
		code int
	}{
		{"viewer", call{"GET", "/alerts", nil}, 200},
		{"viewer", call{"GET", "/endpoints", nil}, 200},
		{"viewer", patch, 403},
		{"viewer", feedback, 403},
		{"viewer", call{"GET", "/feedback", nil}, 403},
		{"viewer", call{"GET", "/tokens", nil}, 403},
		{"analyst", patch, 200},
		{"analyst", feedback, 201},
		{"analyst", call{"GET", "/feedback", nil}, 403},
		{"analyst", call{"POST", "/tokens", map[string]any{"name": "x", "role": "viewer", "tenants": []string{"acme"}}}, 403},
		{"admin", call{"GET", "/feedback", nil}, 200},
		{"admin", call{"GET", "/tokens", nil}, 200},
	}
	for _, c := range cases {
		r := e.do(req{method: c.c.method, path: c.c.path, body: c.c.body, as: c.as})
		if r.Code != c.code {
			t.Errorf("%s %s as %s: %d, want %d", c.c.method, c.c.path, c.as, r.Code, c.code)
		}
	}
}

func TestFeedback(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := alert("acme", "ws1", 1000)
	g := alert("globex", "srv1", 1000)
	e.seed(a, g)
	r := e.do(req{method: "POST", path: "/feedback", as: "analyst", body: map[string]any{"alert_id": a.AlertID, "is_true_positive": false, "note": "backup job"}})
	if r.Code != 201 {
		t.Fatalf("%d %s", r.Code, r.raw)
	}
	var rec store.FeedbackRecord
	r.json(t, &rec)
	if rec.AlertID != a.AlertID || rec.IsTruePositive || rec.Note != "backup job" || rec.TenantID != "acme" || !strings.HasPrefix(rec.Actor, "analyst") || rec.ID == 0 {
		t.Fatalf("record %+v", rec)
	}
	// Audited on the alert.
	var got schema.Alert
	e.do(req{method: "GET", path: "/alerts/" + a.AlertID, as: "viewer"}).json(t, &got)
	if len(got.History) != 1 || got.History[0].Field != "feedback" || got.History[0].To != "false_positive" {
		t.Fatalf("history %+v", got.History)
	}
	bad := []struct {
		name string
		body any
		code int
	}{
		{"missing verdict", map[string]any{"alert_id": a.AlertID}, 422},
		{"missing alert", map[string]any{"is_true_positive": true}, 422},
		{"blank alert", map[string]any{"alert_id": " ", "is_true_positive": true}, 422},
		{"verdict not bool", `{"alert_id": "x", "is_true_positive": "yes"}`, 400},
		{"huge note", map[string]any{"alert_id": a.AlertID, "is_true_positive": true, "note": strings.Repeat("n", maxNote+1)}, 422},
		{"other tenant", map[string]any{"alert_id": g.AlertID, "is_true_positive": true}, 404},
		{"unknown field", `{"alert_id": "x", "is_true_positive": true, "label": 1}`, 400},
	}
	for _, c := range bad {
		if r := e.do(req{method: "POST", path: "/feedback", as: "analyst", body: c.body}); r.Code != c.code {
			t.Errorf("%s: %d, want %d", c.name, r.Code, c.code)
		}
	}
	// Export: admins only; an acme admin sees acme only.
	e.do(req{method: "POST", path: "/feedback", as: "globex-analyst", body: map[string]any{"alert_id": g.AlertID, "is_true_positive": true}})
	var l feedbackList
	e.do(req{method: "GET", path: "/feedback", as: "admin"}).json(t, &l)
	if l.Total != 2 || len(l.Feedback) != 2 || l.Feedback[0].AlertID != a.AlertID {
		t.Fatalf("export %+v", l)
	}
	e.do(req{method: "GET", path: "/feedback", as: "acme-admin"}).json(t, &l)
	if l.Total != 1 {
		t.Fatalf("acme export %+v", l)
	}
	e.do(req{method: "GET", path: "/feedback?tenant_id=globex&limit=1", as: "admin"}).json(t, &l)
	if l.Total != 1 || l.Feedback[0].TenantID != "globex" || l.Limit != 1 {
		t.Fatalf("filtered export %+v", l)
	}
	if r := e.do(req{method: "GET", path: "/feedback?since=soon", as: "admin"}); r.Code != 400 {
		t.Fatalf("bad since: %d", r.Code)
	}
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a1 := alert("acme", "ws1", 1000)
	a2 := alert("acme", "ws1", 2000)
	a2.AttackProb = 0.99
	a3 := alert("acme", "lx1", 1500)
	a3.Platform, a3.Hostname = schema.PlatformLinux, "build01"
	e.seed(a1, a2, a3, alert("globex", "srv1", 3000))
	var l endpointList
	r := e.do(req{method: "GET", path: "/endpoints", as: "viewer"})
	r.json(t, &l)
	if r.Code != 200 || l.Total != 2 || l.Endpoints[0].EndpointID != "ws1" || l.Endpoints[0].AlertCount != 2 ||
		l.Endpoints[0].MaxAttackProb != 0.99 || l.Endpoints[0].AlertsByStatus["open"] != 2 || l.Endpoints[0].Platform != "windows" {
		t.Fatalf("%d %s", r.Code, r.raw)
	}
	e.do(req{method: "GET", path: "/endpoints?q=BUILD", as: "viewer"}).json(t, &l)
	if l.Total != 1 || l.Endpoints[0].Platform != "linux" {
		t.Fatalf("search %+v", l)
	}
	e.do(req{method: "GET", path: "/endpoints?tenant_id=globex", as: "viewer"}).json(t, &l)
	if l.Total != 0 {
		t.Fatalf("other tenant %+v", l)
	}
	for _, q := range []string{"limit=0", "offset=x", "tenant=acme"} {
		if r := e.do(req{method: "GET", path: "/endpoints?" + q, as: "viewer"}); r.Code != 400 {
			t.Errorf("%s: %d", q, r.Code)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(req{method: "POST", path: "/tokens", as: "acme-admin", body: map[string]any{"name": "soc-bot", "role": "analyst", "tenants": []string{"acme"}, "expires_in": "30d"}})
	if r.Code != 201 {
		t.Fatalf("%d %s", r.Code, r.raw)
	}
	var ct createdToken
	r.json(t, &ct)
	if !strings.HasPrefix(ct.Secret, "lgs_") || ct.Role != auth.RoleAnalyst || !ct.ExpiresAt.Equal(e.clock.Now().Add(30*24*time.Hour)) || !strings.HasPrefix(ct.CreatedBy, "acme-admin") {
		t.Fatalf("created %s", r.raw)
	}
	if strings.Contains(string(r.raw), ct.Hash) && ct.Hash != "" {
		t.Fatal("hash leaked")
	}
	// The new token works, within its tenant.
	e.tokens["soc-bot"] = ct.Secret
	if r := e.do(req{method: "GET", path: "/alerts", as: "soc-bot"}); r.Code != 200 {
		t.Fatalf("new token: %d", r.Code)
	}
	// An acme admin cannot mint tokens for other tenants or for all.
	for _, tenants := range [][]string{{"globex"}, {"*"}, {"acme", "globex"}} {
		r := e.do(req{method: "POST", path: "/tokens", as: "acme-admin", body: map[string]any{"name": "x", "role": "viewer", "tenants": tenants}})
		if r.Code != 403 {
			t.Errorf("tenants %v: %d", tenants, r.Code)
		}
	}
	for _, body := range []any{
		map[string]any{"name": "", "role": "viewer", "tenants": []string{"acme"}},
		map[string]any{"name": "x", "role": "root", "tenants": []string{"acme"}},
		map[string]any{"name": "x", "role": "viewer", "tenants": []string{}},
		map[string]any{"name": "x", "role": "viewer", "tenants": []string{"acme"}, "expires_in": "forever"},
	} {
		if r := e.do(req{method: "POST", path: "/tokens", as: "admin", body: body}); r.Code != 422 {
			t.Errorf("%v: %d", body, r.Code)
		}
	}
	// Listing: the acme admin sees acme tokens only; no secrets or hashes.
	var l tokenList
	r = e.do(req{method: "GET", path: "/tokens", as: "acme-admin"})
	r.json(t, &l)
	for _, tk := range l.Tokens {
		if !auth.NewScope([]string{"acme"}).Covers(tk.Scope()) {
			t.Errorf("acme admin sees %+v", tk)
		}
	}
	if strings.Contains(string(r.raw), "hash") || strings.Contains(string(r.raw), "lgs_") {
		t.Fatal("token list leaks secrets")
	}
	// Revoke: another tenant's token is 404; own works and takes effect now.
	gid, _ := auth.ParseID(e.tokens["globex-analyst"])
	if r := e.do(req{method: "DELETE", path: "/tokens/" + gid, as: "acme-admin"}); r.Code != 404 {
		t.Fatalf("revoke other tenant's token: %d", r.Code)
	}
	if r := e.do(req{method: "DELETE", path: "/tokens/" + ct.ID, as: "acme-admin"}); r.Code != 204 {
		t.Fatalf("revoke: %d", r.Code)
	}
	if r := e.do(req{method: "DELETE", path: "/tokens/" + ct.ID, as: "acme-admin"}); r.Code != 204 {
		t.Fatalf("revoke again: %d", r.Code)
	}
	if r := e.do(req{method: "GET", path: "/alerts", as: "soc-bot"}); r.Code != 401 {
		t.Fatalf("revoked token still works: %d", r.Code)
	}
	// Expiry is enforced by the clock.
	e.do(req{method: "POST", path: "/tokens", as: "admin", body: map[string]any{"name": "short", "role": "viewer", "tenants": []string{"acme"}, "expires_in": "1h"}}).json(t, &ct)
	e.tokens["short"] = ct.Secret
	if r := e.do(req{method: "GET", path: "/alerts", as: "short"}); r.Code != 200 {
		t.Fatalf("fresh token: %d", r.Code)
	}
	e.clock.Advance(2 * time.Hour)
	if r := e.do(req{method: "GET", path: "/alerts", as: "short"}); r.Code != 401 {
		t.Fatalf("expired token: %d", r.Code)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.API) { c.RateLimit, c.RateBurst = 1, 3 })
	for i := range 3 {
		if r := e.do(req{method: "GET", path: "/alerts", as: "viewer"}); r.Code != 200 {
			t.Fatalf("request %d: %d", i, r.Code)
		}
	}
	r := e.do(req{method: "GET", path: "/alerts", as: "viewer"})
	if r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") != "1" {
		t.Fatalf("4th request: %d Retry-After %q", r.Code, r.Header().Get("Retry-After"))
	}
	// Buckets are per token: another token is unaffected.
	if r := e.do(req{method: "GET", path: "/alerts", as: "analyst"}); r.Code != 200 {
		t.Fatalf("other token: %d", r.Code)
	}
	// Health is never limited.
	for range 5 {
		if r := e.do(req{method: "GET", path: "/health"}); r.Code != 200 {
			t.Fatalf("health limited: %d", r.Code)
		}
	}
	// The bucket refills with time.
	e.clock.Advance(2 * time.Second)
	if r := e.do(req{method: "GET", path: "/alerts", as: "viewer"}); r.Code != 200 {
		t.Fatalf("after refill: %d", r.Code)
	}
	// Bad tokens are limited per address.
	for range 3 {
		e.do(req{method: "GET", path: "/alerts", as: "bad"})
	}
	if r := e.do(req{method: "GET", path: "/alerts", as: "bad"}); r.Code != http.StatusTooManyRequests {
		t.Fatalf("guessing not limited: %d", r.Code)
	}
	if !metricHas(t, e, "api_rate_limited_total", -1) {
		t.Error("not counted")
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.API) { c.CORSOrigins = []string{"https://soc.example.com"} })
	pre := map[string]string{"Origin": "https://soc.example.com", "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization, content-type"}
	r := e.do(req{method: "OPTIONS", path: "/alerts/x", header: pre})
	if r.Code != 204 || r.Header().Get("Access-Control-Allow-Origin") != "https://soc.example.com" ||
		!strings.Contains(r.Header().Get("Access-Control-Allow-Methods"), "PATCH") || !strings.Contains(r.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", r.Code, r.Header())
	}
	pre["Origin"] = "https://evil.example.com"
	if r := e.do(req{method: "OPTIONS", path: "/alerts/x", header: pre}); r.Code != 403 || r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("evil preflight: %d %v", r.Code, r.Header())
	}
	r = e.do(req{method: "GET", path: "/alerts", as: "viewer", header: map[string]string{"Origin": "https://soc.example.com"}})
	if r.Header().Get("Access-Control-Allow-Origin") != "https://soc.example.com" || !strings.Contains(strings.Join(r.Header().Values("Vary"), ","), "Origin") {
		t.Fatalf("simple request: %v", r.Header())
	}
	r = e.do(req{method: "GET", path: "/alerts", as: "viewer", header: map[string]string{"Origin": "https://evil.example.com"}})
	if r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("evil origin allowed")
	}
	// No origins configured: no CORS at all. "*" only when configured.
	e2 := newEnv(t)
	if r := e2.do(req{method: "GET", path: "/health", header: map[string]string{"Origin": "https://soc.example.com"}}); r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS without configuration")
	}
	e3 := newEnv(t, func(c *config.API) { c.CORSOrigins = []string{"*"} })
	if r := e3.do(req{method: "GET", path: "/health", header: map[string]string{"Origin": "https://any.example"}}); r.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("* not honoured")
	}
}

func TestSecurityHeadersAndJSONErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, rq := range []req{
		{method: "GET", path: "/health"},
		{method: "GET", path: "/alerts", as: "viewer"},
		{method: "GET", path: "/nowhere"},
		{method: "DELETE", path: "/alerts"},
		{method: "GET", path: "/alerts"},
	} {
		r := e.do(rq)
		for h, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "no-referrer",
			"Cache-Control":          "no-store",
		} {
			if got := r.Header().Get(h); got != want {
				t.Errorf("%s %s: %s = %q", rq.method, rq.path, h, got)
			}
		}
		if !strings.Contains(r.Header().Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s %s: CSP %q", rq.method, rq.path, r.Header().Get("Content-Security-Policy"))
		}
		if !strings.HasPrefix(r.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: Content-Type %q", rq.method, rq.path, r.Header().Get("Content-Type"))
		}
	}
	r := e.do(req{method: "DELETE", path: "/alerts"})
	if r.Code != 405 || r.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("405: %d Allow %q", r.Code, r.Header().Get("Allow"))
	}
}

// blockingStore waits for the request deadline in every list call.
type blockingStore struct{ store.Store }

func (b blockingStore) ListAlerts(ctx context.Context, _ store.AlertQuery) (store.AlertPage, error) {
	<-ctx.Done()
	return store.AlertPage{}, ctx.Err()
}

type failingStore struct{ store.Store }

func (f failingStore) ListEndpoints(context.Context, store.EndpointQuery) (store.EndpointPage, error) {
	return store.EndpointPage{}, errors.New("disk on fire")
}

func TestRequestTimeoutAndStoreErrors(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, blockingStore{store.NewMemory()}, func(c *config.API) { c.RequestTimeout = config.Duration(50 * time.Millisecond) })
	r := e.do(req{method: "GET", path: "/alerts", as: "viewer"})
	if r.Code != http.StatusServiceUnavailable || r.errMsg(t).Error != "request timed out" {
		t.Fatalf("%d %s", r.Code, r.raw)
	}
	e2 := newEnvOn(t, failingStore{store.NewMemory()})
	r = e2.do(req{method: "GET", path: "/endpoints", as: "viewer"})
	if r.Code != 500 || strings.Contains(string(r.raw), "disk on fire") {
		t.Fatalf("internal error leaked or wrong: %d %s", r.Code, r.raw)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do(req{method: "GET", path: "/alerts", as: "viewer"})
	r := e.do(req{method: "GET", path: "/metrics"})
	if r.Code != 200 || !strings.Contains(string(r.raw), `api_http_requests_total{code="200",route="GET /alerts"}`) {
		t.Fatalf("%d %.2000s", r.Code, r.raw)
	}
	if n := testutil.CollectAndCount(e.reg, "api_http_request_duration_seconds"); n == 0 {
		t.Fatal("no latency histogram")
	}
	// Without a gatherer the route says so.
	h := New(Deps{Store: store.NewMemory(), Config: testConfig()})
	e2 := &env{t: t, h: h}
	if r := e2.do(req{method: "GET", path: "/metrics"}); r.Code != 404 {
		t.Fatalf("no gatherer: %d", r.Code)
	}
}
