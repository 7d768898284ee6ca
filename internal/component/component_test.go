package component

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type rec struct {
	name string
	log  *[]string
	fail bool
}

func (r rec) Start(context.Context) error {
	*r.log = append(*r.log, "start "+r.name)
	if r.fail {
		return errors.New("boom")
	}
	return nil
}

func (r rec) Shutdown(context.Context) error {
	*r.log = append(*r.log, "stop "+r.name)
	return nil
}

func TestGroupOrder(t *testing.T) {
	t.Parallel()
	var log []string
	g := NewGroup(nil)
	for _, n := range []string{"broker", "consumer", "http"} {
		g.Add(n, rec{name: n, log: &log})
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "start broker,start consumer,start http,stop http,stop consumer,stop broker"
	if got := strings.Join(log, ","); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	// Shutdown twice, or without Start, is safe and does nothing.
	if err := g.Shutdown(context.Background()); err != nil || len(log) != 6 {
		t.Fatal("second shutdown did something")
	}
}

func TestGroupStartFailureStopsStarted(t *testing.T) {
	t.Parallel()
	var log []string
	g := NewGroup(nil)
	g.Add("a", rec{name: "a", log: &log})
	g.Add("b", rec{name: "b", log: &log, fail: true})
	g.Add("c", rec{name: "c", log: &log})
	err := g.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start b") {
		t.Fatalf("error %v does not name the component", err)
	}
	if got := strings.Join(log, ","); got != "start a,start b,stop a" {
		t.Fatalf("got %s", got)
	}
}

func TestFunc(t *testing.T) {
	t.Parallel()
	var f Func
	if f.Start(context.Background()) != nil || f.Shutdown(context.Background()) != nil {
		t.Fatal("empty Func must be a no-op")
	}
}
