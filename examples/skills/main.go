// Skills uploads a skill from the directory greeting/ beside this file
// (embedded into the program), binds it to a new agent, uploads a second
// version as a lone SKILL.md, lists the versions and downloads the first
// one's zip. The skill is deleted at the end; agents that bind a deleted
// skill are not updated by the API.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"embed"
	"fmt"
	"io"

	"github.com/qoder-go/qoder"
	"github.com/qoder-go/qoder/examples/internal/setup"
)

// skillDir holds greeting/SKILL.md and greeting/templates/hello.txt. On
// disk, qoder.SkillFromFS(os.DirFS("path/to/greeting")) works the same way.
//
//go:embed greeting
var skillDir embed.FS

const secondVersion = `---
name: greeting
description: Greets people by name, now in two languages.
---

Greet the person by name, in English and in French.
`

func main() { setup.Main(run) }

func run(ctx context.Context) error {
	client, release, err := setup.Client(nil)
	if err != nil {
		return err
	}
	defer release()

	// 1. Upload the directory; SKILL.md is one directory below the root.
	skill, err := client.Skills.Create(ctx, &qoder.SkillCreateParams{
		Bundle:       qoder.SkillFromFS(skillDir),
		DisplayTitle: "Greeting",
		Metadata:     map[string]string{"example": "skills"},
	})
	if err != nil {
		return err
	}
	fmt.Printf("skill %s %q, latest version %s\n", skill.ID, skill.DisplayTitle, skill.LatestVersion)
	first := skill.LatestVersion

	// 2. Bind it to an agent; the agent uses the latest version.
	agent, err := client.Agents.Create(ctx, &qoder.AgentCreateParams{
		Name:   "qoder-go-skills-example",
		Model:  qoder.ModelConfig{ID: "auto"},
		Skills: []qoder.SkillBinding{{Type: qoder.SkillBindingCustom, SkillID: skill.ID}},
	})
	if err != nil {
		return err
	}
	fmt.Printf("agent %s binds %s (%s)\n", agent.ID, agent.Skills[0].SkillID, agent.Skills[0].Type)

	// 3. A new version from a single SKILL.md.
	v2, err := client.Skills.Versions.Create(ctx, skill.ID, &qoder.SkillVersionCreateParams{
		Bundle: qoder.SkillFromMarkdown(secondVersion),
	})
	if err != nil {
		return err
	}
	fmt.Printf("new version %s: %s\n", v2.Version, v2.Description)

	// 4. Every version, newest first.
	for v, err := range client.Skills.Versions.All(ctx, skill.ID, nil) {
		if err != nil {
			return err
		}
		fmt.Printf("  version %s  %-8s %s\n", v.Version, v.Name, v.Description)
	}

	// 5. The first version's zip, as uploaded.
	body, err := client.Skills.Versions.Download(ctx, skill.ID, first)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(body)
	body.Close()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	fmt.Printf("version %s holds:\n", first)
	for _, f := range zr.File {
		fmt.Printf("  %s\n", f.Name)
	}

	// 6. Clean up: the skill and all its versions go at once.
	if _, err := client.Skills.Delete(ctx, skill.ID); err != nil {
		return err
	}
	fmt.Println("deleted", skill.ID)
	return nil
}
