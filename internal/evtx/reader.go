package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"log/slog"
	"os"
)

// Layout constants of the format.
const (
	fileHeaderSize   = 4096
	fileHeaderUsed   = 128
	chunkSize        = 65536
	chunkHeaderSize  = 512
	recordHeaderSize = 24
	minRecordSize    = recordHeaderSize + 4 // header and trailing size copy
	maxWarnLogs      = 10                   // damage reports logged at Warn per file
)

var (
	fileMagic   = []byte("ElfFile\x00")
	chunkMagic  = []byte("ElfChnk\x00")
	recordMagic = []byte{0x2a, 0x2a, 0x00, 0x00}
)

// FileHeader is the decoded 4096-byte file header.
type FileHeader struct {
	FirstChunk      uint64
	LastChunk       uint64
	NextRecordID    uint64
	HeaderSize      uint32
	MinorVersion    uint16
	MajorVersion    uint16
	HeaderBlockSize uint16
	ChunkCount      uint16
	Flags           uint32
	Checksum        uint32
	ChecksumOK      bool
}

// Dirty reports whether the log was not closed cleanly; its header (chunk
// count, next record id) may then be stale.
func (h FileHeader) Dirty() bool { return h.Flags&1 != 0 }

// Full reports whether the log was full when last written.
func (h FileHeader) Full() bool { return h.Flags&2 != 0 }

// ChunkHeader is the decoded 512-byte header of a chunk.
type ChunkHeader struct {
	FirstRecordNumber uint64
	LastRecordNumber  uint64
	FirstRecordID     uint64
	LastRecordID      uint64
	HeaderSize        uint32
	LastRecordOffset  uint32
	FreeSpaceOffset   uint32
	DataChecksum      uint32
	Flags             uint32
	Checksum          uint32
}

func parseChunkHeader(b []byte) ChunkHeader {
	le := binary.LittleEndian
	return ChunkHeader{
		FirstRecordNumber: le.Uint64(b[8:]),
		LastRecordNumber:  le.Uint64(b[16:]),
		FirstRecordID:     le.Uint64(b[24:]),
		LastRecordID:      le.Uint64(b[32:]),
		HeaderSize:        le.Uint32(b[40:]),
		LastRecordOffset:  le.Uint32(b[44:]),
		FreeSpaceOffset:   le.Uint32(b[48:]),
		DataChecksum:      le.Uint32(b[52:]),
		Flags:             le.Uint32(b[120:]),
		Checksum:          le.Uint32(b[124:]),
	}
}

// Stats describes what was read from one file so far.
type Stats struct {
	Records      int // records decoded and returned
	RecordErrors int // records reported as damaged (not returned)
	// ExpectedRecords sums, over the chunks read, the record count the chunk
	// headers declare (last - first record identifier + 1).
	ExpectedRecords int
	// RecordsPastFreeSpace counts records found after a chunk's declared free
	// space offset: consecutive records of a log that was not closed
	// cleanly.
	RecordsPastFreeSpace int

	ChunkSlots         int // 64 KiB slots in the file after the header
	ChunksOK           int // chunks read with no damage report
	ChunksDamaged      int // chunks read, with damage reports
	ChunksSkipped      int // chunks not read at all
	ChunksUnused       int // slots without a chunk: all zero, or past the header's chunk count
	ChunksBeyondHeader int // chunks read past the file header's chunk count

	ChecksumMismatches int // file header, chunk header and record data CRC32 mismatches
	// Errors counts damage reports by kind (ErrorKind.String()).
	Errors map[string]int
	// SkipReasons counts skipped chunks by the kind of damage that caused it.
	SkipReasons map[string]int
}

// Option configures a Reader.
type Option func(*config)

type config struct {
	logger *slog.Logger
	limits Limits
	strict bool
	source string
}

// WithLogger sets the logger for damage reports (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithLimits overrides the decoding limits; zero fields keep their default.
func WithLimits(l Limits) Option { return func(c *config) { c.limits = l.withDefaults() } }

