package agentjail

// Replies shaped like the real server's (WIRE.md §4): every key it always sends, nulls
// where it sends null, and keys left out where it omits them.
const (
	fixtureCredential = `{"tenant_id":"acme","service":"openai","added_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05.123456Z","fingerprint":"cbf29ce484222325"}`

	fixtureSession = `{"id":"sess_abc","created_at":"2026-01-02T03:04:05.5Z","expires_at":null,"services":["openai"],` +
		`"env":{"OPENAI_API_KEY":"phm_0123","OPENAI_BASE_URL":"http://127.0.0.1:8443/v1/openai/v1"}}`

	fixtureExec = `{"stdout":"hi\n","stderr":"","exit_code":0,"duration_ms":12,"timed_out":false,"oom_killed":false}`

	fixtureExecStats = `{"stdout":"","stderr":"","exit_code":137,"duration_ms":18446744073709551615,"timed_out":true,"oom_killed":false,` +
		`"stats":{"memory_peak_bytes":1048576,"memory_current_bytes":0,"cpu_usage_usec":2500,"io_read_bytes":1,"io_write_bytes":2,"pids_current":0}}`

	fixtureFork = `{"parent":{"stdout":"p","stderr":"","exit_code":0,"duration_ms":5,"timed_out":false,"oom_killed":false},` +
		`"child":{"stdout":"c","stderr":"","exit_code":0,"duration_ms":3,"timed_out":false,"oom_killed":false},` +
		`"children":[{"stdout":"c","stderr":"","exit_code":0,"duration_ms":3,"timed_out":false,"oom_killed":false}],` +
		`"fork":{"clone_ms":1,"files_cloned":2,"files_cow":2,"bytes_cloned":10,"method":"reflink","was_frozen":true},` +
		`"forks":[{"clone_ms":1,"files_cloned":2,"files_cow":2,"bytes_cloned":10,"method":"reflink","was_frozen":true}]}`

	fixtureWorkspace = `{"id":"wrk_abc","tenant_id":"acme","created_at":"2026-01-02T03:04:05Z","deleted_at":null,` +
		`"source_dir":"","output_dir":"","config":{"memory_mb":512,"timeout_secs":300,"cpu_percent":100,"max_pids":64,` +
		`"network_mode":"none","network_domains":[],"seccomp":"standard","idle_timeout_secs":90,"flavors":["node"]},` +
		`"git_repo":null,"git_ref":null,"label":"ci","domains":[{"domain":"a.local","vm_port":3000}],` +
		`"last_exec_at":null,"paused_at":null,"auto_snapshot":null}`

	fixtureSnapshot = `{"id":"snap_xyz","tenant_id":"acme","workspace_id":"wrk_abc","name":"baseline",` +
		`"created_at":"2026-01-02T03:04:05Z","path":"/var/lib/agentjail/snapshots/snap_xyz","size_bytes":12345}`

	fixtureJail = `{"id":0,"tenant_id":"acme","kind":"fork","started_at":"2026-01-02T03:04:05Z","ended_at":null,"status":"running",` +
		`"session_id":null,"label":"js · child 2","parent_id":7,"exit_code":null,"duration_ms":null,"timed_out":null,"oom_killed":null,` +
		`"memory_peak_bytes":null,"memory_current_bytes":null,"cpu_usage_usec":null,"io_read_bytes":null,"io_write_bytes":null,` +
		`"pids_current":null,"stdout":null,"stderr":null,"error":null,` +
		`"config":{"network_mode":"none","seccomp":"standard","memory_mb":512,"timeout_secs":300,"cpu_percent":100,"max_pids":64}}`

	fixtureConfigOperator = `{"proxy":{"base_url":"http://127.0.0.1:8443","providers":[{"service_id":"openai","upstream_base":"https://api.openai.com","request_prefix":"/v1/openai/"}]},` +
		`"control_plane":{},"gateway":null,"exec":{"default_memory_mb":512,"default_timeout_secs":300,"max_concurrent":16},` +
		`"persistence":{"idle_check_secs":30},"snapshots":{"gc":{"max_age_secs":null,"max_count":null,"tick_secs":60}}}`

	fixtureConfigAdmin = `{"proxy":{"base_url":"http://127.0.0.1:8443","bind_addr":"127.0.0.1:8443","providers":[]},` +
		`"control_plane":{"bind_addr":"127.0.0.1:7000"},"gateway":{"bind_addr":"0.0.0.0:80"},"exec":null,` +
		`"persistence":{"state_dir":"/var/lib/agentjail","snapshot_pool_dir":"/pool","idle_check_secs":30},` +
		`"snapshots":{"gc":{"max_age_secs":86400,"max_count":10,"tick_secs":60}}}`
)
