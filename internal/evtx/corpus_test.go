package evtx

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
)

// TestAttackSamplesReadCleanly reads every file of evtx-attack-samples: no
// damage may be reported, every record the chunk headers declare must be
// read (sum over chunks of last - first record identifier + 1), and every
// record must render to valid Winlogbeat JSON whose record id matches.
func TestAttackSamplesReadCleanly(t *testing.T) {
	t.Parallel()
	dir := datasetsDir(t, "evtx-attack-samples")
	files := evtxFiles(t, dir)
	const want = 277
	if len(files) != want {
		t.Errorf("found %d .evtx files, the corpus has %d", len(files), want)
	}
	total := 0
	for _, path := range files {
		recs, errs, st := readAll(t, path)
		name, _ := filepath.Rel(dir, path)
		for _, e := range errs {
			t.Errorf("%s: %v", name, e)
		}
		if st.Records != st.ExpectedRecords || len(recs) != st.Records {
			t.Errorf("%s: read %d records, chunk headers declare %d", name, st.Records, st.ExpectedRecords)
		}
		if st.ChecksumMismatches != 0 || st.RecordErrors != 0 || st.ChunksSkipped != 0 {
			t.Errorf("%s: stats %+v", name, st)
		}
		for _, rec := range recs {
			checkRecordSanity(t, name, rec)
		}
		total += len(recs)
	}
	t.Logf("%d files, %d records, no damage reported", len(files), total)
}