// WithStrictChecksums makes the Reader skip chunks whose header or record
// data checksum does not match. By default such chunks are still read (and
// the mismatch reported): records in the last chunk of a log that was not
// closed cleanly are genuine even though the checksum was never updated.
func WithStrictChecksums(strict bool) Option { return func(c *config) { c.strict = strict } }

// WithSourceName names the input (a file path), for Record.WinlogbeatJSON's
// log.file.path and for log messages. Open sets it to the path.
func WithSourceName(name string) Option { return func(c *config) { c.source = name } }

// Reader reads the records of one EVTX file in file order. Memory use is
// bounded by one chunk and its decoded templates, independent of file size.
// A Reader is not safe for concurrent use.
type Reader struct {
	r      io.ReaderAt
	size   int64
	cfg    config
	header FileHeader

	slots    int // chunk slots after the file header
	nextSlot int
	buf      []byte // current chunk
	ctx      *chunkCtx
	build    builder
	inChunk  bool
	chunk    int   // index of the current chunk
	chunkOff int64 // file offset of the current chunk
	chunkHdr ChunkHeader
	chunkLen int // bytes of the chunk present in the file
	recPos   int // chunk offset of the next record
	recLimit int // end of record data (free space offset)
	// limitGuessed: the free space offset was unusable and recLimit is the
	// chunk end, so zeroes after the last record are expected.
	limitGuessed bool
	lastID       uint64
	damaged      bool // the current chunk had a damage report
	// Work done on the current chunk's records, against the per-chunk limits.
	chunkElems, chunkText int
	pending               []*Error
	held                  *Record // a record to return after the pending reports
	fatal                 error
	warnsLeft             int
	stats                 Stats
}

// File is a Reader over an open file.
type File struct {
	*Reader
	f *os.File
}

// Open opens an EVTX file for reading.
func Open(path string, opts ...Option) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("evtx: opening %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("evtx: stat %s: %w", path, err)
	}
	r, err := NewReader(f, st.Size(), append([]Option{WithSourceName(path)}, opts...)...)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("evtx: reading %s: %w", path, err)
	}
	return &File{Reader: r, f: f}, nil
}

// Close closes the underlying file.
func (f *File) Close() error { return f.f.Close() }

