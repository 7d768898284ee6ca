// Package normalize turns raw endpoint telemetry (the five raw Kafka topics
// are the trust boundary) into schema.NormalizedEvent records.
//
// One file per input format: winlogbeat.go (Winlogbeat 7/8 and records read
// from EVTX), winlogbeat6.go, nxlog.go, windows_flat.go (the TimeCreated /
// Message layout), sentinel.go (Azure WindowsEvent rows), auditd.go (raw
// audit lines and shipper JSON around them), auoms.go, auditbeat.go,
// tetragon.go, ebpf.go (Logster's own eBPF schema, docs/ebpf-schema.md) and
// sysmon_linux.go. The Windows shapes are all reduced to one record model
// (winRecord) and mapped by windows.go, so a Sysmon event means the same
// thing whichever shipper carried it.
//
// The service (`logster normalizer`, service.go) and the offline tool
// (`logster normalize`) share Normalizer; the offline tool only adds file
// readers (internal/ingest).
package normalize

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

// Source names a raw input format. It is the `source` of every
// NormalizedEvent and the `source` label of the metrics.
type Source string

// The formats the normalizer understands. SourceAuto asks for detection.
const (
	SourceAuto        Source = "auto"
	SourceUnknown     Source = "unknown" // detection failed (metrics label only)
	SourceWinlogbeat  Source = "winlogbeat"
	SourceWinlogbeat6 Source = "winlogbeat6"
	SourceNXLog       Source = "nxlog"
	SourceWindowsFlat Source = "windows_flat"
	SourceSentinel    Source = "sentinel_windows"
	SourceEVTX        Source = "evtx"
	SourceAuditd      Source = "auditd"
	SourceAuditbeat   Source = "auditbeat"
	SourceAUOMS       Source = "auoms"
	SourceTetragon    Source = "tetragon"
	SourceLogsterEBPF Source = "logster_ebpf"
	SourceSysmonLinux Source = "sysmon_linux"
	sourceCount              = 14
)

// Sources lists every concrete source (for flags and documentation).
var Sources = []Source{
	SourceWinlogbeat, SourceWinlogbeat6, SourceNXLog, SourceWindowsFlat, SourceSentinel,
	SourceEVTX, SourceAuditd, SourceAuditbeat, SourceAUOMS, SourceTetragon,
	SourceLogsterEBPF, SourceSysmonLinux,
}

// ParseSource validates a --source value.
func ParseSource(s string) (Source, error) {
	if s == "" || s == string(SourceAuto) {
		return SourceAuto, nil
	}
	for _, v := range Sources {
		if string(v) == s {
			return v, nil
		}
	}
	names := make([]string, len(Sources))
	for i, v := range Sources {
		names[i] = string(v)
	}
	return "", fmt.Errorf("unknown source %q: want auto or one of %s", s, strings.Join(names, ", "))
}

// Platform reports the platform a source's events belong to.
func (s Source) Platform() schema.Platform {
	switch s {
	case SourceWinlogbeat, SourceWinlogbeat6, SourceNXLog, SourceWindowsFlat, SourceSentinel, SourceEVTX:
		return schema.PlatformWindows
	}
	return schema.PlatformLinux
}

// Reason classifies why a record produced no event. The set is fixed (it
// is a metric label) and documented in docs/normalizer.md.
type Reason string

const (
	// ReasonOversized: larger than normalizer.max_record_bytes; rejected
	// before any parsing.
	ReasonOversized Reason = "oversized"
	// ReasonInvalidJSON: looked like JSON but did not parse (truncated,
	// too deep, not an object).
	ReasonInvalidJSON Reason = "invalid_json"
	// ReasonUnknownFormat: parsed, but matches none of the known shapes.
	ReasonUnknownFormat Reason = "unknown_format"
	// ReasonMissingField: a field the event cannot exist without (host,
	// time, event id, ...) is absent or empty.
	ReasonMissingField Reason = "missing_field"
	// ReasonBadTimestamp: the event time does not parse or is out of range.
	ReasonBadTimestamp Reason = "bad_timestamp"
	// ReasonInvalidField: a field has the wrong type or an impossible value
	// (e.g. an event id that is not a number, a tenant with ':').
	ReasonInvalidField Reason = "invalid_field"
	// ReasonUnknownType: a well-formed record of a kind Logster does not
	// map (e.g. Security 4658 handle closed). Counted, then dropped.
	ReasonUnknownType Reason = "unknown_type"
	// ReasonPartialEvent: an audit event assembled across records holds
	// only the tail of an event (PATH, CWD, EOE without its SYSCALL): what
	// re-reading a partition from a held offset after a restart or a
	// rebalance yields for events already produced. Counted, then dropped,
	// not poison.
	ReasonPartialEvent Reason = "partial_event"
)

// Reasons lists every reason (summary order).
var Reasons = []Reason{ReasonOversized, ReasonInvalidJSON, ReasonUnknownFormat, ReasonMissingField,
	ReasonBadTimestamp, ReasonInvalidField, ReasonUnknownType, ReasonPartialEvent}

// ParseError says why one record (or one auditd event) produced no event.
type ParseError struct {
	Reason Reason
	Source Source
	// Channel is the channel / record type / event kind when known, for
	// per-channel coverage ("security", "SYSCALL", "process_kprobe").
	Channel string
	// NativeID is the channel-specific event id when known (4658, 59, ...).
	NativeID int
	Err      error
}

