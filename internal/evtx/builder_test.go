package evtx

import (
	"encoding/binary"
	"hash/crc32"
)

// Test-only writer of EVTX files. Records are written in place inside the
// chunk, because names and templates are referenced by chunk offset.

type chunkBuilder struct {
	b          []byte
	pos        int
	firstID    uint64
	nextID     uint64
	lastRecOff int
}

func newChunkBuilder(firstID uint64) *chunkBuilder {
	b := make([]byte, chunkSize)
	copy(b, chunkMagic)
	return &chunkBuilder{b: b, pos: chunkHeaderSize, firstID: firstID, nextID: firstID}
}

// record writes one record whose binary XML is produced by body.
func (c *chunkBuilder) record(body func(w *bxw)) int {
	start := c.pos
	copy(c.b[start:], recordMagic)
	binary.LittleEndian.PutUint64(c.b[start+8:], c.nextID)
	binary.LittleEndian.PutUint64(c.b[start+16:], ft2020)
	c.pos += recordHeaderSize
	body(&bxw{c: c})
	size := c.pos + 4 - start
	binary.LittleEndian.PutUint32(c.b[start+4:], uint32(size))
	binary.LittleEndian.PutUint32(c.b[c.pos:], uint32(size))
	c.pos += 4
	c.lastRecOff = start
	c.nextID++
	return start
}

// finish fills in the chunk header and its checksums.
func (c *chunkBuilder) finish() []byte {
	le := binary.LittleEndian
	last := c.nextID - 1
	le.PutUint64(c.b[8:], c.firstID)
	le.PutUint64(c.b[16:], last)
	le.PutUint64(c.b[24:], c.firstID)
	le.PutUint64(c.b[32:], last)
	le.PutUint32(c.b[40:], 128)
	le.PutUint32(c.b[44:], uint32(c.lastRecOff))
	le.PutUint32(c.b[48:], uint32(c.pos))
	le.PutUint32(c.b[52:], crc32.ChecksumIEEE(c.b[chunkHeaderSize:c.pos]))
	fixChunkHeaderCRC(c.b)
	return c.b
}

func fixChunkHeaderCRC(b []byte) {
	crc := crc32.ChecksumIEEE(b[:120])
	crc = crc32.Update(crc, crc32.IEEETable, b[128:chunkHeaderSize])
	binary.LittleEndian.PutUint32(b[124:], crc)
}

// fileHeader returns a valid 4096-byte file header.
func fileHeader(chunks int, nextID uint64, flags uint32) []byte {
	h := make([]byte, fileHeaderSize)
	le := binary.LittleEndian
	copy(h, fileMagic)
	le.PutUint64(h[16:], uint64(max(chunks-1, 0)))
	le.PutUint64(h[24:], nextID)
	le.PutUint32(h[32:], 128)
	le.PutUint16(h[36:], 1)
	le.PutUint16(h[38:], 3)
	le.PutUint16(h[40:], fileHeaderSize)
	le.PutUint16(h[42:], uint16(chunks))
	le.PutUint32(h[120:], flags)
	le.PutUint32(h[124:], crc32.ChecksumIEEE(h[:120]))
	return h
}

func evtxFile(headerChunks int, chunks ...[]byte) []byte {
	out := fileHeader(headerChunks, 1000, 0)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out
}

// bxw writes binary XML tokens at the chunk builder's position.
type bxw struct{ c *chunkBuilder }

func (w *bxw) raw(b ...byte) {
	copy(w.c.b[w.c.pos:], b)
	w.c.pos += len(b)
}
func (w *bxw) u16(v uint16) { w.raw(le16(v)...) }
func (w *bxw) u32(v uint32) { w.raw(le32(v)...) }

func (w *bxw) fragment() { w.raw(tokFragmentHeader, 1, 1, 0) }
func (w *bxw) eof()      { w.raw(tokEOF) }

// name writes a name offset that points just past itself, and the name
// there (an inline definition).
func (w *bxw) name(s string) {
	w.u32(uint32(w.c.pos + 4))
	w.nameStruct(s)
}

func (w *bxw) nameStruct(s string) {
	u := utf16le(s)
	w.u32(0) // next name in the hash bucket
	w.u16(0) // hash (not checked)
	w.u16(uint16(len(u) / 2))
	w.raw(u...)
	w.u16(0)
}

// nameAt writes a reference to a name defined earlier at a chunk offset.
func (w *bxw) nameAt(off int) { w.u32(uint32(off)) }

// elem writes an element. attrs and content may be nil.
func (w *bxw) elem(name string, depID bool, attrs, content func()) {
	tok := byte(tokOpenStart)
	if attrs != nil {
		tok |= tokMoreFlag
	}
	w.raw(tok)
	if depID {
		w.u16(0xffff)
	}
	w.u32(0) // data size (not used by the reader)
	w.name(name)
	if attrs != nil {
		w.u32(0) // attribute list size (not used by the reader)
		attrs()
	}
	if content == nil {
		w.raw(tokCloseEmpty)
		return
	}
	w.raw(tokCloseStart)
	content()
	w.raw(tokEndElement)
}

func (w *bxw) attr(name string, value func()) {
	w.raw(tokAttribute)
	w.name(name)
	value()
}

func (w *bxw) text(s string) {
	u := utf16le(s)
	w.raw(tokValue, byte(TypeString))
	w.u16(uint16(len(u) / 2))
	w.raw(u...)
}

func (w *bxw) subst(id uint16, t ValueType, optional bool) {
	tok := byte(tokNormalSubst)
	if optional {
		tok = tokOptionalSubst
	}
	w.raw(tok)
	w.u16(id)
	w.raw(byte(t))
}