// NewReader reads the file header and prepares to read records. It fails
// only when the input is not an EVTX file at all; a damaged header is
// reported by the first call to Next.
func NewReader(r io.ReaderAt, size int64, opts ...Option) (*Reader, error) {
	cfg := config{limits: DefaultLimits}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.source != "" {
		cfg.logger = cfg.logger.With("file", cfg.source)
	}
	rd := &Reader{
		r:         r,
		size:      size,
		cfg:       cfg,
		buf:       make([]byte, chunkSize),
		ctx:       newChunkCtx(cfg.limits),
		build:     builder{limits: cfg.limits},
		warnsLeft: maxWarnLogs,
		stats:     Stats{Errors: map[string]int{}, SkipReasons: map[string]int{}},
	}
	if size < 8 {
		return nil, &Error{Kind: KindFileHeader, Op: "reading file header", Chunk: -1, Err: errorf(ErrNotEVTX, "file of %d bytes", size)}
	}
	hdr := make([]byte, fileHeaderUsed)
	n, err := r.ReadAt(hdr, 0)
	if err != nil && !(errors.Is(err, io.EOF) && n > 0) {
		return nil, &Error{Kind: KindIO, Op: "reading file header", Chunk: -1, Err: err}
	}
	hdr = hdr[:n]
	if size > fileHeaderSize {
		rd.slots = int((size - fileHeaderSize + chunkSize - 1) / chunkSize)
	}
	rd.stats.ChunkSlots = rd.slots
	if !bytes.HasPrefix(hdr, fileMagic) || len(hdr) < fileHeaderUsed {
		// A damaged header is survivable when chunks follow it.
		var probe [8]byte
		if size < fileHeaderSize+8 {
			return nil, &Error{Kind: KindFileHeader, Op: "reading file header", Chunk: -1, Err: errorf(ErrNotEVTX, "no file header signature")}
		}
		if _, err := r.ReadAt(probe[:], fileHeaderSize); err != nil && !errors.Is(err, io.EOF) {
			return nil, &Error{Kind: KindIO, Op: "probing first chunk", Offset: fileHeaderSize, Chunk: 0, Err: err}
		}
		if !bytes.Equal(probe[:], chunkMagic) {
			return nil, &Error{Kind: KindFileHeader, Op: "reading file header", Chunk: -1, Err: errorf(ErrNotEVTX, "no file header or chunk signature")}
		}
		rd.report(&Error{Kind: KindFileHeader, Op: "reading file header", Chunk: -1, Err: errorf(ErrBadSignature, "file header signature %q", hdr[:min(8, len(hdr))])})
		return rd, nil
	}
	le := binary.LittleEndian
	rd.header = FileHeader{
		FirstChunk:      le.Uint64(hdr[8:]),
		LastChunk:       le.Uint64(hdr[16:]),
		NextRecordID:    le.Uint64(hdr[24:]),
		HeaderSize:      le.Uint32(hdr[32:]),
		MinorVersion:    le.Uint16(hdr[36:]),
		MajorVersion:    le.Uint16(hdr[38:]),
		HeaderBlockSize: le.Uint16(hdr[40:]),
		ChunkCount:      le.Uint16(hdr[42:]),
		Flags:           le.Uint32(hdr[120:]),
		Checksum:        le.Uint32(hdr[124:]),
	}
	rd.header.ChecksumOK = crc32.ChecksumIEEE(hdr[:120]) == rd.header.Checksum
	if !rd.header.ChecksumOK {
		rd.stats.ChecksumMismatches++
		rd.report(&Error{Kind: KindFileHeaderChecksum, Op: "verifying file header", Chunk: -1,
			Err: errorf(ErrChecksum, "stored 0x%08x, computed 0x%08x", rd.header.Checksum, crc32.ChecksumIEEE(hdr[:120]))})
	}
	return rd, nil
}

// Header returns the decoded file header.
func (r *Reader) Header() FileHeader { return r.header }

// Stats returns counters of what was read so far.
func (r *Reader) Stats() Stats {
	s := r.stats
	s.Errors = make(map[string]int, len(r.stats.Errors))
	for k, v := range r.stats.Errors {
		s.Errors[k] = v
	}
	s.SkipReasons = make(map[string]int, len(r.stats.SkipReasons))
	for k, v := range r.stats.SkipReasons {
		s.SkipReasons[k] = v
	}
	return s
}

// report queues a damage report for Next to return, counts and logs it.
func (r *Reader) report(e *Error) {
	r.pending = append(r.pending, e)
	r.stats.Errors[e.Kind.String()]++
	if e.Chunk >= 0 && r.inChunk {
		r.damaged = true
	}
	level := slog.LevelDebug
	if r.warnsLeft > 0 {
		r.warnsLeft--
		level = slog.LevelWarn
	}
	r.cfg.logger.Log(context.Background(), level, "evtx damage", "kind", e.Kind.String(), "err", e.Error())
}

// Next returns the next record. At the end of the file it returns io.EOF.
// Damage is returned as an *Error; reading continues with the next call
// (only KindIO errors are fatal, and are returned again by later calls).
func (r *Reader) Next() (*Record, error) {
	for {
		if len(r.pending) > 0 {
			e := r.pending[0]
			r.pending = r.pending[1:]
			if len(r.pending) == 0 {
				r.pending = nil
			}
			return nil, e
		}
		if r.held != nil {
			rec := r.held
			r.held = nil
			r.stats.Records++
			return rec, nil
		}
		if r.fatal != nil {
			return nil, r.fatal
		}
		if !r.inChunk {
			if !r.loadChunk() {
				if len(r.pending) > 0 || r.fatal != nil {
					continue
				}
				return nil, io.EOF
			}
			continue
		}
		rec, done := r.nextRecord()
		if done {
			r.finishChunk()
			continue
		}
		if rec != nil {
			r.stats.Records++
			return rec, nil
		}
	}
}

