package evtx

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// readBytes reads an in-memory file, returning records and damage reports.
func readBytes(t *testing.T, data []byte, opts ...Option) ([]*Record, []*Error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), opts...)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var recs []*Record
	var errs []*Error
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatalf("reader does not terminate")
		}
		rec, err := r.Next()
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				if err.Error() != "EOF" {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return recs, errs
			}
			if e.Fatal() {
				t.Fatalf("fatal: %v", err)
			}
			errs = append(errs, e)
			continue
		}
		recs = append(recs, rec)
	}
}

func TestSyntheticRecordTree(t *testing.T) {
	t.Parallel()
	c := newChunkBuilder(7)
	var defOff int
	eventData := func(w *bxw) func() {
		return func() {
			w.elem("EventData", true, nil, func() {
				named := []struct {
					name string
					typ  ValueType
				}{{"Image", TypeString}, {"ProcessGuid", TypeGUID}, {"ProcessId", TypeUint32},
					{"LogonId", TypeHexInt64}, {"TargetSid", TypeSID}, {"Created", TypeFileTime},
					{"Blob", TypeBinary}, {"Signed", TypeBool}}
				for i, n := range named {
					w.elem("Data", true, func() {
						w.attr("Name", func() { w.text(n.name) })
					}, func() { w.subst(uint16(sysValues+i), n.typ, false) })
				}
				// Absent optional value: the element is not created.
				w.elem("Data", true, func() {
					w.attr("Name", func() { w.text("Missing") })
				}, func() { w.subst(sysValues+8, TypeString, true) })
				// Text assembled from literal text, entity and character
				// references around a substitution.
				w.elem("Data", true, func() {
					w.attr("Name", func() { w.text("Mixed") })
				}, func() {
					w.text("a")
					w.raw(tokEntityRef)
					w.name("amp")
					w.raw(tokCharRef)
					w.u16('#')
					w.subst(sysValues+2, TypeUint32, false)
				})
				// Classic providers: one <Data> with a string array becomes
				// one <Data> per item.
				w.elem("Data", true, nil, func() { w.subst(sysValues+9, TypeString|TypeArrayFlag, false) })
			})
		}
	}
	values := func(id uint64, image string) []tv {
		return append(systemValues(1, id),
			tv{t: TypeString, b: utf16le(image)},
			tv{t: TypeGUID, b: testProviderGUID},
			tv{t: TypeUint32, b: le32(4460)},
			tv{t: TypeHexInt64, b: le64(0x3e7)},
			tv{t: TypeSID, b: []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}},
			tv{t: TypeFileTime, b: le64(ft2020)},
			tv{t: TypeBinary, b: []byte{0xd9, 0x06, 0, 0}},
			tv{t: TypeBool, b: le32(1)},
			tv{t: TypeNull},
			tv{t: TypeString | TypeArrayFlag, b: cat(utf16le("one"), le16(0), le16(0), utf16le("three"), le16(0))},
		)
	}
	c.record(func(w *bxw) {
		w.fragment()
		defOff = w.templateInline(func() { testEventTemplate(w, eventData(w)) }, values(7, `C:\a.exe`))
		w.eof()
	})
	// The second record refers to the template defined in the first.
	c.record(func(w *bxw) {
		w.fragment()
		w.templateRef(defOff, values(8, `C:\b.exe`))
		w.eof()
	})
	recs, errs := readBytes(t, evtxFile(1, c.finish()))
	if len(errs) != 0 || len(recs) != 2 {
		t.Fatalf("records %d, errors %v", len(recs), errs)
	}
	r := recs[0]
	wantSys := System{
		ProviderName: "Microsoft-Windows-Sysmon", ProviderGUID: "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
		EventID: 1, Version: 5, Level: 4, Task: 1, Opcode: 0, HasOpcode: true, Keywords: 0x8020000000000000,
		TimeCreated: time.Date(2020, 1, 1, 0, 0, 0, 123456700, time.UTC), EventRecordID: 7,
		ProcessID: 3208, ThreadID: 1724, Channel: "Microsoft-Windows-Sysmon/Operational",
		Computer: "WORKSTATION5.theshire.local", UserID: "S-1-5-18",
	}
	if r.System != wantSys {
		t.Errorf("System\n got %+v\nwant %+v", r.System, wantSys)
	}
	if !r.Timestamp.Equal(wantSys.TimeCreated) || r.ID != 7 || r.Chunk != 0 || r.Offset != fileHeaderSize+chunkHeaderSize {
		t.Errorf("record header fields: id %d chunk %d offset %d ts %v", r.ID, r.Chunk, r.Offset, r.Timestamp)
	}
	want := []Data{
		{"Image", StringValue(`C:\a.exe`)}, {"ProcessGuid", Value{}}, {"ProcessId", Value{}}, {"LogonId", Value{}},
		{"TargetSid", Value{}}, {"Created", Value{}}, {"Blob", Value{}}, {"Signed", Value{}}, {"Mixed", Value{}},
		{"param10", Value{}}, {"param11", Value{}}, {"param12", Value{}},
	}
	wantText := []string{`C:\a.exe`, "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", "4460", "0x3e7", "S-1-5-18",
		"2020-01-01T00:00:00.0000000Z", "D9060000", "true", "a&#4460", "one", "", "three"}
	if len(r.EventData) != len(want) {
		t.Fatalf("EventData: %d items, want %d: %+v", len(r.EventData), len(want), r.EventData)
	}
	for i, d := range r.EventData {
		if d.Name != want[i].Name || d.Value.String() != wantText[i] {
			t.Errorf("EventData[%d] = %s %q, want %s %q", i, d.Name, d.Value.String(), want[i].Name, wantText[i])
		}
	}
	if v, _ := r.Get("ProcessId"); v.Type() != TypeUint32 {
		t.Errorf("ProcessId keeps its type: %s", v.Type())
	}
	if _, ok := r.Get("Missing"); ok {
		t.Errorf("element of an absent optional substitution was created")
	}
	corr := r.Root.Child("System").Child("Correlation")
	if corr == nil || len(corr.Attrs) != 0 {
		t.Errorf("Correlation without ActivityID: %+v", corr)
	}
	if v, _ := recs[1].Get("Image"); v.String() != `C:\b.exe` || recs[1].System.EventRecordID != 8 {
		t.Errorf("second record from the cached template: %q %d", v.String(), recs[1].System.EventRecordID)
	}
	xml := r.XML()
	for _, s := range []string{`<Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"/>`,
		`<Data Name="Mixed">a&amp;#4460</Data>`, `<Data>one</Data><Data></Data><Data>three</Data>`, `<Correlation/>`} {
		if !strings.Contains(xml, s) {
			t.Errorf("XML lacks %s:\n%s", s, xml)
		}
	}
	js, err := r.WinlogbeatJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	ed := doc["winlog"].(map[string]any)["event_data"].(map[string]any)
	if ed["param10"] != "one" || ed["param12"] != "three" || ed["param11"] != nil || ed["ProcessId"] != "4460" {
		t.Errorf("event_data %v", ed)
	}
}

