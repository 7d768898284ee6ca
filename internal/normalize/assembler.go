package normalize

import (
	"slices"
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
// Delivery. For lines read from Kafka the assembler keeps, per event, the
// lowest offset of its lines, until the event's production is
// acknowledged: while it waits for more lines, and after it was handed out
// (as the outputs of the record that completed or evicted it, or by a
// flush) until Acked or the flush's release says it is durable. HeldFrom
// reports the lowest such offset per partition and the consumer never
// commits past it, so a crash redelivers those lines and the next run
// assembles them again. Lines of events already produced may come back
// with them and give the same event ids (host, serial, time), which the
// window store drops as duplicates. A record whose outputs failed is
// handled again in the same session: the events it handed out are handed
// out again and its lines are not added twice. Partitions taken away drop
// their state (DropPartitions); the new owner re-reads them.
type AuditAssembler struct {
	window     time.Duration
	maxPending int

	mu       sync.Mutex
	pending  map[asmKey]*pendingAudit
	fifo     []fifoEntry // insertion order; entries whose event left are stale
	inflight []*pendingAudit
	handled  map[partKey]int64 // highest offset seen per partition: lower or equal is a replay
}

// maxEventLines bounds the records of one assembled event (real kernel
// events have a few dozen at most).
const maxEventLines = 256

type asmKey struct {
	topic  string
	part   int32
	node   string
	ts     string
	serial uint64
}

// fifoEntry names a pending event in insertion order; it is stale once
// pending[k] is no longer p (the event left, or a later one reuses k).
type fifoEntry struct {
	k asmKey
	p *pendingAudit
}

func (a *AuditAssembler) live(e fifoEntry) bool { return a.pending[e.k] == e.p }

type partKey struct {
	topic string
	part  int32
}

type pendingAudit struct {
	ev     *auditEvent
	topic  string
	part   int32
	first  time.Time
	offset int64 // lowest Kafka offset of its lines; -1 when not from Kafka
	// Once handed out: the record whose outputs carry it (byOff), or a
	// flush (byOff -1), until acknowledged.
	by    partKey
	byOff int64
}

// NewAuditAssembler returns an assembler that emits an event at its EOE,
// or window after its first line, holding at most maxPending events.
func NewAuditAssembler(window time.Duration, maxPending int) *AuditAssembler {
	if maxPending < 1 {
		maxPending = 1
	}
	return &AuditAssembler{window: window, maxPending: maxPending, pending: map[asmKey]*pendingAudit{}, handled: map[partKey]int64{}}
}

// Len is the number of events waiting for more lines.
func (a *AuditAssembler) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// handOut records that p leaves the assembler as an output of record
// (topic, part, offset) (offset -1: a flush); events not read from Kafka
// are not tracked.
func (a *AuditAssembler) handOut(p *pendingAudit, topic string, part int32, offset int64) {
	if p.offset < 0 {
		return
	}
	p.by, p.byOff = partKey{topic, part}, offset
	a.inflight = append(a.inflight, p)
}

// begin starts a Kafka record (offset -1: not from Kafka). replay reports a
// record handled before in this session (its outputs failed and the
// partition was rewound, or a duplicate delivery); again are the events it
// handed out the first time, to be handed out again.
func (a *AuditAssembler) begin(topic string, part int32, offset int64) (replay bool, again []*auditEvent) {
	if offset < 0 {
		return false, nil
	}
	pk := partKey{topic, part}
	a.mu.Lock()
	defer a.mu.Unlock()
	if h, ok := a.handled[pk]; ok && offset <= h {
		for _, p := range a.inflight {
			if p.by == pk && p.byOff == offset {
				again = append(again, p.ev)
			}
		}
		return true, again
	}
	a.handled[pk] = offset
	return false, nil
}

// add files one line of record (topic, part, offset); it returns the events
// the line hands out: the one it completed, those evicted to stay within
// maxPending, or itself when it is a single-line event. A line of a
// replayed record only yields its single-line event again: its other lines
// are in the assembler already, and what it completed or evicted is handed
// out again by begin.
func (a *AuditAssembler) add(src Source, node, tenant, tsText string, serial uint64, rec auditRecord, part int32, topic string, offset int64, replay bool) []*auditEvent {
	now := time.Now()
	k := asmKey{topic: topic, part: part, node: node, ts: tsText, serial: serial}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*auditEvent
	p := a.pending[k]
	single := rec.typ != "SYSCALL" && !isKernelAux(rec.typ) && rec.typ != "EOE"
	if replay {
		if p == nil && single {
			return []*auditEvent{{src: src, node: node, tenant: tenant, tsText: tsText, serial: serial, records: []auditRecord{rec}}}
		}
		return nil
	}
	if rec.typ == "EOE" {
		if p == nil {
			return out
		}
		delete(a.pending, k)
		p.ev.eoe = true
		a.handOut(p, topic, part, offset)
		return append(out, p.ev)
	}
	if p == nil && single {
		return append(out, &auditEvent{src: src, node: node, tenant: tenant, tsText: tsText, serial: serial, records: []auditRecord{rec}})
	}
	if p == nil {
		p = &pendingAudit{ev: &auditEvent{src: src, node: node, tenant: tenant, tsText: tsText, serial: serial, assembled: true},
			topic: topic, part: part, first: now, offset: offset}
		a.pending[k] = p
		a.fifo = append(a.fifo, fifoEntry{k, p})
	}
	if offset >= 0 && (p.offset < 0 || offset < p.offset) {
		p.offset = offset
	}
	p.ev.records = append(p.ev.records, rec)
	if len(p.ev.records) >= maxEventLines {
		// A runaway event (a lost EOE on a busy serial, a hostile
		// shipper) is handed out as it is rather than grow.
		delete(a.pending, k)
		a.handOut(p, topic, part, offset)
		out = append(out, p.ev)
	}
	if len(a.fifo) > 2*len(a.pending)+a.maxPending {
		// Completed events leave stale keys behind; compact.
		a.fifo = slices.DeleteFunc(a.fifo, func(e fifoEntry) bool { return !a.live(e) })
	}
	for len(a.pending) > a.maxPending {
		old := a.popOldest()
		if old == nil {
			break
		}
		// Carried by this record's outputs, whatever partition it came
		// from: HeldFrom keeps counting it until they are acknowledged.
		a.handOut(old, topic, part, offset)
		out = append(out, old.ev)
	}
	return out
}

// popOldest removes and returns the oldest pending event.
func (a *AuditAssembler) popOldest() *pendingAudit {
	for len(a.fifo) > 0 {
		e := a.fifo[0]
		a.fifo = a.fifo[1:]
		if a.live(e) {
			delete(a.pending, e.k)
			return e.p
		}
	}
	return nil
}

// Acked tells the assembler that the outputs of every record of
// topic/partition up to offset through are acknowledged: the events they
// carried no longer hold the partition's commit.
func (a *AuditAssembler) Acked(topic string, part int32, through int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	by := partKey{topic, part}
	a.inflight = slices.DeleteFunc(a.inflight, func(p *pendingAudit) bool {
		return p.by == by && p.byOff >= 0 && p.byOff <= through
	})
}

// HeldFrom returns the lowest Kafka offset of topic/partition whose line
// belongs to an event not yet produced: the consumer must not commit past
// it.
func (a *AuditAssembler) HeldFrom(topic string, part int32) (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	low, ok := int64(0), false
	see := func(p *pendingAudit) {
		if p.topic == topic && p.part == part && p.offset >= 0 && (!ok || p.offset < low) {
			low, ok = p.offset, true
		}
	}
	for _, p := range a.pending {
		see(p)
	}
	for _, p := range a.inflight {
		see(p)
	}
	return low, ok
}

// DropPartitions forgets the events of partitions this consumer no longer
// owns, and those handed out by their records; the new owner re-reads
// their lines from the committed offset, which HeldFrom kept at or below
// them.
func (a *AuditAssembler) DropPartitions(parts map[string][]int32) {
	owned := func(topic string, part int32) bool {
		for _, p := range parts[topic] {
			if p == part {
				return true
			}
		}
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.pending {
		if owned(k.topic, k.part) {
			delete(a.pending, k)
		}
	}
	for pk := range a.handled {
		if owned(pk.topic, pk.part) {
			delete(a.handled, pk)
		}
	}
	a.inflight = slices.DeleteFunc(a.inflight, func(p *pendingAudit) bool {
		switch {
		case owned(p.topic, p.part):
			return true // its lines are re-read by their new owner
		case p.byOff >= 0 && owned(p.by.topic, p.by.part):
			// Evicted by a record of a partition we lose, from one we
			// keep: nobody would re-read it, so it goes back to pending,
			// due at once (flushed within one window: the FIFO is in
			// arrival order).
			// When more of its lines arrived meanwhile they started a
			// new pending event under the same key: merge, earlier lines
			// first.
			k := asmKey{topic: p.topic, part: p.part, node: p.ev.node, ts: p.ev.tsText, serial: p.ev.serial}
			p.first, p.by, p.byOff = time.Time{}, partKey{}, 0
			if cur, dup := a.pending[k]; dup {
				cur.ev.records = append(p.ev.records, cur.ev.records...)
				cur.offset = min(cur.offset, p.offset)
				cur.first = time.Time{}
			} else {
				a.pending[k] = p
				a.fifo = append(a.fifo, fifoEntry{k, p})
			}
			return true
		}
		return false
	})
}

// take returns events older than the window (all of them when all is set),
// handed out to a flush.
func (a *AuditAssembler) take(now time.Time, all bool) []*pendingAudit {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*pendingAudit
	for len(a.fifo) > 0 {
		e := a.fifo[0]
		if !a.live(e) {
			a.fifo = a.fifo[1:]
			continue
		}
		if !all && now.Sub(e.p.first) < a.window {
			break
		}
		a.fifo = a.fifo[1:]
		delete(a.pending, e.k)
		a.handOut(e.p, "", 0, -1)
		out = append(out, e.p)
	}
	if len(a.fifo) == 0 && cap(a.fifo) > 4*a.maxPending {
		a.fifo = nil // let a burst's backing array go
	}
	return out
}

// release tells the assembler that a flush's events are produced.
func (a *AuditAssembler) release(ps []*pendingAudit) {
	if len(ps) == 0 {
		return
	}
	set := make(map[*pendingAudit]bool, len(ps))
	for _, p := range ps {
		set[p] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight = slices.DeleteFunc(a.inflight, func(p *pendingAudit) bool { return set[p] })
}

// FlushAudit normalizes the events a has held for longer than its window
// (every pending event when all is set, e.g. at end of file) and reports
// them to emit. The caller calls the returned release once the emitted
// events are durable (the service: acknowledged by the brokers); until
// then they keep their partitions' commits below their lines.
func (n *Normalizer) FlushAudit(a *AuditAssembler, now time.Time, all bool, emit Emit) (release func()) {
	if a == nil {
		return func() {}
	}
	taken := a.take(now, all)
	for _, p := range taken {
		in := Input{Topic: p.topic}
		c := &ctx{n: n, in: &in, emit: emit}
		c.auditEvent(p.ev)
	}
	return func() { a.release(taken) }
}
