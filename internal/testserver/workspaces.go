package testserver

// Workspaces: a directory per workspace on the host (source_dir is
// the working directory of every exec, so files persist between execs; output_dir exists but
// nothing uses it), create with git seed and domains, auto-slug labels, rename, soft delete and
// listing. Exec and fork are in workspaces_exec.go, auto-pause and resume in reaper.go.

import (
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// workspaceSpec is WorkspaceSpec, the stored jail settings of a workspace.
type workspaceSpec struct {
	MemoryMB        uint64   `json:"memory_mb"`
	TimeoutSecs     uint64   `json:"timeout_secs"`
	CPUPercent      uint64   `json:"cpu_percent"`
	MaxPids         uint64   `json:"max_pids"`
	NetworkMode     string   `json:"network_mode"`
	NetworkDomains  []string `json:"network_domains"`
	Seccomp         string   `json:"seccomp"`
	IdleTimeoutSecs uint64   `json:"idle_timeout_secs"`
	Flavors         []string `json:"flavors"`
}

func (c workspaceSpec) settings() jailSettings {
	return jailSettings{
		networkMode: c.NetworkMode, domains: c.NetworkDomains, seccomp: c.Seccomp, memoryMB: c.MemoryMB,
		timeoutSecs: c.TimeoutSecs, cpuPercent: c.CPUPercent, maxPids: c.MaxPids,
	}
}

// workspaceDomain is WorkspaceDomain: a hostname routed to a backend URL or a VM port.
type workspaceDomain struct {
	Domain     string  `json:"domain"`
	BackendURL *string `json:"backend_url,omitempty"`
	VMPort     *uint16 `json:"vm_port,omitempty"`
}

// validate checks that exactly one of backend_url (http or https) and vm_port (non-zero) is set.
func (d workspaceDomain) validate() error {
	switch {
	case d.BackendURL != nil && d.VMPort != nil:
		return errBadRequest("workspace domain: set exactly one of backend_url / vm_port")
	case d.BackendURL == nil && d.VMPort == nil:
		return errBadRequest("workspace domain: one of backend_url / vm_port is required")
	case d.BackendURL != nil && !strings.HasPrefix(*d.BackendURL, "http://") && !strings.HasPrefix(*d.BackendURL, "https://"):
		return errBadRequest("backend_url must start with http:// or https:// (got %s)", rustQuote(*d.BackendURL))
	case d.VMPort != nil && *d.VMPort == 0:
		return errBadRequest("vm_port must be > 0")
	}
	return nil
}

// workspace is the wire shape of a Workspace; every key is always present.
type workspace struct {
	ID           string            `json:"id"`
	TenantID     string            `json:"tenant_id"`
	CreatedAt    time.Time         `json:"created_at"`
	DeletedAt    *time.Time        `json:"deleted_at"`
	SourceDir    string            `json:"source_dir"`
	OutputDir    string            `json:"output_dir"`
	Config       workspaceSpec     `json:"config"`
	GitRepo      *string           `json:"git_repo"`
	GitRef       *string           `json:"git_ref"`
	Label        *string           `json:"label"`
	Domains      []workspaceDomain `json:"domains"`
	LastExecAt   *time.Time        `json:"last_exec_at"`
	PausedAt     *time.Time        `json:"paused_at"`
	AutoSnapshot *string           `json:"auto_snapshot"`
}

// view is the workspace as sc may see it: operators get empty host paths.
func (w workspace) view(sc scope) workspace {
	w.Config.NetworkDomains = append([]string{}, w.Config.NetworkDomains...)
	w.Config.Flavors = append([]string{}, w.Config.Flavors...)
	w.Domains = append([]workspaceDomain{}, w.Domains...)
	if !sc.isAdmin() {
		w.SourceDir, w.OutputDir = "", ""
	}
	return w
}

// wsEntry is a stored workspace with its exec lock and the process running in it, if any.
type wsEntry struct {
	ws   workspace
	root string
	lock sync.Mutex // held for the whole of an exec; TryLock gives the 409
	live *process   // guarded by workspaceStore.mu
	// liveAllowlist: an exec with allowlist networking is in flight, from just before its
	// start; the only kind the gateway's vm_port domains reach. Guarded by workspaceStore.mu.
	liveAllowlist bool
}

type workspaceStore struct {
	mu   sync.Mutex
	rows []*wsEntry // creation order
	byID map[string]*wsEntry
}

func newWorkspaceStore() *workspaceStore { return &workspaceStore{byID: map[string]*wsEntry{}} }

// lookup returns the live entry id visible to sc.
func (st *workspaceStore) lookup(id string, sc scope) (*wsEntry, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.lookupLocked(id, sc)
}

// lookupLocked is lookup with st.mu held.
func (st *workspaceStore) lookupLocked(id string, sc scope) (*wsEntry, bool) {
	en, ok := st.byID[id]
	if !ok || en.ws.DeletedAt != nil || !sc.canSee(en.ws.TenantID) {
		return nil, false
	}
	return en, true
}

// live returns an unredacted copy of the live workspace id visible to sc.
func (st *workspaceStore) live(id string, sc scope) (workspace, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	en, ok := st.lookupLocked(id, sc)
	if !ok {
		return workspace{}, false
	}
	return en.ws, true
}

// get returns a copy of the live workspace id visible to sc, redacted for sc. The slices of a
// stored row are never changed in place, so the copy is taken under the lock and redacted after.
func (st *workspaceStore) get(id string, sc scope) (workspace, bool) {
	ws, ok := st.live(id, sc)
	if !ok {
		return workspace{}, false
	}
	return ws.view(sc), true
}

// matching returns copies of the live workspaces passing keep, newest created first.
func (st *workspaceStore) matching(keep func(workspace) bool) []workspace {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []workspace
	for i := len(st.rows) - 1; i >= 0; i-- {
		if ws := st.rows[i].ws; ws.DeletedAt == nil && keep(ws) {
			out = append(out, ws)
		}
	}
	return out
}

func (st *workspaceStore) add(en *wsEntry) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.rows = append(st.rows, en)
	st.byID[en.ws.ID] = en
}

