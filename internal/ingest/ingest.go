// Package ingest reads raw telemetry files for the offline tools
// (`logster normalize`, `logster replay`): JSON lines (or a JSON array),
// raw audit logs, .zip and .tar.gz archives of those (the OTRF recordings:
// .tar.gz files truncated after their JSON member are read up to the cut;
// __MACOSX/._* members are skipped), gzip files and .evtx files. Each
// record comes out as the bytes a shipper would have put on a raw topic.
package ingest

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// Record is one raw record read from a file.
type Record struct {
	// Data is the record; it is only valid until the next call to Next.
	Data []byte
	// EVTX is set for records read from .evtx files (Winlogbeat-8-shaped
	// JSON written by the EVTX reader).
	EVTX bool
	// Member is the archive member the record came from ("" for plain
	// files); Line is its 1-based line (or record) number in that member.
	Member string
	Line   int
}

// Reader yields the records of one file. Next returns io.EOF at the end.
// Warnings (a truncated archive, a skipped member) are non-fatal and are
// collected in Warnings.
type Reader interface {
	Next() (Record, error)
	Warnings() []string
	Close() error
}

// MaxLine bounds one record read from a file. Longer lines are cut to
// MaxLine+1 bytes, so the normalizer still counts them as oversized
// without this reader holding gigabytes.
var MaxLine = 64 << 20

// EVTXReader yields the records of an EVTX file as Winlogbeat-8-shaped JSON.
type EVTXReader interface {
	Next() ([]byte, error)
	Close() error
}

// OpenEVTX opens EVTX content. It is replaced by evtx.go when the EVTX
// reader is part of the build.
var OpenEVTX = func(r io.ReaderAt, size int64) (EVTXReader, error) {
	return nil, errors.New("EVTX support not built into this binary")
}

var (
	zipMagic  = []byte("PK\x03\x04")
	gzipMagic = []byte{0x1f, 0x8b}
	evtxMagic = []byte("ElfFile\x00")
)

// Open opens path ("-" is standard input) and picks the reader from the
// file's magic bytes (the extension only breaks ties).
func Open(name string) (Reader, error) {
	if name == "-" {
		return newStreamReader(os.Stdin, "", nil), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err // *PathError already says "open <name>: ..."
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open %s: is a directory", name)
	}
	var head [8]byte
	n, _ := io.ReadFull(f, head[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seek %s: %w", name, err)
	}
	h := head[:n]
	switch {
	case bytes.HasPrefix(h, zipMagic):
		zr, err := zip.NewReader(f, st.Size())
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read zip %s: %w", name, err)
		}
		return &zipReader{f: f, z: zr}, nil
	case bytes.HasPrefix(h, evtxMagic):
		er, err := OpenEVTX(f, st.Size())
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read evtx %s: %w", name, err)
		}
		return &evtxReader{r: er, closer: f}, nil
	case bytes.HasPrefix(h, gzipMagic):
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read gzip %s: %w", name, err)
		}
		base := strings.ToLower(name)
		if strings.HasSuffix(base, ".tar.gz") || strings.HasSuffix(base, ".tgz") {
			return &tarReader{f: f, gz: gz, t: tar.NewReader(gz)}, nil
		}
		return newStreamReader(gz, "", f), nil
	}
	return newStreamReader(f, "", f), nil
}

// streamReader reads JSON lines / audit lines, or a JSON array of records.
type streamReader struct {
	br     *bufio.Reader
	closer io.Closer
	member string
	line   int
	buf    []byte
	arr    *json.Decoder // set when the content is a JSON array
	warns  []string
	first  bool
}

func newStreamReader(r io.Reader, member string, closer io.Closer) *streamReader {
	return &streamReader{br: bufio.NewReaderSize(r, 1<<20), member: member, closer: closer, first: true}
}

func (s *streamReader) Warnings() []string { return s.warns }

func (s *streamReader) Close() error {
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

func (s *streamReader) Next() (Record, error) {
	if s.first {
		s.first = false
		// A file that is one JSON array (e.g. test golden files) yields its
		// elements.
		for {
			b, err := s.br.Peek(1)
			if err != nil {
				break
			}
			if b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t' || b[0] == 0xef || b[0] == 0xbb || b[0] == 0xbf {
				s.br.ReadByte() // whitespace or a UTF-8 BOM
				continue
			}
			if b[0] == '[' {
				s.arr = json.NewDecoder(s.br)
				if _, err := s.arr.Token(); err != nil {
					return Record{}, fmt.Errorf("read JSON array: %w", err)
				}
			}
			break
		}
	}
	if s.arr != nil {
		if !s.arr.More() {
			return Record{}, io.EOF
		}
		var raw json.RawMessage
		if err := s.arr.Decode(&raw); err != nil {
			return Record{}, fmt.Errorf("read JSON array element %d: %w", s.line+1, err)
		}
		s.line++
		return Record{Data: raw, Member: s.member, Line: s.line}, nil
	}
	for {
		line, err := s.readLine()
		if len(line) > 0 {
			s.line++
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			return Record{Data: line, Member: s.member, Line: s.line}, nil
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				s.warns = append(s.warns, fmt.Sprintf("%s: stream ends early after line %d (truncated file); the records before the cut were read", memberName(s.member), s.line))
				return Record{}, io.EOF
			}
			return Record{}, err
		}
		s.line++
	}
}

