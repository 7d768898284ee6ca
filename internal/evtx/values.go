package evtx

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ValueType is the binary XML type of a substitution value (MS-EVEN6 2.2.14
// "Type System"). The high bit (TypeArrayFlag) marks an array of the base type.
type ValueType uint8

// Value types as they appear in template value descriptors and substitution
// tokens.
const (
	TypeNull       ValueType = 0x00
	TypeString     ValueType = 0x01 // UTF-16LE
	TypeAnsiString ValueType = 0x02 // code page string, decoded as Windows-1252
	TypeInt8       ValueType = 0x03
	TypeUint8      ValueType = 0x04
	TypeInt16      ValueType = 0x05
	TypeUint16     ValueType = 0x06
	TypeInt32      ValueType = 0x07
	TypeUint32     ValueType = 0x08
	TypeInt64      ValueType = 0x09
	TypeUint64     ValueType = 0x0a
	TypeReal32     ValueType = 0x0b
	TypeReal64     ValueType = 0x0c
	TypeBool       ValueType = 0x0d
	TypeBinary     ValueType = 0x0e
	TypeGUID       ValueType = 0x0f
	TypeSizeT      ValueType = 0x10
	TypeFileTime   ValueType = 0x11
	TypeSysTime    ValueType = 0x12
	TypeSID        ValueType = 0x13
	TypeHexInt32   ValueType = 0x14
	TypeHexInt64   ValueType = 0x15
	TypeEvtHandle  ValueType = 0x20
	TypeBinXML     ValueType = 0x21
	TypeEvtXML     ValueType = 0x23

	TypeArrayFlag ValueType = 0x80
)

// IsArray reports whether t is an array type.
func (t ValueType) IsArray() bool { return t&TypeArrayFlag != 0 }

// Base returns the element type of an array type (t itself otherwise).
func (t ValueType) Base() ValueType { return t &^ TypeArrayFlag }

var typeNames = map[ValueType]string{
	TypeNull: "Null", TypeString: "String", TypeAnsiString: "AnsiString",
	TypeInt8: "Int8", TypeUint8: "UInt8", TypeInt16: "Int16", TypeUint16: "UInt16",
	TypeInt32: "Int32", TypeUint32: "UInt32", TypeInt64: "Int64", TypeUint64: "UInt64",
	TypeReal32: "Real32", TypeReal64: "Real64", TypeBool: "Bool", TypeBinary: "Binary",
	TypeGUID: "GUID", TypeSizeT: "SizeT", TypeFileTime: "FileTime", TypeSysTime: "SysTime",
	TypeSID: "SID", TypeHexInt32: "HexInt32", TypeHexInt64: "HexInt64",
	TypeEvtHandle: "EvtHandle", TypeBinXML: "BinXml", TypeEvtXML: "EvtXml",
}

func (t ValueType) String() string {
	name, ok := typeNames[t.Base()]
	if !ok {
		name = "0x" + strconv.FormatUint(uint64(t.Base()), 16)
	}
	if t.IsArray() {
		return "Array(" + name + ")"
	}
	return name
}

// Value is one typed value of an event: a substitution value, an attribute or
// the text content of an element. The zero Value is Null.
//
// String renders the value the way Windows renders it into event XML (and so
// the way Winlogbeat ships it); the typed accessors give the decoded value.
//
// The struct is kept small (64 bytes): a record holds dozens of them.
type Value struct {
	typ ValueType
	u   uint64 // integers (signed ones sign-extended), bool, hex ints, size_t, FILETIME ticks, float bits
	s   string // strings; pre-rendered GUID and SID
	b   []byte // binary payload; raw GUID, SID, SYSTEMTIME bytes
	ext *valueExt
}

// valueExt holds the rarely used parts of a Value.
type valueExt struct {
	arr []Value    // array items
	xml []*Element // nested binary XML (TypeBinXML)
}

func arrayValue(t ValueType, items []Value) Value {
	return Value{typ: t, ext: &valueExt{arr: items}}
}

func xmlValue(elems []*Element) Value {
	return Value{typ: TypeBinXML, ext: &valueExt{xml: elems}}
}

func (v Value) arr() []Value {
	if v.ext == nil {
		return nil
	}
	return v.ext.arr
}

func (v Value) xml() []*Element {
	if v.ext == nil {
		return nil
	}
	return v.ext.xml
}

func (v Value) float() float64 {
	return math.Float64frombits(v.u)
}

// Type returns the value's binary XML type. Text assembled from several
// parts (literal text, entity references, several substitutions) is a String.
func (v Value) Type() ValueType { return v.typ }

// IsNull reports whether the value is Null (absent).
func (v Value) IsNull() bool { return v.typ == TypeNull }

// StringValue returns a String value.
func StringValue(s string) Value { return Value{typ: TypeString, s: s} }

// Array returns the items of an array value (nil otherwise).
func (v Value) Array() []Value { return v.arr() }

// Elements returns the elements of a nested binary XML value (TypeBinXML).
func (v Value) Elements() []*Element { return v.xml() }

// Bytes returns the raw payload of Binary, GUID, SID, SYSTEMTIME and EvtXml
// values (nil otherwise). The slice must not be modified.
func (v Value) Bytes() []byte { return v.b }

// Uint returns the value as an unsigned integer. Integer, hex, size_t, bool and
// FILETIME values convert directly; strings holding a decimal or 0x-prefixed
// hexadecimal number are parsed, because templates sometimes carry System
// fields as literal text.
func (v Value) Uint() (uint64, bool) {
	switch v.typ {
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64, TypeHexInt32, TypeHexInt64,
		TypeSizeT, TypeBool, TypeFileTime, TypeEvtHandle:
		return v.u, true
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		if int64(v.u) < 0 {
			return 0, false
		}
		return v.u, true
	case TypeString, TypeAnsiString:
		s := strings.TrimSpace(v.s)
		if n, err := strconv.ParseUint(s, 0, 64); err == nil {
			return n, true
		}
		// strconv base 0 treats a leading 0 as octal; event text never is.
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

// Int returns the value as a signed integer (see Uint for the conversions).
func (v Value) Int() (int64, bool) {
	switch v.typ {
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		return int64(v.u), true
	case TypeString, TypeAnsiString:
		if n, err := strconv.ParseInt(strings.TrimSpace(v.s), 10, 64); err == nil {
			return n, true
		}
	}
	u, ok := v.Uint()
	if !ok || u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// Float returns Real32/Real64 values.
func (v Value) Float() (float64, bool) {
	if v.typ == TypeReal32 || v.typ == TypeReal64 {
		return v.float(), true
	}
	return 0, false
}

// Bool returns Bool values; any non-zero 32-bit value is true, as Windows
// renders it (some providers write values other than 0 and 1).
func (v Value) Bool() (bool, bool) {
	if v.typ == TypeBool {
		return v.u != 0, true
	}
	return false, false
}

// Time returns FILETIME and SYSTEMTIME values as UTC times.
func (v Value) Time() (time.Time, bool) {
	switch v.typ {
	case TypeFileTime:
		return filetimeToTime(v.u), true
	case TypeSysTime:
		return systemtimeToTime(v.b)
	}
	return time.Time{}, false
}

// String renders the value as Windows renders it in event XML: decimal
// integers, 0x-prefixed lower-case hex for HexInt32/HexInt64/SizeT, GUIDs as
// {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}, SIDs as S-1-..., binary as upper-case
// hex, times as ISO 8601 UTC with 100 ns precision, booleans as true/false.
// Arrays are rendered comma-separated; nested binary XML as XML text.
func (v Value) String() string {
	switch v.typ {
	case TypeNull:
		return ""
	case TypeString, TypeAnsiString, TypeGUID, TypeSID:
		return v.s // no copy: the common case costs nothing
	}
	return string(v.appendText(nil))
}

func (v Value) appendText(dst []byte) []byte {
	switch v.typ {
	case TypeNull:
		return dst
	case TypeString, TypeAnsiString, TypeGUID, TypeSID:
		return append(dst, v.s...)
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		return strconv.AppendInt(dst, int64(v.u), 10)
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64, TypeEvtHandle:
		return strconv.AppendUint(dst, v.u, 10)
	case TypeHexInt32, TypeHexInt64, TypeSizeT:
		dst = append(dst, '0', 'x')
		return strconv.AppendUint(dst, v.u, 16)
	case TypeReal32:
		return appendFloat(dst, v.float(), 32)
	case TypeReal64:
		return appendFloat(dst, v.float(), 64)
	case TypeBool:
		if v.u != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case TypeBinary, TypeEvtXML:
		return appendHexUpper(dst, v.b)
	case TypeFileTime:
		return appendWindowsTime(dst, filetimeToTime(v.u))
	case TypeSysTime:
		t, ok := systemtimeToTime(v.b)
		if !ok {
			return appendHexUpper(dst, v.b)
		}
		return appendWindowsTime(dst, t)
	case TypeBinXML:
		for _, e := range v.xml() {
			dst = e.appendXML(dst)
		}
		return dst
	}
	if v.typ.IsArray() {
		for i, item := range v.arr() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = item.appendText(dst)
		}
		return dst
	}
	return appendHexUpper(dst, v.b)
}

func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "-1.#IND"...)
	case math.IsInf(f, 1):
		return append(dst, "1.#INF"...)
	case math.IsInf(f, -1):
		return append(dst, "-1.#INF"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

const hexUpper = "0123456789ABCDEF"

func appendHexUpper(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexUpper[c>>4], hexUpper[c&0x0f])
	}
	return dst
}

// filetimeToTime converts 100 ns ticks since 1601-01-01 UTC. Done in seconds
// plus remainder so that hostile values near 2^64 cannot overflow int64.
func filetimeToTime(ft uint64) time.Time {
	const epochDelta = 11644473600 // seconds from 1601 to 1970
	sec := int64(ft/10_000_000) - epochDelta
	nsec := int64(ft%10_000_000) * 100
	return time.Unix(sec, nsec).UTC()
}

// systemtimeToTime decodes a 16-byte SYSTEMTIME. Out-of-range fields make it
// invalid rather than being normalised into a different date by time.Date.
func systemtimeToTime(b []byte) (time.Time, bool) {
	if len(b) != 16 {
		return time.Time{}, false
	}
	f := func(i int) int { return int(binary.LittleEndian.Uint16(b[i*2:])) }
	year, month, day, hour, minute, sec, ms := f(0), f(1), f(3), f(4), f(5), f(6), f(7)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 || ms > 999 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, ms*1_000_000, time.UTC), true
}