func (e *ParseError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s: %s", e.Source, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %v", e.Source, e.Reason, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

func perr(src Source, reason Reason, format string, args ...any) *ParseError {
	return &ParseError{Reason: reason, Source: src, Err: fmt.Errorf(format, args...)}
}

// Input is one raw record.
type Input struct {
	Topic     string
	Partition int32
	Offset    int64
	Value     []byte
	// Key is the Kafka record key; shippers usually key by host, so it is
	// the host of last resort for records that name none.
	Key []byte
	// Source forces a format; "" or SourceAuto detects it per record.
	Source Source
	// HostHint names the host for records that carry no host at all (raw
	// audit lines without node=). The offline tool's --host flag.
	HostHint string
	// Scope groups records that share one clock for the time-offset rule
	// (docs/normalizer.md, "Time"): the offline tool passes the file name;
	// the service leaves it empty (offsets are then learned per host).
	Scope string
	// Audit, when set, assembles auditd lines across records (a shipper
	// that sends one line per Kafka record). Nil groups lines within the
	// record only.
	Audit *AuditAssembler
}

// kafkaOffset is the record's offset when it came from Kafka, else -1.
func (in *Input) kafkaOffset() int64 {
	if in.Topic == "" {
		return -1
	}
	return in.Offset
}

// Emit receives the outcome of a record: either an event or an error.
// Exactly one of the two is non-nil. A record may yield several outcomes
// (a batch of auditd lines) or none (a line buffered by the assembler).
type Emit func(ev *schema.NormalizedEvent, err *ParseError)

// Normalizer parses raw records. It is safe for concurrent use.
type Normalizer struct {
	cfg     config.Normalizer
	m       *metrics
	parsers fastjson.ParserPool
	clock   *clockTracker
	log     *slog.Logger
}

// Option configures a Normalizer.
type Option func(*Normalizer)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(n *Normalizer) { n.log = l } }

// New returns a Normalizer. reg receives raw_events_total,
// normalized_events_total and parse_errors; nil registers nowhere.
func New(cfg config.Normalizer, reg prometheus.Registerer, opts ...Option) (*Normalizer, error) {
	if cfg.DefaultTenant == "" {
		cfg.DefaultTenant = schema.DefaultTenant
	}
	if cfg.MaxRecordBytes <= 0 {
		cfg.MaxRecordBytes = 1 << 20
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	n := &Normalizer{cfg: cfg, m: m, clock: newClockTracker(), log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(n)
	}
	return n, nil
}

// Config returns the configuration the normalizer runs with.
func (n *Normalizer) Config() config.Normalizer { return n.cfg }

// Normalize parses one raw record and reports each outcome to emit. It
// never panics on input; errors are reported through emit (and counted),
// never returned.
func (n *Normalizer) Normalize(in Input, emit Emit) {
	src := in.Source
	if src == "" {
		src = SourceAuto
	}
	if int64(len(in.Value)) > int64(n.cfg.MaxRecordBytes) {
		n.m.raw(SourceUnknown)
		n.fail(emit, perr(SourceUnknown, ReasonOversized, "record of %d bytes exceeds normalizer.max_record_bytes (%d)", len(in.Value), n.cfg.MaxRecordBytes))
		return
	}
	c := &ctx{n: n, in: &in, emit: emit}
	// The parsers are written and fuzzed not to panic; this is the last
	// line of defence of a trust boundary: a parser bug costs one record,
	// never the service.
	defer func() {
		if r := recover(); r != nil {
			c.release()
			n.log.Error("normalizer bug: parser panicked; record skipped", "topic", in.Topic,
				"partition", in.Partition, "offset", in.Offset, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			n.fail(emit, perr(src, ReasonInvalidField, "internal error while parsing: %v", r))
		}
	}()
	c.run(src)
}

// fail counts and reports an error.
func (n *Normalizer) fail(emit Emit, e *ParseError) {
	n.m.errorf(e.Source, e.Reason)
	if emit != nil {
		emit(nil, e)
	}
}

// ctx carries one Normalize call.
type ctx struct {
	n    *Normalizer
	in   *Input
	emit Emit
	p    *fastjson.Parser
	// wlb, when set, receives Windows records instead of mapping them
	// (RawWinlogbeat).
	wlb func(*winRecord)
}

func (c *ctx) parser() *fastjson.Parser {
	if c.p == nil {
		c.p = c.n.parsers.Get()
	}
	return c.p
}

func (c *ctx) release() {
	if c.p != nil {
		c.n.parsers.Put(c.p)
		c.p = nil
	}
}

// ok publishes an event after the checks every consumer relies on.
func (c *ctx) ok(ev *schema.NormalizedEvent) {
	src := Source(ev.Source)
	ev.SchemaVersion = schema.Version
	if err := ev.Validate(); err != nil {
		var ve *schema.ValidationError
		reason := ReasonInvalidField
		if errors.As(err, &ve) {
			switch ve.Field {
			case "timestamp":
				reason = ReasonBadTimestamp
			case "endpoint_id", "event_id":
				reason = ReasonMissingField
			}
		}
		c.failErr(&ParseError{Reason: reason, Source: src, Channel: ev.Data.Channel, NativeID: ev.Data.NativeID, Err: err})
		return
	}
	c.n.m.normalized(src)
	if c.emit != nil {
		c.emit(ev, nil)
	}
}

func (c *ctx) failErr(e *ParseError) { c.n.fail(c.emit, e) }

// pool of scratch buffers for raw_event building.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
