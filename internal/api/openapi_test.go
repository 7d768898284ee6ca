package api

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Every route of the routing table is documented with the same method and
// path parameters, and every documented operation has a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc, _ := spec(t)
	seen := map[string]bool{}
	for _, rt := range routes {
		path := strings.ReplaceAll(rt.path, "...}", "}")
		item := doc.Paths.Value(path)
		if item == nil {
			t.Errorf("route %s %s is not in openapi.json", rt.method, rt.path)
			continue
		}
		op := item.GetOperation(rt.method)
		if op == nil {
			t.Errorf("route %s %s: method not in openapi.json", rt.method, rt.path)
			continue
		}
		seen[rt.method+" "+path] = true
		// Path parameters agree.
		want := regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(path, -1)
		params := append(item.Parameters, op.Parameters...)
		for _, w := range want {
			if p := params.GetByInAndName("path", w[1]); p == nil {
				t.Errorf("%s %s: path parameter %s not documented", rt.method, path, w[1])
			}
		}
		// Protected routes need the bearer scheme; public ones must say none.
		public := op.Security != nil && len(*op.Security) == 0
		if public != (rt.perm == 0) {
			t.Errorf("%s %s: documented public=%v, route public=%v", rt.method, path, public, rt.perm == 0)
		}
		if rt.perm != 0 {
			for _, code := range []int{401, 403, 429} {
				if op.Responses.Status(code) == nil {
					t.Errorf("%s %s: %d not documented", rt.method, path, code)
				}
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !seen[method+" "+path] {
				t.Errorf("openapi.json documents %s %s but no route serves it", method, path)
			}
		}
	}
}

