// Package component defines the lifecycle every long-running part of Logster
// follows (services, consumers, HTTP servers, the embedded broker), and a
// Group that starts parts in order and shuts them down in reverse.
package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Component is a long-running part. Start must return quickly (work runs in
// goroutines the component owns) and may fail; Shutdown must stop those
// goroutines, flush what must be flushed, be safe to call without Start and
// more than once, and honour ctx's deadline.
type Component interface {
	Start(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// Named pairs a component with a name for logs.
type Named struct {
	Name string
	Component
}

// Group starts components in order and shuts them down in reverse order,
// so consumers stop before the producers and stores they write to.
type Group struct {
	log     *slog.Logger
	mu      sync.Mutex
	parts   []Named
	started []Named
}

// NewGroup returns an empty group.
func NewGroup(log *slog.Logger) *Group {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Group{log: log}
}

// Add appends a component; it is started by Start in the order added.
func (g *Group) Add(name string, c Component) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.parts = append(g.parts, Named{name, c})
}

// Start starts every component in order. If one fails, those already
// started are shut down and the error names the failing component.
func (g *Group) Start(ctx context.Context) error {
	g.mu.Lock()
	parts := append([]Named(nil), g.parts...)
	g.mu.Unlock()
	for _, p := range parts {
		if err := p.Start(ctx); err != nil {
			serr := g.Shutdown(context.WithoutCancel(ctx))
			return errors.Join(fmt.Errorf("start %s: %w", p.Name, err), serr)
		}
		g.mu.Lock()
		g.started = append(g.started, p)
		g.mu.Unlock()
		g.log.Debug("component started", "component", p.Name)
	}
	return nil
}

// Shutdown stops started components in reverse order and joins their errors.
func (g *Group) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	started := g.started
	g.started = nil
	g.mu.Unlock()
	var errs []error
	for i := len(started) - 1; i >= 0; i-- {
		p := started[i]
		if err := p.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown %s: %w", p.Name, err))
		}
		g.log.Debug("component stopped", "component", p.Name)
	}
	return errors.Join(errs...)
}

// Func adapts two functions to a Component.
type Func struct {
	StartFunc    func(context.Context) error
	ShutdownFunc func(context.Context) error
}

// Start calls StartFunc if set.
func (f Func) Start(ctx context.Context) error {
	if f.StartFunc == nil {
		return nil
	}
	return f.StartFunc(ctx)
}

// Shutdown calls ShutdownFunc if set.
func (f Func) Shutdown(ctx context.Context) error {
	if f.ShutdownFunc == nil {
		return nil
	}
	return f.ShutdownFunc(ctx)
}
