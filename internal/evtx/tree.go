package evtx

// Element is one XML element of an event, with substitution values applied.
// Text content is kept typed in Value: an element whose content is a single
// substitution keeps that value's type (UInt16 for EventID, FileTime, SID,
// ...); content assembled from several parts becomes a String.
type Element struct {
	Name     string
	Attrs    []Attr
	Value    Value // text content; Null when the element has none
	Children []*Element
}

// Attr is one attribute of an Element.
type Attr struct {
	Name  string
	Value Value
}

// Attr returns the value of the named attribute.
func (e *Element) Attr(name string) (Value, bool) {
	if e == nil {
		return Value{}, false
	}
	for _, a := range e.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return Value{}, false
}

// Child returns the first child element with the given name, or nil.
func (e *Element) Child(name string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Text returns the element's text content rendered as a string.
func (e *Element) Text() string {
	if e == nil {
		return ""
	}
	return e.Value.String()
}

// XML renders the element as XML text (no declaration, no indentation).
func (e *Element) XML() string {
	return string(e.appendXML(nil))
}

func (e *Element) appendXML(dst []byte) []byte {
	dst = append(dst, '<')
	dst = append(dst, e.Name...)
	for _, a := range e.Attrs {
		dst = append(dst, ' ')
		dst = append(dst, a.Name...)
		dst = append(dst, '=', '"')
		dst = appendXMLEscaped(dst, a.Value.appendText(nil), true)
		dst = append(dst, '"')
	}
	if e.Value.IsNull() && len(e.Children) == 0 {
		return append(dst, '/', '>')
	}
	dst = append(dst, '>')
	if !e.Value.IsNull() {
		if e.Value.typ == TypeBinXML {
			dst = e.Value.appendText(dst)
		} else {
			dst = appendXMLEscaped(dst, e.Value.appendText(nil), false)
		}
	}
	for _, c := range e.Children {
		dst = c.appendXML(dst)
	}
	dst = append(dst, '<', '/')
	dst = append(dst, e.Name...)
	return append(dst, '>')
}

func appendXMLEscaped(dst, s []byte, attr bool) []byte {
	for _, c := range s {
		switch {
		case c == '&':
			dst = append(dst, "&amp;"...)
		case c == '<':
			dst = append(dst, "&lt;"...)
		case c == '>':
			dst = append(dst, "&gt;"...)
		case c == '"' && attr:
			dst = append(dst, "&quot;"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// builder applies substitution values to parsed templates, within the
// per-record limits.
type builder struct {
	// Slabs from which elements, attributes and child lists of all records
	// are carved: one allocation per many elements instead of one each.
	// Records keep their slabs alive, nothing else.
	slab     []Element
	attrSlab []Attr
	ptrSlab  []*Element

	limits Limits
	nelem  int
	text   int
	parts  []Value // scratch for assembling text content
}

// fragment materialises top-level parts: elements and instantiated
// templates. Bare text at fragment level is returned separately.
func (b *builder) fragment(parts []part, inst *instance, depth int) ([]*Element, []Value, error) {
	if depth > b.limits.MaxDepth {
		return nil, nil, errorf(ErrLimit, "binary XML nested deeper than %d", b.limits.MaxDepth)
	}
	var elems []*Element
	var texts []Value
	for i := range parts {
		pt := &parts[i]
		switch pt.kind {
		case partElem:
			var err error
			elems, err = b.appendElements(elems, pt.elem, inst, depth+1)
			if err != nil {
				return nil, nil, err
			}
		case partInst:
			es, ts, err := b.instance(pt.inst, depth+1)
			if err != nil {
				return nil, nil, err
			}
			elems = append(elems, es...)
			texts = append(texts, ts...)
		case partText:
			texts = append(texts, StringValue(pt.text))
		case partSubst:
			v, nested, err := b.subst(pt, inst, depth+1)
			if err != nil {
				return nil, nil, err
			}
			elems = append(elems, nested...)
			if !v.IsNull() {
				texts = append(texts, v)
			}
		}
	}
	return elems, texts, nil
}

func (b *builder) instance(inst *instance, depth int) ([]*Element, []Value, error) {
	if inst.tmpl == nil {
		return nil, nil, nil
	}
	return b.fragment(inst.tmpl.parts, inst, depth)
}

// subst resolves a substitution: a plain value, or the elements of a nested
// binary XML value. An index past the values supplied is an absent value.
func (b *builder) subst(pt *part, inst *instance, depth int) (Value, []*Element, error) {
	if inst == nil || int(pt.sub) >= len(inst.values) {
		return Value{}, nil, nil
	}
	v := inst.values[pt.sub]
	if v.typ != TypeBinXML {
		return v, nil, nil
	}
	if inst.nested == nil || inst.nested[pt.sub] == nil {
		return Value{}, nil, nil
	}
	elems, texts, err := b.fragment(inst.nested[pt.sub], nil, depth)
	if err != nil {
		return Value{}, nil, err
	}
	if len(elems) == 0 {
		v, err := b.join(texts)
		return v, nil, err
	}
	return Value{}, elems, nil
}

// appendElements materialises a template element and appends it to dst. When its content substitutes
// an array value, Windows repeats the element once per item (MS-EVEN6
// 2.2.16; classic providers log every insertion string this way through one
// <Data>%1</Data> with a string array), and so does this. An empty array
// yields one empty element.
func (b *builder) appendElements(dst []*Element, n *node, inst *instance, depth int) ([]*Element, error) {
	arr := -1
	if inst != nil {
		for i := range n.content {
			pt := &n.content[i]
			if pt.kind == partSubst && int(pt.sub) < len(inst.values) && inst.values[pt.sub].typ.IsArray() {
				arr = int(pt.sub)
				break
			}
		}
	}
	if arr < 0 {
		e, err := b.element(n, inst, depth, -1, Value{})
		if err != nil || e == nil {
			return dst, err
		}
		return append(dst, e), nil
	}
	items := inst.values[arr].arr()
	if len(items) == 0 {
		items = []Value{{}}
	}
	for _, item := range items {
		e, err := b.element(n, inst, depth, arr, item)
		if err != nil {
			return dst, err
		}
		if e != nil {
			dst = append(dst, e)
		}
	}
	return dst, nil
}

// element materialises one element; the substitution numbered override
// (if not -1) takes the value item instead of the instance's value.
func (b *builder) element(n *node, inst *instance, depth, override int, item Value) (*Element, error) {
	if depth > b.limits.MaxDepth {
		return nil, errorf(ErrLimit, "elements nested deeper than %d", b.limits.MaxDepth)
	}
	b.nelem++
	if b.nelem > b.limits.MaxElements {
		return nil, errorf(ErrLimit, "more than %d elements in one record", b.limits.MaxElements)
	}
	if err := b.charge(len(n.name)); err != nil {
		return nil, err
	}
	e := b.newElement()
	e.Name = n.name
	if len(n.attrs) > 0 {
		e.Attrs = b.newAttrs(len(n.attrs))
	}
	if n.nelem > 0 {
		e.Children = b.newChildren(n.nelem)
	}
	for i := range n.attrs {
		a := &n.attrs[i]
		v, present, err := b.attrValue(a.parts, inst, depth)
		if err != nil {
			return nil, err
		}
		// An attribute whose only content is an absent optional
		// substitution is not rendered (e.g. <Correlation/> without
		// ActivityID).
		if present {
			if err := b.charge(len(a.name) + textLen(v)); err != nil {
				return nil, err
			}
			e.Attrs = append(e.Attrs, Attr{Name: a.name, Value: v})
		}
	}
	start := len(b.parts)
	defer func() { b.parts = b.parts[:start] }()
	// An element whose only content is optional substitutions without a
	// value is not created (MS-EVEN6 optional substitution; evtxexport and
	// Event Viewer omit e.g. <Binary> of classic events without binary data).
	absent, present := 0, 0
	for i := range n.content {
		pt := &n.content[i]
		if pt.kind != partSubst {
			present++
		}
		switch pt.kind {
		case partElem:
			var err error
			e.Children, err = b.appendElements(e.Children, pt.elem, inst, depth+1)
			if err != nil {
				return nil, err
			}
		case partInst:
			es, ts, err := b.instance(pt.inst, depth+1)
			if err != nil {
				return nil, err
			}
			e.Children = append(e.Children, es...)
			b.parts = append(b.parts, ts...)
		case partText:
			b.parts = append(b.parts, StringValue(pt.text))
		case partSubst:
			if int(pt.sub) == override {
				present++
				if !item.IsNull() {
					b.parts = append(b.parts, item)
				}
				continue
			}
			v, nested, err := b.subst(pt, inst, depth+1)
			if err != nil {
				return nil, err
			}
			if v.IsNull() && len(nested) == 0 && pt.optional {
				absent++
			} else {
				present++
			}
			e.Children = append(e.Children, nested...)
			if !v.IsNull() {
				b.parts = append(b.parts, v)
			}
		}
	}
	if absent > 0 && present == 0 {
		return nil, nil
	}
	v, err := b.join(b.parts[start:])
	if err != nil {
		return nil, err
	}
	if err := b.charge(textLen(v)); err != nil {
		return nil, err
	}
	e.Value = v
	return e, nil
}

func (b *builder) attrValue(parts []part, inst *instance, depth int) (Value, bool, error) {
	if len(parts) == 1 && parts[0].kind == partSubst {
		v, nested, err := b.subst(&parts[0], inst, depth+1)
		if err != nil {
			return Value{}, false, err
		}
		if len(nested) > 0 {
			v = StringValue(renderElements(nested))
		}
		if v.IsNull() && parts[0].optional {
			return Value{}, false, nil
		}
		return v, true, nil
	}
	start := len(b.parts)
	defer func() { b.parts = b.parts[:start] }()
	for i := range parts {
		pt := &parts[i]
		switch pt.kind {
		case partText:
			b.parts = append(b.parts, StringValue(pt.text))
		case partSubst:
			v, nested, err := b.subst(pt, inst, depth+1)
			if err != nil {
				return Value{}, false, err
			}
			if len(nested) > 0 {
				v = StringValue(renderElements(nested))
			}
			if !v.IsNull() {
				b.parts = append(b.parts, v)
			}
		}
	}
	v, err := b.join(b.parts[start:])
	return v, true, err
}

func renderElements(es []*Element) string {
	var dst []byte
	for _, e := range es {
		dst = e.appendXML(dst)
	}
	return string(dst)
}

// join turns content parts into one value: nothing is Null, one part keeps
// its type, several parts are concatenated as text.
func (b *builder) join(vs []Value) (Value, error) {
	switch len(vs) {
	case 0:
		return Value{}, nil
	case 1:
		return vs[0], nil
	}
	n := 0
	for _, v := range vs {
		n += textLen(v)
	}
	// Checked before building, so that the concatenation itself is bounded.
	if b.text+n > b.limits.MaxTextBytes {
		return Value{}, errorf(ErrLimit, "more than %d bytes of text in one record", b.limits.MaxTextBytes)
	}
	buf := make([]byte, 0, n)
	for _, v := range vs {
		buf = v.appendText(buf)
	}
	return StringValue(string(buf)), nil
}

const slabSize = 64

func (b *builder) newElement() *Element {
	if len(b.slab) == cap(b.slab) {
		b.slab = make([]Element, 0, slabSize)
	}
	b.slab = b.slab[:len(b.slab)+1]
	return &b.slab[len(b.slab)-1]
}

// newAttrs returns an empty slice with room for n attributes; its capacity
// ends where the next carved slice begins, so appending past n reallocates
// instead of overwriting a neighbour.
func (b *builder) newAttrs(n int) []Attr {
	if cap(b.attrSlab)-len(b.attrSlab) < n {
		b.attrSlab = make([]Attr, 0, max(4*slabSize, n))
	}
	start := len(b.attrSlab)
	b.attrSlab = b.attrSlab[:start+n]
	return b.attrSlab[start : start : start+n]
}

func (b *builder) newChildren(n int) []*Element {
	if cap(b.ptrSlab)-len(b.ptrSlab) < n {
		b.ptrSlab = make([]*Element, 0, max(4*slabSize, n))
	}
	start := len(b.ptrSlab)
	b.ptrSlab = b.ptrSlab[:start+n]
	return b.ptrSlab[start : start : start+n]
}

// charge accounts n bytes of text against the record's budget. Every name
// and value placed in the tree is charged, so that anything rendered from
// the tree (XML, JSON) is bounded by the budget too.
func (b *builder) charge(n int) error {
	b.text += n
	if b.text > b.limits.MaxTextBytes {
		return errorf(ErrLimit, "more than %d bytes of text in one record", b.limits.MaxTextBytes)
	}
	return nil
}

// textLen is an upper bound of the rendered length of a value, without
// rendering it.
func textLen(v Value) int {
	switch v.typ {
	case TypeNull:
		return 0
	case TypeString, TypeAnsiString, TypeGUID, TypeSID:
		return len(v.s)
	case TypeBinary, TypeEvtXML:
		return 2 * len(v.b)
	case TypeBinXML:
		n := 0
		for _, e := range v.xml() {
			n += elementTextLen(e)
		}
		return n
	}
	if v.typ.IsArray() {
		n := 0
		for _, item := range v.arr() {
			n += textLen(item) + 1
		}
		return n
	}
	return 40 // numbers, times, booleans
}

func elementTextLen(e *Element) int {
	n := 2*len(e.Name) + 5 + textLen(e.Value)
	for _, a := range e.Attrs {
		n += len(a.Name) + 4 + textLen(a.Value)
	}
	for _, c := range e.Children {
		n += elementTextLen(c)
	}
	return n
}
