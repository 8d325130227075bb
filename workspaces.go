package agentjail

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"sort"
	"time"
)

// Workspace is a persistent jail directory that execs run in; files persist between
// execs. SourceDir and OutputDir are host paths, "" for operators.
type Workspace struct {
	ID           string            `json:"id"`            // "wrk_" + 24 hex characters
	TenantID     string            `json:"tenant_id"`     // owning tenant
	CreatedAt    time.Time         `json:"created_at"`    // lists are ordered by it, newest first
	DeletedAt    *time.Time        `json:"deleted_at"`    // nil for live workspaces, the only ones the server returns
	SourceDir    string            `json:"source_dir"`    // host path mounted as /workspace; "" for operators
	OutputDir    string            `json:"output_dir"`    // host path; "" for operators
	Config       WorkspaceSpec     `json:"config"`        // jail settings applied to each exec
	GitRepo      string            `json:"git_repo"`      // "" when not seeded from git
	GitRef       string            `json:"git_ref"`       // branch or tag cloned; "" when none
	Label        string            `json:"label"`         // a generated slug unless one was given
	Domains      []WorkspaceDomain `json:"domains"`       // gateway routes; empty for forks and restored workspaces
	LastExecAt   *time.Time        `json:"last_exec_at"`  // nil until the first exec
	PausedAt     *time.Time        `json:"paused_at"`     // set while the idle reaper has paused it
	AutoSnapshot string            `json:"auto_snapshot"` // the snapshot a paused workspace resumes from
}

// WorkspaceSpec is the jail configuration stored with a workspace and applied to each
// of its execs.
type WorkspaceSpec struct {
	MemoryMB        int64       `json:"memory_mb"`         // 0 = no limit
	TimeoutSecs     int64       `json:"timeout_secs"`      // per-exec timeout in seconds (1..3600)
	CPUPercent      int64       `json:"cpu_percent"`       // CPU quota in percent of one core (1..800)
	MaxPIDs         int64       `json:"max_pids"`          // process limit (1..1024)
	NetworkMode     NetworkMode `json:"network_mode"`      // network policy of each exec
	NetworkDomains  []string    `json:"network_domains"`   // allowlist mode only; checked at each exec (ErrBadRequest), not at creation
	Seccomp         Seccomp     `json:"seccomp"`           // syscall filter of each exec
	IdleTimeoutSecs int64       `json:"idle_timeout_secs"` // 0 = never paused
	Flavors         []string    `json:"flavors"`           // runtime flavor names; execs fail with ErrBadRequest once one is removed
}

// WorkspaceDomain routes a hostname to a workspace through the gateway: to BackendURL or
// to VMPort inside the jail (exactly one of them).
type WorkspaceDomain struct {
	Domain     string `json:"domain"`                // hostname to route; use lower case (the gateway match is case-sensitive)
	BackendURL string `json:"backend_url,omitempty"` // http:// or https:// URL to forward to; "" when VMPort is set
	VMPort     int    `json:"vm_port,omitempty"`     // port inside the jail, 1..65535; 0 when BackendURL is set
}

// WorkspaceCreateParams are the arguments of WorkspacesService.Create; every field is
// optional.
type WorkspaceCreateParams struct {
	Git         *GitSeed          // cloned into the workspace
	Label       string            // "" = a generated slug like "brave-otter-1a2b"
	MemoryMB    int               // 0 = server default (512), MemoryUnlimited = none
	Timeout     time.Duration     // per exec; whole seconds rounded up; 0 = server default (300 s)
	IdleTimeout time.Duration     // pause after this long without an exec; 0 = never
	Domains     []WorkspaceDomain // gateway routes
	Flavors     []string          // names from SettingsService.Flavors
	ExecOptions
}

func (p WorkspaceCreateParams) body() (any, error) {
	lim, err := limits(p.MemoryMB, p.Timeout, &p.ExecOptions, p.IdleTimeout)
	if err != nil {
		return nil, err
	}
	return struct {
		Git             *GitSeed          `json:"git,omitempty"`
		Label           string            `json:"label,omitempty"`
		MemoryMB        *int64            `json:"memory_mb,omitempty"`
		TimeoutSecs     int64             `json:"timeout_secs,omitempty"`
		IdleTimeoutSecs int64             `json:"idle_timeout_secs,omitempty"`
		Domains         []WorkspaceDomain `json:"domains,omitempty"`
		Flavors         []string          `json:"flavors,omitempty"`
		ExecOptions
	}{p.Git, p.Label, lim.MemoryMB, lim.TimeoutSecs, seconds(p.IdleTimeout), p.Domains, p.Flavors, p.ExecOptions}, nil
}

// WorkspaceListParams select a page of workspaces. Zero values are not sent: the server
// defaults to 50 rows (at most 500) from offset 0.
type WorkspaceListParams struct {
	Limit  int    // rows per page; 0 = server default (50), at most 500
	Offset int    // rows to skip
	Query  string // case-insensitive substring of ID, label or git repo
}

func (p WorkspaceListParams) query() (url.Values, error) {
	return page{p.Limit, p.Offset, p.Query, nil}.query()
}

// WorkspaceList is one page of workspaces, newest first.
type WorkspaceList struct {
	Rows   []Workspace `json:"rows"`   // this page of live workspaces, newest first
	Total  int64       `json:"total"`  // rows matching, across all pages
	Limit  int64       `json:"limit"`  // as requested (the server echoes it unclamped)
	Offset int64       `json:"offset"` // as requested
}

// WorkspaceUpdateParams are the arguments of WorkspacesService.Update.
type WorkspaceUpdateParams struct {
	Label string // new label; "" makes the server generate a fresh slug (labels cannot be cleared)
}

