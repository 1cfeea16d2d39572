package examples

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// raceEnabled is set when the test runs with -race; the examples are then
// built with -race too.
var raceEnabled bool

// expected lists, for each example directory, strings its output must
// contain when it runs against the in-process fake.
var expected = map[string][]string{
	"quickstart": {
		"running against the in-process fake",
		"session.status_running",
		"user.message             Print Hello World with bash",
		"agent.thinking",
		`agent.tool_use           Bash {"command":"echo 'Hello World'"}`,
		`agent.tool_result        "Hello World\n"`,
		"agent.message            I ran",
		"span.model_request_end   credits 0.25",
		"session.status_idle      end_turn",
	},
	"chat": {
		"running against the in-process fake",
		"Type a message and press Enter.",
		"> You said: hello\n",
		"> You said: how are you?\n> \n",
	},
	"conversation": {
		"[turn 1] agent: Nice to meet you, Ada!",
		"[turn 2] agent: The smallest prime greater than 20 is 23.",
		"[turn 3] agent: Your name is Ada",
		"[turn 3] end_turn, 1 model request(s), 0.25 credits",
		"3 turns, 0.75 credits; the session reports 0.75",
	},
	"streaming-deltas": {
		"agent: Bytes drift down the wire —\neach delta a ripple,\nthe whole sea arrives.\n",
		"complete after 12 delta frames",
		"idle: end_turn",
	},
	"custom-tools": {
		`agent.custom_tool_use    get_weather {"city":"Paris"}`,
		"session.status_idle      requires_action",
		`get_weather("Paris") = "18 °C, partly cloudy"`,
		"user.custom_tool_result",
		"answer: It is 18 °C, partly cloudy in Paris right now.",
		"(end_turn, 0.50 credits)",
	},
	"tool-confirmation": {
		`agent.tool_use           Bash {"command":"ls"} (permission: ask)`,
		`? Bash "ls": allowed`,
		`agent.tool_result        "notes.txt\nreport.md\n"`,
		`? Bash "rm -rf ./*": denied`,
		"user.tool_confirmation   deny Deleting files is not allowed.",
		"turn ended: end_turn",
	},
	"resume": {
		`msg="qoder: stream dropped"`,
		`msg="qoder: stream reconnecting"`,
		" 4 agent.thinking",
		"session.status_idle",
		"all 9 events arrived exactly once",
	},
	"cancel": {
		"agent.thinking\n  -> cancel requested; the session is canceling",
		"stop reason: cancelled",
	},
	"webhooks": {
		"Webhooks are delivered by the in-process fake API.",
		"session.created   session sess_",
		"session.archived  failed: the archive store is busy (answered 500, so it comes again)",
		"session.archived  session sess_",
		"session.created   attempt 1 -> 204",
		"session.archived  attempt 1 -> 500",
		"session.archived  attempt 2 -> 204",
		"a replayed delivery was answered 200 OK",
		"a forged delivery was answered 401 Unauthorized",
	},
	"files": {
		"running against the in-process fake",
		"uploaded file_",
		": notes.txt, 99 bytes, text/plain, downloadable=false",
		"agent: I read the notes and delivered summary.md.",
		": summary.md (text/markdown, 123 bytes)",
		"--- summary.md ---\n# Summary of notes.txt\n\nTeam sync, Monday\n- ship the files API in the Go SDK\n",
		"downloading the upload itself: permission denied, as documented",
	},
	"skills": {
		"running against the in-process fake",
		` "Greeting", latest version `,
		"binds skill_",
		"(custom)",
		": Greets people by name, now in two languages.",
		"greeting Greets people by name in the house style. Use it when asked to greet someone.",
		" holds:\n  greeting/SKILL.md\n  greeting/templates/hello.txt\n",
		"deleted skill_",
	},
	"vault-mcp": {
		"running against the in-process fake",
		"creating {MCPServerURL:https://mcp.example.com/mcp Token:[redacted]}",
		"holds credential vcred_",
		": static_bearer for https://mcp.example.com/mcp",
		"agent: The docs MCP server is connected.",
		"with a mismatched vault the session fails: 400 invalid_request_error",
	},
	"memory": {
		"running against the in-process fake",
		"  memory_prefix decisions/2026/\n  memory        decisions/db.md\n",
		"agent: The notes say we use Postgres and deploy on Fridays.",
		"attempt 1: the content changed since we read it; reading it again\nattempt 2: updated\n",
		`decisions/db.md: "We use Postgres 17. Migrations run with goose."`,
		"  modified \"We use Postgres 17. Migrations run with goose.\"\n  modified \"We use Postgres 17.\"\n  created  \"We use Postgres.\"\n",
	},
	"deployments": {
		"running against the in-process fake",
		": active, 0 9 * * 1-5 Europe/Berlin\nnext scheduled run: ",
		": pending (trigger manual)\nthe run's session: sess_",
		": completed\nagent: Status report: the build is green, 3 pull requests wait for review, no incident today.\n",
		": paused (manual)",
	},
	"self-hosted-worker": {
		"running against the in-process fake",
		"queue: 3 item(s) waiting for a worker",
		`msg="qoder: worker started" worker_id=example-worker`,
		`: session "build the docs"`,
		`: session "run the tests"`,
		`: session "tag the release"`,
		`msg="qoder: worker finished item"`,
		`msg="qoder: worker stopped"`,
		"queue: 0 item(s) waiting for a worker",
	},
	"pagination": {
		"List: one page of 10 agents, has_more=true",
		"agent-25",
		"15. agent-11",
		"GET /agents was called 3 times",
	},
}

