package evtx

import (
	"encoding/binary"
)

// Binary XML tokens (MS-EVEN6 2.2.12). The 0x40 bit on some tokens means
// "more data follows" (attributes on an element start, more attributes,
// more text); parsing does not rely on it.
const (
	tokEOF             = 0x00
	tokOpenStart       = 0x01
	tokCloseStart      = 0x02
	tokCloseEmpty      = 0x03
	tokEndElement      = 0x04
	tokValue           = 0x05
	tokAttribute       = 0x06
	tokCDATA           = 0x07
	tokCharRef         = 0x08
	tokEntityRef       = 0x09
	tokPITarget        = 0x0a
	tokPIData          = 0x0b
	tokTemplate        = 0x0c
	tokNormalSubst     = 0x0d
	tokOptionalSubst   = 0x0e
	tokFragmentHeader  = 0x0f
	tokMoreFlag        = 0x40
	templateHeaderSize = 24 // next offset, GUID, data size
)

// Limits bound the work and memory spent on one record or chunk, so that
// hostile input cannot exhaust the process. The defaults are far above
// anything seen in real logs.
type Limits struct {
	// MaxDepth bounds element nesting plus template and nested binary XML
	// nesting within one record.
	MaxDepth int
	// MaxElements bounds the elements materialised for one record.
	MaxElements int
	// MaxTextBytes bounds the text assembled for one record (values
	// concatenated from several parts, rendered nested XML).
	MaxTextBytes int
	// MaxTemplatesPerChunk bounds the distinct template definitions parsed
	// in one chunk. Their total size is bounded too, to four times the
	// chunk size: real templates do not overlap, hostile ones could.
	MaxTemplatesPerChunk int
	// MaxElementsPerChunk and MaxTextBytesPerChunk bound the work of all
	// records of one chunk together; past them the rest of the chunk is
	// skipped (and reported).
	MaxElementsPerChunk  int
	MaxTextBytesPerChunk int
}

// DefaultLimits are used when no WithLimits option is given.
var DefaultLimits = Limits{
	MaxDepth:             64,
	MaxElements:          20000,
	MaxTextBytes:         4 << 20,
	MaxTemplatesPerChunk: 2048,
	MaxElementsPerChunk:  500000,
	MaxTextBytesPerChunk: 32 << 20,
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultLimits.MaxElements
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = DefaultLimits.MaxTextBytes
	}
	if l.MaxTemplatesPerChunk <= 0 {
		l.MaxTemplatesPerChunk = DefaultLimits.MaxTemplatesPerChunk
	}
	if l.MaxElementsPerChunk <= 0 {
		l.MaxElementsPerChunk = DefaultLimits.MaxElementsPerChunk
	}
	if l.MaxTextBytesPerChunk <= 0 {
		l.MaxTextBytesPerChunk = DefaultLimits.MaxTextBytesPerChunk
	}
	return l
}

// Parsed binary XML, before substitution values are applied. Templates are
// parsed once per chunk into this form and instantiated per record.
type partKind uint8

const (
	partText  partKind = iota // literal text (value text, char/entity refs, CDATA)
	partSubst                 // substitution of a template value
	partElem                  // child element
	partInst                  // template instance
)

type part struct {
	kind     partKind
	optional bool
	sub      uint16
	text     string
	elem     *node
	inst     *instance
}

type node struct {
	name    string
	attrs   []nodeAttr
	content []part
	nelem   int // child elements in content, to size Children up front
}

type nodeAttr struct {
	name  string
	parts []part
}

type template struct {
	parts []part
	err   error
	busy  bool // being parsed: a reference to it now is a cycle
}

type instance struct {
	tmpl   *template
	values []Value
	nested [][]part // parsed BinXml values by index; nil when none
}

// chunkCtx is the state shared by all records of one chunk: names and
// templates are stored once per chunk and referenced by chunk offset.
type chunkCtx struct {
	data      []byte
	names     map[uint32]string
	templates map[uint32]*template
	limits    Limits
	scratch   []byte
	// tmplBytes is the total size of the template definitions parsed in
	// this chunk.
	tmplBytes int
	// Per-record arena (see parser.valueSlots).
	vals   []Value
	nested [][]part
}

