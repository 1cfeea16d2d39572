package qodertest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCronNext(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		expr  string
		loc   *time.Location
		after string
		want  []string
	}{
		{"0 9 * * *", shanghai, "2026-06-14T08:53:32Z", []string{"2026-06-15T01:00:00Z", "2026-06-16T01:00:00Z"}},
		{"30 9 * * 1-5", shanghai, "2026-06-14T08:54:05Z", []string{"2026-06-15T01:30:00Z", "2026-06-16T01:30:00Z"}}, // the recorded update
		{"*/15 * * * *", time.UTC, "2026-01-01T10:07:00Z", []string{"2026-01-01T10:15:00Z", "2026-01-01T10:30:00Z"}},
		{"5,10 0 1 JAN,jul *", time.UTC, "2026-02-01T00:00:00Z", []string{"2026-07-01T00:05:00Z", "2026-07-01T00:10:00Z"}},
		{"0 12 * * SUN", time.UTC, "2026-06-14T12:00:00Z", []string{"2026-06-21T12:00:00Z"}},                       // strictly after
		{"0 12 * * 7", time.UTC, "2026-06-15T00:00:00Z", []string{"2026-06-21T12:00:00Z"}},                         // 7 is Sunday
		{"0 0 13 * 5", time.UTC, "2026-01-01T00:00:00Z", []string{"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z"}}, // Fridays or the 13th
		{"0 0 29 2 *", time.UTC, "2026-01-01T00:00:00Z", []string{"2028-02-29T00:00:00Z"}},
		{"30 2 * * *", berlin, "2026-03-28T12:00:00Z", []string{"2026-03-30T00:30:00Z"}}, // 02:30 does not exist on 29 March
		{"0 0 30 2 *", time.UTC, "2026-01-01T00:00:00Z", nil},                            // never
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			spec, err := parseCron(tt.expr)
			require.NoError(t, err)
			var got []string
			for _, v := range spec.upcoming(at(tt.after), tt.loc, len(tt.want)+1) {
				got = append(got, v.Format(time.RFC3339))
			}
			if len(got) > len(tt.want) {
				got = got[:len(tt.want)]
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCronRejects(t *testing.T) {
	t.Parallel()
	for expr, msg := range map[string]string{
		"* * * *":        "5 fields",
		"60 * * * *":     `"60" is not a valid minute (0-59)`,
		"* 24 * * *":     `"24" is not a valid hour`,
		"* * 0 * *":      `"0" is not a valid day of month`,
		"* * * 13 *":     `"13" is not a valid month`,
		"* * * * 8":      `"8" is not a valid day of week`,
		"*/0 * * * *":    `bad step "0"`,
		"10-5 * * * *":   "runs backwards",
		"* * * FOO *":    `"FOO" is not a valid month`,
		"@daily * * * *": `"@daily" is not a valid minute`,
	} {
		_, err := parseCron(expr)
		if assert.Error(t, err, expr) {
			assert.Contains(t, err.Error(), msg, expr)
		}
	}
}

// FuzzCron checks that no expression makes parsing panic, and that the
// firing times of any valid one come strictly after each other, in order.
func FuzzCron(f *testing.F) {
	for _, seed := range []string{"0 9 * * 1-5", "*/7 */5 1,15 JAN-MAR sun", "30 2 * * *", "0 0 30 2 *", "59 23 31 12 7", "1-59/2 * * * *"} {
		f.Add(seed, int64(1781427212), uint8(0))
	}
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"}
	f.Fuzz(func(t *testing.T, expr string, unix int64, zone uint8) {
		spec, err := parseCron(expr)
		if err != nil {
			return
		}
		loc, err := time.LoadLocation(zones[int(zone)%len(zones)])
		require.NoError(t, err)
		prev := time.Unix(unix%(1<<33), 0)
		for _, next := range spec.upcoming(prev, loc, 3) {
			require.True(t, next.After(prev), "%s: %v after %v", expr, next, prev)
			prev = next
		}
	})
}
