package gnn

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// safetensors layout: an 8-byte little-endian header length n, n bytes of
// JSON mapping tensor names to {dtype, shape, data_offsets} (plus an optional
// "__metadata__" string map), then the raw little-endian tensor bytes.
// data_offsets are relative to the first byte after the header.

// maxHeaderLen bounds the JSON header we are willing to parse; the reference
// implementation uses the same 100 MB limit.
const maxHeaderLen = 100 << 20

type stTensor struct {
	shape []int
	data  []float32
}

type stHeaderEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// encodeSafetensors serialises the tensors in the given order.
func encodeSafetensors(params []*param, metadata map[string]string) ([]byte, error) {
	header := make(map[string]any, len(params)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, p := range params {
		n := int64(len(p.data)) * 4
		header[p.name] = stHeaderEntry{Dtype: "F32", Shape: p.shape, DataOffsets: [2]int64{off, off + n}}
		off += n
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("encode safetensors header: %w", err)
	}
	// Pad with spaces so the data starts 8-byte aligned, as the reference
	// writer does; readers that mmap rely on it.
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	buf := make([]byte, 8+len(hj)+int(off))
	binary.LittleEndian.PutUint64(buf, uint64(len(hj)))
	copy(buf[8:], hj)
	d := buf[8+len(hj):]
	for _, p := range params {
		for _, v := range p.data {
			binary.LittleEndian.PutUint32(d, math.Float32bits(v))
			d = d[4:]
		}
	}
	return buf, nil
}

// decodeSafetensors parses a safetensors file. It accepts only F32 tensors
// and requires the tensors to tile the data section exactly, so truncated or
// spliced files are caught even before the hash check.
func decodeSafetensors(b []byte) (map[string]stTensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("file is %d bytes, too short for a safetensors header", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeaderLen || n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("header length %d is larger than the file (%d bytes) or the %d byte limit", n, len(b), maxHeaderLen)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		return nil, nil, fmt.Errorf("header is not valid JSON: %w", err)
	}
	data := b[8+n:]
	var meta map[string]string
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(raw))
	out := make(map[string]stTensor, len(raw))
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("__metadata__ is not a string map: %w", err)
			}
			continue
		}
		var h stHeaderEntry
		if err := json.Unmarshal(msg, &h); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: bad header entry: %w", name, err)
		}
		if h.Dtype != "F32" {
			return nil, nil, fmt.Errorf("tensor %s has dtype %q, only F32 is supported", name, h.Dtype)
		}
		count := int64(1)
		for _, d := range h.Shape {
			if d < 0 || (d > 0 && count > math.MaxInt32/int64(d)) {
				return nil, nil, fmt.Errorf("tensor %s: invalid shape %v", name, h.Shape)
			}
			count *= int64(d)
		}
		begin, end := h.DataOffsets[0], h.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(data)) {
			return nil, nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] outside the %d data bytes", name, begin, end, len(data))
		}
		if end-begin != count*4 {
			return nil, nil, fmt.Errorf("tensor %s: shape %v needs %d bytes but data_offsets span %d", name, h.Shape, count*4, end-begin)
		}
		vals := make([]float32, count)
		src := data[begin:end]
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
		out[name] = stTensor{shape: h.Shape, data: vals}
		spans = append(spans, span{name, begin, end})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	var at int64
	for _, s := range spans {
		if s.begin != at {
			if s.begin < at {
				return nil, nil, fmt.Errorf("tensor %s overlaps the previous tensor", s.name)
			}
			return nil, nil, fmt.Errorf("gap in the data section before tensor %s", s.name)
		}
		at = s.end
	}
	if at != int64(len(data)) {
		return nil, nil, errors.New("data section is longer than its tensors (trailing bytes)")
	}
	return out, meta, nil
}
