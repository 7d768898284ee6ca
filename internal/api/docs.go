package api

import (
	"bytes"
	"embed"
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/logster/logster/internal/auth"
)

//go:embed assets/index.html assets/swagger-initializer.js assets/logster.css assets/swagger-ui-bundle.js assets/swagger-ui.css assets/LICENSE assets/NOTICE assets/swagger-ui-bundle.js.LICENSE.txt
var assets embed.FS

//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns the OpenAPI 3 document served at /openapi.json.
func OpenAPI() []byte { return bytes.Clone(openapiJSON) }

// GET /openapi.json
func (s *server) openapi(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapiJSON) //nolint:errcheck // the client went away
}

// GET /docs — the UI's relative asset paths need the trailing slash.
func (s *server) docsRedirect(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	http.Redirect(w, r, "/docs/", http.StatusMovedPermanently)
}

// docsCSP lets Swagger UI run: its own scripts and styles (it sets inline
// styles), data: images, and calls to this API only.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

var startTime = time.Now()

// GET /docs/{file...} — Swagger UI from embedded assets.
func (s *server) docs(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	name := r.PathValue("file")
	if name == "" {
		name = "index.html"
	}
	if path.Clean(name) != name {
		writeError(w, http.StatusNotFound, "no such file", nil)
		return
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		writeError(w, http.StatusNotFound, "no such file", nil)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" || path.Base(name) == "LICENSE" || path.Base(name) == "NOTICE" {
		ct = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Security-Policy", docsCSP)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeContent(w, r, name, startTime, bytes.NewReader(b))
}
