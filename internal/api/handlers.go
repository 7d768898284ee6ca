package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
	"github.com/logster/logster/internal/telemetry"
)

func itoa(n int) string { return strconv.Itoa(n) }

type healthBody struct {
	Status        string  `json:"status"`
	Service       string  `json:"service"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	AlertsCount   int     `json:"alerts_count"`
	Auth          string  `json:"auth"`
	Store         string  `json:"store"`
	Error         string  `json:"error,omitempty"`
}

// GET /health — no token needed: it is the liveness check of operators'
// scripts and of compose. When auth is off it says so on every probe.
func (s *server) health(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	b := healthBody{
		Status:        "ok",
		Service:       ServiceName,
		UptimeSeconds: math.Round(s.now().Sub(s.started).Seconds()*1000) / 1000,
		Auth:          "enabled",
		Store:         s.cfg.Store,
	}
	if !s.authOn {
		b.Auth = "disabled"
	}
	n, err := s.st.CountAlerts(r.Context(), auth.Everything)
	if err != nil {
		s.log.Error("health: alert store unavailable", "err", err)
		b.Status, b.Error = "error", "alert store unavailable"
		writeJSON(w, http.StatusServiceUnavailable, b)
		return
	}
	b.AlertsCount = n
	writeJSON(w, http.StatusOK, b)
}

// GET /metrics
func (s *server) metrics(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	if s.gatherer == nil {
		writeError(w, http.StatusNotFound, "metrics are not served by this process", nil)
		return
	}
	telemetry.MetricsHandler(s.gatherer).ServeHTTP(w, r)
}

type endpointList struct {
	Endpoints []store.EndpointSummary `json:"endpoints"`
	Total     int                     `json:"total"`
	Limit     int                     `json:"limit"`
	Offset    int                     `json:"offset"`
}

// GET /endpoints
func (s *server) listEndpoints(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	ps := newParams(r.URL, "tenant_id", "q", "limit", "offset")
	q := store.EndpointQuery{
		Scope:    p.Scope,
		TenantID: ps.str("tenant_id", 128),
		Text:     ps.str("q", 200),
		Limit:    ps.intIn("limit", store.DefaultLimit, 1, maxLimit),
		Offset:   ps.intIn("offset", 0, 0, maxOffset),
	}
	if e := ps.err(); e != nil {
		writeError(w, http.StatusBadRequest, "invalid query parameters", e)
		return
	}
	pg, err := s.st.ListEndpoints(r.Context(), q)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, endpointList{Endpoints: pg.Endpoints, Total: pg.Total, Limit: q.Limit, Offset: q.Offset})
}

type feedbackRequest struct {
	AlertID        *string `json:"alert_id"`
	IsTruePositive *bool   `json:"is_true_positive"`
	Note           string  `json:"note"`
}

// POST /feedback
func (s *server) postFeedback(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req feedbackRequest
	if !decodeBody(w, r, &req) {
		return
	}
	problems := map[string]string{}
	if req.AlertID == nil || strings.TrimSpace(*req.AlertID) == "" {
		problems["alert_id"] = "required"
	} else if len(*req.AlertID) > 256 {
		problems["alert_id"] = "longer than 256 bytes"
	}
	if req.IsTruePositive == nil {
		problems["is_true_positive"] = "required (true or false)"
	}
	if e := textProblem(req.Note, maxNote); e != "" {
		problems["note"] = e
	}
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid feedback", problems)
		return
	}
	fb := schema.Feedback{
		AlertID:        *req.AlertID,
		IsTruePositive: *req.IsTruePositive,
		Note:           req.Note,
		Actor:          p.Actor(),
		At:             float64(s.now().UnixNano()) / 1e9,
	}
	rec, err := s.st.AddFeedback(r.Context(), p.Scope, fb)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	s.m.triage.WithLabelValues("feedback").Inc()
	writeJSON(w, http.StatusCreated, rec)
}

type feedbackList struct {
	Feedback []store.FeedbackRecord `json:"feedback"`
	Total    int                    `json:"total"`
	Limit    int                    `json:"limit"`
	Offset   int                    `json:"offset"`
}

// GET /feedback — the retraining export (admins).
func (s *server) listFeedback(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	ps := newParams(r.URL, "tenant_id", "since", "until", "limit", "offset")
	q := store.FeedbackQuery{
		Scope:    p.Scope,
		TenantID: ps.str("tenant_id", 128),
		Limit:    ps.intIn("limit", store.DefaultLimit, 1, maxLimit),
		Offset:   ps.intIn("offset", 0, 0, maxOffset),
	}
	q.Since, q.Until = ps.timeRange()
	if e := ps.err(); e != nil {
		writeError(w, http.StatusBadRequest, "invalid query parameters", e)
		return
	}
	pg, err := s.st.ListFeedback(r.Context(), q)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, feedbackList{Feedback: pg.Feedback, Total: pg.Total, Limit: q.Limit, Offset: q.Offset})
}

type tokenList struct {
	Tokens []auth.Token `json:"tokens"`
}

// GET /tokens — an admin sees the tokens whose tenants it covers.
func (s *server) listTokens(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if e := newParams(r.URL).err(); e != nil {
		writeError(w, http.StatusBadRequest, "invalid query parameters", e)
		return
	}
	all, err := s.st.ListTokens(r.Context())
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := tokenList{Tokens: []auth.Token{}}
	for _, t := range all {
		if p.Scope.Covers(t.Scope()) {
			out.Tokens = append(out.Tokens, t)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type createTokenRequest struct {
	Name      string   `json:"name"`
	Role      string   `json:"role"`
	Tenants   []string `json:"tenants"`
	ExpiresIn string   `json:"expires_in"`
}

type createdToken struct {
	auth.Token
	// Secret is shown once; only its hash is stored.
	Secret string `json:"token"`
}

// POST /tokens — an admin may hand out any role, for tenants it holds.
func (s *server) createToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req createTokenRequest
	if !decodeBody(w, r, &req) {
		return
	}
	problems := map[string]string{}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		problems["role"] = err.Error()
	}
	ttl, err := auth.ParseTTL(req.ExpiresIn)
	if err != nil {
		problems["expires_in"] = err.Error()
	}
	tenants, err := auth.NormalizeTenants(req.Tenants)
	if err != nil {
		problems["tenants"] = err.Error()
	}
	if err := auth.ValidateName(req.Name); err != nil {
		problems["name"] = err.Error()
	}
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid token request", problems)
		return
	}
	if !p.Scope.Covers(auth.NewScope(tenants)) {
		writeError(w, http.StatusForbidden, "a token can only be granted tenants its creator holds", nil)
		return
	}
	t, secret, err := auth.NewToken(req.Name, role, tenants, ttl, s.now())
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid token request", err.Error())
		return
	}
	t.CreatedBy = p.Actor()
	if err := s.st.CreateToken(r.Context(), t); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.log.Info("API token created", "token_id", t.ID, "name", t.Name, "role", t.Role, "tenants", t.Tenants, "by", t.CreatedBy)
	created, err := s.st.TokenByID(r.Context(), t.ID)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createdToken{Token: *created, Secret: secret})
}

// DELETE /tokens/{token_id}
func (s *server) revokeToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := r.PathValue("token_id")
	t, err := s.st.TokenByID(r.Context(), id)
	if err == nil && !p.Scope.Covers(t.Scope()) {
		// Like alerts: another tenant's token does not exist for you.
		err = store.ErrNotFound
	}
	if err == nil {
		err = s.st.RevokeToken(r.Context(), id, s.now())
	}
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	s.log.Info("API token revoked", "token_id", id, "by", p.Actor())
	w.WriteHeader(http.StatusNoContent)
}