// A scenario that calls every route (success and typical failures); each
// response is validated against the document by env.do, and the test
// checks that every route answered successfully at least once.
func TestOpenAPIConformanceEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := alert("acme", "ws1", 1000)
	a.Chain = nil
	lm := alert("acme", "ws2", 1100)
	lm.Kind = "lateral_movement"
	lm.LinkedEndpoints = []string{"ws1", "ws2"}
	lm.LinkedAlerts = []string{a.AlertID}
	lm.PreviousAlertID = "prev"
	lm.Platform = ""
	e.seed(a, lm)
	ok := map[string]bool{}
	call := func(method, path string, body any, as string, want int) resp {
		t.Helper()
		r := e.do(req{method: method, path: path, body: body, as: as})
		if r.Code != want {
			t.Fatalf("%s %s as %q = %d, want %d: %s", method, path, as, r.Code, want, r.raw)
		}
		if want < 400 {
			for _, rt := range routes {
				if rt.method == method && matchPattern(rt.path, strings.Split(path, "?")[0]) {
					ok[rt.method+" "+rt.path] = true
				}
			}
		}
		return r
	}
	call("GET", "/health", nil, "", 200)
	call("GET", "/metrics", nil, "", 200)
	call("GET", "/openapi.json", nil, "", 200)
	call("GET", "/docs", nil, "", 301)
	call("GET", "/docs/", nil, "", 200)
	call("GET", "/docs/swagger-ui-bundle.js", nil, "", 200)
	call("GET", "/docs/swagger-ui.css", nil, "", 200)
	call("GET", "/docs/nope.js", nil, "", 404)
	call("GET", "/alerts", nil, "viewer", 200)
	call("GET", "/alerts?status=open&severity=high&limit=5&since=2026-01-01T00:00:00Z", nil, "viewer", 200)
	call("GET", "/alerts?limit=0", nil, "viewer", 400)
	call("GET", "/alerts", nil, "", 401)
	call("GET", "/alerts/"+a.AlertID, nil, "viewer", 200)
	call("GET", "/alerts/"+lm.AlertID, nil, "viewer", 200)
	call("GET", "/alerts/nope", nil, "viewer", 404)
	call("PATCH", "/alerts/"+a.AlertID, map[string]any{"status": "acknowledged", "assignee": "alice", "comment": "mine"}, "analyst", 200)
	call("PATCH", "/alerts/"+a.AlertID, map[string]any{"status": "open"}, "viewer", 403)
	call("PATCH", "/alerts/"+a.AlertID, map[string]any{"status": "bogus"}, "analyst", 422)
	call("PATCH", "/alerts/"+a.AlertID, `{"status":`, "analyst", 400)
	call("PATCH", "/alerts/"+a.AlertID, map[string]any{"status": "resolved"}, "analyst", 200)
	call("PATCH", "/alerts/"+a.AlertID, map[string]any{"status": "acknowledged"}, "analyst", 409)
	call("PATCH", "/alerts/nope", map[string]any{"notes": "x"}, "analyst", 404)
	call("GET", "/endpoints", nil, "viewer", 200)
	call("GET", "/endpoints?offset=-1", nil, "viewer", 400)
	call("POST", "/feedback", map[string]any{"alert_id": a.AlertID, "is_true_positive": true, "note": "confirmed"}, "analyst", 201)
	call("POST", "/feedback", map[string]any{"alert_id": a.AlertID}, "analyst", 422)
	call("POST", "/feedback", map[string]any{"alert_id": "nope", "is_true_positive": false}, "analyst", 404)
	call("GET", "/feedback", nil, "admin", 200)
	call("GET", "/feedback", nil, "analyst", 403)
	r := call("POST", "/tokens", map[string]any{"name": "ci", "role": "viewer", "tenants": []string{"acme"}, "expires_in": "90d"}, "admin", 201)
	var created createdToken
	r.json(t, &created)
	call("POST", "/tokens", map[string]any{"name": "ci", "role": "god", "tenants": []string{"acme"}}, "admin", 422)
	call("GET", "/tokens", nil, "admin", 200)
	call("DELETE", "/tokens/"+created.ID, nil, "admin", 204)
	call("DELETE", "/tokens/nope", nil, "admin", 404)
	call("GET", "/alerts/"+a.AlertID, nil, "viewer", 200)
	call("GET", "/nowhere", nil, "", 404)
	call("PUT", "/alerts/"+a.AlertID, nil, "", 405)
	for _, rt := range routes {
		if !ok[rt.method+" "+rt.path] {
			t.Errorf("route %s %s never answered successfully in the conformance scenario", rt.method, rt.path)
		}
	}
	// The document served is the embedded one.
	if r := e.do(req{method: "GET", path: "/openapi.json"}); string(r.raw) != string(openapiJSON) {
		t.Error("/openapi.json differs from the embedded document")
	}
	if got := e.do(req{method: "GET", path: "/docs"}).Header().Get("Location"); got != "/docs/" {
		t.Errorf("redirect to %q", got)
	}
}

// matchPattern matches a ServeMux-style path pattern against a path.
func matchPattern(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	for i, p := range ps {
		if strings.HasSuffix(p, "...}") {
			return true
		}
		if i >= len(xs) {
			return false
		}
		if strings.HasPrefix(p, "{") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if p != xs[i] {
			return false
		}
	}
	return len(ps) == len(xs)
}

func TestDocsAssetsHaveNoRemoteReferences(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, f := range []string{"/docs/", "/docs/swagger-initializer.js"} {
		r := e.do(req{method: "GET", path: f})
		if r.Code != http.StatusOK {
			t.Fatalf("%s: %d", f, r.Code)
		}
		if strings.Contains(string(r.raw), "http://") || strings.Contains(string(r.raw), "https://") {
			t.Errorf("%s references a remote URL", f)
		}
		if csp := r.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s CSP %q", f, csp)
		}
	}
	r := e.do(req{method: "GET", path: "/docs/"})
	for _, want := range []string{"swagger-ui-bundle.js", "swagger-initializer.js", "swagger-ui.css"} {
		if !strings.Contains(string(r.raw), want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	if r := e.do(req{method: "GET", path: "/docs/LICENSE"}); r.Code != 200 || !strings.Contains(string(r.raw), "Apache License") {
		t.Errorf("licence not served: %d", r.Code)
	}
	if r := e.do(req{method: "GET", path: "/docs/../api.go"}); r.Code == 200 {
		t.Error("path traversal served a file")
	}
}
