// Package jsonw appends JSON values to byte slices without reflection. The
// normalizer and the EVTX reader write every output record through it, on
// the hot path; encoding/json would cost several allocations per field.
package jsonw

import (
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// safe[b] is true when ASCII byte b is written as itself.
type safeSet [utf8.RuneSelf]bool

func newSafeSet(escaped string) *safeSet {
	var s safeSet
	for i := 0x20; i < utf8.RuneSelf; i++ {
		s[i] = true
	}
	for _, c := range escaped {
		s[c] = false
	}
	return &s
}

var (
	htmlSafe  = newSafeSet(`"\<>&`) // encoding/json's htmlSafeSet
	plainSafe = newSafeSet(`"\`)
)

// AppendString appends s as a JSON string, byte for byte as
// encoding/json.Marshal writes it: <, > and & escaped, U+2028/U+2029
// escaped, invalid UTF-8 replaced by U+FFFD.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s, htmlSafe) }

// AppendStringNoHTML is AppendString without the HTML escaping, as
// json.Encoder with SetEscapeHTML(false) and Beats write strings.
func AppendStringNoHTML(dst []byte, s string) []byte { return appendString(dst, s, plainSafe) }

func appendString(dst []byte, s string, safe *safeSet) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if safe[b] {
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
		// JavaScript cannot hold U+2028/U+2029 raw in a string literal;
		// encoding/json escapes them whatever the HTML setting.
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

// AppendFloat appends f the way encoding/json does. NaN and ±Inf cannot be
// represented; they become null so the output stays valid JSON.
func AppendFloat(dst []byte, f float64) []byte {
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