// All iterates over records and damage reports, stopping after io.EOF or a
// fatal error.
func (r *Reader) All() iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(rec, err) {
				return
			}
			var e *Error
			if err != nil && (!errors.As(err, &e) || e.Fatal()) {
				return
			}
		}
	}
}

func (r *Reader) chunkErr(kind ErrorKind, op string, err error) *Error {
	return &Error{Kind: kind, Op: op, Offset: r.chunkOff, Chunk: r.chunk, Err: err}
}

func (r *Reader) skipChunk(e *Error) {
	r.report(e)
	r.stats.ChunksSkipped++
	r.stats.SkipReasons[e.Kind.String()]++
}

// loadChunk reads chunk slots until one can be read; it returns false at the
// end of the file or on a fatal error. Chunks are found by position (every
// 64 KiB after the file header) up to the end of the file, not only up to
// the header's chunk count, which is stale in logs not closed cleanly.
func (r *Reader) loadChunk() bool {
	for r.nextSlot < r.slots {
		idx := r.nextSlot
		r.nextSlot++
		r.chunk = idx
		r.chunkOff = fileHeaderSize + int64(idx)*chunkSize
		n := int(min(int64(chunkSize), r.size-r.chunkOff))
		got, err := r.r.ReadAt(r.buf[:n], r.chunkOff)
		if err != nil && !(errors.Is(err, io.EOF) && got == n) {
			r.fatal = &Error{Kind: KindIO, Op: "reading chunk", Offset: r.chunkOff, Chunk: idx, Err: err}
			return false
		}
		data := r.buf[:n]
		if !bytes.HasPrefix(data, chunkMagic) {
			// Never-used slots are zero; slots past the header's chunk count
			// hold whatever the disk held before (seen in real logs).
			if allZero(data) || r.header.ChecksumOK && idx >= int(r.header.ChunkCount) {
				r.stats.ChunksUnused++
				continue
			}
			r.skipChunk(r.chunkErr(KindChunkSignature, "reading chunk header",
				errorf(ErrBadSignature, "chunk signature %q", data[:min(8, n)])))
			continue
		}
		if n < chunkHeaderSize {
			r.skipChunk(r.chunkErr(KindChunkTruncated, "reading chunk header",
				errorf(ErrTruncated, "file ends %d bytes into the chunk", n)))
			continue
		}
		r.damaged = false
		r.inChunk = true // so that reports below mark the chunk damaged
		if n < chunkSize {
			r.report(r.chunkErr(KindChunkTruncated, "reading chunk",
				errorf(ErrTruncated, "file ends %d bytes into the chunk", n)))
		}
		h := parseChunkHeader(data)
		r.chunkHdr = h
		crc := crc32.ChecksumIEEE(data[:120])
		crc = crc32.Update(crc, crc32.IEEETable, data[128:chunkHeaderSize])
		if crc != h.Checksum {
			r.stats.ChecksumMismatches++
			e := r.chunkErr(KindChunkHeaderChecksum, "verifying chunk header",
				errorf(ErrChecksum, "stored 0x%08x, computed 0x%08x", h.Checksum, crc))
			if r.cfg.strict {
				r.inChunk = false
				r.skipChunk(e)
				continue
			}
			r.report(e)
		}
		limit, guessed := int(h.FreeSpaceOffset), false
		if limit < chunkHeaderSize || limit > chunkSize {
			r.report(r.chunkErr(KindChunkHeader, "reading chunk header",
				errorf(ErrCorrupt, "free space offset 0x%x outside the chunk", h.FreeSpaceOffset)))
			limit = n
			guessed = true
		} else if limit <= n {
			crc := crc32.ChecksumIEEE(data[chunkHeaderSize:limit])
			if crc != h.DataChecksum {
				r.stats.ChecksumMismatches++
				e := r.chunkErr(KindChunkDataChecksum, "verifying event records",
					errorf(ErrChecksum, "stored 0x%08x, computed 0x%08x", h.DataChecksum, crc))
				if r.cfg.strict {
					r.inChunk = false
					r.skipChunk(e)
					continue
				}
				r.report(e)
			}
		}
		limit = min(limit, n)
		if idx >= int(r.header.ChunkCount) && r.header.ChunkCount > 0 {
			r.stats.ChunksBeyondHeader++
		}
		if h.LastRecordID >= h.FirstRecordID && h.LastRecordID-h.FirstRecordID < chunkSize/minRecordSize {
			r.stats.ExpectedRecords += int(h.LastRecordID-h.FirstRecordID) + 1
		}
		r.ctx.reset(data)
		r.chunkLen = n
		r.recPos = chunkHeaderSize
		r.recLimit = limit
		r.limitGuessed = guessed
		r.lastID = 0
		r.chunkElems, r.chunkText = 0, 0
		return true
	}
	return false
}

