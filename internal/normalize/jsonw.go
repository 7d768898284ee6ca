package normalize

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// JSON writing without reflection. The output is byte-for-byte what
// encoding/json.Marshal writes for the same values (HTML-safe escaping,
// U+FFFD for invalid UTF-8, the same float format), so consumers that use
// encoding/json see no difference; encode_test.go checks that.

const hexDigits = "0123456789abcdef"

// safeSet[b] is true when ASCII byte b needs no escaping (encoding/json's
// htmlSafeSet).
var safeSet = func() [utf8.RuneSelf]bool {
	var s [utf8.RuneSelf]bool
	for i := 0x20; i < utf8.RuneSelf; i++ {
		s[i] = true
	}
	for _, c := range `"\<>&` {
		s[c] = false
	}
	return s
}()

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if safeSet[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendStringBytes is appendString for a byte slice (no copy).
func appendStringBytes(dst, s []byte) []byte { return appendString(dst, b2s(s)) }

// appendFloat appends f the way encoding/json does. NaN and ±Inf cannot be
// represented; callers never pass them (Validate rejects them first), and
// null keeps the output valid if one slips through.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendValue re-encodes a parsed value. fastjson keeps strings raw (it does
// not validate escapes or control characters), so copying its bytes could
// emit invalid JSON; every string goes through appendString instead.
func appendValue(dst []byte, v *fastjson.Value, depth int) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return appendStringBytes(dst, b)
	case fastjson.TypeNumber:
		raw := v.MarshalTo(nil)
		if validNumber(raw) {
			return append(dst, raw...)
		}
		return appendStringBytes(dst, raw)
	case fastjson.TypeTrue:
		return append(dst, "true"...)
	case fastjson.TypeFalse:
		return append(dst, "false"...)
	case fastjson.TypeNull:
		return append(dst, "null"...)
	case fastjson.TypeArray:
		if depth > maxRawDepth {
			return append(dst, "null"...)
		}
		arr, _ := v.Array()
		dst = append(dst, '[')
		for i, e := range arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, e, depth+1)
		}
		return append(dst, ']')
	case fastjson.TypeObject:
		if depth > maxRawDepth {
			return append(dst, "null"...)
		}
		o, _ := v.Object()
		dst = append(dst, '{')
		first := true
		o.Visit(func(k []byte, e *fastjson.Value) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendStringBytes(dst, k)
			dst = append(dst, ':')
			dst = appendValue(dst, e, depth+1)
		})
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

// maxRawDepth bounds nesting copied into raw_event (the parser itself
// refuses input nested deeper than fastjson.MaxDepth).
const maxRawDepth = 32

// validNumber checks the JSON number grammar (fastjson accepts a looser one,
// e.g. "1e", "-", "Inf").
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return false
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(b)
}
