package evtx

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The cross-check compares Logster's reading of real files with two
// independent EVTX readers packaged by Debian: evtxexport (libevtx-utils,
// C) on every file of the three corpora, and evtx_dump.py (python3-evtx)
// on a sample (it is slow). Each is skipped when not installed; .ci/run
// installs both.
//
// Compared per record (matched by EventRecordID and order of appearance):
// every System element and attribute the tool wrote, and every EventData
// item (name and text, in order). Normalisations, each for a rendering
// difference of the other tool, not of the data:
//   - GUIDs: both tools write lower case; Windows and Logster upper case.
//   - Hex integers: both tools zero-pad HexInt64 ("0x00000000000003e7");
//     Windows and Logster do not ("0x3e7"). Compared numerically.
//   - size_t: evtxexport writes it in decimal; Windows renders it (as
//     win:Pointer) in hex, like Logster. Compared numerically.
//   - Negative Int32/Int64: python-evtx writes them unsigned, evtxexport as
//     -(value & 0x7fffffff). Compared as the same bits.
//   - Times: evtxexport keeps microseconds, python-evtx goes through a
//     float and is off by a few microseconds. Compared within 10 µs.
//   - python-evtx: binary in base64, booleans as True/False, absent
//     optional attributes as "", elements of absent optional substitutions
//     kept, control characters dropped, and string arrays decoded wrongly
//     (items repeated or moved), so its records holding arrays are not
//     compared (evtxexport, which agrees with Logster on them, is).
//   - evtxexport does not escape markup inside text, so its XML turns such
//     values into elements; those values are not compared.
//   - Values with control characters are not compared with evtxexport: it
//     writes them raw, which is not well-formed XML.
//   - Whitespace runs are collapsed (python-evtx pretty-prints nested XML).
// On damaged files the tools also return records that fail Logster's
// checks; those are logged, not failed.

type xnode struct {
	name     string
	attrs    map[string]string
	text     strings.Builder
	children []*xnode
}

func (n *xnode) child(name string) *xnode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// parseEvents parses the <Event> elements from a tool's XML output.
func parseEvents(out []byte) ([]*xnode, error) {
	// python-evtx declares XML 1.1, which encoding/xml refuses.
	if i := bytes.Index(out, []byte("?>")); i >= 0 && bytes.HasPrefix(bytes.TrimSpace(out), []byte("<?xml")) {
		out = out[i+2:]
	}
	// evtxexport prints a banner and concatenated events without a root.
	if !bytes.Contains(out, []byte("<Events>")) {
		if i := bytes.Index(out, []byte("<Event")); i >= 0 {
			out = append(append([]byte("<Events>"), out[i:]...), "</Events>"...)
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(out))
	dec.Strict = false
	var stack []*xnode
	var events []*xnode
	inEvent := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return events, nil
		}
		if err != nil {
			// The event being read when the output broke off is partial.
			if inEvent > 0 && len(events) > 0 {
				events = events[:len(events)-1]
			}
			return events, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name.Local, attrs: map[string]string{}}
			for _, a := range t.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			if n.name == "Event" && inEvent == 0 {
				events = append(events, n)
				inEvent = len(stack) + 1
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if len(stack) < inEvent {
				inEvent = 0
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
}

type crossTool struct {
	name string
	cmd  func(path string) *exec.Cmd
}

func crossTools(t *testing.T) []crossTool {
	var tools []crossTool
	if p, err := exec.LookPath("evtxexport"); err == nil {
		tools = append(tools, crossTool{"evtxexport", func(path string) *exec.Cmd {
			return exec.Command(p, "-f", "xml", path)
		}})
	} else {
		t.Logf("evtxexport not installed (Debian package libevtx-utils); not cross-checked")
	}
	if p, err := exec.LookPath("evtx_dump.py"); err == nil {
		tools = append(tools, crossTool{"python-evtx", func(path string) *exec.Cmd {
			return exec.Command(p, path)
		}})
	} else {
		t.Logf("evtx_dump.py not installed (Debian package python3-evtx); not cross-checked")
	}
	if len(tools) == 0 {
		t.Skip("neither evtxexport nor python-evtx is installed")
	}
	return tools
}

func TestCrossCheckIndependentReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-check runs external tools; skipped in -short mode")
	}
	tools := crossTools(t)
	var files []string
	files = append(files, evtxFiles(t, datasetsDir(t, "sigma-regression"))...)
	files = append(files, evtxFiles(t, datasetsDir(t, "evtx-attack-samples"))...)
	files = append(files, evtxFiles(t, datasetsDir(t, "benign-evtx"))...)

	for _, tool := range tools {
		t.Run(tool.name, func(t *testing.T) {
			var mu sync.Mutex
			var records, matched, values, skippedValues, toolFailures, checked int
			sem := make(chan struct{}, 2)
			var wg sync.WaitGroup
			for i, path := range files {
				// python-evtx is pure Python and slow: it checks a sample.
				if tool.name == "python-evtx" && !pythonSample(i, path) {
					continue
				}
				checked++
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					defer cancel()
					cmd := tool.cmd(path)
					cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
					out, err := cmd.Output()
					events, perr := parseEvents(out)
					mu.Lock()
					defer mu.Unlock()
					if err != nil || perr != nil {
						// The other tools give up on some damaged files; that
						// says nothing about Logster. Compare what they read.
						toolFailures++
						t.Logf("%s on %s: exit %v, XML %v; comparing the %d events it produced", tool.name, filepath.Base(path), err, perr, len(events))
					}
					recs, damage, _ := readAll(t, path)
					r, m, v, s, diffs, extra := crossCompare(recs, events, tool.name)
					for _, id := range extra {
						// On damaged files the tools also read records
						// that fail Logster's checks (garbage in chunk
						// slack, records cut off mid-write).
						if len(damage) == 0 {
							t.Errorf("%s: %s read EventRecordID %d, Logster did not", path, tool.name, id)
						} else {
							t.Logf("%s (damaged, %d reports): %s read EventRecordID %d, Logster did not", filepath.Base(path), len(damage), tool.name, id)
						}
					}
					records += r
					matched += m
					values += v
					skippedValues += s
					for _, d := range diffs {
						t.Errorf("%s: %s", path, d)
					}
				}()
			}
			wg.Wait()
			t.Logf("%s: %d files, %d records read by %s, %d matched a Logster record, %d values equal, %d values not compared (see above); %d files the tool could not finish",
				tool.name, checked, records, tool.name, matched, values, skippedValues, toolFailures)
			if matched == 0 {
				t.Errorf("no record matched")
			}
		})
	}
}