// newID returns prefix + 24 lowercase hex characters.
func newID(prefix string) string { return prefix + randomHex(12) }

// The auto-label words of the real server: 40 adjectives and 40 nouns.
var (
	slugAdjectives = []string{
		"amber", "bold", "brave", "bright", "brisk", "calm", "clever", "cozy", "crisp", "deft",
		"eager", "fair", "feisty", "fleet", "glossy", "hazy", "jolly", "keen", "lively", "lucid",
		"merry", "mild", "misty", "nimble", "noble", "plucky", "quiet", "rapid", "rustic", "silent",
		"sleek", "snug", "stoic", "sturdy", "sunny", "swift", "tidy", "vivid", "warm", "wise",
	}
	slugNouns = []string{
		"arbor", "badger", "basin", "beacon", "birch", "bison", "canyon", "cedar", "comet", "cove",
		"delta", "ember", "falcon", "fern", "forge", "fox", "harbor", "hawk", "heron", "kite",
		"lark", "lynx", "marsh", "meadow", "moss", "mountain", "orchid", "otter", "owl", "pine",
		"plover", "quill", "raven", "ridge", "river", "sparrow", "swan", "thicket", "valley", "willow",
	}
)

// slug is an auto label "adjective-noun-xxxx": both words chosen uniformly, then four hex
// digits.
func slug() string {
	return fmt.Sprintf("%s-%s-%04x", slugAdjectives[mrand.IntN(len(slugAdjectives))], slugNouns[mrand.IntN(len(slugNouns))], mrand.UintN(1<<16))
}

// labelOrSlug trims label; nil or blank gives a fresh slug.
func labelOrSlug(label *string) *string {
	l := ""
	if label != nil {
		l = strings.TrimSpace(*label)
	}
	if l == "" {
		l = slug()
	}
	return &l
}

// newWorkspaceEntry creates the on-disk directories of a new workspace and its (unstored) row.
func (e *execEngine) newWorkspaceEntry(tenant string, cfg workspaceSpec, label *string) (*wsEntry, error) {
	id := newID("wrk_")
	root := filepath.Join(e.s.stateDir, "workspaces", id)
	en := &wsEntry{root: root, ws: workspace{
		ID: id, TenantID: tenant, CreatedAt: now(),
		SourceDir: filepath.Join(root, "source"), OutputDir: filepath.Join(root, "output"),
		Config: cfg, Label: label, Domains: []workspaceDomain{},
	}}
	for _, d := range []string{en.ws.SourceDir, en.ws.OutputDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			os.RemoveAll(root)
			return nil, err
		}
	}
	return en, nil
}

type createWorkspaceRequest struct {
	Git             *gitSpec          `json:"git"`
	Label           *string           `json:"label"`
	MemoryMB        *uint64           `json:"memory_mb"`
	TimeoutSecs     *uint64           `json:"timeout_secs"`
	IdleTimeoutSecs *uint64           `json:"idle_timeout_secs"`
	Domains         []workspaceDomain `json:"domains"`
	Flavors         []string          `json:"flavors"`
	execOptions
}