// nestedUserData writes a record whose UserData is a nested binary XML
// value (type 0x21) holding gen's output.
func nestedUserData(c *chunkBuilder, id uint64, gen func(w *bxw)) {
	c.record(func(w *bxw) {
		w.fragment()
		w.templateInline(func() {
			testEventTemplate(w, func() {
				w.elem("UserData", true, nil, func() { w.subst(sysValues, TypeBinXML, false) })
			})
		}, append(systemValues(1102, id), tv{t: TypeBinXML, gen: gen}))
		w.eof()
	})
}

func TestNestedBinXML(t *testing.T) {
	t.Parallel()
	c := newChunkBuilder(1)
	// An element directly in the value: no dependency identifier.
	nestedUserData(c, 1, func(w *bxw) {
		w.fragment()
		w.elem("LogFileCleared", false, func() {
			w.attr("xmlns", func() { w.text("http://manifests.microsoft.com/win/2004/08/windows/eventlog") })
		}, func() {
			w.elem("SubjectUserName", false, nil, func() { w.text("bob") })
			w.elem("Error", false, func() { w.attr("Code", func() { w.text("15007") }) }, nil)
		})
		w.eof()
	})
	// A template instance in the value, with its own values.
	nestedUserData(c, 2, func(w *bxw) {
		w.fragment()
		w.templateInline(func() {
			w.fragment()
			w.elem("Inner", true, nil, func() {
				w.elem("Value", true, nil, func() { w.subst(0, TypeUint32, false) })
			})
			w.eof()
		}, []tv{{t: TypeUint32, b: le32(42)}})
		w.eof()
	})
	// The layout with a dependency identifier where none is expected.
	nestedUserData(c, 3, func(w *bxw) {
		w.fragment()
		w.elem("WithDepID", true, nil, func() { w.text("x") })
		w.eof()
	})
	recs, errs := readBytes(t, evtxFile(1, c.finish()))
	if len(errs) != 0 || len(recs) != 3 {
		t.Fatalf("records %d, errors %v", len(recs), errs)
	}
	ud := recs[0].UserData
	if ud == nil || ud.Name != "LogFileCleared" || ud.Child("SubjectUserName").Text() != "bob" {
		t.Fatalf("UserData: %+v", ud)
	}
	js, _ := recs[0].WinlogbeatJSON()
	if !bytes.Contains(js, []byte(`"user_data":{"SubjectUserName":"bob","Error":{"Code":"15007"},"xml_name":"LogFileCleared"}`)) {
		t.Errorf("user_data: %s", js)
	}
	if ud := recs[1].UserData; ud == nil || ud.Name != "Inner" || ud.Child("Value").Value.Type() != TypeUint32 || ud.Child("Value").Text() != "42" {
		t.Errorf("nested template: %s", recs[1].XML())
	}
	if ud := recs[2].UserData; ud == nil || ud.Name != "WithDepID" || ud.Text() != "x" {
		t.Errorf("dependency identifier fallback: %s", recs[2].XML())
	}
}