// pythonSample picks the files python-evtx checks: single-chunk files (every
// second one of the two large corpora). evtxexport checks every file.
func pythonSample(i int, path string) bool {
	st, err := os.Stat(path)
	if err != nil || st.Size() > fileHeaderSize+chunkSize {
		return false
	}
	return i%2 == 0 || strings.Contains(path, "benign-evtx")
}

// crossCompare matches the tool's events with Logster's records by
// EventRecordID (and order among equal ids) and compares them.
func crossCompare(recs []*Record, events []*xnode, tool string) (records, matched, values, skipped int, diffs []string, extra []uint64) {
	byID := map[uint64][]*Record{}
	for _, r := range recs {
		byID[r.System.EventRecordID] = append(byID[r.System.EventRecordID], r)
	}
	for _, ev := range events {
		sys := ev.child("System")
		if sys == nil {
			continue
		}
		records++
		idNode := sys.child("EventRecordID")
		if idNode == nil {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSpace(idNode.text.String()), 10, 64)
		if err != nil {
			continue
		}
		cands := byID[id]
		if len(cands) == 0 {
			extra = append(extra, id)
			continue
		}
		rec := cands[0]
		byID[id] = cands[1:]
		matched++
		v, s, d := compareWithTool(rec, ev, tool)
		values += v
		skipped += s
		for _, x := range d {
			diffs = append(diffs, fmt.Sprintf("EventRecordID %d: %s", id, x))
		}
	}
	return records, matched, values, skipped, diffs, extra
}

func compareWithTool(rec *Record, ev *xnode, tool string) (values, skipped int, diffs []string) {
	// System: every element and attribute the tool wrote, against the tree.
	ourSys := rec.Root.Child("System")
	for _, tc := range ev.child("System").children {
		oc := ourSys.Child(tc.name)
		for name, want := range tc.attrs {
			var got Value
			if oc != nil {
				got, _ = oc.Attr(name)
			}
			if want == "" && got.IsNull() {
				continue // python-evtx writes absent attributes as ""
			}
			values++
			if tc.name == "TimeCreated" && name == "SystemTime" {
				tw, err := parseToolTime(want)
				tv := rec.System.TimeCreated
				if err != nil || tv.Sub(tw) > 10*time.Microsecond || tw.Sub(tv) > 10*time.Microsecond {
					diffs = append(diffs, fmt.Sprintf("System TimeCreated: Logster %v, %s %q", tv, tool, want))
				}
				continue
			}
			if !sameValue(got, got.String(), want, tool) {
				diffs = append(diffs, fmt.Sprintf("System %s/@%s (%s): Logster %q, %s %q", tc.name, name, got.Type(), got.String(), tool, want))
			}
		}
		want := strings.TrimSpace(tc.text.String())
		var got Value
		if oc != nil {
			got = oc.Value
		}
		if want == "" && got.IsNull() {
			continue
		}
		values++
		if !sameValue(got, got.String(), want, tool) {
			diffs = append(diffs, fmt.Sprintf("System %s (%s): Logster %q, %s %q", tc.name, got.Type(), got.String(), tool, want))
		}
	}

	ed := ev.child("EventData")
	if ed == nil {
		return values, skipped, diffs
	}
	var named []*xnode
	for _, c := range ed.children {
		if tool == "python-evtx" && strings.HasPrefix(c.text.String(), "<string>") {
			// python-evtx decodes string arrays wrongly (items repeated,
			// empty items moved); evtxexport checks them instead.
			skipped += len(rec.EventData)
			return values, skipped, diffs
		}
		named = append(named, c)
	}
	ours := rec.EventData
	if tool == "python-evtx" {
		// python-evtx keeps elements whose optional substitution has no
		// value, and drops control characters: control characters are
		// removed from Logster's text, and empty items are left out on
		// both sides.
		named = slices.DeleteFunc(named, func(n *xnode) bool {
			return len(n.children) == 0 && strings.TrimSpace(n.text.String()) == ""
		})
		ours = slices.Clone(ours)
		for i, d := range ours {
			if s := d.Value.String(); d.Value.Type() != TypeBinXML && hasControl(s) {
				ours[i].Value = StringValue(stripControl(s))
			}
		}
		ours = slices.DeleteFunc(ours, func(d Data) bool {
			return d.Value.Type() != TypeBinXML && strings.TrimSpace(d.Value.String()) == ""
		})
	}
	for i, n := range named {
		d := ours[i]
		if name, ok := n.attrs["Name"]; ok && name != "" && name != d.Name {
			diffs = append(diffs, fmt.Sprintf("EventData[%d] name: Logster %q, %s %q", i, d.Name, tool, name))
			continue
		}
		got := d.Value.String()
		want := n.text.String()
		if len(n.children) > 0 {
			if d.Value.Type() != TypeBinXML {
				// evtxexport does not escape markup inside text values, so
				// its XML turns such text into elements.
				skipped++
				continue
			}
			got, want = elementsText(d.Value.Elements()), xnodeText(n)
		}
		if hasControl(got) || hasControl(want) {
			skipped++
			continue
		}
		values++
		if !sameValue(d.Value, got, want, tool) {
			diffs = append(diffs, fmt.Sprintf("EventData %s (%s): Logster %q, %s %q", d.Name, d.Value.Type(), got, tool, want))
		}
	}
	return values, skipped, diffs
}

