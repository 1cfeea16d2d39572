// Package sse reads Server-Sent Events frames from a response body.
//
// It is the layer under the SDK's resumable event stream: [NewReader] wraps
// the body of GET /sessions/{id}/events/stream and [Reader.Next] returns one
// [Frame] (id, event name, data) per dispatched event. Reconnecting, the
// Last-Event-ID header, backoff, idle watchdogs and JSON decoding belong to
// the caller; this package only turns bytes into frames and tells the caller
// precisely how the bytes ended.
//
// # Parsing rules
//
// Fields are parsed as the WHATWG HTML "server-sent events" section says: a
// leading UTF-8 BOM is stripped; lines end in CRLF, LF or a bare CR; lines
// starting with ':' are comments (keep-alives such as ": heartbeat"); a line
// is split at its first colon and one leading space of the value is dropped;
// the fields event, data, id and retry are understood and everything else is
// ignored. A blank line dispatches the block. A block with no data field
// (comments only, id only, retry only, event only) produces no frame, but its
// id and retry still take effect, so heartbeats never turn into phantom
// events. A block that the body cut off before its blank line is never
// returned: [Reader.Next] reports [ErrTruncated] instead, and its id and
// retry are not applied, so a resume starts from the last complete block.
//
// # Why only EventStreamReader from r3labs/sse
//
// The SDK's dependency card names github.com/r3labs/sse/v2. Its Client cannot
// be used (it delivers truncated events and stores their ids for resume,
// turns heartbeats into empty events once an id was seen, ignores context
// deadlines and leaks goroutines), and its field parser is unexported. What
// remains usable is the blank-line framer, sse.NewEventStreamReader with
// ReadEvent, and that is the only thing this package takes from it. The
// framer has its own defects, which are handled here:
//
//   - At the end of the body it returns the unterminated remainder as if it
//     were a complete block. The body is wrapped in a reader that counts the
//     blank-line terminators it hands to the framer, so a block without one
//     is recognised and dropped.
//   - It maps context.Canceled from the body to io.EOF. The wrapper records
//     the body's own error, and that error is what Next returns.
//   - ReadEvent returns a slice of the scanner's buffer. Frame.Data is always
//     a fresh copy.
//   - Its size limit covers the whole raw block, field names included, and
//     surfaces as bufio.ErrTooLong. The framer gets a limit somewhat above
//     the caller's maximum, the data limit is enforced here, and both become
//     [ErrEventTooLarge].
//   - Its split function rescans everything buffered after every Read, which
//     is quadratic for large events and for many small events buffered at
//     once. The wrapper hands the framer at most one block per Read: it keeps
//     reading while no terminator has arrived and stops right after one, so
//     every block is scanned a bounded number of times and a complete block is
//     never held back waiting for more bytes.
//
// # Memory
//
// A Reader holds what its events need, not what its largest event needed,
// since a process may hold thousands of mostly idle streams. Until the
// first bytes arrive it holds a 512-byte stash and no framer; the framer,
// whose buffer starts at 4 KiB, is created with the first bytes. The
// wrapper reads the body straight into the framer's buffer and keeps only
// what a read brought past a terminator. A block larger than 16 KiB grows
// the framer's buffer (and, with many data lines, the data scratch); a run
// of such blocks shares them, and the first smaller block lets them go: the
// framer holds no bytes between blocks, so the next block gets a new one. A
// stash grown past 16 KiB is let go as soon as it is passed on.
package sse