func checkRecordSanity(t *testing.T, name string, rec *Record) {
	t.Helper()
	// (Channel may be empty: ETW sessions saved as .evtx have none.)
	if rec.System.ProviderName == "" || rec.System.TimeCreated.IsZero() {
		t.Errorf("%s: record %d lacks provider or time: %+v", name, rec.ID, rec.System)
	}
	js, err := rec.WinlogbeatJSON()
	if err != nil {
		t.Errorf("%s: record %d: %v", name, rec.ID, err)
		return
	}
	var doc struct {
		Winlog struct {
			RecordID uint64 `json:"record_id"`
			EventID  string `json:"event_id"`
		} `json:"winlog"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Errorf("%s: record %d: invalid JSON: %v\n%s", name, rec.ID, err, js)
		return
	}
	// Exported logs renumber the record headers; System/EventRecordID keeps
	// the number the event had on its machine, and is what Winlogbeat ships.
	if doc.Winlog.RecordID != rec.System.EventRecordID || doc.Winlog.EventID == "" {
		t.Errorf("%s: record %d: JSON record_id %d, event_id %q", name, rec.ID, doc.Winlog.RecordID, doc.Winlog.EventID)
	}
}

// TestBenignAndDamagedFiles reads the parser test corpora of two other EVTX
// projects: real logs, and files damaged on purpose. Clean files must read
// fully without reports; damaged ones must report the damage (as typed,
// countable errors) and still yield what can be read.
func TestBenignAndDamagedFiles(t *testing.T) {
	t.Parallel()
	dir := datasetsDir(t, "benign-evtx")
	type expect struct {
		records int          // records returned (-1: must equal the chunk headers' count)
		kinds   []ErrorKind  // damage kinds that must be reported
		clean   bool         // no damage at all
		skipped int          // chunks skipped
		check   func(*Stats) // extra checks
	}
	cases := map[string]expect{
		"omerbenamram-evtx/2-system-Microsoft-Windows-LiveId%4Operational.evtx": {records: -1, clean: true},
		// A chunk copied from a volume shadow copy mid-write: record data
		// checksums fail, a record is cut off, records after it refer to
		// templates that were overwritten.
		"omerbenamram-evtx/2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx": {records: 1951,
			kinds: []ErrorKind{KindChunkDataChecksum, KindRecordHeader, KindRecordData}},
		"omerbenamram-evtx/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx": {records: 1795,
			kinds: []ErrorKind{KindChunkDataChecksum, KindRecordHeader}},
		// Dirty: the header counts fewer chunks than the file holds.
		"omerbenamram-evtx/2-vss_7-System.evtx": {records: -1, clean: true,
			check: func(s *Stats) {
				if s.ChunksBeyondHeader == 0 {
					t.Errorf("no chunk read past the header's count")
				}
			}},
		"omerbenamram-evtx/Application_no_crc32.evtx": {records: 17,
			kinds: []ErrorKind{KindFileHeaderChecksum, KindChunkHeaderChecksum, KindChunkDataChecksum}},
		"omerbenamram-evtx/E_ShadowCopy6_windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx": {records: -1, clean: true},
		"omerbenamram-evtx/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx":             {records: -1, clean: true},
		"omerbenamram-evtx/E_Windows_system32_winevt_logs_Microsoft-Windows-Shell-Core%4Operational.evtx":        {records: -1, clean: true},
		"omerbenamram-evtx/MSExchange_Management_wec.evtx":                                                       {records: 1, clean: true},
		// Logs copied while being written: the last records are cut off.
		"omerbenamram-evtx/Microsoft-Windows-HelloForBusiness%4Operational.evtx": {records: 6,
			kinds: []ErrorKind{KindChunkDataChecksum, KindRecordHeader}},
		"omerbenamram-evtx/Microsoft-Windows-LanguagePackSetup%4Operational.evtx": {records: 17,
			kinds: []ErrorKind{KindChunkDataChecksum, KindRecordHeader}},
		"omerbenamram-evtx/Security_short_selected.evtx":           {records: 7, clean: true},
		"omerbenamram-evtx/Security_with_size_t.evtx":              {records: 636, clean: true},
		"omerbenamram-evtx/issue_201.evtx":                         {records: 1, clean: true},
		"omerbenamram-evtx/new-user-security.evtx":                 {records: 4, clean: true},
		"omerbenamram-evtx/post-Security.evtx":                     {records: 126, clean: true},
		"omerbenamram-evtx/sample-with-irregular-bool-values.evtx": {records: 3028, clean: true},
		"omerbenamram-evtx/sample-with-zero-data-size-event.evtx": {records: 449,
			kinds: []ErrorKind{KindChunkDataChecksum, KindRecordHeader}},
		"omerbenamram-evtx/sample_with_a_bad_chunk_magic.evtx": {records: 301, skipped: 2,
			kinds: []ErrorKind{KindChunkSignature, KindChunkDataChecksum, KindRecordHeader}},
		"omerbenamram-evtx/security.evtx": {records: 2261, clean: true},
		// The chunk header's string offset table is garbage: names are
		// resolved by offset, so every record still reads; the header
		// checksum reports the damage.
		"omerbenamram-evtx/security_bad_string_cache.evtx": {records: 2261, kinds: []ErrorKind{KindChunkHeaderChecksum}},
		// Slots past the header's chunk count hold old data, not damage.
		"omerbenamram-evtx/sysmon.evtx":      {records: -1, clean: true},
		"omerbenamram-evtx/system.evtx":      {records: -1, clean: true},
		"python-evtx/dns_log_malformed.evtx": {records: 5, clean: true},
		"python-evtx/issue_38.evtx":          {records: 1, clean: true},
		"python-evtx/issue_39.evtx":          {records: 394, clean: true},
		"python-evtx/issue_43.evtx":          {records: 1730, clean: true},
		"python-evtx/security.evtx":          {records: 2261, clean: true},
		"python-evtx/system.evtx":            {records: 1601, clean: true},
	}
	files := evtxFiles(t, dir)
	if len(files) != len(cases) {
		t.Errorf("found %d files, expectations for %d", len(files), len(cases))
	}
	for _, path := range files {
		name, _ := filepath.Rel(dir, path)
		name = filepath.ToSlash(name)
		exp, ok := cases[name]
		if !ok {
			t.Errorf("%s: no expectation", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			recs, errs, st := readAll(t, path)
			want := exp.records
			if want < 0 {
				want = st.ExpectedRecords
			}
			if len(recs) != want {
				t.Errorf("read %d records, want %d (chunk headers declare %d)", len(recs), want, st.ExpectedRecords)
			}
			if exp.clean && len(errs) > 0 {
				t.Errorf("clean file reported damage: %v", errs)
			}
			for _, k := range exp.kinds {
				if st.Errors[k.String()] == 0 {
					t.Errorf("expected a %s report; got %v", k, st.Errors)
				}
			}
			n := 0
			for _, c := range st.Errors {
				n += c
			}
			if n != len(errs) {
				t.Errorf("stats count %d reports, Next returned %d", n, len(errs))
			}
			for _, e := range errs {
				var ee *Error
				if !errors.As(e, &ee) || !(errors.Is(e, ErrChecksum) || errors.Is(e, ErrCorrupt) ||
					errors.Is(e, ErrTruncated) || errors.Is(e, ErrBadSignature) || errors.Is(e, ErrLimit)) {
					t.Errorf("report does not wrap a sentinel cause: %v", e)
				}
			}
			if st.ChunksSkipped != exp.skipped {
				t.Errorf("skipped %d chunks, want %d (%v)", st.ChunksSkipped, exp.skipped, st.SkipReasons)
			}
			if exp.check != nil {
				exp.check(&st)
			}
			for _, rec := range recs {
				if _, err := rec.WinlogbeatJSON(); err != nil {
					t.Errorf("record %d: %v", rec.ID, err)
				}
			}
		})
	}
}

// TestStrictChecksumsSkipChunks: with WithStrictChecksums a chunk whose
// checksums fail is skipped and counted.
func TestStrictChecksumsSkipChunks(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "application-no-crc32.evtx")
	recs, errs, st := readAll(t, path, WithStrictChecksums(true))
	if len(recs) != 0 || st.ChunksSkipped != 1 || st.SkipReasons[KindChunkHeaderChecksum.String()] != 1 {
		t.Errorf("strict: %d records, stats %+v", len(recs), st)
	}
	if len(errs) != 2 { // file header checksum, chunk header checksum
		t.Errorf("strict: reports %v", errs)
	}
	recs, _, st = readAll(t, path)
	if len(recs) != 17 || st.ChecksumMismatches != 3 || st.ChunksDamaged != 1 {
		t.Errorf("lenient: %d records, stats %+v", len(recs), st)
	}
}
