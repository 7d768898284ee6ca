package normalize

import (
	"math"
	"sync"
)

// parseTimestamp parses "YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|±hh:mm]" into
// Unix seconds (UTC when the zone is absent). zoned reports whether the
// text carried a zone. It is hand-written because time.Parse allocates and
// costs ~1µs, a noticeable share of a 6µs budget per event.
func parseTimestamp(s string) (sec float64, zoned, ok bool) {
	if len(s) < 19 {
		return 0, false, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for j := i; j < i+n; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	se, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || s[4] != '-' || s[7] != '-' ||
		(s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return 0, false, false
	}
	if y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 {
		return 0, false, false
	}
	i := 19
	frac := 0.0
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		i++
		scale := 0.1
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-start < 9 {
				frac += float64(s[i]-'0') * scale
				scale /= 10
			}
			i++
		}
		if i == start {
			return 0, false, false
		}
	}
	offset := 0
	if i < len(s) {
		switch s[i] {
		case 'Z', 'z':
			zoned = true
			i++
		case '+', '-':
			if len(s) < i+6 || s[i+3] != ':' {
				return 0, false, false
			}
			oh, okh := num(i+1, 2)
			om, okm := num(i+4, 2)
			if !okh || !okm || oh > 23 || om > 59 {
				return 0, false, false
			}
			offset = oh*3600 + om*60
			if s[i] == '-' {
				offset = -offset
			}
			zoned = true
			i += 6
		}
	}
	if i != len(s) {
		return 0, false, false
	}
	days := daysFromCivil(y, mo, d)
	t := float64(days*86400+int64(h*3600+mi*60+se)-int64(offset)) + frac
	return t, zoned, true
}

// daysFromCivil is Howard Hinnant's algorithm: days since 1970-01-01.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// roundMicros rounds to whole microseconds, so the same instant written
// with 7 or 9 fractional digits by different shippers gives the same float.
func roundMicros(t float64) float64 { return math.Round(t*1e6) / 1e6 }

// quarter is 15 minutes: every real UTC offset is a multiple of it.
const quarter = 900.0

// roundQuarter rounds a difference in seconds to whole quarter hours.
func roundQuarter(d float64) float64 { return math.Round(d/quarter) * quarter }

// validEpoch bounds event times to something a real recording can have
// (2000-01-01 .. 2200-01-01).
func validEpoch(t float64) bool { return t >= 946684800 && t < 7258118400 && !math.IsNaN(t) }

// clockTracker learns, per clock scope, the offset between a shipper's
// local-time field and UTC from records that carry both (Sysmon UtcTime).
// Offsets are whole quarter hours. A new offset replaces the current one
// only after it has been seen switchAfter times in a row, so one late
// Sysmon event (DNS query events are sometimes logged minutes to days
// after their UtcTime) cannot flip a recording's clock.
type clockTracker struct {
	mu sync.Mutex
	m  map[string]*clockState
}

type clockState struct {
	cur, cand float64
	have      bool
	candN     int
}

const (
	switchAfter    = 8
	maxClockScopes = 65536
)

func newClockTracker() *clockTracker { return &clockTracker{m: map[string]*clockState{}} }

// observe records that local time lt corresponds to UTC time ut in scope.
func (c *clockTracker) observe(scope string, lt, ut float64) {
	off := roundQuarter(lt - ut)
	if math.Abs(off) > 26*3600 {
		return // not a time zone: a late or bogus record
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.m[scope]
	if st == nil {
		if len(c.m) >= maxClockScopes {
			c.m = map[string]*clockState{} // bounded: forget, relearn
		}
		st = &clockState{}
		c.m[scope] = st
	}
	switch {
	case !st.have:
		st.cur, st.have = off, true
	case off == st.cur:
		st.candN = 0
	case off == st.cand:
		st.candN++
		if st.candN >= switchAfter {
			st.cur, st.candN = off, 0
		}
	default:
		st.cand, st.candN = off, 1
	}
}

// offset returns the learned offset of scope.
func (c *clockTracker) offset(scope string) (float64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[scope]; st != nil && st.have {
		return st.cur, true
	}
	return 0, false
}
