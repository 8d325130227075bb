package agentjail

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// JailStatus is the state of a jail in the ledger.
type JailStatus string

// The jail states. A jail that timed out or was OOM-killed is still JailCompleted.
const (
	JailRunning   JailStatus = "running"
	JailCompleted JailStatus = "completed"
	JailError     JailStatus = "error" // the engine failed to start or run it
)

// JailKind is what started a jail.
type JailKind string

// The jail kinds.
const (
	JailKindRun       JailKind = "run"       // RunsService.Create
	JailKindExec      JailKind = "exec"      // SessionsService.Exec
	JailKindFork      JailKind = "fork"      // RunsService.Fork (parent and children)
	JailKindStream    JailKind = "stream"    // RunsService.Stream
	JailKindWorkspace JailKind = "workspace" // WorkspacesService.Exec
)

// Jail is one row of the jail ledger. Pointer fields are nil until the jail ends or
// when the server had no value.
type Jail struct {
	ID        int64      `json:"id"`         // starts at 0 on an in-memory server, 1 with Postgres
	TenantID  string     `json:"tenant_id"`  // owning tenant
	Kind      JailKind   `json:"kind"`       // what started the jail
	StartedAt time.Time  `json:"started_at"` // when the jail started
	EndedAt   *time.Time `json:"ended_at"`   // nil while running
	Status    JailStatus `json:"status"`     // JailCompleted also after a timeout or OOM kill
	SessionID *string    `json:"session_id"` // set for session execs only
	// Label is the language for runs and streams, the command for execs,
	// "<lang> · parent" / "<lang> · child <i>" for forks, "workspace:<id>/<cmd>" for workspaces.
	Label              string      `json:"label"`
	ParentID           *int64      `json:"parent_id"`            // the fork parent's jail ID
	ExitCode           *int        `json:"exit_code"`            // nil while running; 137 after a timeout kill
	DurationMS         *int64      `json:"duration_ms"`          // run time in milliseconds; saturated at math.MaxInt64
	TimedOut           *bool       `json:"timed_out"`            // killed for exceeding its timeout
	OOMKilled          *bool       `json:"oom_killed"`           // killed for exceeding its memory limit
	MemoryPeakBytes    *int64      `json:"memory_peak_bytes"`    // highest memory use, in bytes
	MemoryCurrentBytes *int64      `json:"memory_current_bytes"` // memory use at the end, in bytes
	CPUUsageUsec       *int64      `json:"cpu_usage_usec"`       // CPU time used, in microseconds
	IOReadBytes        *int64      `json:"io_read_bytes"`        // bytes read from storage
	IOWriteBytes       *int64      `json:"io_write_bytes"`       // bytes written to storage
	PIDsCurrent        *int64      `json:"pids_current"`         // processes at the end
	Stdout             *string     `json:"stdout"`               // capped at 16 KiB plus "… (truncated)"
	Stderr             *string     `json:"stderr"`               // capped at 16 KiB plus "… (truncated)"
	Error              *string     `json:"error"`                // engine failure text when Status is JailError
	Config             *JailConfig `json:"config,omitempty"`     // settings it ran with; nil when the server recorded none
}

// JailConfig is the configuration a jail ran with.
type JailConfig struct {
	NetworkMode    NetworkMode `json:"network_mode"`              // network policy
	NetworkDomains []string    `json:"network_domains,omitempty"` // allowlisted domains; nil when none
	Seccomp        Seccomp     `json:"seccomp"`                   // syscall filter
	MemoryMB       int64       `json:"memory_mb"`                 // memory limit in MiB; 0 = no limit
	TimeoutSecs    int64       `json:"timeout_secs"`              // timeout in seconds
	CPUPercent     int64       `json:"cpu_percent"`               // CPU quota in percent of one core
	MaxPIDs        int64       `json:"max_pids"`                  // process limit
	GitRepo        string      `json:"git_repo,omitempty"`        // the seeded repository (the first of several); "" when none
	GitRef         string      `json:"git_ref,omitempty"`         // its branch or tag; "" for the default branch or no git seed
}

// JailListParams select a page of the ledger. Zero values are not sent.
type JailListParams struct {
	Limit  int        // 0 = server default (50), at most 500
	Offset int        // rows to skip
	Status JailStatus // only jails in this state
	Kind   JailKind   // only jails of this kind
	Query  string     // case-insensitive substring of label, session ID or error
}

func (p JailListParams) query() (url.Values, error) {
	return page{p.Limit, p.Offset, p.Query, [][2]string{{"status", string(p.Status)}, {"kind", string(p.Kind)}}}.query()
}

// JailList is one page of the ledger, newest first.
type JailList struct {
	Rows   []Jail `json:"rows"`   // this page, newest first
	Total  int64  `json:"total"`  // rows matching the filters
	Limit  int64  `json:"limit"`  // as requested (the server echoes it unclamped)
	Offset int64  `json:"offset"` // as requested
}

// JailsService reads the ledger of every jail the server ran (/v1/jails).
type JailsService struct{ c *Client }

// List returns one page of the ledger, newest first. The server ignores a Status or Kind
// it does not know rather than rejecting it.
func (s *JailsService) List(ctx context.Context, p JailListParams) (*JailList, error) {
	return doJSON[JailList](ctx, s.c, call{method: http.MethodGet, path: path("/v1/jails"), query: p})
}

// All ranges over every jail matching p, fetching pages lazily. Breaking out of the loop
// stops fetching; an error is yielded once.
func (s *JailsService) All(ctx context.Context, p JailListParams) iter.Seq2[Jail, error] {
	return listAll(ctx, p, p.Limit, p.Offset, JailListParams.at, s.List, (*JailList).rows)
}

// Get returns one jail, or an error matching ErrNotFound.
func (s *JailsService) Get(ctx context.Context, id int64) (*Jail, error) {
	return doJSON[Jail](ctx, s.c, call{method: http.MethodGet, path: path("/v1/jails", strconv.FormatInt(id, 10))})
}
