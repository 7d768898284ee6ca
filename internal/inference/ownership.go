package inference

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/logster/logster/internal/bus"
)

// onAssigned resumes the endpoints of newly assigned partitions from the
// store (a restart, or a partition taken over from another replica). A
// store that does not answer is retried by the scheduler; meanwhile an
// endpoint also resumes on its next event, since every Add returns its
// state.
func (s *Service) onAssigned(ctx context.Context, assigned map[string][]int32) {
	parts := assigned[bus.TopicNormalized]
	if len(parts) == 0 {
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	for _, p := range parts {
		s.toLoad[p] = true
		// A fresh partition has not been silent: idle time starts now.
		if s.parts[p] == nil {
			s.parts[p] = &partition{lastActive: now}
		}
		s.parts[p].lastActive = now
	}
	s.mu.Unlock()
	s.loadPending(ctx, now)
}

// loadPending loads the endpoints of assigned partitions not loaded yet.
func (s *Service) loadPending(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var parts []int32
	for p := range s.toLoad {
		parts = append(parts, p)
	}
	s.mu.Unlock()
	if len(parts) == 0 {
		return
	}
	slices.Sort(parts)
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	metas, err := s.store.Endpoints(lctx, parts, now)
	if err != nil {
		s.limiter.Log(s.log, slog.LevelWarn, "load", "resuming windows of assigned partitions failed; retrying", "partitions", parts, "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resumed := 0
	for _, p := range parts {
		if !s.toLoad[p] {
			continue // revoked meanwhile
		}
		delete(s.toLoad, p)
	}
	for _, m := range metas {
		p := s.parts[m.Partition]
		if p == nil || s.eps[m.Key] != nil || len(m.Panes) == 0 {
			continue
		}
		s.eps[m.Key] = &endpoint{key: m.Key, partition: m.Partition, meta: m, lastWall: now}
		if m.LastLog.After(p.logTime) {
			p.logTime = m.LastLog
		}
		resumed++
	}
	s.m.active.Set(float64(len(s.eps)))
	if resumed > 0 {
		s.log.Info("resumed endpoint windows from the store", "endpoints", resumed, "partitions", parts)
	}
	s.poke()
}

// onRevoked stops evaluating the revoked partitions' endpoints and waits
// (bounded) for their runs in flight, so the new owner never works on a
// window this replica is still publishing.
func (s *Service) onRevoked(ctx context.Context, revoked map[string][]int32) {
	parts := revoked[bus.TopicNormalized]
	if len(parts) == 0 {
		return
	}
	gone := map[int32]bool{}
	for _, p := range parts {
		gone[p] = true
	}
	s.mu.Lock()
	var busy []*endpoint
	for k, ep := range s.eps {
		if !gone[ep.partition] {
			continue
		}
		ep.revoked = true
		delete(s.eps, k)
		if ep.running {
			busy = append(busy, ep)
		}
	}
	s.queue = slices.DeleteFunc(s.queue, func(ep *endpoint) bool {
		if ep.revoked && !ep.running {
			ep.queued = false
			return true
		}
		return false
	})
	for p := range gone {
		if pp := s.parts[p]; pp != nil && pp.failing {
			s.stalls--
			if s.stalls == 0 {
				s.stallEnd = s.clock.Now()
			}
		}
		delete(s.parts, p)
		delete(s.toLoad, p)
	}
	s.m.active.Set(float64(len(s.eps)))
	s.m.backlog.Set(float64(len(s.queue)))
	s.changed.Broadcast()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stop := context.AfterFunc(wctx, func() {
		s.mu.Lock()
		s.changed.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	for wctx.Err() == nil && slices.ContainsFunc(busy, func(ep *endpoint) bool { return ep.running }) {
		s.changed.Wait()
	}
	s.mu.Unlock()
	s.log.Info("stopped evaluating revoked partitions", "partitions", parts)
}
