package qodertest_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
)

// A test can point the fake's webhooks at its own handler and check what
// the handler did with each delivery.
func ExampleServer_AddWebhookEndpoint() {
	srv := qodertest.Start()
	defer srv.Close()

	secret := qodertest.NewWebhookSecret()
	hook := httptest.NewServer(qoder.WebhookHandler(secret, func(ctx context.Context, ev *qoder.WebhookEvent) error {
		fmt.Println("received", ev.Type)
		return nil
	}))
	defer hook.Close()
	srv.AddWebhookEndpoint(hook.URL, secret, qoder.WebhookTypeSessionCreated, qoder.WebhookTypeSessionArchived)

	client := srv.Client()
	sessionID := srv.SeedSession(srv.SeedAgent("bot"), srv.SeedEnvironment("env"))
	if _, err := client.Sessions.Archive(context.Background(), sessionID); err != nil {
		log.Fatal(err)
	}
	if err := srv.WaitWebhooks(context.Background()); err != nil {
		log.Fatal(err)
	}
	for _, d := range srv.WebhookDeliveries() {
		fmt.Println(d.EventType, d.Attempt, d.StatusCode)
	}
	// Output:
	// received session.created
	// received session.archived
	// session.created 1 204
	// session.archived 1 204
}