// tv is one template value: fixed bytes, or binary XML written in place.
type tv struct {
	t   ValueType
	b   []byte
	gen func(w *bxw)
}

// templateInline writes a template instance with an inline definition and
// returns the definition's chunk offset for later references.
func (w *bxw) templateInline(body func(), values []tv) int {
	w.raw(tokTemplate, 1)
	w.u32(0x1234)
	defOff := w.c.pos + 4
	w.u32(uint32(defOff))
	w.u32(0)                   // next template
	w.raw(make([]byte, 16)...) // GUID
	sizeAt := w.c.pos
	w.u32(0)
	start := w.c.pos
	body()
	binary.LittleEndian.PutUint32(w.c.b[sizeAt:], uint32(w.c.pos-start))
	w.values(values)
	return defOff
}

func (w *bxw) templateRef(defOff int, values []tv) {
	w.raw(tokTemplate, 1)
	w.u32(0x1234)
	w.u32(uint32(defOff))
	w.values(values)
}

func (w *bxw) values(values []tv) {
	w.u32(uint32(len(values)))
	desc := w.c.pos
	for _, v := range values {
		w.u16(uint16(len(v.b)))
		w.raw(byte(v.t), 0)
	}
	for i, v := range values {
		if v.gen == nil {
			w.raw(v.b...)
			continue
		}
		start := w.c.pos
		v.gen(w)
		binary.LittleEndian.PutUint16(w.c.b[desc+4*i:], uint16(w.c.pos-start))
	}
}

// System substitution indices of testEventTemplate; event data values
// follow from sysValues on.
const sysValues = 16

// testEventTemplate writes the body of a template shaped like the ones
// Windows writes: System from substitutions 0-15, then eventData.
func testEventTemplate(w *bxw, eventData func()) {
	w.fragment()
	w.elem("Event", true, func() {
		w.attr("xmlns", func() { w.text("http://schemas.microsoft.com/win/2004/08/events/event") })
	}, func() {
		w.elem("System", true, nil, func() {
			w.elem("Provider", true, func() {
				w.attr("Name", func() { w.subst(0, TypeString, false) })
				w.attr("Guid", func() { w.subst(1, TypeGUID, true) })
			}, nil)
			w.elem("EventID", true, nil, func() { w.subst(2, TypeUint16, false) })
			w.elem("Version", true, nil, func() { w.subst(3, TypeUint8, false) })
			w.elem("Level", true, nil, func() { w.subst(4, TypeUint8, false) })
			w.elem("Task", true, nil, func() { w.subst(5, TypeUint16, false) })
			w.elem("Opcode", true, nil, func() { w.subst(6, TypeUint8, false) })
			w.elem("Keywords", true, nil, func() { w.subst(7, TypeHexInt64, false) })
			w.elem("TimeCreated", true, func() {
				w.attr("SystemTime", func() { w.subst(8, TypeFileTime, false) })
			}, nil)
			w.elem("EventRecordID", true, nil, func() { w.subst(9, TypeUint64, false) })
			w.elem("Correlation", true, func() {
				w.attr("ActivityID", func() { w.subst(10, TypeGUID, true) })
			}, nil)
			w.elem("Execution", true, func() {
				w.attr("ProcessID", func() { w.subst(11, TypeUint32, false) })
				w.attr("ThreadID", func() { w.subst(12, TypeUint32, false) })
			}, nil)
			w.elem("Channel", true, nil, func() { w.subst(13, TypeString, false) })
			w.elem("Computer", true, nil, func() { w.subst(14, TypeString, false) })
			w.elem("Security", true, func() {
				w.attr("UserID", func() { w.subst(15, TypeSID, true) })
			}, nil)
		})
		if eventData != nil {
			eventData()
		}
	})
	w.eof()
}

var testProviderGUID = []byte{0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9}

// systemValues returns values 0-15 for testEventTemplate.
func systemValues(eventID uint16, recordID uint64) []tv {
	return []tv{
		{t: TypeString, b: utf16le("Microsoft-Windows-Sysmon")},
		{t: TypeGUID, b: testProviderGUID},
		{t: TypeUint16, b: le16(eventID)},
		{t: TypeUint8, b: []byte{5}},
		{t: TypeUint8, b: []byte{4}},
		{t: TypeUint16, b: le16(1)},
		{t: TypeUint8, b: []byte{0}},
		{t: TypeHexInt64, b: le64(0x8020000000000000)},
		{t: TypeFileTime, b: le64(ft2020 + 1234567)},
		{t: TypeUint64, b: le64(recordID)},
		{t: TypeNull},
		{t: TypeUint32, b: le32(3208)},
		{t: TypeUint32, b: le32(1724)},
		{t: TypeString, b: utf16le("Microsoft-Windows-Sysmon/Operational")},
		{t: TypeString, b: utf16le("WORKSTATION5.theshire.local")},
		{t: TypeSID, b: []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}},
	}
}

// simpleRecord writes a record with the test template and named Data items
// holding the given strings.
func simpleRecord(c *chunkBuilder, recordID uint64, data ...string) {
	c.record(func(w *bxw) {
		w.fragment()
		vals := systemValues(1, recordID)
		w.templateInline(func() {
			testEventTemplate(w, func() {
				w.elem("EventData", true, nil, func() {
					for i := range data {
						w.elem("Data", true, func() {
							w.attr("Name", func() { w.text("Field" + string(rune('A'+i))) })
						}, func() { w.subst(uint16(sysValues+i), TypeString, false) })
					}
				})
			})
		}, append(vals, stringValues(data)...))
		w.eof()
	})
}

func stringValues(ss []string) []tv {
	out := make([]tv, len(ss))
	for i, s := range ss {
		out[i] = tv{t: TypeString, b: utf16le(s)}
	}
	return out
}
