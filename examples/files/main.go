// Files uploads a text file, attaches it to a new session as a file
// resource, asks the agent about it, and downloads the artifact the agent
// delivers (agent.artifact_delivered). Without QODER_PAT the in-process
// fake plays the agent: it reads the mounted file and delivers a summary.
// Against cmd/qoder-fake, start it with this example's script:
//
//	go run ./cmd/qoder-fake -script examples/files/fake-agent.json
//
// The upload is streamed: client.Files.Upload writes the multipart body
// while it is sent, so a file of any size passes through a small buffer.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

// mountPath is where the session sees the uploaded file.
const mountPath = "/mnt/session/uploads/notes.txt"

const notes = `Team sync, Monday
- ship the files API in the Go SDK
- review the skills upload
- book the offsite
`

func main() { setup.Main(run) }

// agent is what the fake's agent does on each message, as fake-agent.json
// tells cmd/qoder-fake: read the mounted file and deliver it as a summary.
func agent(turn *qodertest.Turn) {
	text, ok := turn.ReadFile(mountPath)
	if !ok {
		turn.Say("I cannot find " + mountPath + ".")
		return
	}
	turn.DeliverArtifact("summary.md", append([]byte("# Summary of notes.txt\n\n"), text...))
	turn.Say("I read the notes and delivered summary.md.")
}

func run(ctx context.Context) error {
	client, release, err := setup.Client(agent)
	if err != nil {
		return err
	}
	defer release()

	// 1. Upload. A strings.Reader can seek, so a failed attempt is retried.
	file, err := client.Files.Upload(ctx, &qoder.FileUploadParams{
		Name:     "notes.txt",
		Content:  strings.NewReader(notes),
		Metadata: map[string]string{"example": "files"},
	})
	if err != nil {
		return err
	}
	fmt.Printf("uploaded %s: %s, %d bytes, %s, downloadable=%v\n", file.ID, file.Filename, file.SizeBytes, file.MimeType, file.Downloadable)

	// 2. A session with the file mounted where the agent will look.
	sessionID, err := setup.Session(ctx, client, &qoder.AgentCreateParams{
		Name:  "qoder-go-files-example",
		Model: qoder.ModelConfig{ID: "auto"},
		Tools: []qoder.AgentTool{qoder.AgentToolset()},
	}, qoder.SessionResourceParams{Type: qoder.SessionResourceFile, FileID: file.ID, MountPath: mountPath})
	if err != nil {
		return err
	}

	// 3. Ask about it; the turn's events include the delivered artifact.
	turn, err := client.Sessions.Run(ctx, sessionID,
		"Read "+mountPath+", list its action items and deliver a short summary as summary.md.")
	if err != nil {
		return err
	}
	fmt.Println("agent:", turn.Text())
	var artifact *qoder.AgentArtifactDeliveredEvent
	for _, ev := range turn.Events {
		if ev, ok := ev.(*qoder.AgentArtifactDeliveredEvent); ok {
			artifact = ev
		}
	}
	if artifact == nil {
		return setup.AgentDidNot("deliver summary.md", "examples/files/fake-agent.json")
	}
	fmt.Printf("artifact %s: %s (%s, %d bytes)\n", artifact.FileID, artifact.OriginalFilename, artifact.ContentType, artifact.Size)

	// 4. Download it. The API answers with a presigned URL, which Download
	// fetches without the token.
	body, err := client.Files.Download(ctx, artifact.FileID)
	if err != nil {
		return err
	}
	defer body.Close()
	summary, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	fmt.Printf("--- %s ---\n%s", artifact.OriginalFilename, summary)

	// Uploads are not downloadable: only what an agent delivers is.
	if _, err := client.Files.Download(ctx, file.ID); errors.Is(err, qoder.ErrPermission) {
		fmt.Println("downloading the upload itself: permission denied, as documented")
	} else if err != nil {
		return err
	}
	return nil
}
