package qodertest

import (
	"fmt"

	"github.com/qoder-go/qoder"
)

// Client returns a client of the fake: [qoder.WithBaseURL] set to s.URL
// and [qoder.WithToken] to s.Token, followed by opts (which may override
// them, for example to test a bad token).
func (s *Server) Client(opts ...qoder.Option) *qoder.Client {
	all := append([]qoder.Option{qoder.WithBaseURL(s.URL), qoder.WithToken(s.Token)}, opts...)
	c, err := qoder.NewClient(all...)
	if err != nil {
		panic(fmt.Sprintf("qodertest: creating a client: %v", err))
	}
	return c
}
