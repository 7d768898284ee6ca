package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/store"
)

// errorBody is every error response: {"error": "...", "detail": ...}.
type errorBody struct {
	Error  string `json:"error"`
	Detail any    `json:"detail,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here (an unencodable type).
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal error: could not encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away
}

func writeError(w http.ResponseWriter, status int, msg string, detail any) {
	writeJSON(w, status, errorBody{Error: msg, Detail: detail})
}

// storeError maps a store failure to a response; unexpected errors are
// logged with the request and answered without internals.
func (s *server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	var te *store.TransitionError
	switch {
	case errors.As(err, &te):
		writeError(w, http.StatusConflict, "illegal status transition", map[string]any{
			"from": te.From, "to": te.To, "allowed": te.Allowed(),
		})
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not found", nil)
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "request timed out", nil)
	case errors.Is(err, context.Canceled):
		// The client is gone; nobody reads this.
		writeError(w, http.StatusServiceUnavailable, "request cancelled", nil)
	default:
		s.log.Error("store failure", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error", nil)
	}
}

func (s *server) authFailure(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, auth.ErrMalformed) || errors.Is(err, auth.ErrInvalid) {
		s.m.authFailures.Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="logster"`)
		msg := "missing or invalid bearer token"
		writeError(w, http.StatusUnauthorized, msg, nil)
		return
	}
	s.storeError(w, r, err)
}

// decodeBody reads a JSON object strictly: application/json only, unknown
// fields and trailing data refused, size bounded by the body limit.
// It writes the error response itself and returns false on failure.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", map[string]any{"got": ct})
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit), nil)
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "malformed JSON body", err.Error())
	case errors.As(err, &te):
		writeError(w, http.StatusBadRequest, "malformed JSON body", fmt.Sprintf("field %q must be %s", te.Field, te.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		writeError(w, http.StatusBadRequest, "unknown field in body", strings.TrimPrefix(err.Error(), "json: "))
	default:
		writeError(w, http.StatusBadRequest, "malformed JSON body", err.Error())
	}
	return false
}