func newChunkCtx(limits Limits) *chunkCtx {
	return &chunkCtx{
		names:     make(map[uint32]string, 64),
		templates: make(map[uint32]*template, 32),
		limits:    limits,
		scratch:   make([]byte, 0, 256),
	}
}

// reset prepares the context for a new chunk; maps are cleared, not
// reallocated.
func (c *chunkCtx) reset(data []byte) {
	c.data = data
	c.tmplBytes = 0
	clear(c.names)
	clear(c.templates)
}

// parser reads binary XML from c.data[pos:end]. Offsets are chunk-relative
// because names and templates are referenced by chunk offset.
type parser struct {
	c     *chunkCtx
	pos   int
	end   int
	depID bool // element starts carry a dependency identifier (templates)
	// keep: the result is cached with the chunk's templates, so it must not
	// use the per-record arena.
	keep bool
}

// valueSlots returns n value slots for a template instance. A record's
// values are only needed until its tree is built, so they come from an
// arena reused for every record; values inside a cached template are kept.
func (p *parser) valueSlots(n int) []Value {
	if p.keep {
		return make([]Value, n)
	}
	c := p.c
	if cap(c.vals)-len(c.vals) < n {
		c.vals = make([]Value, 0, max(1024, n))
	}
	start := len(c.vals)
	c.vals = c.vals[:start+n]
	return c.vals[start : start+n : start+n]
}

func (p *parser) nestedSlots(n int) [][]part {
	if p.keep {
		return make([][]part, n)
	}
	c := p.c
	if cap(c.nested)-len(c.nested) < n {
		c.nested = make([][]part, 0, max(256, n))
	}
	start := len(c.nested)
	c.nested = c.nested[:start+n]
	s := c.nested[start : start+n : start+n]
	clear(s)
	return s
}

// resetArena makes the arena's slots available to the next record.
func (c *chunkCtx) resetArena() {
	c.vals = c.vals[:0]
	c.nested = c.nested[:0]
}

func (p *parser) corrupt(format string, args ...any) error {
	return errorf(ErrCorrupt, "binary XML at chunk offset 0x%x: "+format, append([]any{p.pos}, args...)...)
}

func (p *parser) truncated(what string) error {
	return errorf(ErrTruncated, "binary XML at chunk offset 0x%x: %s past end of data (0x%x)", p.pos, what, p.end)
}

func (p *parser) need(n int, what string) error {
	if n < 0 || p.pos+n > p.end {
		return p.truncated(what)
	}
	return nil
}

func (p *parser) u8() byte { v := p.c.data[p.pos]; p.pos++; return v }
func (p *parser) u16() uint16 {
	v := binary.LittleEndian.Uint16(p.c.data[p.pos:])
	p.pos += 2
	return v
}
func (p *parser) u32() uint32 {
	v := binary.LittleEndian.Uint32(p.c.data[p.pos:])
	p.pos += 4
	return v
}

// fragment parses tokens up to an end-of-file token or the end of the data:
// fragment headers, template instances, elements, and (in nested binary XML)
// bare text.
func (p *parser) fragment(depth int) ([]part, error) {
	if depth > p.c.limits.MaxDepth {
		return nil, errorf(ErrLimit, "binary XML nested deeper than %d", p.c.limits.MaxDepth)
	}
	var parts []part
	for p.pos < p.end {
		tok := p.c.data[p.pos]
		switch tok &^ tokMoreFlag {
		case tokEOF:
			p.pos++
			return parts, nil
		case tokFragmentHeader:
			if err := p.need(4, "fragment header"); err != nil {
				return nil, err
			}
			p.pos += 4
		case tokPITarget, tokPIData:
			if err := p.skipPI(); err != nil {
				return nil, err
			}
		case tokOpenStart:
			n, err := p.element(depth + 1)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part{kind: partElem, elem: n})
		case tokTemplate:
			inst, err := p.templateInstance(depth + 1)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part{kind: partInst, inst: inst})
		case tokValue, tokNormalSubst, tokOptionalSubst, tokCharRef, tokEntityRef, tokCDATA:
			pt, err := p.textPart()
			if err != nil {
				return nil, err
			}
			parts = append(parts, pt)
		default:
			return nil, p.corrupt("unexpected token 0x%02x in fragment", tok)
		}
	}
	return parts, nil
}

