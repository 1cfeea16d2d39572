// Vault-mcp gives an agent's MCP server its bearer token through a vault:
// a vault with a static_bearer credential for the server's url, then a
// session that attaches the vault with vault_ids. The token never appears
// in the agent or the session, and prints as [redacted]. A vault whose
// credential names another url fails the session's MCP discovery, as the
// reference describes. Without QODER_PAT it runs against the in-process
// fake.
//
// Set MCP_URL and MCP_TOKEN to use a server of your own.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
	"github.com/qoder-go/qoder/qodertest"
)

func main() { setup.Main(run) }

// agent is what the fake's agent answers.
func agent(turn *qodertest.Turn) {
	turn.Say("The docs MCP server is connected.")
}

func run(ctx context.Context) error {
	client, release, err := setup.Client(agent)
	if err != nil {
		return err
	}
	defer release()
	mcpURL := cmp.Or(os.Getenv("MCP_URL"), "https://mcp.example.com/mcp")
	token := cmp.Or(os.Getenv("MCP_TOKEN"), "example-token-not-a-real-one")

	// 1. A vault with a bearer token for the MCP server.
	vault, err := client.Vaults.Create(ctx, &qoder.VaultCreateParams{DisplayName: "qoder-go-vault-example"})
	if err != nil {
		return err
	}
	defer client.Vaults.Delete(context.WithoutCancel(ctx), vault.ID) // best-effort cleanup
	params := &qoder.CredentialCreateParams{
		Auth:        qoder.NewStaticBearerAuth(mcpURL, token), // the url must equal the agent's MCP server url
		DisplayName: "docs-mcp",
	}
	fmt.Printf("creating %+v\n", *params.Auth.(*qoder.StaticBearerAuth))
	cred, err := client.Vaults.Credentials.Create(ctx, vault.ID, params)
	if err != nil {
		return err
	}
	fmt.Printf("vault %s holds credential %s: %s for %s\n", vault.ID, cred.ID, cred.Auth.Type, cred.Auth.MCPServerURL)

	// 2. An agent that uses the server.
	envID, err := setup.Environment(ctx, client)
	if err != nil {
		return err
	}
	a, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{
		Name:       "qoder-go-vault-example",
		Model:      qoder.ModelConfig{ID: "auto"},
		MCPServers: []qoder.MCPServer{{Name: "docs", Type: qoder.MCPServerTypeURL, URL: mcpURL}},
		Tools:      []qoder.AgentTool{qoder.MCPToolset("docs")},
	})
	if err != nil {
		return err
	}

	// 3. A session with the vault: MCP discovery uses its credential.
	session, err := client.Sessions.Create(ctx, &qoder.SessionCreateParams{
		Agent: qoder.AgentRef{ID: a.ID}, EnvironmentID: envID, VaultIDs: []string{vault.ID},
	})
	if err != nil {
		return err
	}
	fmt.Printf("session %s uses vaults %v\n", session.ID, session.VaultIDs)
	turn, err := client.Sessions.Run(ctx, session.ID, "Is the docs MCP server connected?")
	if err != nil {
		return err
	}
	fmt.Println("agent:", turn.Text())

	// 4. A vault whose credential names another url cannot serve the agent.
	other, err := client.Vaults.Create(ctx, &qoder.VaultCreateParams{DisplayName: "qoder-go-vault-example-wrong"})
	if err != nil {
		return err
	}
	defer client.Vaults.Delete(context.WithoutCancel(ctx), other.ID) // best-effort cleanup
	if _, err := client.Vaults.Credentials.Create(ctx, other.ID, &qoder.CredentialCreateParams{
		Auth: qoder.NewStaticBearerAuth("https://elsewhere.example.com/mcp", token),
	}); err != nil {
		return err
	}
	_, err = client.Sessions.Create(ctx, &qoder.SessionCreateParams{
		Agent: qoder.AgentRef{ID: a.ID}, EnvironmentID: envID, VaultIDs: []string{other.ID},
	})
	var apiErr *qoder.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("a session with a mismatched vault: want an API error, got %v", err)
	}
	fmt.Printf("with a mismatched vault the session fails: %d %s\n", apiErr.StatusCode, apiErr.Type)
	return nil
}
