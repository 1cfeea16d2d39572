// Pagination lists agents two ways: client.Agents.List returns one page
// (Data, HasMore and the cursors), and client.Agents.All iterates over
// every agent, fetching further pages only as the loop needs them, so
// breaking out of the loop stops the fetching.
//
// Against the real API (the token comes from QODER_PAT, the region from
// QODER_BASE_URL) it lists your agents:
//
//	QODER_PAT=pt-... go run ./examples/pagination
//
// Without a token it runs against qodertest, the SDK's in-process fake,
// seeded with 25 agents.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

func run(ctx context.Context) error {
	var client *qoder.Client
	var srv *qodertest.Server // nil against the real API
	if os.Getenv("QODER_PAT") != "" {
		c, err := qoder.NewClient()
		if err != nil {
			return err
		}
		client = c
	} else {
		srv = qodertest.Start()
		defer srv.Close()
		for i := 1; i <= 25; i++ {
			srv.SeedAgent(fmt.Sprintf("agent-%02d", i))
		}
		client = srv.Client()
		fmt.Println("QODER_PAT is not set: running against the in-process fake API, seeded with 25 agents.")
	}

	// One page, newest first.
	page, err := client.Agents.List(ctx, &qoder.AgentListParams{Limit: 10})
	if err != nil {
		return err
	}
	fmt.Printf("List: one page of %d agents, has_more=%v\n", len(page.Data), page.HasMore)
	for _, agent := range page.Data {
		fmt.Printf("  %s  %s\n", agent.ID, agent.Name)
	}

	// Every agent, ten per request, until the loop has seen fifteen.
	const want = 15
	fmt.Printf("\nAll: the first %d agents, 10 per page\n", want)
	n := 0
	for agent, err := range client.Agents.All(ctx, &qoder.AgentListParams{Limit: 10}) {
		if err != nil {
			return err
		}
		n++
		fmt.Printf("  %2d. %s\n", n, agent.Name)
		if n == want {
			break // no further page is fetched
		}
	}

	if srv != nil {
		// The fake records the requests it served: List made one, and All
		// made two for fifteen agents out of twenty-five.
		gets := 0
		for _, r := range srv.Requests() {
			if r.Method == "GET" && r.Path == qodertest.BasePath+"agents" {
				gets++
			}
		}
		fmt.Printf("\nGET /agents was called %d times\n", gets)
	}
	return nil
}
