package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

// alertBody is the JSON of one alert: the wire record with empty lists as
// [] rather than null, and (for single-alert answers) history always present.
type alertBody struct {
	*schema.Alert
	History []schema.StatusChange `json:"history,omitempty"`
}

type alertDetail struct {
	*schema.Alert
	History []schema.StatusChange `json:"history"`
}

func tidy(a *schema.Alert) *schema.Alert {
	if a.InferenceIDs == nil {
		a.InferenceIDs = []string{}
	}
	if a.TTPTechniques == nil {
		a.TTPTechniques = []string{}
	}
	return a
}

func detail(a *schema.Alert) alertDetail {
	h := a.History
	if h == nil {
		h = []schema.StatusChange{}
	}
	return alertDetail{Alert: tidy(a), History: h}
}

type alertList struct {
	Alerts []alertBody `json:"alerts"`
	Total  int         `json:"total"`
	Limit  int         `json:"limit"`
	Offset int         `json:"offset"`
}

// GET /alerts
func (s *server) listAlerts(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	ps := newParams(r.URL, "tenant_id", "status", "severity", "alert_type", "endpoint_id", "hostname", "since", "until", "q", "limit", "offset")
	q := store.AlertQuery{
		Scope:      p.Scope,
		TenantID:   ps.str("tenant_id", 128),
		Statuses:   list(ps, "status", schema.ParseStatus),
		Severities: list(ps, "severity", schema.ParseSeverity),
		Kinds:      list(ps, "alert_type", parseKind),
		EndpointID: ps.str("endpoint_id", 256),
		Hostname:   strings.ToLower(ps.str("hostname", 256)),
		Text:       ps.str("q", 200),
		Limit:      ps.intIn("limit", store.DefaultLimit, 1, maxLimit),
		Offset:     ps.intIn("offset", 0, 0, maxOffset),
	}
	q.Since, q.Until = ps.timeRange()
	if e := ps.err(); e != nil {
		writeError(w, http.StatusBadRequest, "invalid query parameters", e)
		return
	}
	pg, err := s.st.ListAlerts(r.Context(), q)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := alertList{Alerts: make([]alertBody, len(pg.Alerts)), Total: pg.Total, Limit: q.Limit, Offset: q.Offset}
	for i := range pg.Alerts {
		out.Alerts[i] = alertBody{Alert: tidy(&pg.Alerts[i])}
	}
	writeJSON(w, http.StatusOK, out)
}

// GET /alerts/{alert_id}
func (s *server) getAlert(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a, err := s.st.GetAlert(r.Context(), p.Scope, r.PathValue("alert_id"))
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, detail(a))
}

// patchRequest is the PATCH body. Pointers distinguish "absent" from "set
// to empty" (assignee "" unassigns).
type patchRequest struct {
	Status   *string `json:"status"`
	Notes    *string `json:"notes"`
	Assignee *string `json:"assignee"`
	Comment  string  `json:"comment"`
}

// Field limits: audit entries repeat before and after values, so notes are
// bounded to keep history rows reasonable.
const (
	maxNotes    = 20000
	maxAssignee = 200
	maxComment  = 2000
	maxNote     = 5000
)

func textProblem(v string, limit int) string {
	switch {
	case len(v) > limit:
		return "longer than " + itoa(limit) + " bytes"
	case !utf8.ValidString(v):
		return "not valid UTF-8"
	case strings.ContainsRune(v, 0):
		return "contains NUL"
	}
	return ""
}

// PATCH /alerts/{alert_id}
func (s *server) patchAlert(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req patchRequest
	if !decodeBody(w, r, &req) {
		return
	}
	problems := map[string]string{}
	var patch store.Patch
	if req.Status == nil && req.Notes == nil && req.Assignee == nil {
		problems["body"] = "nothing to change: give status, notes and/or assignee"
	}
	if req.Status != nil {
		st, err := schema.ParseStatus(*req.Status)
		if err != nil {
			problems["status"] = err.Error()
		}
		patch.Status = &st
	}
	if req.Notes != nil {
		if e := textProblem(*req.Notes, maxNotes); e != "" {
			problems["notes"] = e
		}
		patch.Notes = req.Notes
	}
	if req.Assignee != nil {
		*req.Assignee = strings.TrimSpace(*req.Assignee)
		if e := textProblem(*req.Assignee, maxAssignee); e != "" {
			problems["assignee"] = e
		}
		patch.Assignee = req.Assignee
	}
	if e := textProblem(req.Comment, maxComment); e != "" {
		problems["comment"] = e
	}
	patch.Comment = req.Comment
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid alert update", problems)
		return
	}
	a, changes, err := s.st.PatchAlert(r.Context(), p.Scope, r.PathValue("alert_id"), patch, p.Actor(), s.now())
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	for _, c := range changes {
		s.m.triage.WithLabelValues(c.Field).Inc()
	}
	// The change committed with its outbox entry; publish it now so the
	// alerts service knows before the analyst's next click (the relay's
	// loop retries if the broker is unavailable).
	if len(changes) > 0 && s.relay != nil {
		s.relay.Flush(r.Context())
	}
	writeJSON(w, http.StatusOK, detail(a))
}
