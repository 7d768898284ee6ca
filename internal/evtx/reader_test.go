package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chunkWith returns a finished chunk holding simple records first..first+n-1.
func chunkWith(first uint64, n int) []byte {
	c := newChunkBuilder(first)
	for i := range n {
		simpleRecord(c, first+uint64(i), fmt.Sprintf("value %d", i))
	}
	return c.finish()
}

func kinds(errs []*Error) []ErrorKind {
	var out []ErrorKind
	for _, e := range errs {
		out = append(out, e.Kind)
	}
	return out
}

func ids(recs []*Record) []uint64 {
	var out []uint64
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func TestReaderDamage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		file   func() []byte
		opts   []Option
		ids    []uint64
		kinds  []ErrorKind
		checks func(t *testing.T, st Stats, errs []*Error)
	}{
		{
			name:  "clean",
			file:  func() []byte { return evtxFile(2, chunkWith(1, 3), chunkWith(4, 2)) },
			ids:   []uint64{1, 2, 3, 4, 5},
			kinds: nil,
			checks: func(t *testing.T, st Stats, _ []*Error) {
				if st.ChunksOK != 2 || st.ExpectedRecords != 5 || st.Records != 5 {
					t.Errorf("stats %+v", st)
				}
			},
		},
		{
			// Not closed cleanly: the header still counts one chunk.
			name: "dirty header chunk count",
			file: func() []byte {
				f := evtxFile(1, chunkWith(1, 2), chunkWith(3, 2))
				binary.LittleEndian.PutUint32(f[120:], 1) // dirty flag
				copy(f[124:], le32(crc32IEEE(f[:120])))
				return f
			},
			ids: []uint64{1, 2, 3, 4},
			checks: func(t *testing.T, st Stats, _ []*Error) {
				if st.ChunksBeyondHeader != 1 {
					t.Errorf("stats %+v", st)
				}
			},
		},
		{
			name: "file header checksum",
			file: func() []byte {
				f := evtxFile(1, chunkWith(1, 1))
				f[124] ^= 0xff
				return f
			},
			ids:   []uint64{1},
			kinds: []ErrorKind{KindFileHeaderChecksum},
		},
		{
			name: "damaged file header signature",
			file: func() []byte {
				f := evtxFile(1, chunkWith(1, 1))
				copy(f, "XXXXXXXX")
				return f
			},
			ids:   []uint64{1},
			kinds: []ErrorKind{KindFileHeader},
		},
		{
			name: "bad chunk signature",
			file: func() []byte {
				bad := chunkWith(1, 2)
				copy(bad, "ElfChnX\x00")
				return evtxFile(2, bad, chunkWith(3, 1))
			},
			ids:   []uint64{3},
			kinds: []ErrorKind{KindChunkSignature},
			checks: func(t *testing.T, st Stats, errs []*Error) {
				if st.ChunksSkipped != 1 || st.SkipReasons["chunk_signature"] != 1 || errs[0].Chunk != 0 || errs[0].Offset != fileHeaderSize {
					t.Errorf("stats %+v, %v", st, errs)
				}
			},
		},
		{
			name:  "zero chunk slot",
			file:  func() []byte { return evtxFile(2, make([]byte, chunkSize), chunkWith(1, 1)) },
			ids:   []uint64{1},
			kinds: nil,
			checks: func(t *testing.T, st Stats, _ []*Error) {
				if st.ChunksUnused != 1 {
					t.Errorf("stats %+v", st)
				}
			},
		},
		{
			name: "chunk header checksum",
			file: func() []byte {
				c := chunkWith(1, 2)
				c[130] ^= 1 // string table entry: covered by the header checksum
				return evtxFile(1, c)
			},
			ids:   []uint64{1, 2},
			kinds: []ErrorKind{KindChunkHeaderChecksum},
		},
		{
			name: "chunk header checksum, strict",
			file: func() []byte {
				c := chunkWith(1, 2)
				c[130] ^= 1
				return evtxFile(2, c, chunkWith(3, 1))
			},
			opts:  []Option{WithStrictChecksums(true)},
			ids:   []uint64{3},
			kinds: []ErrorKind{KindChunkHeaderChecksum},
		},
		{
			name: "record data checksum",
			file: func() []byte {
				c := chunkWith(1, 2)
				c[52] ^= 1
				fixChunkHeaderCRC(c)
				return evtxFile(1, c)
			},
			ids:   []uint64{1, 2},
			kinds: []ErrorKind{KindChunkDataChecksum},
		},
		{
			name: "truncated file",
			file: func() []byte {
				c := newChunkBuilder(1)
				simpleRecord(c, 1, "a")
				end := c.pos
				simpleRecord(c, 2, "b")
				f := evtxFile(1, c.finish())
				return f[:fileHeaderSize+end+10]
			},
			ids:   []uint64{1},
			kinds: []ErrorKind{KindChunkTruncated},
		},
		{
			name:  "file ends inside the chunk header",
			file:  func() []byte { return evtxFile(1, chunkWith(1, 1))[:fileHeaderSize+100] },
			kinds: []ErrorKind{KindChunkTruncated},
		},
		{
			// A record whose size copy was never written (copied while the
			// record was written) but whose binary XML is whole.
			name: "size copy mismatch, record intact",
			file: func() []byte {
				c := newChunkBuilder(1)
				simpleRecord(c, 1, "a")
				simpleRecord(c, 2, "b")
				copy(c.b[c.pos-4:], le32(0))
				simpleRecord(c, 3, "c")
				return evtxFile(1, c.finish())
			},
			ids:   []uint64{1, 2, 3},
			kinds: []ErrorKind{KindRecordHeader},
			checks: func(t *testing.T, _ Stats, errs []*Error) {
				if errs[0].RecordID != 2 || !errors.Is(errs[0], ErrCorrupt) {
					t.Errorf("%v", errs)
				}
			},
		},
		{
			// Garbage over the middle of a record: reading resumes at the
			// next record signature with a consistent size.
			name: "record spanning garbage",
			file: func() []byte {
				c := newChunkBuilder(1)
				simpleRecord(c, 1, "a")
				start := c.pos
				simpleRecord(c, 2, "b")
				for i := start + 30; i < c.pos-2; i++ {
					c.b[i] = 0xa5
				}
				copy(c.b[start+4:], le32(0x20)) // size now points into garbage
				simpleRecord(c, 3, "c")
				return evtxFile(1, c.finish())
			},
			ids:   []uint64{1, 3},
			kinds: []ErrorKind{KindRecordHeader},
		},
		{
			name: "bad record signature",
			file: func() []byte {
				c := newChunkBuilder(1)
				start := c.pos
				simpleRecord(c, 1, "a")
				simpleRecord(c, 2, "b")
				c.b[start] = 'X'
				return evtxFile(1, c.finish())
			},
			ids:   []uint64{2},
			kinds: []ErrorKind{KindRecordHeader},
		},
		{
			// Zeroes where the chunk header says records are.
			name: "zeroed records before the free space offset",
			file: func() []byte {
				c := newChunkBuilder(1)
				simpleRecord(c, 1, "a")
				start := c.pos
				simpleRecord(c, 2, "b")
				clear(c.b[start:c.pos])
				return evtxFile(1, c.finish())
			},
			ids:   []uint64{1},
			kinds: []ErrorKind{KindRecordHeader},
		},
		{
			// Records written after the chunk header was last updated.
			name: "records past the free space offset",
			file: func() []byte {
				c := newChunkBuilder(1)
				simpleRecord(c, 1, "a")
				end, last := c.pos, c.lastRecOff
				simpleRecord(c, 2, "b")
				simpleRecord(c, 3, "c")
				b := c.finish()
				binary.LittleEndian.PutUint32(b[48:], uint32(end))
				binary.LittleEndian.PutUint32(b[44:], uint32(last))
				binary.LittleEndian.PutUint64(b[32:], 1)
				binary.LittleEndian.PutUint32(b[52:], crc32IEEE(b[chunkHeaderSize:end]))
				fixChunkHeaderCRC(b)
				return evtxFile(1, b)
			},
			ids: []uint64{1, 2, 3},
			checks: func(t *testing.T, st Stats, _ []*Error) {
				if st.RecordsPastFreeSpace != 2 {
					t.Errorf("stats %+v", st)
				}
			},
		},
		{
			name: "free space offset outside the chunk",
			file: func() []byte {
				b := chunkWith(1, 2)
				binary.LittleEndian.PutUint32(b[48:], 0x20000)
				fixChunkHeaderCRC(b)
				return evtxFile(1, b)
			},
			ids:   []uint64{1, 2},
			kinds: []ErrorKind{KindChunkHeader},
		},
		{
			name:  "per-chunk work limit",
			file:  func() []byte { return evtxFile(1, chunkWith(1, 5)) },
			opts:  []Option{WithLimits(Limits{MaxElementsPerChunk: 50})},
			ids:   []uint64{1, 2, 3},
			kinds: []ErrorKind{KindRecordData},
			checks: func(t *testing.T, _ Stats, errs []*Error) {
				if !errors.Is(errs[0], ErrLimit) {
					t.Errorf("%v", errs[0])
				}
			},
		},
		{
			name: "header only",
			file: func() []byte { return fileHeader(0, 1, 0) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := tc.file()
			r, err := NewReader(bytes.NewReader(data), int64(len(data)), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var recs []*Record
			var errs []*Error
			for rec, err := range r.All() {
				if err != nil {
					var e *Error
					if !errors.As(err, &e) {
						t.Fatalf("%T %v", err, err)
					}
					errs = append(errs, e)
					continue
				}
				recs = append(recs, rec)
			}
			if got := ids(recs); fmt.Sprint(got) != fmt.Sprint(tc.ids) {
				t.Errorf("records %v, want %v", got, tc.ids)
			}
			if got := kinds(errs); fmt.Sprint(got) != fmt.Sprint(tc.kinds) {
				t.Errorf("reports %v, want %v: %v", got, tc.kinds, errs)
			}
			st := r.Stats()
			if st.Records != len(recs) {
				t.Errorf("Stats.Records %d, returned %d", st.Records, len(recs))
			}
			if tc.checks != nil {
				tc.checks(t, st, errs)
			}
			// Next keeps returning io.EOF after the end.
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("after the end: %v", err)
			}
		})
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

func TestNotEVTX(t *testing.T) {
	t.Parallel()
	for name, data := range map[string][]byte{
		"empty":        nil,
		"tiny":         []byte("Elf"),
		"text":         []byte(strings.Repeat("hello world\n", 1000)),
		"zero header":  make([]byte, 8192),
		"header sized": append([]byte("NOTEVTX\x00"), make([]byte, fileHeaderSize)...),
	} {
		_, err := NewReader(bytes.NewReader(data), int64(len(data)))
		var e *Error
		if !errors.Is(err, ErrNotEVTX) || !errors.As(err, &e) || e.Kind != KindFileHeader {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// failingReaderAt fails every read after the first n bytes of the file.
type failingReaderAt struct {
	data []byte
	n    int64
}

var errDisk = errors.New("disk on fire")

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.n {
		return 0, errDisk
	}
	return copy(p, f.data[off:]), nil
}

func TestReadErrorIsFatal(t *testing.T) {
	t.Parallel()
	data := evtxFile(2, chunkWith(1, 2), chunkWith(3, 2))
	r, err := NewReader(failingReaderAt{data, fileHeaderSize + chunkSize}, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var recs, fatals int
	for rec, err := range r.All() {
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !e.Fatal() || !errors.Is(err, errDisk) || e.Chunk != 1 {
				t.Errorf("want a fatal KindIO error for chunk 1, got %v", err)
			}
			fatals++
			continue
		}
		if rec != nil {
			recs++
		}
	}
	if recs != 2 || fatals != 1 {
		t.Errorf("records %d, fatal errors %d", recs, fatals)
	}
	// The fatal error is sticky.
	for range 2 {
		if _, err := r.Next(); !errors.Is(err, errDisk) {
			t.Errorf("after a fatal error: %v", err)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	if _, err := Open(filepath.Join(t.TempDir(), "missing.evtx")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "x.evtx")
	if err := os.WriteFile(path, []byte("not an event log"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrNotEVTX) || !strings.Contains(err.Error(), path) {
		t.Errorf("not EVTX: %v", err)
	}
	f, err := Open(filepath.Join("testdata", "security-new-user.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := f.Header()
	if !h.ChecksumOK || h.MajorVersion != 3 || h.ChunkCount != 1 || h.Dirty() || h.Full() {
		t.Errorf("header %+v", h)
	}
	n := 0
	for rec, err := range f.All() {
		if err != nil {
			t.Fatal(err)
		}
		if rec.source == "" {
			t.Errorf("source path not set")
		}
		n++
	}
	if n != 4 {
		t.Errorf("%d records", n)
	}
}

// TestDamageIsLogged: damage reports go to the injected logger, the first
// ones at Warn.
func TestDamageIsLogged(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	data := evtxFile(1, chunkWith(1, 1))
	data[124] ^= 1
	_, errs := readBytes(t, data, WithLogger(logger), WithSourceName("x.evtx"))
	if len(errs) != 1 || !strings.Contains(buf.String(), "file_header_checksum") || !strings.Contains(buf.String(), "file=x.evtx") {
		t.Errorf("log: %q", buf.String())
	}
}
