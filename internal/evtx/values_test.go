package evtx

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			b = append(b, le16(uint16(0xd800+(r>>10)))...)
			b = append(b, le16(uint16(0xdc00+(r&0x3ff)))...)
			continue
		}
		b = append(b, le16(uint16(r))...)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func systemtime(y, mo, dow, d, h, mi, s, ms uint16) []byte {
	return cat(le16(y), le16(mo), le16(dow), le16(d), le16(h), le16(mi), le16(s), le16(ms))
}

// ft2020 is 2020-01-01T00:00:00Z as FILETIME ticks.
const ft2020 = (1577836800 + 11644473600) * 10_000_000

func TestDecodeValueRendering(t *testing.T) {
	t.Parallel()
	sysmonGUID := []byte{0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9}
	sidSystem := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}
	sidDomain := cat([]byte{1, 5, 0, 0, 0, 0, 0, 5}, le32(21), le32(2555720767), le32(1205513275), le32(3893774561), le32(1001))
	cases := []struct {
		name string
		typ  ValueType
		in   []byte
		want string
		out  ValueType // type after decoding (fallbacks change it)
	}{
		{"null", TypeNull, nil, "", TypeNull},
		{"utf16", TypeString, utf16le("C:\\Windows\\cmd.exe"), `C:\Windows\cmd.exe`, TypeString},
		{"utf16 NUL-terminated", TypeString, cat(utf16le("abc"), le16(0), utf16le("junk")), "abc", TypeString},
		{"utf16 surrogate pair", TypeString, utf16le("x\U0001F600y"), "x\U0001F600y", TypeString},
		{"utf16 unpaired surrogate", TypeString, cat(utf16le("a"), le16(0xd800), utf16le("b")), "a\uFFFDb", TypeString},
		{"utf16 odd length", TypeString, cat(utf16le("ab"), []byte{0x41}), "ab", TypeString},
		{"utf16 right-to-left override", TypeString, utf16le("Ann\u202egepj.exe"), "Ann\u202egepj.exe", TypeString},
		{"ansi cp1252", TypeAnsiString, []byte("caf\xe9 \x80\x00junk"), "café €", TypeAnsiString},
		{"int8", TypeInt8, []byte{0xff}, "-1", TypeInt8},
		{"uint8", TypeUint8, []byte{0xff}, "255", TypeUint8},
		{"int16", TypeInt16, le16(0x8000), "-32768", TypeInt16},
		{"uint16", TypeUint16, le16(4624), "4624", TypeUint16},
		{"int32", TypeInt32, le32(0x8004805f), "-2147188641", TypeInt32},
		{"uint32", TypeUint32, le32(4294967295), "4294967295", TypeUint32},
		{"int64 min", TypeInt64, le64(1 << 63), "-9223372036854775808", TypeInt64},
		{"uint64", TypeUint64, le64(math.MaxUint64), "18446744073709551615", TypeUint64},
		{"real32", TypeReal32, le32(math.Float32bits(1.5)), "1.5", TypeReal32},
		{"real64", TypeReal64, le64(math.Float64bits(-0.25)), "-0.25", TypeReal64},
		{"real64 NaN", TypeReal64, le64(math.Float64bits(math.NaN())), "-1.#IND", TypeReal64},
		{"real64 +Inf", TypeReal64, le64(math.Float64bits(math.Inf(1))), "1.#INF", TypeReal64},
		{"bool true", TypeBool, le32(1), "true", TypeBool},
		{"bool false", TypeBool, le32(0), "false", TypeBool},
		{"bool irregular", TypeBool, le32(0x100), "true", TypeBool},
		{"bool short", TypeBool, []byte{1}, "true", TypeBool},
		{"binary", TypeBinary, []byte{0xde, 0xad, 0xbe, 0xef}, "DEADBEEF", TypeBinary},
		{"binary empty", TypeBinary, nil, "", TypeBinary},
		{"guid", TypeGUID, sysmonGUID, "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", TypeGUID},
		{"guid truncated", TypeGUID, sysmonGUID[:15], "5F3870572AC2E043BF4C06F5698FFB", TypeBinary},
		{"size_t 32", TypeSizeT, le32(4), "0x4", TypeSizeT},
		{"size_t 64", TypeSizeT, le64(0x14c7b1f20), "0x14c7b1f20", TypeSizeT},
		{"size_t bad width", TypeSizeT, []byte{1, 2, 3}, "010203", TypeBinary},
		{"filetime", TypeFileTime, le64(ft2020 + 1234567), "2020-01-01T00:00:00.1234567Z", TypeFileTime},
		{"filetime zero", TypeFileTime, le64(0), "1601-01-01T00:00:00.0000000Z", TypeFileTime},
		{"filetime max", TypeFileTime, le64(math.MaxUint64), "60056-05-28T05:36:10.9551615Z", TypeFileTime},
		{"systemtime", TypeSysTime, systemtime(2019, 3, 2, 19, 23, 34, 25, 123), "2019-03-19T23:34:25.1230000Z", TypeSysTime},
		{"systemtime invalid month", TypeSysTime, systemtime(2019, 13, 2, 19, 23, 34, 25, 123), "E3070D00020013001700220019007B00", TypeSysTime},
		{"systemtime truncated", TypeSysTime, systemtime(2019, 3, 2, 19, 23, 34, 25, 123)[:10], "E3070300020013001700", TypeBinary},
		{"sid system", TypeSID, sidSystem, "S-1-5-18", TypeSID},
		{"sid domain", TypeSID, sidDomain, "S-1-5-21-2555720767-1205513275-3893774561-1001", TypeSID},
		{"sid large authority", TypeSID, []byte{1, 0, 1, 0, 0, 0, 0, 0}, "S-1-0x010000000000", TypeSID},
		{"sid truncated", TypeSID, sidDomain[:20], "0105000000000005150000003F3455983BACDA47", TypeBinary},
		{"sid empty", TypeSID, nil, "", TypeNull},
		{"hexint32", TypeHexInt32, le32(0x3e7), "0x3e7", TypeHexInt32},
		{"hexint64", TypeHexInt64, le64(0x8020000000000000), "0x8020000000000000", TypeHexInt64},
		{"hexint64 zero", TypeHexInt64, le64(0), "0x0", TypeHexInt64},
		{"hexint32 truncated", TypeHexInt32, []byte{1, 2}, "0102", TypeBinary},
		{"uint32 empty", TypeUint32, nil, "", TypeNull},
		{"unknown type", ValueType(0x7f), []byte{0xab}, "AB", TypeBinary},
		{"evt handle", TypeEvtHandle, le64(7), "7", TypeEvtHandle},
		{"string array", TypeString | TypeArrayFlag, cat(utf16le("a"), le16(0), utf16le("bc"), le16(0)), "a,bc", TypeString | TypeArrayFlag},
		{"string array unterminated", TypeString | TypeArrayFlag, cat(utf16le("a"), le16(0), utf16le("bc")), "a,bc", TypeString | TypeArrayFlag},
		{"string array leading empty", TypeString | TypeArrayFlag, cat(le16(0), utf16le("x"), le16(0)), ",x", TypeString | TypeArrayFlag},
		{"ansi array", TypeAnsiString | TypeArrayFlag, []byte("ab\x00c\x00"), "ab,c", TypeAnsiString | TypeArrayFlag},
		{"uint16 array", TypeUint16 | TypeArrayFlag, cat(le16(1), le16(2), []byte{9}), "1,2", TypeUint16 | TypeArrayFlag},
		{"hexint32 array", TypeHexInt32 | TypeArrayFlag, cat(le32(10), le32(255)), "0xa,0xff", TypeHexInt32 | TypeArrayFlag},
		{"guid array", TypeGUID | TypeArrayFlag, cat(sysmonGUID, sysmonGUID), "{5770385F-C22A-43E0-BF4C-06F5698FFBD9},{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", TypeGUID | TypeArrayFlag},
		{"sid array", TypeSID | TypeArrayFlag, cat(sidSystem, sidSystem), "S-1-5-18,S-1-5-18", TypeSID | TypeArrayFlag},
		{"sid array truncated", TypeSID | TypeArrayFlag, cat(sidSystem, sidSystem[:9]), "S-1-5-18,010100000000000512", TypeSID | TypeArrayFlag},
		{"size_t array", TypeSizeT | TypeArrayFlag, cat(le64(1), le64(2)), "0x1,0x2", TypeSizeT | TypeArrayFlag},
		{"bool array", TypeBool | TypeArrayFlag, cat(le32(0), le32(1)), "false,true", TypeBool | TypeArrayFlag},
		{"empty array", TypeUint32 | TypeArrayFlag, nil, "", TypeUint32 | TypeArrayFlag},
		{"binary array", TypeBinary | TypeArrayFlag, []byte{1}, "01", TypeBinary},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var scratch []byte
			v := decodeValue(c.typ, c.in, &scratch)
			if got := v.String(); got != c.want {
				t.Errorf("String() = %q, want %q", got, c.want)
			}
			if v.Type() != c.out {
				t.Errorf("Type() = %s, want %s", v.Type(), c.out)
			}
		})
	}
}

