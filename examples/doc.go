// Package examples holds runnable example programs of the qoder SDK, one per
// directory (go run ./examples/quickstart, ...), and a test that builds and
// runs each of them against the in-process fake so that they cannot rot.
// See README.md for the list.
package examples
