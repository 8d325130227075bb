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
	sessID := createSession(t, srv, "", "github").ID
	ws := createWS(t, srv, "", map[string]any{})
	const data = "Failed to deserialize the JSON body into the target type: "
	const syntax = "Failed to parse the request body as JSON: "
	exec := "/v1/sessions/" + sessID + "/exec"
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
		{exec, `{"cmd":"x","y":1.`, syntax + "EOF while parsing a value at line 1 column 17"},
		{exec, `{"cmd":"x","y":1e`, syntax + "EOF while parsing a value at line 1 column 17"},
		{exec, `{"cmd":"x\`, syntax + "cmd: EOF while parsing a string at line 1 column 10"},
		{exec, `{"cmd":"\u12`, syntax + "cmd: EOF while parsing a string at line 1 column 12"},
		{exec, `{"cm`, syntax + "EOF while parsing a string at line 1 column 4"},
		{exec, `{"cmd":"x","timeout_secs":1e+2}`, "timeout_secs: invalid type: floating point `100.0`, expected u64 at line 1 column 30"},
		{exec, `{"cmd":"x","timeout_secs":01}`, syntax + "timeout_secs: invalid number at line 1 column 28"},
		{exec, `{"cmd":-}`, syntax + "cmd: invalid number at line 1 column 9"},
		{exec, `{"cmd":1.5}`, "cmd: invalid type: floating point `1.5`, expected a string at line 1 column 10"},
		{exec, `{"cmd":-5}`, "cmd: invalid type: integer `-5`, expected a string at line 1 column 9"},
		{exec, `{"cmd":x}`, syntax + "cmd: expected value at line 1 column 8"},
		{"/v1/credentials", `{"service":{"openai":nul}}`, syntax + "service: expected ident at line 1 column 25"},
		{"/v1/sessions", `{"scopes":{"openai" []}}`, syntax + "scopes: expected `:` at line 1 column 21"},
		{"/v1/runs/fork", `{"parent_code":"x","children":[[]]}`, "children[0]: invalid length 0, expected struct ForkChild with 1 element at line 1 column 33"},
		{"/v1/workspaces/from-snapshot", `{"snapshot_id":"s"}`, "missing field `parent_workspace_id` at line 1 column 19"},
		{exec, `{"cmd":"x","y":tru}`, syntax + "expected ident at line 1 column 19"},
		{exec, `{"cmd":"x","y":fals`, syntax + "EOF while parsing a value at line 1 column 19"},
		{exec, `{"cmd":"x","y":-}`, syntax + "invalid number at line 1 column 17"},
		{exec, `{"cmd":"x","y":01}`, syntax + "invalid number at line 1 column 17"},
		{exec, `{"cmd":"x","y":1.}`, syntax + "invalid number at line 1 column 18"},
		{exec, `{"cmd":"x","y":1e}`, syntax + "invalid number at line 1 column 18"},
		{exec, `{"cmd":"x","y":1e999}`, syntax + "number out of range at line 1 column 20"},
		{exec, `{"cmd":"x","y":x}`, syntax + "expected value at line 1 column 16"},
		{exec, `{"cmd":"\q"}`, syntax + "cmd: invalid escape at line 1 column 10"},
		{exec, `{"cmd":"\u12"}`, syntax + "cmd: invalid escape at line 1 column 13"},
		{exec, `{"cmd":"x`, syntax + "cmd: EOF while parsing a string at line 1 column 9"},
		{exec, `{"cmd":"\u00e9\/\b\f\n\r\t\"\\","timeout_secs":-0}`, "timeout_secs: invalid type: floating point `-0.0`, expected u64 at line 1 column 49"},
		{exec, `{"cmd":"x","timeout_secs":"5"}`, `timeout_secs: invalid type: string "5", expected u64 at line 1 column 29`},
		{exec, `{"cmd":"x","timeout_secs":true}`, "timeout_secs: invalid type: boolean `true`, expected u64 at line 1 column 30"},
		{exec, `{"cmd":false}`, "cmd: invalid type: boolean `false`, expected a string at line 1 column 12"},
		{exec, `{"cmd":null}`, "cmd: invalid type: null, expected a string at line 1 column 11"},
		{exec, `{"cmd":[1]}`, "cmd: invalid type: sequence, expected a string at line 1 column 7"},
		{exec, `{5:1}`, syntax + "key must be a string at line 1 column 2"},
		{exec, `{"cmd" 5}`, syntax + "expected `:` at line 1 column 8"},
		{exec, `{"cmd"`, syntax + "EOF while parsing an object at line 1 column 6"},
		{exec, `{"cmd":"x" "y"}`, syntax + "expected `,` or `}` at line 1 column 12"},
		{exec, `{"cmd":"x",}`, syntax + "trailing comma at line 1 column 12"},
		{exec, `{"cmd":"x",`, syntax + "EOF while parsing a value at line 1 column 11"},
		{exec, `{"cmd":"x"`, syntax + "EOF while parsing an object at line 1 column 10"},
		{exec, `{`, syntax + "EOF while parsing an object at line 1 column 1"},
		{exec, `{"cmd":"x","args":["a" "b"]}`, syntax + "args: expected `,` or `]` at line 1 column 24"},
		{exec, `{"cmd":"x","args":["a"`, syntax + "args: EOF while parsing a list at line 1 column 22"},
		{exec, `{"cmd":"x","args":["a",]}`, syntax + "args: trailing comma at line 1 column 24"},
		{exec, `{"cmd":"x","args":["a",`, syntax + "args: EOF while parsing a value at line 1 column 23"},
		{exec, `{"cmd":"x","args":5}`, "args: invalid type: integer `5`, expected a sequence at line 1 column 19"},
		{exec, `{"cmd":"x","args":{}}`, "args: invalid type: map, expected a sequence at line 1 column 18"},
		{"/v1/workspaces/" + ws.ID + "/exec", `{"cmd":"x","env":[5]}`, "env[0]: invalid type: integer `5`, expected a tuple of size 2 at line 1 column 19"},
		{"/v1/workspaces/" + ws.ID + "/exec", `{"cmd":"x","env":[["K","V",]]}`, syntax + "env[0]: trailing comma at line 1 column 28"},
		{"/v1/sessions", `{"scopes":"x"}`, `scopes: invalid type: string "x", expected a map at line 1 column 13`},
		{"/v1/sessions", `{"scopes":{"openai":"x"}}`, `scopes.openai: invalid type: string "x", expected a sequence at line 1 column 23`},
		{"/v1/sessions", `{"services":"openai"}`, `services: invalid type: string "openai", expected a sequence at line 1 column 20`},
		{"/v1/workspaces/from-snapshot", `["s"]`, "invalid length 1, expected struct FromSnapshotRequest with 3 elements at line 1 column 5"},
		{"/v1/workspaces/from-snapshot", `["s","p","l","extra"]`, syntax + "trailing characters at line 1 column 14"},
		{"/v1/workspaces/from-snapshot", `[5]`, "[0]: invalid type: integer `5`, expected a string at line 1 column 2"},
		{"/v1/workspaces/from-snapshot", `["s","p","l"`, syntax + "EOF while parsing a list at line 1 column 12"},
		{"/v1/workspaces/from-snapshot", `5`, "invalid type: integer `5`, expected struct FromSnapshotRequest at line 1 column 1"},
		{exec, `{"cmd":"x","seccomp":{"a":null,"b":null}}`, "invalid value: map, expected map with a single key at line 1 column 41"},
		{exec, `{"cmd":"x","seccomp":{"nope":null}}`, "unknown variant `nope`, expected `standard` or `strict` at line 1 column 35"},
		{exec, `{"cmd":"x","seccomp":{"strict":1}}`, "invalid type: integer `1`, expected unit at line 1 column 34"},
		{exec, `{"cmd":"x","seccomp":{"strict" null}}`, syntax + "expected `:` at line 1 column 32"},
		{exec, `{"cmd":"x","network":[]}`, "missing field `mode` at line 1 column 24"},
		{exec, `{"cmd":"x","network":[9]}`, "invalid value: integer `9`, expected variant index 0 <= i < 3 at line 1 column 25"},
		{exec, `{"cmd":"x","network":{"mode":"none","mode":"none"}}`, "duplicate field `mode` at line 1 column 51"},
		{exec, `{"cmd":"x","network":{"mode":1.5}}`, "invalid type: floating point `1.5`, expected variant identifier at line 1 column 34"},
		{exec, `{"cmd":"x","network":{"mode":null}}`, "invalid type: unit value, expected variant identifier at line 1 column 35"},
		{exec, `{"cmd":"x","network":{"mode":"allowlist","domains":"a"}}`, `invalid type: string "a", expected a sequence at line 1 column 56`},
		{exec, `{"cmd":"x","network":{"mode":"allowlist","domains":[1]}}`, "invalid type: integer `1`, expected a string at line 1 column 56"},
		{exec, `{"cmd":"x","network":5}`, "invalid type: integer `5`, expected internally tagged enum NetworkSpec at line 1 column 23"},
		{exec, `{"cmd":"x","network":{"mode":"allowlist","domains":["a"],"domains":[]}}`, "duplicate field `domains` at line 1 column 71"},
		{"/v1/credentials", `{"service":{"openai":5},"secret":"x"}`, "service: invalid type: integer `5`, expected unit at line 1 column 22"},
		{"/v1/credentials", `{"service":{5:null},"secret":"x"}`, "service: invalid type: integer `5`, expected variant identifier at line 1 column 13"},
		{"/v1/credentials", `{"service":{"openai":null,"x":1},"secret":"x"}`, syntax + "service: expected value at line 1 column 25"},
		{"/v1/credentials", `{"service":{"openai":null`, syntax + "service: EOF while parsing an object at line 1 column 25"},
		{"/v1/credentials", `{"service":{"openai" null}}`, syntax + "service: expected `:` at line 1 column 22"},
		{"/v1/credentials", `{"service":{`, syntax + "service: EOF while parsing a value at line 1 column 12"},
		{"/v1/credentials", `{"service":5,"secret":"x"}`, syntax + "service: expected value at line 1 column 12"},
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

// TestUnknownVariant: serde lists the expected variants by how many there are.
func TestUnknownVariant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		variants []string
		want     string
	}{
		{nil, "unknown variant `x`, there are no variants"},
		{[]string{"a"}, "unknown variant `x`, expected `a`"},
		{[]string{"a", "b"}, "unknown variant `x`, expected `a` or `b`"},
		{[]string{"a", "b", "c"}, "unknown variant `x`, expected one of `a`, `b`, `c`"},
	}
	for _, tt := range tests {
		if got := unknownVariant("x", tt.variants); got != tt.want {
			t.Errorf("unknownVariant(%v) = %q, want %q", tt.variants, got, tt.want)
		}
	}
}
