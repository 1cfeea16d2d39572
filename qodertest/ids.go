package qodertest

import (
	"crypto/rand"
	"encoding/hex"
	"math"
	"sync"
	"time"
)

var idClock struct {
	sync.Mutex
	last int64
}

// newID returns prefix followed by 32 lowercase hex digits laid out like a
// UUIDv7 (millisecond time first), as the real API's ids are.
func newID(prefix string) string {
	idClock.Lock()
	ms := time.Now().UnixMilli()
	if ms <= idClock.last {
		ms = idClock.last + 1
	}
	idClock.last = ms
	idClock.Unlock()

	var b [16]byte
	_, _ = rand.Read(b[6:])
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return prefix + hex.EncodeToString(b[:])
}

// newRequestID returns a random UUID, the form of server-made request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// timestamp formats t as the API does: RFC 3339 in UTC with fractional
// seconds.
func timestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// nullTime is a timestamp or JSON null.
func nullTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timestamp(t)
	return &s
}

// credits floors c to two decimals, as the API reports credits.
func credits(c float64) float64 {
	return math.Floor(c*100+1e-9) / 100
}