// element parses an element start, its attributes and content, from the
// open-start token to the matching end-element (or close-empty) token.
func (p *parser) element(depth int) (*node, error) {
	if depth > p.c.limits.MaxDepth {
		return nil, errorf(ErrLimit, "elements nested deeper than %d", p.c.limits.MaxDepth)
	}
	tok := p.u8()
	name, err := p.elementName()
	if err != nil {
		return nil, err
	}
	n := &node{name: name}
	if tok&tokMoreFlag != 0 {
		if err := p.need(4, "attribute list size"); err != nil {
			return nil, err
		}
		p.pos += 4 // attribute list size: attributes are parsed token by token instead
		for p.pos < p.end && p.c.data[p.pos]&^tokMoreFlag == tokAttribute {
			p.pos++
			aname, err := p.nameRef()
			if err != nil {
				return nil, err
			}
			parts, err := p.textParts()
			if err != nil {
				return nil, err
			}
			n.attrs = append(n.attrs, nodeAttr{name: aname, parts: parts})
		}
	}
	if err := p.need(1, "element start close token"); err != nil {
		return nil, err
	}
	switch t := p.u8(); t {
	case tokCloseEmpty, tokEndElement:
		return n, nil
	case tokCloseStart:
	default:
		p.pos--
		return nil, p.corrupt("unexpected token 0x%02x closing element start <%s>", t, name)
	}
	for {
		if p.pos >= p.end {
			return nil, p.truncated("element <" + name + "> content")
		}
		tok := p.c.data[p.pos]
		switch tok &^ tokMoreFlag {
		case tokEndElement:
			p.pos++
			return n, nil
		case tokOpenStart:
			child, err := p.element(depth + 1)
			if err != nil {
				return nil, err
			}
			n.content = append(n.content, part{kind: partElem, elem: child})
			n.nelem++
		case tokValue, tokNormalSubst, tokOptionalSubst, tokCharRef, tokEntityRef, tokCDATA:
			pt, err := p.textPart()
			if err != nil {
				return nil, err
			}
			n.content = append(n.content, pt)
		case tokTemplate:
			inst, err := p.templateInstance(depth + 1)
			if err != nil {
				return nil, err
			}
			n.content = append(n.content, part{kind: partInst, inst: inst})
		case tokPITarget, tokPIData:
			if err := p.skipPI(); err != nil {
				return nil, err
			}
		case tokFragmentHeader:
			if err := p.need(4, "fragment header"); err != nil {
				return nil, err
			}
			p.pos += 4
		default:
			return nil, p.corrupt("unexpected token 0x%02x in content of <%s>", tok, name)
		}
	}
}

// elementName reads the element start header after the token. Two layouts
// exist: with a 16-bit dependency identifier (template definitions) and
// without it (nested binary XML values, and some records with elements
// outside a template). The expected layout is tried first; the other is
// used when the expected one does not yield a valid name reference.
func (p *parser) elementName() (string, error) {
	first, second := 2, 0
	if !p.depID {
		first, second = 0, 2
	}
	skip := first
	if !p.plausibleElementStart(first) && p.plausibleElementStart(second) {
		skip = second
	}
	if err := p.need(skip+4, "element start"); err != nil {
		return "", err
	}
	p.pos += skip + 4 // dependency identifier, data size
	return p.nameRef()
}

func (p *parser) plausibleElementStart(skip int) bool {
	at := p.pos + skip + 4
	if at+4 > p.end {
		return false
	}
	off := int(binary.LittleEndian.Uint32(p.c.data[at:]))
	if off == at+4 {
		return p.validNameAt(off, p.end)
	}
	return off < at && p.validNameAt(off, len(p.c.data))
}

func (p *parser) validNameAt(off, limit int) bool {
	if _, ok := p.c.names[uint32(off)]; ok {
		return true
	}
	if off < 0 || off+8 > limit {
		return false
	}
	count := int(binary.LittleEndian.Uint16(p.c.data[off+6:]))
	end := off + 8 + 2*count
	return end+2 <= limit && p.c.data[end] == 0 && p.c.data[end+1] == 0
}