func (s *Server) handleCreateWorkspace(w http.ResponseWriter, r *http.Request, sc scope) error {
	var req createWorkspaceRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	for _, f := range req.Flavors {
		if !s.flavorExists(f) {
			return errBadRequest("unknown flavor: %s", rustQuote(f))
		}
	}
	// The allowlist is deliberately not validated here, like the real server; execs will refuse it.
	js := req.defaultSettings(req.TimeoutSecs, req.MemoryMB)
	cfg := workspaceSpec{
		MemoryMB: js.memoryMB, TimeoutSecs: js.timeoutSecs, CPUPercent: js.cpuPercent, MaxPids: js.maxPids,
		NetworkMode: js.networkMode, NetworkDomains: append([]string{}, js.domains...), Seccomp: js.seccomp,
		Flavors: append([]string{}, req.Flavors...),
	}
	if req.IdleTimeoutSecs != nil {
		cfg.IdleTimeoutSecs = *req.IdleTimeoutSecs
	}
	e := s.exec
	en, err := e.newWorkspaceEntry(sc.tenant, cfg, labelOrSlug(req.Label))
	if err != nil {
		return errInternal(err)
	}
	if req.Git != nil {
		clones, err := req.Git.plan()
		if err == nil {
			err = e.cloneInto(r.Context(), en.ws.SourceDir, clones, !s.hostClones)
		}
		if err != nil {
			os.RemoveAll(en.root)
			return err
		}
		repo, ref := req.Git.primary()
		en.ws.GitRepo = &repo
		if ref != "" {
			en.ws.GitRef = &ref
		}
	}
	for _, d := range req.Domains {
		if err := d.validate(); err != nil {
			os.RemoveAll(en.root)
			return err
		}
	}
	if req.Domains != nil {
		en.ws.Domains = append([]workspaceDomain{}, req.Domains...)
	}
	e.ws.add(en)
	writeJSON(w, http.StatusCreated, en.ws.view(sc))
	return nil
}

func (s *Server) handleListWorkspaces(w http.ResponseWriter, r *http.Request, sc scope) error {
	lq, err := listQuery(r)
	if err != nil {
		return err
	}
	q, err := searchTerm(r)
	if err != nil {
		return err
	}
	match := s.exec.ws.matching(func(ws workspace) bool {
		return sc.canSee(ws.TenantID) && matchesTerm(q, ws.ID, strOrEmpty(ws.Label), strOrEmpty(ws.GitRepo))
	})
	for i := range match {
		match[i] = match[i].view(sc)
	}
	return writeNewestFirst(w, lq, match, func(w workspace) time.Time { return w.CreatedAt })
}

func strOrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) handleGetWorkspace(w http.ResponseWriter, r *http.Request, sc scope) error {
	return writeByPathID(w, r, sc, "workspace", s.exec.ws.get)
}

// workspaceWithBody decodes the request's JSON body into req, then finds the {id} workspace the
// caller may see: a bad body is refused before a missing workspace, as the real server's
// extractors run.
func (s *Server) workspaceWithBody(r *http.Request, sc scope, req any) (*wsEntry, error) {
	if err := decodeBody(r, req); err != nil {
		return nil, err
	}
	return byPathID(r, sc, "workspace", s.exec.ws.lookup)
}

type patchWorkspaceRequest struct {
	Label *string `json:"label"`
}

func (s *Server) handleRenameWorkspace(w http.ResponseWriter, r *http.Request, sc scope) error {
	var req patchWorkspaceRequest
	en, err := s.workspaceWithBody(r, sc, &req)
	if err != nil {
		return err
	}
	st := s.exec.ws
	st.mu.Lock()
	en.ws.Label = labelOrSlug(req.Label)
	ws := en.ws.view(sc)
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, ws)
	return nil
}

func (s *Server) handleDeleteWorkspace(w http.ResponseWriter, r *http.Request, sc scope) error {
	st := s.exec.ws
	en, err := byPathID(r, sc, "workspace", st.lookup)
	if err != nil {
		return err
	}
	st.mu.Lock()
	at := now()
	en.ws.DeletedAt = &at
	st.mu.Unlock()
	if err := os.RemoveAll(en.root); err != nil {
		s.log.Warn("remove workspace directory", "workspace", en.ws.ID, "err", err)
	}
	writeEmpty(w, http.StatusNoContent)
	return nil
}
