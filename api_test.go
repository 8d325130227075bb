package agentjail_test

import (
	"context"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"testing"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

// The public API contract, pinned at compile time from outside the package: if a name,
// a signature or a field type drifts, this file stops compiling.
var (
	_ func(string, ...agentjail.Option) (*agentjail.Client, error) = agentjail.NewClient
	_ func(string) agentjail.Option                                = agentjail.WithAPIKey
	_ func(*http.Client) agentjail.Option                          = agentjail.WithHTTPClient
	_ func(string) agentjail.Option                                = agentjail.WithUserAgent
	_ func(string, string) agentjail.Option                        = agentjail.WithHeader
	_ func(int) agentjail.Option                                   = agentjail.WithMaxRetries
	_ func(*slog.Logger) agentjail.Option                          = agentjail.WithLogger
	_ string                                                       = agentjail.Version

	_ func(*agentjail.CredentialsService, context.Context) ([]agentjail.Credential, error)                               = (*agentjail.CredentialsService).List
	_ func(*agentjail.CredentialsService, context.Context, agentjail.CredentialPutParams) (*agentjail.Credential, error) = (*agentjail.CredentialsService).Put
	_ func(*agentjail.CredentialsService, context.Context, agentjail.Service) error                                      = (*agentjail.CredentialsService).Delete
	_ func(*agentjail.CredentialsService, string) *agentjail.CredentialsService                                          = (*agentjail.CredentialsService).ForTenant

	_ func(*agentjail.SessionsService, context.Context, agentjail.SessionCreateParams) (*agentjail.Session, error)          = (*agentjail.SessionsService).Create
	_ func(*agentjail.SessionsService, context.Context) ([]agentjail.Session, error)                                        = (*agentjail.SessionsService).List
	_ func(*agentjail.SessionsService, context.Context, string) (*agentjail.Session, error)                                 = (*agentjail.SessionsService).Get
	_ func(*agentjail.SessionsService, context.Context, string) error                                                       = (*agentjail.SessionsService).Close
	_ func(*agentjail.SessionsService, context.Context, string, agentjail.SessionExecParams) (*agentjail.ExecResult, error) = (*agentjail.SessionsService).Exec
	_ func(*agentjail.Session) []string                                                                                     = (*agentjail.Session).Environ

	_ func(*agentjail.RunsService, context.Context, agentjail.RunParams) (*agentjail.ExecResult, error)  = (*agentjail.RunsService).Create
	_ func(*agentjail.RunsService, context.Context, agentjail.ForkParams) (*agentjail.ForkResult, error) = (*agentjail.RunsService).Fork
	_ func(*agentjail.RunsService, context.Context, agentjail.RunParams) (*agentjail.RunStream, error)   = (*agentjail.RunsService).Stream

	_ func(*agentjail.WorkspacesService, context.Context, agentjail.WorkspaceCreateParams) (*agentjail.Workspace, error)                 = (*agentjail.WorkspacesService).Create
	_ func(*agentjail.WorkspacesService, context.Context, agentjail.WorkspaceListParams) (*agentjail.WorkspaceList, error)               = (*agentjail.WorkspacesService).List
	_ func(*agentjail.WorkspacesService, context.Context, agentjail.WorkspaceListParams) iter.Seq2[agentjail.Workspace, error]           = (*agentjail.WorkspacesService).All
	_ func(*agentjail.WorkspacesService, context.Context, string) (*agentjail.Workspace, error)                                          = (*agentjail.WorkspacesService).Get
	_ func(*agentjail.WorkspacesService, context.Context, string, agentjail.WorkspaceUpdateParams) (*agentjail.Workspace, error)         = (*agentjail.WorkspacesService).Update
	_ func(*agentjail.WorkspacesService, context.Context, string) error                                                                  = (*agentjail.WorkspacesService).Delete
	_ func(*agentjail.WorkspacesService, context.Context, string, agentjail.WorkspaceExecParams) (*agentjail.ExecResult, error)          = (*agentjail.WorkspacesService).Exec
	_ func(*agentjail.WorkspacesService, context.Context, string, agentjail.WorkspaceForkParams) (*agentjail.WorkspaceForkResult, error) = (*agentjail.WorkspacesService).Fork

	_ func(*agentjail.SnapshotsService, context.Context, string, agentjail.SnapshotCreateParams) (*agentjail.Snapshot, error)       = (*agentjail.SnapshotsService).Create
	_ func(*agentjail.SnapshotsService, context.Context, agentjail.SnapshotListParams) (*agentjail.SnapshotList, error)             = (*agentjail.SnapshotsService).List
	_ func(*agentjail.SnapshotsService, context.Context, agentjail.SnapshotListParams) iter.Seq2[agentjail.Snapshot, error]         = (*agentjail.SnapshotsService).All
	_ func(*agentjail.SnapshotsService, context.Context, string) (*agentjail.Snapshot, error)                                       = (*agentjail.SnapshotsService).Get
	_ func(*agentjail.SnapshotsService, context.Context, string) (*agentjail.SnapshotManifest, error)                               = (*agentjail.SnapshotsService).Manifest
	_ func(*agentjail.SnapshotsService, context.Context, string) error                                                              = (*agentjail.SnapshotsService).Delete
	_ func(*agentjail.SnapshotsService, context.Context, string, agentjail.CreateWorkspaceFromParams) (*agentjail.Workspace, error) = (*agentjail.SnapshotsService).CreateWorkspaceFrom

	_ func(*agentjail.AuditService, context.Context, int) (*agentjail.AuditList, error) = (*agentjail.AuditService).Recent

	_ func(*agentjail.JailsService, context.Context, agentjail.JailListParams) (*agentjail.JailList, error)     = (*agentjail.JailsService).List
	_ func(*agentjail.JailsService, context.Context, agentjail.JailListParams) iter.Seq2[agentjail.Jail, error] = (*agentjail.JailsService).All
	_ func(*agentjail.JailsService, context.Context, int64) (*agentjail.Jail, error)                            = (*agentjail.JailsService).Get

	_ func(*agentjail.PublicService, context.Context) (string, error)                 = (*agentjail.PublicService).Health
	_ func(*agentjail.PublicService, context.Context) (*agentjail.PublicStats, error) = (*agentjail.PublicService).Stats

	_ func(*agentjail.SettingsService, context.Context) (*agentjail.ServerSettings, error) = (*agentjail.SettingsService).Get
	_ func(*agentjail.SettingsService, context.Context) (*agentjail.Identity, error)       = (*agentjail.SettingsService).Whoami
	_ func(*agentjail.SettingsService, context.Context) ([]agentjail.Flavor, error)        = (*agentjail.SettingsService).Flavors

	_ func(*agentjail.RunStream) bool                                    = (*agentjail.RunStream).Next
	_ func(*agentjail.RunStream) agentjail.StreamEvent                   = (*agentjail.RunStream).Event
	_ func(*agentjail.RunStream) error                                   = (*agentjail.RunStream).Err
	_ func(*agentjail.RunStream) error                                   = (*agentjail.RunStream).Close
	_ func(*agentjail.RunStream) iter.Seq2[agentjail.StreamEvent, error] = (*agentjail.RunStream).All
	_ func(io.Reader) *agentjail.SSEReader                               = agentjail.NewSSEReader
	_ func(*agentjail.SSEReader) (agentjail.SSEEvent, error)             = (*agentjail.SSEReader).Next
	_ error                                                              = agentjail.ErrEventTooLarge
	_ func() *agentjail.Network                                          = agentjail.NetworkNone
	_ func() *agentjail.Network                                          = agentjail.NetworkLoopback
	_ func(...string) *agentjail.Network                                 = agentjail.NetworkAllowlist
	_ func(*agentjail.Error) string                                      = (*agentjail.Error).Error
	_ []error                                                            = []error{agentjail.ErrBadRequest, agentjail.ErrUnauthorized, agentjail.ErrForbidden, agentjail.ErrNotFound,
		agentjail.ErrConflict, agentjail.ErrRateLimited, agentjail.ErrTimeout, agentjail.ErrServerError, agentjail.ErrNetwork, agentjail.ErrInvalidParams}
	_ agentjail.StreamEvent = agentjail.StartedEvent{}
	_ agentjail.StreamEvent = agentjail.StdoutEvent{}
	_ agentjail.StreamEvent = agentjail.StderrEvent{}
	_ agentjail.StreamEvent = agentjail.StatsEvent{}
	_ agentjail.StreamEvent = agentjail.CompletedEvent{}
	_ agentjail.StreamEvent = agentjail.ErrorEvent{}
)

// TestAPIFieldTypes pins the field names and types of the public API contract, by building each
// value with every listed field (a keyed literal stops compiling when one is renamed or
// retyped).
func TestAPIFieldTypes(t *testing.T) {
	var (
		i64 int64
		ts  time.Time
		pts *time.Time
	)
	c := agentjail.Client{Credentials: nil, Sessions: nil, Runs: nil, Workspaces: nil, Snapshots: nil, Audit: nil, Jails: nil, Public: nil, Settings: nil}
	_ = c
	_ = agentjail.CredentialPutParams{Service: agentjail.ServiceOpenAI, Secret: ""}
	_ = agentjail.SessionCreateParams{Services: []agentjail.Service{agentjail.ServiceAnthropic, agentjail.ServiceGitHub, agentjail.ServiceStripe},
		Scopes: map[agentjail.Service][]string{}, TTL: time.Second}
	_ = agentjail.SessionExecParams{Cmd: "", Args: nil, Timeout: 0, MemoryMB: 0, ExecOptions: agentjail.ExecOptions{}}
	_ = agentjail.RunParams{Code: "", Language: agentjail.LanguageJavaScript, Timeout: 0, MemoryMB: agentjail.MemoryUnlimited,
		Git: &agentjail.GitSeed{Repo: "", Ref: "", Repos: []agentjail.GitRepo{{Repo: "", Ref: "", Dir: ""}}}, ExecOptions: agentjail.ExecOptions{}}
	_ = agentjail.ForkParams{ParentCode: "", ChildCode: "", Children: []agentjail.ForkChild{{Code: ""}}, Language: agentjail.LanguagePython,
		ForkAfter: 0, Timeout: 0, MemoryMB: 0, Git: nil, ExecOptions: agentjail.ExecOptions{}}
	_ = agentjail.WorkspaceCreateParams{Git: nil, Label: "", MemoryMB: 0, Timeout: 0, IdleTimeout: 0,
		Domains: []agentjail.WorkspaceDomain{{Domain: "", BackendURL: "", VMPort: 0}}, Flavors: []string{}, ExecOptions: agentjail.ExecOptions{}}
	_ = agentjail.WorkspaceListParams{Limit: 0, Offset: 0, Query: ""}
	_ = agentjail.WorkspaceUpdateParams{Label: ""}
	_ = agentjail.WorkspaceExecParams{Cmd: "", Args: nil, Timeout: 0, MemoryMB: 0, Env: map[string]string{}}
	_ = agentjail.WorkspaceForkParams{Count: 1, Label: ""}
	_ = agentjail.SnapshotCreateParams{Name: ""}
	_ = agentjail.SnapshotListParams{WorkspaceID: "", Limit: 0, Offset: 0, Query: ""}
	_ = agentjail.CreateWorkspaceFromParams{ParentWorkspaceID: "", Label: ""}
	_ = agentjail.JailListParams{Limit: 0, Offset: 0, Status: agentjail.JailRunning, Kind: agentjail.JailKindRun, Query: ""}
	_ = agentjail.ExecOptions{Network: &agentjail.Network{Mode: agentjail.NetworkModeAllowlist, Domains: []string{}},
		Seccomp: agentjail.SeccompStrict, CPUPercent: 0, MaxPIDs: 0}
	_ = []agentjail.NetworkMode{agentjail.NetworkModeNone, agentjail.NetworkModeLoopback}
	_ = []agentjail.Seccomp{agentjail.SeccompStandard}
	_ = []agentjail.Language{agentjail.LanguageBash}
	_ = []agentjail.JailStatus{agentjail.JailCompleted, agentjail.JailError}
	_ = []agentjail.JailKind{agentjail.JailKindExec, agentjail.JailKindFork, agentjail.JailKindStream, agentjail.JailKindWorkspace}
	_ = []agentjail.Role{agentjail.RoleAdmin, agentjail.RoleOperator}
	_ = []agentjail.ManifestKind{agentjail.ManifestIncremental, agentjail.ManifestClassic}
	_ = []agentjail.EventType{agentjail.EventStarted, agentjail.EventStdout, agentjail.EventStderr, agentjail.EventStats, agentjail.EventCompleted, agentjail.EventError}
	_ = []agentjail.ErrorCode{agentjail.CodeBadRequest, agentjail.CodeUnauthorized, agentjail.CodeForbidden, agentjail.CodeNotFound, agentjail.CodeConflict,
		agentjail.CodeRateLimited, agentjail.CodeTimeout, agentjail.CodeServerError, agentjail.CodeNetwork, agentjail.CodeUnknown}

	_ = agentjail.ExecResult{Stdout: "", Stderr: "", ExitCode: int(0), DurationMS: i64, TimedOut: false, OOMKilled: false, Stats: &agentjail.ResourceStats{
		MemoryPeakBytes: i64, MemoryCurrentBytes: i64, CPUUsageUsec: i64, IOReadBytes: i64, IOWriteBytes: i64, PIDsCurrent: i64}}
	_ = agentjail.ForkResult{Parent: agentjail.ExecResult{}, Child: agentjail.ExecResult{}, Children: []agentjail.ExecResult{},
		Fork: agentjail.ForkMeta{CloneMS: i64, FilesCloned: i64, FilesCOW: i64, BytesCloned: i64, Method: "", WasFrozen: false}, Forks: []agentjail.ForkMeta{}}
	_ = agentjail.Session{ID: "", CreatedAt: ts, ExpiresAt: pts, Services: nil, Env: map[string]string{}}
	_ = agentjail.Credential{TenantID: "", Service: "", AddedAt: ts, UpdatedAt: ts, Fingerprint: ""}
	_ = agentjail.Workspace{ID: "", TenantID: "", CreatedAt: ts, DeletedAt: pts, SourceDir: "", OutputDir: "",
		Config: agentjail.WorkspaceSpec{MemoryMB: i64, TimeoutSecs: i64, CPUPercent: i64, MaxPIDs: i64, IdleTimeoutSecs: i64,
			NetworkMode: agentjail.NetworkModeNone, NetworkDomains: []string{}, Seccomp: "", Flavors: []string{}},
		GitRepo: "", GitRef: "", Label: "", Domains: nil, LastExecAt: pts, PausedAt: pts, AutoSnapshot: ""}
	_ = agentjail.WorkspaceList{Rows: []agentjail.Workspace{}, Total: i64, Limit: i64, Offset: i64}
	_ = agentjail.SnapshotList{Rows: []agentjail.Snapshot{}, Total: i64, Limit: i64, Offset: i64}
	_ = agentjail.JailList{Rows: []agentjail.Jail{}, Total: i64, Limit: i64, Offset: i64}
	_ = agentjail.AuditList{Rows: []agentjail.AuditRow{}, Total: i64}
	_ = agentjail.WorkspaceForkResult{Parent: agentjail.Workspace{}, Forks: []agentjail.Workspace{}, SnapshotID: ""}
	_ = agentjail.Snapshot{ID: "", TenantID: "", WorkspaceID: "", Name: "", Path: "", CreatedAt: ts, SizeBytes: i64}
	_ = agentjail.SnapshotManifest{Kind: agentjail.ManifestClassic, Entries: []agentjail.ManifestEntry{{Path: "", Mode: uint32(0), Hash: "", Size: i64}}}
	var reason *string
	var ms *int64
	_ = agentjail.AuditRow{ID: i64, At: ts, SessionID: "", Service: "", Method: "", Path: "", Status: int(0), RejectReason: reason, UpstreamMS: ms}
	var code *int
	var flag *bool
	_ = agentjail.Jail{ID: i64, TenantID: "", Kind: agentjail.JailKindRun, StartedAt: ts, EndedAt: pts, Status: agentjail.JailRunning,
		SessionID: reason, Label: "", ParentID: ms, ExitCode: code, DurationMS: ms, TimedOut: flag, OOMKilled: flag,
		MemoryPeakBytes: ms, MemoryCurrentBytes: ms, CPUUsageUsec: ms, IOReadBytes: ms, IOWriteBytes: ms, PIDsCurrent: ms,
		Stdout: reason, Stderr: reason, Error: reason, Config: &agentjail.JailConfig{}}
	_ = agentjail.PublicStats{ActiveExecs: i64, TotalExecs: i64, Sessions: i64, Credentials: i64}
	_ = agentjail.Identity{Tenant: "", Role: agentjail.RoleAdmin}
	_ = agentjail.Flavor{Name: ""}
	_ = agentjail.Error{StatusCode: int(0), Code: agentjail.CodeUnknown, Message: "", Body: []byte{}, Attempts: int(0)}
	_ = agentjail.SSEEvent{Type: "", Data: "", ID: ""}
	_ = agentjail.StartedEvent{PID: int(0)}
	_ = agentjail.StdoutEvent{Line: ""}
	_ = agentjail.StderrEvent{Line: ""}
	_ = agentjail.StatsEvent{ResourceStats: agentjail.ResourceStats{}}
	_ = agentjail.CompletedEvent{ExitCode: int(0), DurationMS: i64, TimedOut: false, OOMKilled: false,
		MemoryPeakBytes: i64, MemoryCurrentBytes: i64, CPUUsageUsec: i64, PIDsCurrent: i64}
	_ = agentjail.ErrorEvent{Message: ""}
	if agentjail.MemoryUnlimited != -1 {
		t.Fatal("MemoryUnlimited must be -1")
	}
	for name, got := range map[string]string{
		"BAD_REQUEST": string(agentjail.CodeBadRequest), "UNAUTHORIZED": string(agentjail.CodeUnauthorized),
		"FORBIDDEN": string(agentjail.CodeForbidden), "NOT_FOUND": string(agentjail.CodeNotFound), "CONFLICT": string(agentjail.CodeConflict),
		"RATE_LIMITED": string(agentjail.CodeRateLimited), "TIMEOUT": string(agentjail.CodeTimeout), "SERVER_ERROR": string(agentjail.CodeServerError),
		"NETWORK": string(agentjail.CodeNetwork), "UNKNOWN": string(agentjail.CodeUnknown),
		"openai": string(agentjail.ServiceOpenAI), "anthropic": string(agentjail.ServiceAnthropic), "github": string(agentjail.ServiceGitHub),
		"stripe": string(agentjail.ServiceStripe), "javascript": string(agentjail.LanguageJavaScript), "python": string(agentjail.LanguagePython),
		"bash": string(agentjail.LanguageBash), "standard": string(agentjail.SeccompStandard), "strict": string(agentjail.SeccompStrict),
		"none": string(agentjail.NetworkModeNone), "loopback": string(agentjail.NetworkModeLoopback), "allowlist": string(agentjail.NetworkModeAllowlist),
		"running": string(agentjail.JailRunning), "completed": string(agentjail.JailCompleted), "error": string(agentjail.JailError),
		"run": string(agentjail.JailKindRun), "exec": string(agentjail.JailKindExec), "fork": string(agentjail.JailKindFork),
		"stream": string(agentjail.JailKindStream), "workspace": string(agentjail.JailKindWorkspace),
		"admin": string(agentjail.RoleAdmin), "operator": string(agentjail.RoleOperator),
		"incremental": string(agentjail.ManifestIncremental), "classic": string(agentjail.ManifestClassic),
		"started": string(agentjail.EventStarted), "stdout": string(agentjail.EventStdout), "stderr": string(agentjail.EventStderr),
		"stats": string(agentjail.EventStats), "completed ": string(agentjail.EventCompleted) + " ", "error ": string(agentjail.EventError) + " ",
	} {
		if name != got {
			t.Errorf("constant value %q, want %q", got, name)
		}
	}
}
