package testserver

import "net/http"

// access says whether a route needs an API key.
type access bool

const (
	// guarded routes run behind the auth middleware and the 1 MiB body limit.
	guarded access = false
	// public routes need no key and have no body limit.
	public access = true
)

// route is one row of the control plane's route table.
type route struct {
	access  access
	method  string
	path    string // segments in {braces} are parameters, read with r.PathValue
	handler handlerFunc
}

// routes is every route of the real control plane, in the order the real server registers
// them. Adding a route is one row here and its handler in the file of its resource.
func (s *Server) routes() []route {
	return []route{
		{public, http.MethodGet, "/healthz", s.handleHealthz},
		{public, http.MethodGet, "/v1/stats", s.handleGetStats},

		{guarded, http.MethodPost, "/v1/credentials", s.handlePutCredential},
		{guarded, http.MethodGet, "/v1/credentials", s.handleListCredentials},
		{guarded, http.MethodDelete, "/v1/credentials/{service}", s.handleDeleteCredential},

		{guarded, http.MethodPost, "/v1/sessions", s.handleCreateSession},
		{guarded, http.MethodGet, "/v1/sessions", s.handleListSessions},
		{guarded, http.MethodGet, "/v1/sessions/{id}", s.handleGetSession},
		{guarded, http.MethodDelete, "/v1/sessions/{id}", s.handleDeleteSession},
		{guarded, http.MethodPost, "/v1/sessions/{id}/exec", s.handleExecSession},

		{guarded, http.MethodPost, "/v1/runs", s.handleRun},
		{guarded, http.MethodPost, "/v1/runs/fork", s.handleForkRun},
		{guarded, http.MethodPost, "/v1/runs/stream", s.handleStreamRun},

		{guarded, http.MethodGet, "/v1/audit", s.handleListAudit},

		{guarded, http.MethodGet, "/v1/config", s.handleGetConfig},
		{guarded, http.MethodGet, "/v1/whoami", s.handleWhoami},
		{guarded, http.MethodGet, "/v1/flavors", s.handleListFlavors},

		{guarded, http.MethodGet, "/v1/jails", s.handleListJails},
		{guarded, http.MethodGet, "/v1/jails/{id}", s.handleGetJail},

		{guarded, http.MethodPost, "/v1/workspaces", s.handleCreateWorkspace},
		{guarded, http.MethodGet, "/v1/workspaces", s.handleListWorkspaces},
		{guarded, http.MethodGet, "/v1/workspaces/{id}", s.handleGetWorkspace},
		{guarded, http.MethodPatch, "/v1/workspaces/{id}", s.handleRenameWorkspace},
		{guarded, http.MethodDelete, "/v1/workspaces/{id}", s.handleDeleteWorkspace},
		{guarded, http.MethodPost, "/v1/workspaces/{id}/exec", s.handleExecWorkspace},
		{guarded, http.MethodPost, "/v1/workspaces/{id}/fork", s.handleForkWorkspace},
		{guarded, http.MethodPost, "/v1/workspaces/{id}/snapshot", s.handleSnapshotWorkspace},
		{guarded, http.MethodPost, "/v1/workspaces/from-snapshot", s.handleRestoreSnapshot},

		{guarded, http.MethodGet, "/v1/snapshots", s.handleListSnapshots},
		{guarded, http.MethodGet, "/v1/snapshots/{id}", s.handleGetSnapshot},
		{guarded, http.MethodDelete, "/v1/snapshots/{id}", s.handleDeleteSnapshot},
		{guarded, http.MethodGet, "/v1/snapshots/{id}/manifest", s.handleGetSnapshotManifest},
	}
}
