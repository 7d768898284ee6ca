package normalize

import (
	"sync"
	"time"
)

// AuditAssembler joins the lines of one audit event when a shipper sends
// them one per Kafka record (auditd's own af_unix/syslog plugins, or a
// Filebeat/Fluent Bit tailing audit.log line by line).
//
// Why an assembler rather than only requiring batching: most shippers tail
// audit.log line by line and cannot be told where an event ends. The
// kernel ends every multi-record event with an EOE record, so an event is
// complete at its EOE; user-space records (PAM, shadow-utils) and AUOMS
// records are single-line events and complete at once. An event whose EOE
// never comes (a shipper that drops it, a lost line) is emitted as it is
// after the window, and at most maxPending events are held: the oldest is
// emitted incomplete rather than memory growing. Lines of one event stay
// in one partition when the shipper keys by host, which the assembler
// relies on (it is per partition).
//
// Delivery: the assembler remembers the lowest Kafka offset of every
// pending event's lines, and the consumer never commits a partition past
// the lowest of them (HeldFrom). A crash therefore redelivers the lines of
// the events that were pending, and the new run assembles them again; lines
// of events already produced may be redelivered with them and yield the
// same event ids (host, serial, time), which the window store drops as
// duplicates. When a partition is taken away its pending events are
// dropped (DropPartitions): its new owner re-reads them from the committed
// offset.
type AuditAssembler struct {
	window     time.Duration
	maxPending int

	mu      sync.Mutex
	pending map[asmKey]*pendingAudit
	fifo    []asmKey // insertion order; entries may be stale
}

type asmKey struct {
	topic  string
	part   int32
	node   string
	ts     string
	serial uint64
}

type pendingAudit struct {
	ev     *auditEvent
	topic  string
	part   int32
	first  time.Time
	offset int64 // lowest Kafka offset of its lines; -1 when not from Kafka
}

// NewAuditAssembler returns an assembler that emits an event at its EOE,
// or window after its first line, holding at most maxPending events.
func NewAuditAssembler(window time.Duration, maxPending int) *AuditAssembler {
	if maxPending < 1 {
		maxPending = 1
	}
	return &AuditAssembler{window: window, maxPending: maxPending, pending: map[asmKey]*pendingAudit{}}
}

// Len is the number of events waiting for more lines.
func (a *AuditAssembler) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// add files one line; it returns the events this line completed (and any
// evicted to stay within maxPending).
func (a *AuditAssembler) add(src Source, node, tenant, tsText string, serial uint64, rec auditRecord, part int32, topic string, offset int64) []*auditEvent {
	now := time.Now()
	k := asmKey{topic: topic, part: part, node: node, ts: tsText, serial: serial}
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pending[k]
	if rec.typ == "EOE" {
		if p == nil {
			return nil
		}
		delete(a.pending, k)
		p.ev.eoe = true
		return []*auditEvent{p.ev}
	}
	single := rec.typ != "SYSCALL" && !isKernelAux(rec.typ)
	if p == nil && single {
		return []*auditEvent{{src: src, node: node, tenant: tenant, tsText: tsText, serial: serial, records: []auditRecord{rec}}}
	}
	if p == nil {
		p = &pendingAudit{ev: &auditEvent{src: src, node: node, tenant: tenant, tsText: tsText, serial: serial}, topic: topic, part: part, first: now, offset: offset}
		a.pending[k] = p
		a.fifo = append(a.fifo, k)
	}
	if offset >= 0 && (p.offset < 0 || offset < p.offset) {
		p.offset = offset
	}
	p.ev.records = append(p.ev.records, rec)
	var out []*auditEvent
	for len(a.pending) > a.maxPending {
		if ev := a.popOldest(); ev != nil {
			out = append(out, ev)
		}
	}
	return out
}

// HeldFrom returns the lowest Kafka offset of topic/partition whose line
// belongs to a pending event: the consumer must not commit past it.
func (a *AuditAssembler) HeldFrom(topic string, part int32) (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	low, ok := int64(0), false
	for k, p := range a.pending {
		if k.topic != topic || k.part != part || p.offset < 0 {
			continue
		}
		if !ok || p.offset < low {
			low, ok = p.offset, true
		}
	}
	return low, ok
}

// DropPartitions forgets the pending events of partitions this consumer no
// longer owns; their lines are re-read by the new owner from the committed
// offset, which HeldFrom kept at or below them.
func (a *AuditAssembler) DropPartitions(parts map[string][]int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.pending {
		for _, p := range parts[k.topic] {
			if p == k.part {
				delete(a.pending, k)
				break
			}
		}
	}
}

// popOldest removes and returns the oldest pending event.
func (a *AuditAssembler) popOldest() *auditEvent {
	for len(a.fifo) > 0 {
		k := a.fifo[0]
		a.fifo = a.fifo[1:]
		if p, ok := a.pending[k]; ok {
			delete(a.pending, k)
			return p.ev
		}
	}
	return nil
}

// take returns events older than the window (all of them when all is set).
func (a *AuditAssembler) take(now time.Time, all bool) []*pendingAudit {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*pendingAudit
	for len(a.fifo) > 0 {
		k := a.fifo[0]
		p, ok := a.pending[k]
		if !ok {
			a.fifo = a.fifo[1:]
			continue
		}
		if !all && now.Sub(p.first) < a.window {
			break
		}
		a.fifo = a.fifo[1:]
		delete(a.pending, k)
		out = append(out, p)
	}
	if len(a.fifo) == 0 && cap(a.fifo) > 4*a.maxPending {
		a.fifo = nil // let a burst's backing array go
	}
	return out
}

// FlushAudit normalizes the events a has held for longer than its window
// (every pending event when all is set, e.g. at shutdown or end of file)
// and reports them to emit.
func (n *Normalizer) FlushAudit(a *AuditAssembler, now time.Time, all bool, emit Emit) {
	if a == nil {
		return
	}
	for _, p := range a.take(now, all) {
		in := Input{Topic: p.topic}
		c := &ctx{n: n, in: &in, emit: emit}
		c.auditEvent(p.ev)
	}
}