// appendWindowsTime renders a time the way Windows writes SystemTime
// attributes: seven fractional digits (100 ns) and a Z suffix.
func appendWindowsTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.0000000Z")
}

// decodeValue decodes one substitution value of type t from b (exactly the
// descriptor's size). Fixed-size types whose size does not match fall back to
// Binary so that damaged data stays visible instead of being misread.
// BinXml values are decoded by the caller (they need the chunk context).
func decodeValue(t ValueType, b []byte, scratch *[]byte) Value {
	if t.IsArray() {
		return decodeArray(t, b, scratch)
	}
	switch t {
	case TypeNull:
		return Value{}
	case TypeString:
		return Value{typ: TypeString, s: utf16String(b, scratch, true)}
	case TypeAnsiString:
		return Value{typ: TypeAnsiString, s: ansiString(b, scratch)}
	case TypeInt8:
		if len(b) == 1 {
			return Value{typ: t, u: uint64(int64(int8(b[0])))}
		}
	case TypeUint8:
		if len(b) == 1 {
			return Value{typ: t, u: uint64(b[0])}
		}
	case TypeInt16:
		if len(b) == 2 {
			return Value{typ: t, u: uint64(int64(int16(binary.LittleEndian.Uint16(b))))}
		}
	case TypeUint16:
		if len(b) == 2 {
			return Value{typ: t, u: uint64(binary.LittleEndian.Uint16(b))}
		}
	case TypeInt32:
		if len(b) == 4 {
			return Value{typ: t, u: uint64(int64(int32(binary.LittleEndian.Uint32(b))))}
		}
	case TypeUint32, TypeHexInt32:
		if len(b) == 4 {
			return Value{typ: t, u: uint64(binary.LittleEndian.Uint32(b))}
		}
	case TypeBool:
		if len(b) == 4 {
			return Value{typ: t, u: uint64(binary.LittleEndian.Uint32(b))}
		}
		// Some writers store booleans in fewer bytes; any non-zero byte is true.
		if len(b) > 0 && len(b) < 4 {
			var u uint64
			for _, c := range b {
				u |= uint64(c)
			}
			return Value{typ: t, u: u}
		}
	case TypeInt64:
		if len(b) == 8 {
			return Value{typ: t, u: binary.LittleEndian.Uint64(b)}
		}
	case TypeUint64, TypeHexInt64, TypeFileTime:
		if len(b) == 8 {
			return Value{typ: t, u: binary.LittleEndian.Uint64(b)}
		}
	case TypeEvtHandle:
		switch len(b) {
		case 4:
			return Value{typ: t, u: uint64(binary.LittleEndian.Uint32(b))}
		case 8:
			return Value{typ: t, u: binary.LittleEndian.Uint64(b)}
		}
	case TypeSizeT:
		switch len(b) {
		case 4:
			return Value{typ: t, u: uint64(binary.LittleEndian.Uint32(b))}
		case 8:
			return Value{typ: t, u: binary.LittleEndian.Uint64(b)}
		}
	case TypeReal32:
		if len(b) == 4 {
			return Value{typ: t, u: math.Float64bits(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))}
		}
	case TypeReal64:
		if len(b) == 8 {
			return Value{typ: t, u: binary.LittleEndian.Uint64(b)}
		}
	case TypeGUID:
		if len(b) == 16 {
			raw := append([]byte(nil), b...)
			return Value{typ: t, s: formatGUID(raw), b: raw}
		}
	case TypeSysTime:
		if len(b) == 16 {
			return Value{typ: t, b: append([]byte(nil), b...)}
		}
	case TypeSID:
		if s, ok := formatSID(b); ok {
			return Value{typ: t, s: s, b: append([]byte(nil), b...)}
		}
	case TypeBinary, TypeEvtXML:
		return Value{typ: t, b: append([]byte(nil), b...)}
	}
	if len(b) == 0 {
		// A zero-size value of any type is an absent value (seen in real logs
		// as "zero data size" substitutions).
		return Value{}
	}
	return Value{typ: TypeBinary, b: append([]byte(nil), b...)}
}