// nameRef reads a 32-bit chunk offset of a name. When it points just past
// itself the name is stored inline and skipped over.
func (p *parser) nameRef() (string, error) {
	if err := p.need(4, "name offset"); err != nil {
		return "", err
	}
	off := int(p.u32())
	if off == p.pos {
		name, size, err := p.c.readName(off, p.end)
		if err != nil {
			return "", err
		}
		if size > p.end-p.pos {
			return "", p.truncated("inline name")
		}
		p.pos += size
		return name, nil
	}
	name, _, err := p.c.readName(off, len(p.c.data))
	return name, err
}

// readName decodes the name structure at a chunk offset (next-name offset,
// hash, character count, UTF-16 characters, NUL) and caches it. It returns
// the structure size so that inline definitions can be skipped.
func (c *chunkCtx) readName(off, limit int) (string, int, error) {
	if off < 0 || off+8 > limit {
		return "", 0, errorf(ErrCorrupt, "name offset 0x%x out of range", off)
	}
	count := int(binary.LittleEndian.Uint16(c.data[off+6:]))
	size := 8 + 2*count + 2
	if name, ok := c.names[uint32(off)]; ok {
		return name, size, nil
	}
	if off+8+2*count > limit {
		return "", 0, errorf(ErrTruncated, "name at chunk offset 0x%x with %d characters", off, count)
	}
	name := utf16String(c.data[off+8:off+8+2*count], &c.scratch, false)
	c.names[uint32(off)] = name
	if off+size > limit { // missing terminator at the very end of the data
		size = limit - off
	}
	return name, size, nil
}

// textParts reads the parts of an attribute value.
func (p *parser) textParts() ([]part, error) {
	var parts []part
	for p.pos < p.end {
		switch p.c.data[p.pos] &^ tokMoreFlag {
		case tokValue, tokNormalSubst, tokOptionalSubst, tokCharRef, tokEntityRef, tokCDATA:
			pt, err := p.textPart()
			if err != nil {
				return nil, err
			}
			parts = append(parts, pt)
		default:
			return parts, nil
		}
	}
	return parts, nil
}

// textPart reads one value text, substitution, character or entity
// reference, or CDATA section.
func (p *parser) textPart() (part, error) {
	tok := p.u8() &^ tokMoreFlag
	switch tok {
	case tokValue:
		if err := p.need(3, "value text"); err != nil {
			return part{}, err
		}
		vt := ValueType(p.u8())
		count := int(p.u16())
		if err := p.need(2*count, "value text characters"); err != nil {
			return part{}, err
		}
		b := p.c.data[p.pos : p.pos+2*count]
		p.pos += 2 * count
		var s string
		switch vt {
		case TypeString:
			s = utf16String(b, &p.c.scratch, false)
		case TypeAnsiString:
			s = ansiString(b, &p.c.scratch)
		default:
			return part{}, p.corrupt("value text of type %s", vt)
		}
		return part{kind: partText, text: s}, nil
	case tokNormalSubst, tokOptionalSubst:
		if err := p.need(3, "substitution"); err != nil {
			return part{}, err
		}
		id := p.u16()
		p.pos++ // declared type; the template value descriptor is authoritative
		return part{kind: partSubst, sub: id, optional: tok == tokOptionalSubst}, nil
	case tokCharRef:
		if err := p.need(2, "character reference"); err != nil {
			return part{}, err
		}
		r := rune(p.u16())
		return part{kind: partText, text: string(r)}, nil
	case tokEntityRef:
		name, err := p.nameRef()
		if err != nil {
			return part{}, err
		}
		return part{kind: partText, text: entity(name)}, nil
	case tokCDATA:
		if err := p.need(2, "CDATA section"); err != nil {
			return part{}, err
		}
		count := int(p.u16())
		if err := p.need(2*count, "CDATA characters"); err != nil {
			return part{}, err
		}
		s := utf16String(p.c.data[p.pos:p.pos+2*count], &p.c.scratch, false)
		p.pos += 2 * count
		return part{kind: partText, text: s}, nil
	}
	return part{}, p.corrupt("token 0x%02x is not text", tok)
}

