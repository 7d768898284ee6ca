package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Fuzz targets. Run them with e.g.
//
//	go test ./internal/evtx -run '^$' -fuzz '^FuzzChunk$' -fuzztime 5m
//
// Inputs that found bugs are kept in testdata/fuzz/<target>/.

// fuzzLimits keep single executions fast while still exercising the limits.
var fuzzLimits = Limits{MaxDepth: 32, MaxElements: 4000, MaxTextBytes: 1 << 20, MaxTemplatesPerChunk: 256}

// drain reads everything and checks the Reader's contract: it ends, damage
// is reported as non-fatal *Error values, and records render.
func drain(t *testing.T, data []byte) {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), WithLimits(fuzzLimits))
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("NewReader error is not an *Error: %v", err)
		}
		return
	}
	records, reports := 0, 0
	for i := 0; ; i++ {
		// Every call consumes a report, a record, or at least one byte of a
		// chunk; more calls than bytes means the reader does not progress.
		if i > len(data)+100 {
			t.Fatalf("reader does not terminate (%d calls on %d bytes)", i, len(data))
		}
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Fatal() {
				t.Fatalf("unexpected error: %v", err)
			}
			reports++
			continue
		}
		records++
		if _, err := rec.WinlogbeatJSON(); err != nil {
			t.Fatalf("WinlogbeatJSON: %v", err)
		}
		_ = rec.XML()
	}
	st := r.Stats()
	n := 0
	for _, c := range st.Errors {
		n += c
	}
	if st.Records != records || n != reports {
		t.Fatalf("stats %d records %d reports, returned %d and %d", st.Records, n, records, reports)
	}
}

// fixtureChunks returns the first chunk of every fixture.
func fixtureChunks(f testing.TB) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.evtx"))
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || len(b) < fileHeaderSize+chunkSize {
			f.Fatalf("fixture %s: %v", p, err)
		}
		out = append(out, b[fileHeaderSize:fileHeaderSize+chunkSize])
	}
	return out
}

func syntheticChunk() []byte {
	c := newChunkBuilder(1)
	simpleRecord(c, 1, "a", "b")
	nestedUserData(c, 2, func(w *bxw) {
		w.fragment()
		w.elem("LogFileCleared", false, nil, func() {
			w.elem("SubjectUserName", false, nil, func() { w.text("bob") })
		})
		w.eof()
	})
	c.record(func(w *bxw) {
		w.fragment()
		w.templateInline(func() {
			testEventTemplate(w, func() {
				w.elem("EventData", true, nil, func() {
					w.elem("Data", true, nil, func() { w.subst(sysValues, TypeString|TypeArrayFlag, false) })
					w.elem("Binary", true, nil, func() { w.subst(sysValues+1, TypeBinary, true) })
				})
			})
		}, append(systemValues(7036, 3), tv{t: TypeString | TypeArrayFlag, b: cat(utf16le("x"), le16(0), utf16le("y"), le16(0))}, tv{t: TypeNull}))
		w.eof()
	})
	return c.finish()
}

// usedPart trims a chunk to its header and records (up to the free space
// offset): small seeds mutate and minimise much faster than 64 KiB ones.
func usedPart(c []byte) []byte {
	end := int(binary.LittleEndian.Uint32(c[48:]))
	if end < chunkHeaderSize || end > len(c) {
		return c
	}
	return c[:end]
}

// FuzzChunk: arbitrary bytes as the only chunk of a valid file (zero-padded
// to the chunk size, as unused chunk space is).
func FuzzChunk(f *testing.F) {
	for _, c := range fixtureChunks(f) {
		f.Add(usedPart(c))
	}
	f.Add(usedPart(syntheticChunk()))
	f.Add(chunkWith(1, 1)[:600])
	f.Fuzz(func(t *testing.T, chunk []byte) {
		if len(chunk) > chunkSize {
			chunk = chunk[:chunkSize]
		}
		file := make([]byte, fileHeaderSize+chunkSize)
		copy(file, fileHeader(1, 1, 0))
		copy(file[fileHeaderSize:], chunk)
		drain(t, file)
	})
}

// FuzzRecord: arbitrary binary XML as the only record of a chunk whose
// structure and checksums are valid, so that mutations reach the binary XML
// decoder instead of failing the record checks. The seeds are the first
// records of the fixtures: being first, they sit at chunk offset 512 like
// the fuzzed record, so their chunk offsets still point at the right bytes.
func FuzzRecord(f *testing.F) {
	for _, c := range append(fixtureChunks(f), syntheticChunk()) {
		size := int(binary.LittleEndian.Uint32(c[chunkHeaderSize+4:]))
		f.Add(c[chunkHeaderSize+recordHeaderSize : chunkHeaderSize+size-4])
	}
	f.Fuzz(func(t *testing.T, binxml []byte) {
		if len(binxml) > chunkSize-chunkHeaderSize-minRecordSize {
			return
		}
		c := newChunkBuilder(1)
		c.record(func(w *bxw) { w.raw(binxml...) })
		drain(t, append(fileHeader(1, 2, 0), c.finish()...))
	})
}

// FuzzFile: arbitrary bytes as a whole file.
func FuzzFile(f *testing.F) {
	f.Add(evtxFile(2, chunkWith(1, 2), chunkWith(3, 1)))
	f.Add(evtxFile(1, syntheticChunk())[:fileHeaderSize+3000])
	f.Add(fileHeader(0, 1, 1))
	f.Add([]byte("ElfFile\x00"))
	b, err := os.ReadFile(filepath.Join("testdata", "application-no-crc32.evtx"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		drain(t, data)
	})
}

// TestMutatedChunks flips random bytes in the record area of real chunks
// (a fast, deterministic complement to the coverage-guided targets): the
// reader must neither panic nor stop making progress.
// EVTX_MUTATIONS raises the count for a longer local run.
func TestMutatedChunks(t *testing.T) {
	t.Parallel()
	n := 200
	if s := os.Getenv("EVTX_MUTATIONS"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil {
			t.Fatal(err)
		}
	}
	chunks := fixtureChunks(t)
	rng := rand.New(rand.NewPCG(1, 2))
	file := make([]byte, fileHeaderSize+chunkSize)
	for i := range n {
		src := chunks[i%len(chunks)]
		used := len(usedPart(src))
		copy(file, fileHeader(1, 1, 0))
		copy(file[fileHeaderSize:], src)
		for range 1 + rng.IntN(16) {
			// Mostly records; sometimes the chunk header too.
			pos := chunkHeaderSize + rng.IntN(used-chunkHeaderSize)
			if rng.IntN(8) == 0 {
				pos = rng.IntN(chunkHeaderSize)
			}
			switch rng.IntN(3) {
			case 0:
				file[fileHeaderSize+pos] ^= byte(1 << rng.IntN(8))
			case 1:
				file[fileHeaderSize+pos] = byte(rng.IntN(256))
			default:
				file[fileHeaderSize+pos] = []byte{0, 1, 0x41, 0x0c, 0x0d, 0x0e, 0x21, 0x81, 0xff}[rng.IntN(9)]
			}
		}
		drain(t, file)
		if t.Failed() {
			t.Fatalf("mutation %d of chunk %d", i, i%len(chunks))
		}
	}
}