// hostileRecord writes a record with arbitrary binary XML.
func hostileRecord(c *chunkBuilder, body func(w *bxw)) {
	c.record(func(w *bxw) {
		w.fragment()
		body(w)
		w.eof()
	})
}

func TestHostileBinXML(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		limits Limits
		body   func(w *bxw)
		cause  error
		// chunkWide: the limit hit is the chunk's, so the records after
		// it in the same chunk are refused too.
		chunkWide bool
	}{
		{"nesting deeper than the limit", Limits{}, func(w *bxw) {
			var nest func(d int)
			nest = func(d int) {
				if d == 0 {
					return
				}
				w.elem("e", false, nil, func() { nest(d - 1) })
			}
			nest(100)
		}, ErrLimit, false},
		{"template instance of itself", Limits{}, func(w *bxw) {
			w.raw(tokTemplate, 1)
			w.u32(0)
			defOff := w.c.pos + 4
			w.u32(uint32(defOff))
			w.u32(0)
			w.raw(make([]byte, 16)...)
			w.u32(14)
			w.fragment()
			w.raw(tokTemplate, 1) // refers to the definition being parsed
			w.u32(0)
			w.u32(uint32(defOff))
			w.u32(0)
			w.eof()
			w.u32(0)
		}, ErrCorrupt, false},
		{"value count past the record", Limits{}, func(w *bxw) {
			w.templateInline(func() {
				w.fragment()
				w.elem("E", true, nil, nil)
				w.eof()
			}, nil)
			// overwrite the value count written by templateInline
			w.c.pos -= 4
			w.u32(0xffffffff)
		}, ErrTruncated, false},
		{"name offset outside the chunk", Limits{}, func(w *bxw) {
			w.raw(tokOpenStart)
			w.u32(0)
			w.u32(0xfffffff0)
			w.raw(tokCloseEmpty)
		}, ErrCorrupt, false},
		{"unknown token", Limits{}, func(w *bxw) {
			w.raw(0x1f)
		}, ErrCorrupt, false},
		{"element without end", Limits{}, func(w *bxw) {
			w.raw(tokOpenStart)
			w.u32(0)
			w.name("E")
			w.raw(tokCloseStart)
		}, ErrCorrupt, false},
		{"more elements than the limit", Limits{MaxElements: 30}, func(w *bxw) {
			w.elem("E", false, nil, func() {
				for range 40 {
					w.elem("Data", false, nil, nil)
				}
			})
		}, ErrLimit, false},
		{"more text than the limit", Limits{MaxTextBytes: 1000}, func(w *bxw) {
			w.elem("E", false, nil, func() { w.text(strings.Repeat("x", 2000)) })
		}, ErrLimit, false},
		{"substitution repeated past the text limit", Limits{MaxTextBytes: 100000}, func(w *bxw) {
			w.templateInline(func() {
				w.fragment()
				w.elem("E", true, nil, func() {
					for range 2000 {
						w.subst(0, TypeString, false)
					}
				})
				w.eof()
			}, []tv{{t: TypeString, b: utf16le(strings.Repeat("y", 1000))}})
		}, ErrLimit, false},
		{"template definition larger than the chunk", Limits{}, func(w *bxw) {
			w.raw(tokTemplate, 1)
			w.u32(0)
			w.u32(uint32(w.c.pos + 4))
			w.u32(0)
			w.raw(make([]byte, 16)...)
			w.u32(0x7fffffff)
		}, ErrTruncated, false},
		{"record without an element", Limits{}, func(w *bxw) {}, ErrCorrupt, false},
		{"overlapping template definitions", Limits{}, func(w *bxw) {
			// Five instances of five definitions that each claim most of
			// the chunk: parsing them all would cost far more than the
			// chunk holds.
			const n = 5
			headers := w.c.pos + n*14 + 1
			for i := range n {
				w.raw(tokTemplate, 1)
				w.u32(0)
				w.u32(uint32(headers + 24*i))
				w.u32(0) // no values
			}
			w.eof()
			for range n {
				w.u32(0)
				w.raw(make([]byte, 16)...)
				w.u32(60000)
			}
		}, ErrLimit, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newChunkBuilder(1)
			hostileRecord(c, tc.body)
			simpleRecord(c, 2, "after")
			recs, errs := readBytes(t, evtxFile(1, c.finish()), WithLimits(tc.limits))
			if tc.chunkWide {
				if len(recs) != 0 || len(errs) != 2 || !errors.Is(errs[0], tc.cause) || !errors.Is(errs[1], tc.cause) {
					t.Errorf("want two %v reports, got %d records, %v", tc.cause, len(recs), errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Kind != KindRecordData || !errors.Is(errs[0], tc.cause) || errs[0].RecordID != 1 {
				t.Fatalf("want one %s report wrapping %v, got %v", KindRecordData, tc.cause, errs)
			}
			if len(recs) != 1 || recs[0].ID != 2 {
				t.Errorf("the next record is not read: %d records", len(recs))
			}
			if !strings.Contains(errs[0].Error(), "decoding record: chunk 0 at offset 0x1200: record 1: ") {
				t.Errorf("error text lacks context: %v", errs[0])
			}
		})
	}
}