// elemSize is the fixed size of array items; 0 for variable-size types.
func elemSize(t ValueType) int {
	switch t {
	case TypeInt8, TypeUint8:
		return 1
	case TypeInt16, TypeUint16:
		return 2
	case TypeInt32, TypeUint32, TypeHexInt32, TypeReal32, TypeBool:
		return 4
	case TypeInt64, TypeUint64, TypeHexInt64, TypeReal64, TypeFileTime:
		return 8
	case TypeGUID, TypeSysTime:
		return 16
	}
	return 0
}

func decodeArray(t ValueType, b []byte, scratch *[]byte) Value {
	base := t.Base()
	var items []Value
	switch base {
	case TypeString:
		// NUL-terminated UTF-16 strings back to back.
		for len(b) >= 2 {
			end := 0
			for end+1 < len(b) && (b[end] != 0 || b[end+1] != 0) {
				end += 2
			}
			if end+1 >= len(b) { // unterminated last item
				end = len(b) &^ 1
			}
			items = append(items, Value{typ: TypeString, s: utf16String(b[:end], scratch, false)})
			if end+2 > len(b) {
				break
			}
			b = b[end+2:]
		}
		return arrayValue(t, items)
	case TypeAnsiString:
		for len(b) > 0 {
			end := 0
			for end < len(b) && b[end] != 0 {
				end++
			}
			items = append(items, Value{typ: TypeAnsiString, s: ansiString(b[:end], scratch)})
			if end+1 > len(b) {
				break
			}
			b = b[end+1:]
		}
		return arrayValue(t, items)
	case TypeSID:
		for len(b) >= 8 {
			n := 8 + 4*int(b[1])
			if n > len(b) {
				break
			}
			items = append(items, decodeValue(TypeSID, b[:n], scratch))
			b = b[n:]
		}
		if len(b) > 0 {
			items = append(items, Value{typ: TypeBinary, b: append([]byte(nil), b...)})
		}
		return arrayValue(t, items)
	case TypeSizeT:
		// The item width is not recorded; the value size tells it only when
		// it is not a multiple of 8. Windows writes 64-bit size_t on x64.
		w := 8
		if len(b)%8 != 0 {
			w = 4
		}
		for len(b) >= w {
			items = append(items, decodeValue(TypeSizeT, b[:w], scratch))
			b = b[w:]
		}
		return arrayValue(t, items)
	}
	size := elemSize(base)
	if size == 0 {
		// Arrays of Binary/BinXml are not defined; keep the bytes.
		return Value{typ: TypeBinary, b: append([]byte(nil), b...)}
	}
	items = make([]Value, 0, len(b)/size)
	for len(b) >= size {
		items = append(items, decodeValue(base, b[:size], scratch))
		b = b[size:]
	}
	return arrayValue(t, items)
}

