package qodertest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cronSpec is a parsed 5-field POSIX cron expression: each field is the
// set of values it matches.
type cronSpec struct {
	minute, hour, dom, month, dow uint64 // bit n set: value n matches
	domAny, dowAny                bool   // the field was "*"
}

// cronField describes one field of a cron expression.
type cronField struct {
	name   string
	lo, hi int
	names  []string // names[i] is value lo+i, for month and weekday names
}

var cronFields = [5]cronField{
	{name: "minute", lo: 0, hi: 59},
	{name: "hour", lo: 0, hi: 23},
	{name: "day of month", lo: 1, hi: 31},
	{name: "month", lo: 1, hi: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day of week", lo: 0, hi: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// parseCron parses a 5-field cron expression: each field is "*", a value,
// a range "a-b", any of them with a step "/n", or a comma-separated list
// of those; months and weekdays may be given by their three-letter
// English names, and weekday 7 is Sunday like 0.
func parseCron(expr string) (*cronSpec, error) {
	parts := strings.Fields(expr)
	if len(parts) != 5 {
		return nil, fmt.Errorf("a cron expression has 5 fields (minute hour day-of-month month day-of-week), not %d", len(parts))
	}
	var sets [5]uint64
	for i, part := range parts {
		set, err := parseCronField(part, cronFields[i])
		if err != nil {
			return nil, err
		}
		sets[i] = set
	}
	if sets[4]&(1<<7) != 0 {
		sets[4] |= 1 // 7 is Sunday too
	}
	return &cronSpec{
		minute: sets[0], hour: sets[1], dom: sets[2], month: sets[3], dow: sets[4],
		domAny: parts[2] == "*", dowAny: parts[4] == "*",
	}, nil
}

func parseCronField(s string, f cronField) (uint64, error) {
	var set uint64
	for item := range strings.SplitSeq(s, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("bad step %q in the %s field", stepText, f.name)
			}
			step = n
		}
		lo, hi := f.lo, f.hi
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			hi = lo
			if isRange {
				if hi, err = f.value(b); err != nil {
					return 0, err
				}
			} else if hasStep {
				hi = f.hi // "5/15" runs from 5 to the end
			}
			if lo > hi {
				return 0, fmt.Errorf("range %q of the %s field runs backwards", rng, f.name)
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

// value reads one value of the field: a number in range or a name.
func (f cronField) value(s string) (int, error) {
	for i, name := range f.names {
		if strings.EqualFold(s, name) {
			return f.lo + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < f.lo || n > f.hi {
		return 0, fmt.Errorf("%q is not a valid %s (%d-%d)", s, f.name, f.lo, f.hi)
	}
	return n, nil
}

// matchesDay applies cron's day rule: when both day fields are
// restricted, either may match.
func (c *cronSpec) matchesDay(t time.Time) bool {
	dom := c.dom&(1<<t.Day()) != 0
	dow := c.dow&(1<<int(t.Weekday())) != 0
	if c.domAny || c.dowAny {
		return dom && dow
	}
	return dom || dow
}

// cronHorizon bounds the search for the next firing time: an expression
// that matches no date (such as 30 February) never fires.
const cronHorizon = 5 * 366 * 24 * time.Hour

// next returns the first firing time after t in loc, matching the wall
// clock literally (a time that a DST change skips does not fire), or the
// zero time when there is none within five years.
func (c *cronSpec) next(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	end := t.Add(cronHorizon)
	y, mo, d := t.Date()
	h, mi := t.Hour(), t.Minute()+1
	for {
		cand := time.Date(y, mo, d, h, mi, 0, 0, loc)
		if cand.After(end) {
			return time.Time{}
		}
		// Normalise the fields (minute 60 is the next hour, and so on).
		y, mo, d, h, mi = cand.Year(), cand.Month(), cand.Day(), cand.Hour(), cand.Minute()
		switch {
		case c.month&(1<<int(mo)) == 0:
			mo, d, h, mi = mo+1, 1, 0, 0
		case !c.matchesDay(cand):
			d, h, mi = d+1, 0, 0
		case c.hour&(1<<h) == 0:
			h, mi = h+1, 0
		case c.minute&(1<<mi) == 0 || !cand.After(t):
			mi++ // !After: a wall time repeated when DST ends
		default:
			return cand
		}
	}
}

// upcoming returns the next n firing times after t, in UTC.
func (c *cronSpec) upcoming(t time.Time, loc *time.Location, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for len(out) < n {
		t = c.next(t, loc)
		if t.IsZero() {
			break
		}
		out = append(out, t.UTC())
	}
	return out
}