// readLine returns the next line without its newline, cut to MaxLine+1.
func (s *streamReader) readLine() ([]byte, error) {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.br.ReadSlice('\n')
		if len(s.buf) <= MaxLine {
			s.buf = append(s.buf, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if len(s.buf) > MaxLine+1 {
			s.buf = s.buf[:MaxLine+1]
		}
		s.buf = bytes.TrimRight(s.buf, "\r\n")
		if err != nil && len(s.buf) > 0 && err == io.EOF {
			return s.buf, nil
		}
		if err != nil {
			return s.buf, err
		}
		if len(s.buf) == 0 {
			return []byte{}, nil // an empty line: keep counting
		}
		return s.buf, nil
	}
}

func memberName(m string) string {
	if m == "" {
		return "file"
	}
	return m
}

// skipMember reports archive members that are not data: directories and
// the resource forks macOS adds to zips (__MACOSX/, ._name).
func skipMember(name string) bool {
	base := path.Base(name)
	return strings.HasSuffix(name, "/") || strings.HasPrefix(name, "__MACOSX/") ||
		strings.Contains(name, "/__MACOSX/") || strings.HasPrefix(base, "._") || base == ".DS_Store"
}

// zipReader reads every data member of a zip archive in order.
type zipReader struct {
	f     *os.File
	z     *zip.Reader
	i     int
	cur   Reader
	warns []string
}

func (z *zipReader) Warnings() []string {
	w := z.warns
	if z.cur != nil {
		w = append(w, z.cur.Warnings()...)
	}
	return w
}

func (z *zipReader) Close() error {
	if z.cur != nil {
		z.cur.Close()
	}
	return z.f.Close()
}

func (z *zipReader) Next() (Record, error) {
	for {
		if z.cur != nil {
			rec, err := z.cur.Next()
			if err == nil {
				return rec, nil
			}
			z.warns = append(z.warns, z.cur.Warnings()...)
			z.cur.Close()
			z.cur = nil
			if !errors.Is(err, io.EOF) {
				z.warns = append(z.warns, fmt.Sprintf("%v (rest of member skipped)", err))
			}
		}
		if z.i >= len(z.z.File) {
			return Record{}, io.EOF
		}
		zf := z.z.File[z.i]
		z.i++
		if skipMember(zf.Name) {
			continue
		}
		r, err := openMember(zf.Name, func() (io.ReadCloser, error) { return zf.Open() }, int64(zf.UncompressedSize64))
		if err != nil {
			z.warns = append(z.warns, fmt.Sprintf("%s: %v (member skipped)", zf.Name, err))
			continue
		}
		z.cur = r
	}
}

// openMember opens one archive member by its content.
func openMember(name string, open func() (io.ReadCloser, error), size int64) (Reader, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 1<<20)
	head, _ := br.Peek(8)
	switch {
	case bytes.HasPrefix(head, evtxMagic):
		// EVTX needs random access: members are read into memory (EVTX
		// files are tens of MiB at most).
		b, err := io.ReadAll(io.LimitReader(br, 1<<30))
		rc.Close()
		if err != nil {
			return nil, err
		}
		er, err := OpenEVTX(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return nil, err
		}
		return &evtxReader{r: er, member: name}, nil
	case bytes.HasPrefix(head, gzipMagic):
		gz, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return newStreamReader(gz, name, rc), nil
	}
	return newStreamReader(br, name, rc), nil
}

// tarReader reads the members of a .tar.gz. The OTRF archives end right
// after their JSON member (the tar trailer is missing): the reader stops at
// the cut with a warning instead of failing.
type tarReader struct {
	f     *os.File
	gz    *gzip.Reader
	t     *tar.Reader
	cur   *streamReader
	warns []string
	n     int
}

func (t *tarReader) Warnings() []string {
	w := t.warns
	if t.cur != nil {
		w = append(w, t.cur.Warnings()...)
	}
	return w
}

func (t *tarReader) Close() error { return t.f.Close() }

func (t *tarReader) Next() (Record, error) {
	for {
		if t.cur != nil {
			rec, err := t.cur.Next()
			if err == nil {
				return rec, nil
			}
			t.warns = append(t.warns, t.cur.Warnings()...)
			t.cur = nil
			if !errors.Is(err, io.EOF) {
				t.warns = append(t.warns, fmt.Sprintf("%v (rest of member skipped)", err))
			}
		}
		h, err := t.t.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return Record{}, io.EOF
			}
			if t.n > 0 && (errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF")) {
				t.warns = append(t.warns, "archive is truncated after its last member (read what it holds)")
				return Record{}, io.EOF
			}
			return Record{}, fmt.Errorf("read tar: %w", err)
		}
		t.n++
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA || skipMember(h.Name) {
			continue
		}
		t.cur = newStreamReader(t.t, h.Name, nil)
	}
}

// evtxReader adapts an EVTXReader.
type evtxReader struct {
	r      EVTXReader
	closer io.Closer
	member string
	n      int
}

func (e *evtxReader) Warnings() []string {
	if w, ok := e.r.(interface{ Warnings() []string }); ok {
		return w.Warnings()
	}
	return nil
}

func (e *evtxReader) Close() error {
	err := e.r.Close()
	if e.closer != nil {
		if cerr := e.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (e *evtxReader) Next() (Record, error) {
	b, err := e.r.Next()
	if err != nil {
		return Record{}, err
	}
	e.n++
	return Record{Data: b, EVTX: true, Member: e.member, Line: e.n}, nil
}
