package qoder_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/qodertest"
)

func ExampleClient_Do() {
	srv := qodertest.Start()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	// An endpoint called by hand, through the client's own request path
	// (token, retries, errors): the model list, decoded into a struct of
	// our own.
	var models struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := client.Do(ctx, http.MethodGet, "models", nil, &models); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(models.Data) > 0)
	// Output:
	// true
}

func ExampleWithBodyField() {
	srv := qodertest.Start()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	// WithBodyField sets a top-level field of the JSON body by name, and
	// Raw reads any field of the answer: the way to use a field newer than
	// this SDK. (Here the field is one the fake knows, so it answers
	// with it.)
	agent, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{Name: "reviewer", Model: qoder.ModelConfig{ID: "ultimate"}},
		qoder.WithBodyField("description", "Reviews pull requests"))
	if err != nil {
		log.Fatal(err)
	}
	var extra struct {
		Description string `json:"description"`
	}
	if err := json.Unmarshal(agent.Raw(), &extra); err != nil {
		log.Fatal(err)
	}
	fmt.Println(extra.Description)
	// Output:
	// Reviews pull requests
}

func ExampleWithMiddleware() {
	srv := qodertest.Start()
	defer srv.Close()

	// A middleware sees every attempt; it must not record the request's
	// headers, which carry the token.
	trace := func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		info, _ := qoder.RequestInfoFromContext(req.Context())
		resp, err := next(req)
		if err == nil {
			fmt.Printf("%s /%s (attempt %d): %d\n", req.Method, info.Route, info.Attempt, resp.StatusCode)
		}
		return resp, err
	}
	client := srv.Client(qoder.WithMiddleware(trace))
	ctx := context.Background()
	env, err := client.Environments.Create(ctx, &qoder.EnvironmentCreateParams{Name: "traced"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Environments.Get(ctx, env.ID); err != nil {
		log.Fatal(err)
	}
	// Output:
	// POST /environments (attempt 0): 201
	// GET /environments/{environment_id} (attempt 0): 200
}

func ExampleWorker() {
	srv := qodertest.Start()
	defer srv.Close()
	client := srv.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	env, err := client.Environments.Create(ctx, &qoder.EnvironmentCreateParams{
		Name:   "my-workers",
		Config: qoder.EnvironmentConfig{Type: qoder.EnvironmentConfigSelfHosted},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.EnqueueWork(env.ID, qodertest.WorkItem{ID: "sess_example"}) // the fake's queue, fed by hand

	w := &qoder.Worker{
		Client:        client,
		EnvironmentID: env.ID,
		Handler: func(ctx context.Context, work *qoder.Work) error {
			fmt.Println("working on", work.Data.Type, work.Data.ID)
			cancel() // one item is enough here: the worker finishes it, then Run returns
			return nil
		},
	}
	if err := w.Run(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// working on session sess_example
}
