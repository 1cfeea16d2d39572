// Memory keeps a project's notes in a memory store: it writes a few
// memories, mounts the store in a session whose agent reads them, lists
// them by folder, shows the version history, and makes a conditional
// update that loses a race with another writer and retries. Without
// QODER_PAT it runs against the in-process fake.
package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

// agent is what the fake's agent answers.
func agent(turn *qodertest.Turn) {
	turn.Say("The notes say we use Postgres and deploy on Fridays.")
}

func run(ctx context.Context) error {
	client, release, err := setup.Client(agent)
	if err != nil {
		return err
	}
	defer release()

	// 1. A store and a few memories.
	store, err := client.MemoryStores.Create(ctx, &qoder.MemoryStoreCreateParams{
		Name: "qoder-go-memory-example", Description: "Decisions and conventions of the project.",
	})
	if err != nil {
		return err
	}
	defer client.MemoryStores.Delete(context.WithoutCancel(ctx), store.ID) // best-effort cleanup
	notes := map[string]string{
		"decisions/db.md":          "We use Postgres.",
		"decisions/2026/deploy.md": "We deploy on Fridays.",
		"readme.md":                "Project notes.",
	}
	ids := map[string]string{}
	for _, path := range []string{"decisions/db.md", "decisions/2026/deploy.md", "readme.md"} {
		m, err := client.MemoryStores.Memories.Create(ctx, store.ID, &qoder.MemoryCreateParams{Path: path, Content: notes[path]})
		if err != nil {
			return err
		}
		ids[path] = m.ID
	}

	// 2. The decisions folder, one level deep: deeper ones roll up.
	for item, err := range client.MemoryStores.Memories.All(ctx, store.ID, &qoder.MemoryListParams{PathPrefix: "decisions/", Depth: 1}) {
		if err != nil {
			return err
		}
		fmt.Printf("  %-13s %s\n", item.Type, item.Path)
	}

	// 3. A session that mounts the store and reads it.
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name: "qoder-go-memory-example", Model: qoder.ModelConfig{ID: "auto"},
		Tools: []qoder.AgentTool{qoder.AgentToolset()},
	}, qoder.MemoryStoreResource(store.ID, qoder.MemoryStoreReadOnly))
	if err != nil {
		return err
	}
	turn, err := client.Sessions.Run(ctx, sessionID, "What do the project notes say about the database and deploys?")
	if err != nil {
		return err
	}
	fmt.Println("agent:", turn.Text())

	// 4. A conditional update that loses a race, then retries.
	dbID := ids["decisions/db.md"]
	mine, err := client.MemoryStores.Memories.Get(ctx, store.ID, dbID)
	if err != nil {
		return err
	}
	// Another writer changes the memory after we read it.
	if _, err := client.MemoryStores.Memories.Update(ctx, store.ID, dbID, &qoder.MemoryUpdateParams{
		Content: qoder.Ptr("We use Postgres 17."),
	}); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		_, err := client.MemoryStores.Memories.Update(ctx, store.ID, dbID, &qoder.MemoryUpdateParams{
			Content:      qoder.Ptr(*mine.Content + " Migrations run with goose."), // Get has the content
			Precondition: qoder.ContentSHA256Precondition(mine.ContentSHA256),
		})
		if err == nil {
			fmt.Printf("attempt %d: updated\n", attempt)
			break
		}
		if !errors.Is(err, qoder.ErrConflict) || attempt == 3 {
			return err
		}
		fmt.Printf("attempt %d: the content changed since we read it; reading it again\n", attempt)
		if mine, err = client.MemoryStores.Memories.Get(ctx, store.ID, dbID); err != nil {
			return err
		}
	}
	final, err := client.MemoryStores.Memories.Get(ctx, store.ID, dbID)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %q\n", final.Path, *final.Content)

	// 5. The history of that memory, newest first.
	for v, err := range client.MemoryStores.Versions.All(ctx, store.ID, &qoder.MemoryVersionListParams{MemoryID: dbID, View: qoder.MemoryViewFull}) {
		if err != nil {
			return err
		}
		content := "(no content)" // a delete, or a redacted version
		if v.Content != nil {
			content = strconv.Quote(*v.Content)
		}
		fmt.Printf("  %-8s %s\n", v.Operation, content)
	}
	return nil
}
