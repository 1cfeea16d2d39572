package qoder_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/qoder-go/qoder"
)

// exampleWebhookSecret stands in for the secret Qoder shows for an endpoint.
const exampleWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// signedDelivery builds a delivery the way Qoder sends one, with
// qoder.SignWebhook: the way to test your own handler.
func signedDelivery(url, id, body string) *http.Request {
	now := time.Now()
	sig, err := qoder.SignWebhook(exampleWebhookSecret, id, now, []byte(body))
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(qoder.WebhookHeaderID, id)
	req.Header.Set(qoder.WebhookHeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(qoder.WebhookHeaderSignature, sig)
	return req
}

func ExampleWebhookHandler() {
	handler := qoder.WebhookHandler(exampleWebhookSecret, func(ctx context.Context, ev *qoder.WebhookEvent) error {
		switch d := ev.Data.(type) {
		case *qoder.SessionArchivedWebhook:
			fmt.Println("archived:", d.ID)
		case *qoder.UnknownWebhook:
			fmt.Println("ignoring", d.Type)
		default:
			fmt.Println(ev.Type, ev.ID)
		}
		return nil // an error answers 500, and Qoder delivers the event again
	}, qoder.WithWebhookDeduplicator(qoder.NewWebhookMemoryDeduplicator(0)))

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/qoder", handler)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	body := `{"type":"event","id":"whe_1","created_at":"2026-05-18T15:26:39Z","data":{"type":"session.archived","id":"sess_1"}}`
	for _, req := range []*http.Request{
		signedDelivery(srv.URL+"/webhooks/qoder", "whe_1", body),
		signedDelivery(srv.URL+"/webhooks/qoder", "whe_1", body), // a retry: handled once
		signedDelivery(srv.URL+"/webhooks/qoder", "whe_2", `{"type":"event","id":"whe_2","data":{"type":"agent.created","id":"agent_1"}}`),
	} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// archived: sess_1
	// 204
	// 200
	// ignoring agent.created
	// 204
}

func ExampleVerifyWebhook() {
	body := `{"type":"event","id":"whe_3","created_at":"2026-05-18T15:26:39Z","data":{"type":"session.created","id":"sess_1"}}`
	req := signedDelivery("http://localhost/webhooks/qoder", "whe_3", body)

	// In a handler: read the raw body (with a limit), then verify it
	// before trusting anything in it.
	raw, err := io.ReadAll(http.MaxBytesReader(nil, req.Body, 1<<20))
	if err != nil {
		log.Fatal(err)
	}
	ev, err := qoder.VerifyWebhook(exampleWebhookSecret, req.Header, raw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Type, ev.Data.(*qoder.SessionCreatedWebhook).ID)

	// The same headers with a body changed after signing.
	_, err = qoder.VerifyWebhook(exampleWebhookSecret, req.Header, []byte(strings.Replace(body, "created", "deleted", 1)))
	fmt.Println(errors.Is(err, qoder.ErrWebhookBadSignature), err)
	// Output:
	// session.created sess_1
	// true qoder: webhook signature does not match
}