func elementsText(es []*Element) string {
	var b strings.Builder
	var walk func(e *Element)
	walk = func(e *Element) {
		b.WriteString(e.Value.String())
		for _, c := range e.Children {
			walk(c)
		}
	}
	for _, e := range es {
		walk(e)
	}
	return b.String()
}

func xnodeText(n *xnode) string {
	var b strings.Builder
	var walk func(n *xnode)
	walk = func(n *xnode) {
		b.WriteString(strings.TrimSpace(n.text.String()))
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0x7f && r < 0xa0 || r == 0xfffd {
			return true
		}
	}
	return false
}

func stripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			return -1
		}
		return r
	}, s)
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func sameText(got, want string) bool {
	if got == want || collapseSpace(got) == collapseSpace(want) {
		return true
	}
	if normGUID(got) == normGUID(want) && len(normGUID(got)) == 36 {
		return true
	}
	if strings.HasPrefix(got, "0x") && strings.HasPrefix(want, "0x") {
		a, err1 := strconv.ParseUint(got[2:], 16, 64)
		b, err2 := strconv.ParseUint(want[2:], 16, 64)
		return err1 == nil && err2 == nil && a == b
	}
	return false
}

func sameValue(v Value, got, want, tool string) bool {
	if sameText(got, want) {
		return true
	}
	switch v.Type() {
	case TypeFileTime, TypeSysTime:
		tv, ok := v.Time()
		tw, err := parseToolTime(want)
		return ok && err == nil && tv.Sub(tw) < 10*time.Microsecond && tw.Sub(tv) < 10*time.Microsecond
	case TypeReal32, TypeReal64:
		f, _ := v.Float()
		w, err := strconv.ParseFloat(strings.TrimSpace(want), 64)
		return err == nil && (f == w || (f-w) < 1e-6*max(1, abs(w)) && (w-f) < 1e-6*max(1, abs(w)))
	case TypeBinary:
		// python-evtx writes binary data in base64.
		if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(want)); err == nil && tool == "python-evtx" {
			return bytes.Equal(b, v.Bytes())
		}
	case TypeBool:
		// python-evtx writes Python's True/False.
		return strings.EqualFold(got, strings.TrimSpace(want))
	case TypeSizeT:
		// Windows renders size_t (win:Pointer) as hex, like Logster;
		// evtxexport writes it in decimal.
		u, _ := v.Uint()
		w, err := strconv.ParseUint(strings.TrimSpace(want), 10, 64)
		return err == nil && u == w
	case TypeInt32, TypeInt64:
		// python-evtx writes signed integers as unsigned; evtxexport
		// writes negative ones as -(value & 0x7fffffff). Both are the same
		// bits as Logster's signed rendering.
		n, _ := v.Int()
		bits := 32
		if v.Type() == TypeInt64 {
			bits = 64
		}
		if w, err := strconv.ParseUint(strings.TrimSpace(want), 10, 64); err == nil && n < 0 {
			return w == uint64(n)&(1<<bits-1)
		}
		if w, err := strconv.ParseInt(strings.TrimSpace(want), 10, 64); err == nil && n < 0 && tool == "evtxexport" {
			return w == -(n & (1<<(bits-1) - 1))
		}
	}
	return false
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func parseToolTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", s)
}