func (p WorkspaceUpdateParams) body() (any, error) {
	return struct {
		Label string `json:"label,omitempty"`
	}{p.Label}, nil
}

// WorkspaceExecParams are the arguments of WorkspacesService.Exec. Network, seccomp, CPU
// and PID settings come from the workspace.
type WorkspaceExecParams struct {
	Cmd      string            // executable's full path, e.g. "/bin/ls": run in /workspace with no shell and no PATH lookup
	Args     []string          // its arguments
	Timeout  time.Duration     // whole seconds rounded up; 0 = the workspace's timeout
	MemoryMB int               // 0 = the workspace's limit, MemoryUnlimited = none
	Env      map[string]string // added after PATH; sent as [["K","V"],…] sorted by key
}

func (p WorkspaceExecParams) body() (any, error) {
	lim, err := limits(p.MemoryMB, p.Timeout, nil)
	if err != nil {
		return nil, err
	}
	var env [][2]string
	if len(p.Env) > 0 {
		env = make([][2]string, 0, len(p.Env))
		for k, v := range p.Env {
			env = append(env, [2]string{k, v})
		}
		sort.Slice(env, func(i, j int) bool { return env[i][0] < env[j][0] })
	}
	return struct {
		Cmd  string   `json:"cmd"`
		Args []string `json:"args,omitempty"`
		jailLimits
		Env [][2]string `json:"env,omitempty"`
	}{p.Cmd, p.Args, lim, env}, nil
}

// WorkspaceForkParams are the arguments of WorkspacesService.Fork.
type WorkspaceForkParams struct {
	Count int    // number of forks, 1 to 16
	Label string // forks are labelled "<Label>-<i>"; "" = "fork of <id>-<i>"
}

func (p WorkspaceForkParams) body() (any, error) {
	if p.Count < 1 || p.Count > maxForkChildren {
		return nil, invalidf("workspace fork Count must be 1..%d, got %d", maxForkChildren, p.Count)
	}
	return struct {
		Count int    `json:"count"`
		Label string `json:"label,omitempty"`
	}{p.Count, p.Label}, nil
}

// WorkspaceForkResult is the outcome of WorkspacesService.Fork.
type WorkspaceForkResult struct {
	Parent     Workspace   `json:"parent"`      // the workspace that was forked
	Forks      []Workspace `json:"forks"`       // labelled "<label>-<i>" or "fork of <parent ID>-<i>", i from 0; no domains
	SnapshotID string      `json:"snapshot_id"` // the "fork-origin:<id>" snapshot the forks were made from
}

// WorkspacesService manages persistent workspaces (/v1/workspaces).
type WorkspacesService struct{ c *Client }

// Create makes a workspace, cloning Git into it first if given (the call lasts as long
// as the clone). It returns an error matching ErrBadRequest for an invalid git seed,
// domain or unknown flavor.
func (s *WorkspacesService) Create(ctx context.Context, p WorkspaceCreateParams) (*Workspace, error) {
	return doJSON[Workspace](ctx, s.c, call{method: http.MethodPost, path: path("/v1/workspaces"), body: p})
}

// List returns one page of live workspaces, newest first.
func (s *WorkspacesService) List(ctx context.Context, p WorkspaceListParams) (*WorkspaceList, error) {
	return doJSON[WorkspaceList](ctx, s.c, call{method: http.MethodGet, path: path("/v1/workspaces"), query: p})
}

// All ranges over every workspace matching p, fetching pages of p.Limit lazily from
// p.Offset. Breaking out of the loop stops fetching; an error is yielded once.
func (s *WorkspacesService) All(ctx context.Context, p WorkspaceListParams) iter.Seq2[Workspace, error] {
	return listAll(ctx, p, p.Limit, p.Offset, WorkspaceListParams.at, s.List, (*WorkspaceList).rows)
}

// Get returns a live workspace. It returns an error matching ErrNotFound when it does
// not exist, was deleted or belongs to another tenant.
func (s *WorkspacesService) Get(ctx context.Context, id string) (*Workspace, error) {
	return doJSON[Workspace](ctx, s.c, call{method: http.MethodGet, path: path("/v1/workspaces", id)})
}

// Update renames a workspace. An empty Label rolls a new generated slug.
func (s *WorkspacesService) Update(ctx context.Context, id string, p WorkspaceUpdateParams) (*Workspace, error) {
	return doJSON[Workspace](ctx, s.c, call{method: http.MethodPatch, path: path("/v1/workspaces", id), body: p})
}

// Delete soft-deletes a workspace and removes its files. Its snapshots survive but can
// no longer be restored. A second Delete returns an error matching ErrNotFound.
func (s *WorkspacesService) Delete(ctx context.Context, id string) error {
	return s.c.do(ctx, call{method: http.MethodDelete, path: path("/v1/workspaces", id)}, nil)
}

// Exec runs a command in the workspace and waits for it; files it writes persist. The
// call lasts as long as the command (bound it with ctx). Only one exec may run in a
// workspace at a time: a concurrent one returns an error matching ErrConflict.
func (s *WorkspacesService) Exec(ctx context.Context, id string, p WorkspaceExecParams) (*ExecResult, error) {
	return doJSON[ExecResult](ctx, s.c, call{method: http.MethodPost, path: path("/v1/workspaces", id, "exec"), body: p})
}

// Fork snapshots the workspace once and creates p.Count independent copies of it. It
// returns an error matching ErrInvalidParams, without sending anything, when Count is
// outside 1..16.
func (s *WorkspacesService) Fork(ctx context.Context, id string, p WorkspaceForkParams) (*WorkspaceForkResult, error) {
	return doJSON[WorkspaceForkResult](ctx, s.c, call{method: http.MethodPost, path: path("/v1/workspaces", id, "fork"), body: p})
}
