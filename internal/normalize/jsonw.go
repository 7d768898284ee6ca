package normalize

import (
	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/jsonw"
)

// JSON writing without reflection: strings and floats go through
// internal/jsonw, byte for byte what encoding/json.Marshal writes (HTML-safe
// escaping, U+FFFD for invalid UTF-8, the same float format), so consumers
// that use encoding/json see no difference; encode_test.go checks that.

const hexDigits = "0123456789abcdef"

func appendString(dst []byte, s string) []byte { return jsonw.AppendString(dst, s) }
func appendFloat(dst []byte, f float64) []byte { return jsonw.AppendFloat(dst, f) }

// appendStringBytes is appendString for a byte slice (no copy).
func appendStringBytes(dst, s []byte) []byte { return jsonw.AppendString(dst, b2s(s)) }

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