func TestValueAccessors(t *testing.T) {
	t.Parallel()
	var s []byte
	if n, ok := decodeValue(TypeInt32, le32(0xffffffff), &s).Int(); !ok || n != -1 {
		t.Errorf("Int32 -1: %d %v", n, ok)
	}
	if _, ok := decodeValue(TypeInt32, le32(0xffffffff), &s).Uint(); ok {
		t.Errorf("negative Int32 converted to Uint")
	}
	if n, ok := decodeValue(TypeHexInt64, le64(0x3e7), &s).Uint(); !ok || n != 0x3e7 {
		t.Errorf("HexInt64: %d %v", n, ok)
	}
	for _, c := range []struct {
		s    string
		want uint64
		ok   bool
	}{{"4624", 4624, true}, {" 0x1f ", 31, true}, {"007", 7, true}, {"-1", 0, false}, {"x", 0, false}} {
		if n, ok := StringValue(c.s).Uint(); n != c.want || ok != c.ok {
			t.Errorf("StringValue(%q).Uint() = %d %v", c.s, n, ok)
		}
	}
	tm, ok := decodeValue(TypeFileTime, le64(ft2020), &s).Time()
	if !ok || !tm.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) || tm.Location() != time.UTC {
		t.Errorf("FILETIME: %v %v", tm, ok)
	}
	tm, ok = decodeValue(TypeSysTime, systemtime(2019, 3, 2, 19, 23, 34, 25, 123), &s).Time()
	if !ok || !tm.Equal(time.Date(2019, 3, 19, 23, 34, 25, 123e6, time.UTC)) {
		t.Errorf("SYSTEMTIME: %v %v", tm, ok)
	}
	if _, ok := decodeValue(TypeSysTime, systemtime(2019, 0, 0, 0, 0, 0, 0, 0), &s).Time(); ok {
		t.Errorf("invalid SYSTEMTIME accepted")
	}
	if b, ok := decodeValue(TypeBool, le32(7), &s).Bool(); !ok || !b {
		t.Errorf("Bool: %v %v", b, ok)
	}
	if f, ok := decodeValue(TypeReal32, le32(math.Float32bits(2.5)), &s).Float(); !ok || f != 2.5 {
		t.Errorf("Real32: %v %v", f, ok)
	}
	arr := decodeValue(TypeString|TypeArrayFlag, cat(utf16le("a"), le16(0), utf16le("b"), le16(0)), &s)
	if items := arr.Array(); len(items) != 2 || items[1].String() != "b" {
		t.Errorf("Array: %v", items)
	}
	if (Value{}).IsNull() != true || StringValue("").IsNull() {
		t.Errorf("IsNull")
	}
	if got := (TypeString | TypeArrayFlag).String(); got != "Array(String)" {
		t.Errorf("type name %q", got)
	}
	// Decoded values must not alias the (reused) chunk buffer.
	buf := []byte{0xde, 0xad}
	v := decodeValue(TypeBinary, buf, &s)
	buf[0] = 0
	if v.String() != "DEADBEEF"[:4] {
		t.Errorf("binary value aliases its input: %s", v.String())
	}
}

// FuzzDecodeValue: any type and bytes decode and render without panicking.
func FuzzDecodeValue(f *testing.F) {
	f.Add(byte(TypeSID), []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0})
	f.Add(byte(TypeString|TypeArrayFlag), cat(utf16le("a"), le16(0), utf16le("b")))
	f.Add(byte(TypeSysTime), systemtime(2019, 3, 2, 19, 23, 34, 25, 123))
	f.Fuzz(func(t *testing.T, typ byte, data []byte) {
		var s []byte
		v := decodeValue(ValueType(typ), data, &s)
		_ = v.String()
		_, _ = v.Uint()
		_, _ = v.Int()
		_, _ = v.Time()
		if n := textLen(v); n < 0 {
			t.Fatalf("negative text length")
		}
	})
}