func entity(name string) string {
	switch name {
	case "amp":
		return "&"
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

// skipPI skips a processing instruction target or data token; they carry
// nothing Logster uses.
func (p *parser) skipPI() error {
	tok := p.u8() &^ tokMoreFlag
	if tok == tokPITarget {
		_, err := p.nameRef()
		return err
	}
	if err := p.need(2, "PI data"); err != nil {
		return err
	}
	count := int(p.u16())
	if err := p.need(2*count, "PI data characters"); err != nil {
		return err
	}
	p.pos += 2 * count
	return nil
}

// templateInstance reads a template instance: a reference to (or inline
// definition of) a template, then the substitution values of this record.
func (p *parser) templateInstance(depth int) (*instance, error) {
	if depth > p.c.limits.MaxDepth {
		return nil, errorf(ErrLimit, "templates nested deeper than %d", p.c.limits.MaxDepth)
	}
	p.pos++ // token
	if err := p.need(9, "template instance"); err != nil {
		return nil, err
	}
	p.pos += 5 // unknown byte, template identifier
	defOff := int(p.u32())
	if defOff == p.pos {
		// Inline definition: skip it here; it is parsed (once per chunk)
		// through the cache below.
		if err := p.need(templateHeaderSize, "template definition header"); err != nil {
			return nil, err
		}
		size := int(binary.LittleEndian.Uint32(p.c.data[p.pos+20:]))
		if err := p.need(templateHeaderSize+size, "template definition"); err != nil {
			return nil, err
		}
		p.pos += templateHeaderSize + size
	}
	t, err := p.c.template(defOff, depth)
	if err != nil {
		return nil, err
	}
	inst := &instance{tmpl: t}
	if err := p.need(4, "template value count"); err != nil {
		return nil, err
	}
	count := int(p.u32())
	if err := p.need(4*count, "template value descriptors"); err != nil {
		return nil, err
	}
	desc := p.c.data[p.pos : p.pos+4*count]
	p.pos += 4 * count
	inst.values = p.valueSlots(count)
	for i := 0; i < count; i++ {
		size := int(binary.LittleEndian.Uint16(desc[4*i:]))
		vt := ValueType(desc[4*i+2])
		if err := p.need(size, "template value data"); err != nil {
			return nil, err
		}
		b := p.c.data[p.pos : p.pos+size]
		if vt == TypeBinXML && size > 0 {
			sub := parser{c: p.c, pos: p.pos, end: p.pos + size, keep: p.keep}
			parts, err := sub.fragment(depth + 1)
			if err != nil {
				return nil, err
			}
			if inst.nested == nil {
				inst.nested = p.nestedSlots(count)
			}
			inst.nested[i] = parts
			inst.values[i] = Value{typ: TypeBinXML}
		} else if vt == TypeBinXML {
			inst.values[i] = Value{}
		} else {
			inst.values[i] = decodeValue(vt, b, &p.c.scratch)
		}
		p.pos += size
	}
	return inst, nil
}

// template returns the parsed template whose definition starts at the chunk
// offset, parsing it on first use.
func (c *chunkCtx) template(off, depth int) (*template, error) {
	if t, ok := c.templates[uint32(off)]; ok {
		if t.busy {
			return nil, errorf(ErrCorrupt, "template at chunk offset 0x%x refers to itself", off)
		}
		return t, t.err
	}
	if len(c.templates) >= c.limits.MaxTemplatesPerChunk {
		return nil, errorf(ErrLimit, "more than %d templates in one chunk", c.limits.MaxTemplatesPerChunk)
	}
	t := &template{busy: true}
	c.templates[uint32(off)] = t
	t.parts, t.err = c.parseTemplate(off, depth)
	t.busy = false
	return t, t.err
}

func (c *chunkCtx) parseTemplate(off, depth int) ([]part, error) {
	if off < 0 || off+templateHeaderSize > len(c.data) {
		return nil, errorf(ErrCorrupt, "template definition offset 0x%x out of range", off)
	}
	size := int(binary.LittleEndian.Uint32(c.data[off+20:]))
	start := off + templateHeaderSize
	if size < 0 || size > len(c.data)-start {
		return nil, errorf(ErrTruncated, "template definition at chunk offset 0x%x of %d bytes", off, size)
	}
	c.tmplBytes += size
	if c.tmplBytes > 4*chunkSize {
		return nil, errorf(ErrLimit, "template definitions of more than %d bytes in one chunk", 4*chunkSize)
	}
	p := parser{c: c, pos: start, end: start + size, depID: true, keep: true}
	parts, err := p.fragment(depth)
	if err != nil {
		return nil, err
	}
	return parts, nil
}