// stdin is what an example reads, for those that read their input.
var stdin = map[string]string{
	"chat": "hello\nhow are you?\n",
}

// scripted lists the examples that need a scripted agent, and so ship a
// script for cmd/qoder-fake (fake-agent.json in their directory). Without
// it, those marked true say so and fail.
var scripted = map[string]bool{
	"custom-tools":      true,
	"tool-confirmation": true,
	"chat":              false, // the echo agent makes a dull but working chat
	"files":             true,
}

// TestExamples builds every example and runs it without a token, so against
// the in-process fake, checking that it exits 0 and prints what it should.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every example program")
	}

	dirs, err := filepath.Glob("*/main.go")
	require.NoError(t, err)
	require.NotEmpty(t, dirs, "no examples found")
	for _, d := range dirs {
		assert.Contains(t, expected, filepath.Dir(d), "example %s has no entry in expected", filepath.Dir(d))
	}

	// Build every example at once: one go command shares the work.
	bin := t.TempDir()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	buildCtx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(buildCtx, "go", append(args, "./...", "../cmd/qoder-fake")...)
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go %s\n%s", strings.Join(build.Args[1:], " "), out)

	env := withoutToken(os.Environ())
	if raceEnabled {
		// Do not sleep a second at exit, as race-enabled programs do.
		env = append(env, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	}
	for name, want := range expected {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := runExample(t, filepath.Join(bin, name), env, stdin[name])
			require.NoError(t, err, "%s\nstdout:\n%s\nstderr:\n%s", name, stdout, stderr)
			assert.Empty(t, stderr, "%s wrote to stderr", name)
			for _, s := range want {
				assert.Contains(t, stdout, s, "%s: the output lacks %q", name, s)
			}
		})
	}

	// The examples that need a scripted agent, against cmd/qoder-fake with
	// and without their script.
	for name, needs := range scripted {
		script := "examples/" + name + "/fake-agent.json"
		t.Run("qoder-fake/"+name, func(t *testing.T) {
			t.Parallel()
			fakeEnv := startQoderFake(t, filepath.Join(bin, "qoder-fake"), env, "-script", script)
			stdout, stderr, err := runExample(t, filepath.Join(bin, name), fakeEnv, stdin[name])
			require.NoError(t, err, "%s\nstdout:\n%s\nstderr:\n%s", name, stdout, stderr)
			for _, s := range expected[name] {
				if !strings.Contains(s, "in-process fake") {
					assert.Contains(t, stdout, s, "%s: the output lacks %q", name, s)
				}
			}
		})
		if !needs {
			continue
		}
		t.Run("qoder-fake-without-script/"+name, func(t *testing.T) {
			t.Parallel()
			fakeEnv := startQoderFake(t, filepath.Join(bin, "qoder-fake"), env)
			_, stderr, err := runExample(t, filepath.Join(bin, name), fakeEnv, stdin[name])
			require.Error(t, err, "%s must fail without the agent it needs", name)
			assert.Contains(t, stderr, "restart it with this example's script")
			assert.Contains(t, stderr, "go run ./cmd/qoder-fake -script "+script)
		})
	}
}

// runExample runs the example program at path with env and input, and
// returns what it printed and how it exited.
func runExample(t *testing.T, path string, env []string, input string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(input)
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	require.NotErrorIs(t, ctx.Err(), context.DeadlineExceeded, "%s did not finish within 60 s\nstdout:\n%s\nstderr:\n%s", path, &out, &errOut)
	return out.String(), errOut.String(), err
}

// startQoderFake starts the qoder-fake binary with env and args on a free
// port until the test ends, and returns env with the settings of a
// program that talks to the fake as to the real API (QODER_PAT and
// QODER_BASE_URL).
func startQoderFake(t *testing.T, path string, env []string, args ...string) []string {
	t.Helper()
	cmd := exec.Command(path, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = ".." // script paths are given from the repository's root
	cmd.Env = env
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	vars := map[string]string{}
	lines := bufio.NewScanner(out)
	for vars["QODER_PAT"] == "" && lines.Scan() {
		if k, v, ok := strings.Cut(lines.Text(), "="); ok {
			vars[k] = v
		}
	}
	require.NotEmpty(t, vars["QODER_PAT"], "qoder-fake did not print its settings")
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return append(slices.Clip(env), "QODER_PAT="+vars["QODER_PAT"], "QODER_BASE_URL="+vars["QODER_BASE_URL"])
}

// withoutToken returns env without the variables that would point the
// examples at the real API.
func withoutToken(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "QODER_PAT", "QODER_PERSONAL_ACCESS_TOKEN", "QODER_ACCESS_TOKEN", "QODER_BASE_URL":
			continue
		}
		out = append(out, kv)
	}
	return out
}
