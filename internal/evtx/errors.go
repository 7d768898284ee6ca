package evtx

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel causes, for errors.Is. Every damage report is an *Error wrapping one
// of these.
var (
	// ErrNotEVTX: the input has neither a file header nor a chunk signature.
	ErrNotEVTX = errors.New("not an EVTX file")
	// ErrChecksum: a stored CRC32 does not match the data.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrBadSignature: a structure does not start with its magic bytes.
	ErrBadSignature = errors.New("bad signature")
	// ErrTruncated: a structure extends past the end of its container.
	ErrTruncated = errors.New("truncated")
	// ErrCorrupt: a field holds a value the format does not allow.
	ErrCorrupt = errors.New("corrupt data")
	// ErrLimit: decoding would exceed a resource limit (depth, size, count).
	ErrLimit = errors.New("resource limit exceeded")
)

// ErrorKind classifies damage reports so they can be counted.
type ErrorKind uint8

// Kinds of damage reported by the Reader.
const (
	KindIO                  ErrorKind = iota // reading the input failed (fatal)
	KindFileHeader                           // file header unusable (bad magic or fields)
	KindFileHeaderChecksum                   // file header CRC32 mismatch
	KindChunkSignature                       // a non-empty chunk slot without "ElfChnk\0"
	KindChunkTruncated                       // the file ends inside a chunk
	KindChunkHeader                          // chunk header fields out of range
	KindChunkHeaderChecksum                  // chunk header CRC32 mismatch
	KindChunkDataChecksum                    // event records CRC32 mismatch
	KindRecordHeader                         // record signature, size or size copy invalid
	KindRecordData                           // the record's binary XML could not be decoded
	numKinds
)

var kindNames = [numKinds]string{
	KindIO:                  "io",
	KindFileHeader:          "file_header",
	KindFileHeaderChecksum:  "file_header_checksum",
	KindChunkSignature:      "chunk_signature",
	KindChunkTruncated:      "chunk_truncated",
	KindChunkHeader:         "chunk_header",
	KindChunkHeaderChecksum: "chunk_header_checksum",
	KindChunkDataChecksum:   "chunk_data_checksum",
	KindRecordHeader:        "record_header",
	KindRecordData:          "record_data",
}

func (k ErrorKind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind_" + strconv.Itoa(int(k))
}

// Error reports damage found while reading, with where it was found. Apart
// from KindIO, an Error is not fatal: the Reader has already moved past the
// damaged structure and the next call to Next continues.
type Error struct {
	Kind     ErrorKind
	Op       string // what was being done, e.g. "reading chunk header"
	Offset   int64  // file offset of the damaged structure
	Chunk    int    // chunk index in file order; -1 for the file header
	RecordID uint64 // event record identifier if known, else 0
	Err      error  // cause; wraps one of the sentinel errors
}

func (e *Error) Error() string {
	b := make([]byte, 0, 128)
	b = append(b, "evtx: "...)
	b = append(b, e.Op...)
	if e.Chunk >= 0 {
		b = append(b, ": chunk "...)
		b = strconv.AppendInt(b, int64(e.Chunk), 10)
	}
	b = append(b, " at offset 0x"...)
	b = strconv.AppendInt(b, e.Offset, 16)
	if e.RecordID != 0 {
		b = append(b, ": record "...)
		b = strconv.AppendUint(b, e.RecordID, 10)
	}
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	return string(b)
}

func (e *Error) Unwrap() error { return e.Err }

// Fatal reports whether reading cannot continue after this error.
func (e *Error) Fatal() bool { return e.Kind == KindIO }

// errorf builds a cause that wraps a sentinel.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
