// Webhooks serves a webhook endpoint with qoder.WebhookHandler and prints
// each delivery. It registers the endpoint on the in-process fake, creates
// and archives a session, and exits once it has seen session.created and
// session.archived. The handler fails the first delivery of
// session.archived on purpose, to show the retry; a replayed delivery is
// skipped by its Webhook-ID, and a forged one is refused with 401.
//
// The fake is used even when QODER_PAT is set: real endpoints are
// registered outside the SDK, since Qoder's endpoint API is not documented
// in detail. In your server, mount the same handler:
//
//	http.Handle("POST /webhooks/qoder", qoder.WebhookHandler(os.Getenv("QODER_WEBHOOK_SECRET"), handle))
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

func run(ctx context.Context) error {
	srv := qodertest.Start()
	defer srv.Close()
	fmt.Println("Webhooks are delivered by the in-process fake API.")

	// The endpoint: verify, de-duplicate, then handle.
	secret := qodertest.NewWebhookSecret()
	seen := make(chan string, 4)
	var archived atomic.Int32
	handle := func(ctx context.Context, ev *qoder.WebhookEvent) error {
		switch d := ev.Data.(type) {
		case *qoder.SessionCreatedWebhook:
			fmt.Printf("%-17s session %s\n", ev.Type, d.ID)
		case *qoder.SessionArchivedWebhook:
			if archived.Add(1) == 1 {
				fmt.Printf("%-17s failed: the archive store is busy (answered 500, so it comes again)\n", ev.Type)
				return errors.New("the archive store is busy")
			}
			fmt.Printf("%-17s session %s\n", ev.Type, d.ID)
		default:
			fmt.Printf("%-17s ignored\n", ev.Type)
		}
		seen <- ev.Type
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/qoder", qoder.WebhookHandler(secret, handle,
		qoder.WithWebhookDeduplicator(qoder.NewWebhookMemoryDeduplicator(24*time.Hour))))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Shutdown(context.WithoutCancel(ctx))
	url := "http://" + ln.Addr().String() + "/webhooks/qoder"

	// Register it for two event types, then cause them.
	srv.AddWebhookEndpoint(url, secret, qoder.WebhookTypeSessionCreated, qoder.WebhookTypeSessionArchived)
	client := srv.Client()
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{Name: "webhooks-example", Model: qoder.ModelConfig{ID: "ultimate"}})
	if err != nil {
		return err
	}
	if _, err := client.Sessions.Archive(ctx, sessionID); err != nil {
		return err
	}
	for want := 2; want > 0; want-- {
		select {
		case <-seen:
		case <-time.After(10 * time.Second):
			return errors.New("the deliveries did not arrive")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := srv.WaitWebhooks(ctx); err != nil {
		return err
	}

	fmt.Println("\ndeliveries made by the fake:")
	deliveries := srv.WebhookDeliveries()
	for _, d := range deliveries {
		fmt.Printf("  %s %-17s attempt %d -> %d\n", d.EventID[:12]+"…", d.EventType, d.Attempt, d.StatusCode)
	}

	// The same delivery again, as at-least-once delivery may bring it: the
	// function is not called twice.
	last := deliveries[len(deliveries)-1]
	status, err := post(ctx, url, last.Header, last.Body)
	if err != nil {
		return err
	}
	fmt.Println("\na replayed delivery was answered", status)

	// A delivery signed with another secret never reaches the function.
	body := []byte(`{"type":"event","id":"whe_forged","created_at":"2026-01-01T00:00:00Z","data":{"type":"session.deleted","id":"sess_1"}}`)
	now := time.Now()
	sig, err := qoder.SignWebhook(qodertest.NewWebhookSecret(), "whe_forged", now, body)
	if err != nil {
		return err
	}
	forged := http.Header{}
	forged.Set(qoder.WebhookHeaderID, "whe_forged")
	forged.Set(qoder.WebhookHeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	forged.Set(qoder.WebhookHeaderSignature, sig)
	if status, err = post(ctx, url, forged, body); err != nil {
		return err
	}
	fmt.Println("a forged delivery was answered", status)
	return nil
}

// post sends a delivery and returns the answer's status.
func post(ctx context.Context, url string, header http.Header, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header = header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.Status, nil
}