func (r *Reader) finishChunk() {
	r.inChunk = false
	if r.damaged {
		r.stats.ChunksDamaged++
	} else {
		r.stats.ChunksOK++
	}
	r.ctx.reset(nil)
}

// validRecordAt reports whether a plausible record starts at pos: signature,
// size within the chunk, and a matching size copy.
func (r *Reader) validRecordAt(pos int) bool {
	data := r.buf[:r.chunkLen]
	if pos < chunkHeaderSize || pos+recordHeaderSize > len(data) || !bytes.Equal(data[pos:pos+4], recordMagic) {
		return false
	}
	size := int(binary.LittleEndian.Uint32(data[pos+4:]))
	if size < minRecordSize || size > len(data)-pos {
		return false
	}
	return int(binary.LittleEndian.Uint32(data[pos+size-4:])) == size
}

// resync finds the next plausible record after a damaged one, so that a
// record spanning garbage costs only itself.
func (r *Reader) resync(from int) int {
	data := r.buf[:r.chunkLen]
	for p := from; p+recordHeaderSize <= r.recLimit; {
		i := bytes.Index(data[p:r.recLimit], recordMagic)
		if i < 0 {
			return -1
		}
		if r.validRecordAt(p + i) {
			return p + i
		}
		p += i + 1
	}
	return -1
}

