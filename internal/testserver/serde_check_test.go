package testserver

import (
	"strings"
	"testing"
)

// Bodies of the wrong shape are refused with serde's exact words, path, line and column: 422
// for values, 400 (with a path too) for syntax.
func TestSerdeRejections(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithCredential("dev", "github", "x"))
	var sess struct {
		ID string `json:"id"`
	}
	apiCall(t, srv, "", "POST", "/v1/sessions", map[string]any{"services": []string{"github"}}).wantJSON(t, 201, &sess)
	var ws struct {
		ID string `json:"id"`
	}
	apiCall(t, srv, "", "POST", "/v1/workspaces", map[string]any{}).wantJSON(t, 201, &ws)
	const data = "Failed to deserialize the JSON body into the target type: "
	const syntax = "Failed to parse the request body as JSON: "
	exec := "/v1/sessions/" + sess.ID + "/exec"
	rows := []struct{ path, body, want string }{
		{exec, `{}`, "missing field `cmd` at line 1 column 2"},
		{exec, `{"cmd":5}`, "cmd: invalid type: integer `5`, expected a string at line 1 column 8"},
		{exec, `{"cmd":"x","timeout_secs":-1}`, "timeout_secs: invalid value: integer `-1`, expected u64 at line 1 column 28"},
		{exec, `{"cmd":"x","timeout_secs":1.5}`, "timeout_secs: invalid type: floating point `1.5`, expected u64 at line 1 column 29"},
		{exec, `{"cmd":"x","timeout_secs":18446744073709551616}`, "timeout_secs: invalid type: floating point `1.8446744073709552e+19`, expected u64 at line 1 column 46"},
		{exec, `{"cmd":"x","network":"none"}`, `invalid type: string "none", expected internally tagged enum NetworkSpec at line 1 column 28`},
		{exec, `{"cmd":"x","network":{"mode":"x"}}`, "unknown variant `x`, expected one of `none`, `loopback`, `allowlist` at line 1 column 34"},
		{exec, `{"cmd":"x","network":{}}`, "missing field `mode` at line 1 column 24"},
		{exec, `{"cmd":"x","seccomp":"disabled"}`, "unknown variant `disabled`, expected `standard` or `strict` at line 1 column 32"},
		{exec, `{"cmd":"x","cpu_percent":-1}`, "invalid value: integer `-1`, expected u64 at line 1 column 28"},
		{exec, `{"cmd":"x","cmd":"y"}`, "duplicate field `cmd` at line 1 column 16"},
		{exec, `[]`, "invalid type: sequence, expected struct ExecRequest at line 1 column 0"},
		{exec, `null`, "invalid type: null, expected struct ExecRequest at line 1 column 4"},
		{"/v1/sessions", `{"services":["openai","foo"]}`, "services[1]: unknown variant `foo`, expected one of `openai`, `anthropic`, `github`, `stripe` at line 1 column 27"},
		{"/v1/sessions", `{"services":["openai"],"scopes":{"bar":["/x"]}}`, "scopes.?: unknown variant `bar`, expected one of `openai`, `anthropic`, `github`, `stripe` at line 1 column 38"},
		{"/v1/credentials", `{"service":"OpenAI","secret":"x"}`, "service: unknown variant `OpenAI`, expected one of `openai`, `anthropic`, `github`, `stripe` at line 1 column 19"},
		{"/v1/runs", `{"code":"x","git":{"repos":[{"ref":"v1"}]}}`, "git.repos[0]: missing field `repo` at line 1 column 40"},
		{"/v1/runs/fork", `{"parent_code":"x","children":[{}]}`, "children[0]: missing field `code` at line 1 column 33"},
		{"/v1/workspaces/" + ws.ID + "/exec", `{"cmd":"x","env":{"K":"V"}}`, "env: invalid type: map, expected a sequence at line 1 column 17"},
		{"/v1/workspaces/" + ws.ID + "/exec", `{"cmd":"x","env":[["K"]]}`, "env[0]: invalid length 1, expected a tuple of size 2 at line 1 column 23"},
		{"/v1/workspaces/" + ws.ID + "/fork", `{"count":-1}`, "count: invalid value: integer `-1`, expected usize at line 1 column 11"},
		{"/v1/workspaces", `{"domains":[{"domain":"a","vm_port":70000}]}`, "domains[0].vm_port: invalid value: integer `70000`, expected u16 at line 1 column 41"},
		{exec, `{"cmd":tru}`, syntax + "cmd: expected ident at line 1 column 11"},
		{exec, "{\n  \"cmd\": \"x\",\n  \"args\": [\"a\",]\n}", syntax + "args: trailing comma at line 3 column 16"},
		{exec, `{"cmd":"x","timeout_secs":1e3}`, "timeout_secs: invalid type: floating point `1000.0`, expected u64 at line 1 column 29"},
		{exec, `{"cmd":"x","timeout_secs":1e16}`, "timeout_secs: invalid type: floating point `1e+16`, expected u64 at line 1 column 30"},
		{exec, `{"cmd":"x","max_pids":1.5}`, "invalid type: floating point `1.5`, expected u64 at line 1 column 26"},
		{exec, `{"cmd":"x","network":{"mode":"allowlist","domains":null}}`, "invalid type: unit value, expected a sequence at line 1 column 57"},
		{exec, `{"cmd":"x","network":{"mode":7}}`, "invalid value: integer `7`, expected variant index 0 <= i < 3 at line 1 column 32"},
		{exec, `{"cmd":"x","seccomp":5}`, "invalid type: integer `5`, expected string or map at line 1 column 23"},
		{exec, `{"cmd":"x","seccomp":"strict","seccomp":"strict"}`, "duplicate field `seccomp` at line 1 column 49"},
		{exec, `{"cmd":"x", "cmd" : "y"}`, "duplicate field `cmd` at line 1 column 18"},
		{exec, `{"cmd":"a` + "\t" + `"}`, syntax + "cmd: control character (\\u0000-\\u001F) found while parsing a string at line 1 column 10"},
		{"/v1/credentials", `{"service":{"openai":null},"secret":5}`, "secret: invalid type: integer `5`, expected a string at line 1 column 37"},
		{"/v1/credentials", `{"service":{"nope":null},"secret":"x"}`, "service: unknown variant `nope`, expected one of `openai`, `anthropic`, `github`, `stripe` at line 1 column 18"},
		{"/v1/credentials", `{"service":null,"secret":"x"}`, syntax + "service: expected value at line 1 column 12"},
		{"/v1/workspaces", `{"domains":[{"domain":"a","vm_port":-1}]}`, "domains[0].vm_port: invalid value: integer `-1`, expected u16 at line 1 column 38"},
		{"/v1/workspaces/" + ws.ID + "/exec", `{"cmd":"x","env":[["K","V","W"]]}`, syntax + "env[0]: trailing characters at line 1 column 28"},
		{"/v1/workspaces/" + ws.ID + "/snapshot", `{"name":5}`, "name: invalid type: integer `5`, expected a string at line 1 column 9"},
		{"/v1/workspaces/from-snapshot", `{"snapshot_id":"s"}`, "missing field `parent_workspace_id` at line 1 column 19"},
	}
	for _, r := range rows {
		t.Run(r.body, func(t *testing.T) {
			want, status := r.want, 400
			if !strings.HasPrefix(want, syntax) {
				want, status = data+want, 422
			}
			apiCall(t, srv, "", "POST", r.path, r.body).wantPlain(t, status, want)
		})
	}
}
