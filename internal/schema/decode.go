package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// ErrUnsupportedVersion is returned for records written by a newer schema.
var ErrUnsupportedVersion = errors.New("unsupported schema_version")

// ValidationError names the field that made a record invalid.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason) }

func invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

func checkVersion(v *int) error {
	if *v > Version {
		return fmt.Errorf("%w: record has %d, this build understands up to %d", ErrUnsupportedVersion, *v, Version)
	}
	if *v < 0 {
		return invalid("schema_version", "negative")
	}
	if *v == 0 {
		*v = Version
	}
	return nil
}

func checkTime(field string, t float64) error {
	if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
		return invalid(field, "not a finite non-negative epoch time")
	}
	return nil
}

// Validate checks a NormalizedEvent for the fields every consumer relies on.
func (e *NormalizedEvent) Validate() error {
	if err := checkVersion(&e.SchemaVersion); err != nil {
		return err
	}
	switch {
	case e.EventID == "":
		return invalid("event_id", "empty")
	case e.TenantID == "":
		return invalid("tenant_id", "empty")
	case e.EndpointID == "":
		return invalid("endpoint_id", "empty")
	case !e.Platform.Valid():
		return invalid("platform", fmt.Sprintf("%q is not windows or linux", e.Platform))
	case !e.EventType.Valid():
		return invalid("event_type", fmt.Sprintf("%q is not a known event type", e.EventType))
	}
	return checkTime("timestamp", e.Timestamp)
}

// Validate checks an InferenceResult.
func (r *InferenceResult) Validate() error {
	if err := checkVersion(&r.SchemaVersion); err != nil {
		return err
	}
	switch {
	case r.InferenceID == "":
		return invalid("inference_id", "empty")
	case r.TenantID == "":
		return invalid("tenant_id", "empty")
	case r.EndpointID == "":
		return invalid("endpoint_id", "empty")
	case !r.Prediction.Valid():
		return invalid("prediction", fmt.Sprintf("%q is not attack, benign or error", r.Prediction))
	case math.IsNaN(r.AttackProb) || r.AttackProb < 0 || r.AttackProb > 1:
		return invalid("attack_prob", "not in [0,1]")
	case math.IsNaN(r.Confidence) || r.Confidence < 0 || r.Confidence > 1:
		return invalid("confidence", "not in [0,1]")
	case r.WindowEnd < r.WindowStart:
		return invalid("window_end", "before window_start")
	}
	if err := checkTime("window_start", r.WindowStart); err != nil {
		return err
	}
	return checkTime("window_end", r.WindowEnd)
}

// Validate checks an Alert.
func (a *Alert) Validate() error {
	if err := checkVersion(&a.SchemaVersion); err != nil {
		return err
	}
	switch {
	case a.AlertID == "":
		return invalid("alert_id", "empty")
	case a.TenantID == "":
		return invalid("tenant_id", "empty")
	case a.Kind != AlertKindEndpoint && a.Kind != AlertKindLateralMovement:
		return invalid("alert_type", fmt.Sprintf("%q is not endpoint or lateral_movement", a.Kind))
	case a.Severity.Rank() == 0:
		return invalid("severity", fmt.Sprintf("%q is not a known severity", a.Severity))
	case math.IsNaN(a.AttackProb) || a.AttackProb < 0 || a.AttackProb > 1:
		return invalid("attack_prob", "not in [0,1]")
	}
	if _, err := ParseStatus(string(a.Status)); err != nil {
		return invalid("status", err.Error())
	}
	return nil
}

// DecodeEvent parses and validates a NormalizedEvent from JSON.
func DecodeEvent(b []byte) (*NormalizedEvent, error) {
	var e NormalizedEvent
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode normalized event: %w", err)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("normalized event %s: %w", e.EventID, err)
	}
	return &e, nil
}

// DecodeInference parses and validates an InferenceResult from JSON.
func DecodeInference(b []byte) (*InferenceResult, error) {
	var r InferenceResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode inference result: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("inference result %s: %w", r.InferenceID, err)
	}
	return &r, nil
}

// DecodeAlert parses and validates an Alert from JSON.
func DecodeAlert(b []byte) (*Alert, error) {
	var a Alert
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("decode alert: %w", err)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("alert %s: %w", a.AlertID, err)
	}
	return &a, nil
}
