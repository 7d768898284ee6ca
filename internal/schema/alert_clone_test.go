package schema

import (
	"reflect"
	"testing"
)

func TestAlertCloneDoesNotAlias(t *testing.T) {
	a := &Alert{
		AlertID: "a1", InferenceIDs: []string{"i1"}, TTPTechniques: []string{"T1047"},
		LinkedEndpoints: []string{"ws5", "ws6"}, LinkedAlerts: []string{"a0"},
		History: []StatusChange{{Actor: "analyst"}},
		Chain:   []LateralHop{{SourceEndpoint: "ws5", TargetEndpoint: "ws6", Accounts: []string{"pgustavo"}, Kinds: []string{"remote_wmi"}, Techniques: []string{"T1047"}}},
	}
	c := a.Clone()
	if !reflect.DeepEqual(a, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", a, c)
	}
	c.InferenceIDs[0], c.TTPTechniques[0], c.LinkedEndpoints[0], c.LinkedAlerts[0] = "x", "x", "x", "x"
	c.History[0].Actor = "x"
	c.Chain[0].SourceEndpoint, c.Chain[0].Accounts[0], c.Chain[0].Kinds[0], c.Chain[0].Techniques[0] = "x", "x", "x", "x"
	if a.InferenceIDs[0] != "i1" || a.TTPTechniques[0] != "T1047" || a.LinkedEndpoints[0] != "ws5" ||
		a.LinkedAlerts[0] != "a0" || a.History[0].Actor != "analyst" || a.Chain[0].SourceEndpoint != "ws5" ||
		a.Chain[0].Accounts[0] != "pgustavo" || a.Chain[0].Kinds[0] != "remote_wmi" || a.Chain[0].Techniques[0] != "T1047" {
		t.Fatalf("changing the clone changed the original: %+v", a)
	}
	if (&Alert{}).Clone().Chain != nil {
		t.Fatal("nil chain became non-nil")
	}
}
