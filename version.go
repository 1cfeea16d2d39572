package qoder

import (
	"runtime"
)

// Version is the version of this SDK, sent in the User-Agent header.
const Version = "0.1.0"

// defaultUserAgent is "qoder-go/<Version> (go<ver>; <os>/<arch>)".
var defaultUserAgent = "qoder-go/" + Version + " (" + runtime.Version() + "; " + runtime.GOOS + "/" + runtime.GOARCH + ")"