// nextRecord decodes the record at recPos. It returns done when the chunk
// has no more records; a nil record without done means damage was reported.
func (r *Reader) nextRecord() (*Record, bool) {
	data := r.buf[:r.chunkLen]
	pos := r.recPos
	if r.chunkElems > r.cfg.limits.MaxElementsPerChunk || r.chunkText > r.cfg.limits.MaxTextBytesPerChunk {
		r.report(&Error{Kind: KindRecordData, Op: "decoding records", Offset: r.chunkOff + int64(pos), Chunk: r.chunk,
			Err: errorf(ErrLimit, "records of one chunk hold more than %d elements or %d bytes of text; rest of the chunk skipped",
				r.cfg.limits.MaxElementsPerChunk, r.cfg.limits.MaxTextBytesPerChunk)})
		return nil, true
	}
	if pos+recordHeaderSize > r.recLimit {
		// A log that was not closed cleanly can hold records past the free
		// space offset its chunk header declares; take them while they
		// continue the record sequence.
		if r.lastID != 0 && r.validRecordAt(pos) && binary.LittleEndian.Uint64(data[pos+8:]) == r.lastID+1 {
			size := int(binary.LittleEndian.Uint32(data[pos+4:]))
			r.recLimit = pos + size
			r.stats.RecordsPastFreeSpace++
		} else {
			return nil, true
		}
	}
	off := r.chunkOff + int64(pos)
	size := int(binary.LittleEndian.Uint32(data[pos+4:]))
	id := binary.LittleEndian.Uint64(data[pos+8:])
	if !bytes.Equal(data[pos:pos+4], recordMagic) || size < minRecordSize || size > len(data)-pos {
		if allZero(data[pos:r.recLimit]) {
			if r.limitGuessed {
				return nil, true
			}
			r.report(&Error{Kind: KindRecordHeader, Op: "reading record header", Offset: off, Chunk: r.chunk,
				Err: errorf(ErrCorrupt, "zero bytes instead of records up to the free space offset 0x%x", r.recLimit)})
			return nil, true
		}
		cause := errorf(ErrTruncated, "record size %d at chunk offset 0x%x", size, pos)
		if !bytes.Equal(data[pos:pos+4], recordMagic) {
			cause = errorf(ErrBadSignature, "record signature % x", data[pos:pos+4])
			id = 0
		}
		r.stats.RecordErrors++
		r.report(&Error{Kind: KindRecordHeader, Op: "reading record header", Offset: off, Chunk: r.chunk, RecordID: id, Err: cause})
		r.skipTo(r.resync(pos + 1))
		return nil, false
	}
	if sizeCopy := int(binary.LittleEndian.Uint32(data[pos+size-4:])); sizeCopy != size {
		// The size copy is written last, so a mismatch is mostly a record
		// cut off while it was written, sometimes a wrong size. Decode it
		// anyway: if its binary XML is whole, it is returned after the
		// damage report; otherwise reading resumes at the next record found.
		e := &Error{Kind: KindRecordHeader, Op: "reading record header", Offset: off, Chunk: r.chunk, RecordID: id,
			Err: errorf(ErrCorrupt, "record size %d does not match its copy %d", size, sizeCopy)}
		rec, err := r.record(pos, size, id)
		r.report(e)
		if err != nil {
			r.stats.RecordErrors++
			r.skipTo(r.resync(pos + 1))
			return nil, false
		}
		r.recPos = pos + size
		r.lastID = id
		r.held = rec
		return nil, false
	}
	r.recPos = pos + size
	if r.recPos > r.recLimit {
		r.recLimit = r.recPos // a record may run past a stale free space offset
	}
	r.lastID = id
	rec, err := r.record(pos, size, id)
	if err != nil {
		r.stats.RecordErrors++
		r.report(&Error{Kind: KindRecordData, Op: "decoding record", Offset: off, Chunk: r.chunk, RecordID: id, Err: err})
		return nil, false
	}
	return rec, false
}

// skipTo continues reading at a resynchronised position (-1: none left).
func (r *Reader) skipTo(next int) {
	if next < 0 {
		r.recPos = r.recLimit
		return
	}
	r.recPos = next
}

// record decodes the record at pos.
func (r *Reader) record(pos, size int, id uint64) (*Record, error) {
	data := r.buf[:r.chunkLen]
	root, err := r.decode(pos+recordHeaderSize, pos+size-4)
	if err != nil {
		return nil, err
	}
	rec := newRecord(root)
	rec.ID = id
	rec.Written = filetimeToTime(binary.LittleEndian.Uint64(data[pos+16:]))
	rec.Offset = r.chunkOff + int64(pos)
	rec.Chunk = r.chunk
	rec.source = r.cfg.source
	rec.Timestamp = rec.System.TimeCreated
	if rec.Timestamp.IsZero() {
		rec.Timestamp = rec.Written
	}
	return rec, nil
}

// decode parses a record's binary XML and applies the substitutions.
func (r *Reader) decode(start, end int) (*Element, error) {
	r.ctx.resetArena()
	p := parser{c: r.ctx, pos: start, end: end}
	parts, err := p.fragment(0)
	if err != nil {
		return nil, err
	}
	r.build.nelem, r.build.text = 0, 0
	elems, _, err := r.build.fragment(parts, nil, 0)
	r.chunkElems += r.build.nelem
	r.chunkText += r.build.text
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, errorf(ErrCorrupt, "record holds no event element (%d bytes of binary XML)", end-start)
	}
	return elems[0], nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
