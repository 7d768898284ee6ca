package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
	"github.com/logster/logster/internal/store/storetest"
)

// The OpenAPI document, loaded once for every test: every response a test
// receives through env.do is validated against it.
var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func spec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(openapiJSON)
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		specRouter, specErr = legacyrouter.NewRouter(specDoc)
	})
	if specErr != nil {
		t.Fatalf("openapi.json: %v", specErr)
	}
	return specDoc, specRouter
}

// fakePublisher records published alerts.
type fakePublisher struct {
	mu       sync.Mutex
	got      []*schema.Alert
	fail     error
	hang     bool // a broker that never answers: wait for the deadline
	attempts int
}

func (p *fakePublisher) PublishAlert(ctx context.Context, a *schema.Alert) error {
	p.mu.Lock()
	p.attempts++
	hang := p.hang
	p.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	c := *a
	p.got = append(p.got, &c)
	return nil
}

func (p *fakePublisher) published() []*schema.Alert {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*schema.Alert(nil), p.got...)
}

// env is one API instance over a store, with tokens for each role.
type env struct {
	t      testing.TB
	st     store.Store
	h      http.Handler
	pub    *fakePublisher
	reg    *prometheus.Registry
	clock  *clock
	tokens map[string]string // name -> secret
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testConfig() config.API {
	cfg := config.Default().API
	cfg.Store = "memory"
	cfg.RateLimit = 0 // tests that need it turn it on
	return cfg
}

type envOpt func(*config.API)

func newEnv(t testing.TB, opts ...envOpt) *env {
	return newEnvOn(t, store.NewMemory(), opts...)
}

func newEnvOn(t testing.TB, st store.Store, opts ...envOpt) *env {
	t.Helper()
	cfg := testConfig()
	for _, o := range opts {
		o(&cfg)
	}
	e := &env{
		t:      t,
		st:     st,
		pub:    &fakePublisher{},
		reg:    prometheus.NewRegistry(),
		clock:  &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)},
		tokens: map[string]string{},
	}
	e.h = New(Deps{Store: st, Config: cfg, Registerer: e.reg, Gatherer: e.reg, Publisher: e.pub, Now: e.clock.Now})
	for _, tk := range []struct {
		name    string
		role    auth.Role
		tenants []string
	}{
		{"viewer", auth.RoleViewer, []string{"acme"}},
		{"analyst", auth.RoleAnalyst, []string{"acme"}},
		{"admin", auth.RoleAdmin, []string{"*"}},
		{"acme-admin", auth.RoleAdmin, []string{"acme"}},
		{"globex-analyst", auth.RoleAnalyst, []string{"globex"}},
	} {
		e.token(tk.name, tk.role, tk.tenants...)
	}
	return e
}

// token creates a token directly in the store and remembers its secret.
func (e *env) token(name string, role auth.Role, tenants ...string) string {
	e.t.Helper()
	tok, secret, err := auth.NewToken(name, role, tenants, 0, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.CreateToken(context.Background(), tok); err != nil {
		e.t.Fatal(err)
	}
	e.tokens[name] = secret
	return secret
}

// seed ingests alerts.
func (e *env) seed(as ...*schema.Alert) {
	e.t.Helper()
	for _, a := range as {
		if _, err := e.st.IngestAlert(context.Background(), a); err != nil {
			e.t.Fatal(err)
		}
	}
}

// req describes one request; as names the token to use ("" = none).
type req struct {
	method, path string
	body         any // string is sent raw, anything else as JSON
	as           string
	header       map[string]string
}

type resp struct {
	*httptest.ResponseRecorder
	raw []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.raw, v); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}

func (r resp) errMsg(t testing.TB) errorBody {
	t.Helper()
	var b errorBody
	r.json(t, &b)
	if b.Error == "" {
		t.Fatalf("error response without error field: %s", r.raw)
	}
	return b
}

// do sends the request through the handler and validates the response
// against the OpenAPI document.
func (e *env) do(rq req) resp {
	e.t.Helper()
	var body io.Reader
	switch b := rq.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(buf)
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if rq.as != "" {
		secret, ok := e.tokens[rq.as]
		if !ok {
			secret = rq.as // a literal (bad) token
		}
		r.Header.Set("Authorization", "Bearer "+secret)
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	out := resp{ResponseRecorder: w, raw: w.Body.Bytes()}
	validateResponse(e.t, rq.method, rq.path, out)
	return out
}

// validateResponse checks one response against the OpenAPI document: the
// status must be documented for the operation (5xx and 405 may fall to
// "default") and the body must match its schema. Answers from outside any
// documented route (404 for unknown paths) must still be JSON errors.
func validateResponse(t testing.TB, method, path string, w resp) {
	t.Helper()
	doc, router := spec(t)
	if method == http.MethodOptions {
		return // CORS preflights are protocol, not operations
	}
	if w.Code != http.StatusNoContent && w.Code != http.StatusNotModified && w.Code != http.StatusMovedPermanently && method != http.MethodHead {
		if ct := w.Header().Get("Content-Type"); ct == "" {
			t.Errorf("%s %s -> %d without Content-Type", method, path, w.Code)
		}
	}
	lookup := path
	if strings.HasSuffix(strings.Split(path, "?")[0], "/") && path != "/" {
		// The router ignores trailing slashes; /docs/ is /docs/{file} with
		// the index as file.
		lookup = strings.Replace(path, "/?", "/index.html?", 1)
		if strings.HasSuffix(lookup, "/") {
			lookup += "index.html"
		}
	}
	r := httptest.NewRequest(method, lookup, nil)
	route, pathParams, err := router.FindRoute(r)
	if err != nil {
		// ServeMux's own redirects (path cleaning) carry no body.
		if w.Code == http.StatusTemporaryRedirect || w.Code == http.StatusPermanentRedirect || w.Code == http.StatusMovedPermanently {
			return
		}
		// Not a documented operation: must be a JSON error.
		if w.Code < 400 {
			t.Errorf("%s %s -> %d but the route is not in openapi.json", method, path, w.Code)
			return
		}
		checkErrorSchema(t, doc, method, path, w)
		return
	}
	if w.Code != http.StatusMethodNotAllowed && w.Code < 500 && route.Operation.Responses.Status(w.Code) == nil {
		t.Errorf("%s %s -> %d, not documented for %s %s", method, path, w.Code, route.Method, route.Path)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	ct := w.Header().Get("Content-Type")
	if !strings.HasPrefix(ct, "application/json") {
		opts.ExcludeResponseBody = true // HTML, JS, CSS, Prometheus text
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: pathParams, Route: route},
		Status:                 w.Code,
		Header:                 w.Header(),
		Options:                opts,
	}
	in.SetBodyBytes(w.raw)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s -> %d does not match openapi.json: %v\nbody: %.600s", method, path, w.Code, err, w.raw)
	}
}

func checkErrorSchema(t testing.TB, doc *openapi3.T, method, path string, w resp) {
	t.Helper()
	var v any
	if err := json.Unmarshal(w.raw, &v); err != nil {
		t.Errorf("%s %s -> %d: body is not JSON: %.200s", method, path, w.Code, w.raw)
		return
	}
	if err := doc.Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
		t.Errorf("%s %s -> %d: not an Error body: %v", method, path, w.Code, err)
	}
}

// alert returns a valid alert for tests.
func alert(tenant, endpoint string, lastSeen float64) *schema.Alert {
	return storetest.Alert(tenant, endpoint, 1, lastSeen)
}