// formatGUID renders a little-endian GUID as Windows does (StringFromGUID2):
// upper case, with braces.
func formatGUID(b []byte) string {
	var out [38]byte
	order := [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}
	out[0] = '{'
	n := 1
	for i, idx := range order {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[n] = '-'
			n++
		}
		out[n] = hexUpper[b[idx]>>4]
		out[n+1] = hexUpper[b[idx]&0x0f]
		n += 2
	}
	out[37] = '}'
	return string(out[:])
}

// formatSID renders a binary SID (revision, sub-authority count, 48-bit
// big-endian identifier authority, little-endian 32-bit sub-authorities) as
// ConvertSidToStringSid does: authorities of 2^32 and above in hex.
func formatSID(b []byte) (string, bool) {
	if len(b) < 8 {
		return "", false
	}
	n := int(b[1])
	if len(b) < 8+4*n {
		return "", false
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	buf := make([]byte, 0, 16+11*n)
	buf = append(buf, "S-"...)
	buf = strconv.AppendUint(buf, uint64(b[0]), 10)
	buf = append(buf, '-')
	if auth >= 1<<32 {
		buf = append(buf, "0x"...)
		const hexDigits = 12
		for i := hexDigits - 1; i >= 0; i-- {
			buf = append(buf, hexUpper[(auth>>(4*uint(i)))&0xf])
		}
	} else {
		buf = strconv.AppendUint(buf, auth, 10)
	}
	for i := 0; i < n; i++ {
		buf = append(buf, '-')
		buf = strconv.AppendUint(buf, uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return string(buf), true
}

// utf16String decodes UTF-16LE. With stopAtNUL the string ends at the first
// NUL unit (Windows stores many strings with their terminator, and renders
// nothing after it). Unpaired surrogates become U+FFFD. scratch is reused
// between calls to avoid a temporary allocation per string.
func utf16String(b []byte, scratch *[]byte, stopAtNUL bool) string {
	n := len(b) / 2
	buf := (*scratch)[:0]
	ascii := true
	for i := 0; i < n; i++ {
		c := uint16(b[2*i]) | uint16(b[2*i+1])<<8
		if c == 0 && stopAtNUL {
			n = i
			break
		}
		if c >= 0x80 {
			ascii = false
			break
		}
		buf = append(buf, byte(c))
	}
	if !ascii {
		buf = buf[:0]
		for i := 0; i < n; i++ {
			c := uint16(b[2*i]) | uint16(b[2*i+1])<<8
			if c == 0 && stopAtNUL {
				break
			}
			r := rune(c)
			if utf16.IsSurrogate(r) {
				if r < 0xdc00 && i+1 < n {
					c2 := uint16(b[2*i+2]) | uint16(b[2*i+3])<<8
					if d := utf16.DecodeRune(r, rune(c2)); d != utf8.RuneError {
						buf = utf8.AppendRune(buf, d)
						i++
						continue
					}
				}
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
		}
	}
	*scratch = buf
	return string(buf)
}

// cp1252 maps bytes 0x80-0x9F of Windows-1252; other bytes are Latin-1.
var cp1252 = [32]rune{
	0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
	0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
}

// ansiString decodes a code page string as Windows-1252 (the default code
// page of evtxexport and of most western systems), up to the first NUL.
func ansiString(b []byte, scratch *[]byte) string {
	buf := (*scratch)[:0]
	for _, c := range b {
		if c == 0 {
			break
		}
		switch {
		case c < 0x80:
			buf = append(buf, c)
		case c < 0xa0:
			buf = utf8.AppendRune(buf, cp1252[c-0x80])
		default:
			buf = utf8.AppendRune(buf, rune(c))
		}
	}
	*scratch = buf
	return string(buf)
}
