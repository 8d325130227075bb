package testserver

import "net/http"

// The public routes: they need no API key, and stats are not filtered by tenant.

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request, _ scope) error {
	writePlain(w, http.StatusOK, "ok")
	return nil
}

// statsView is the /v1/stats body. The real server builds it with serde_json's json! macro,
// whose map sorts keys, so the fields are in alphabetical order.
type statsView struct {
	ActiveExecs uint64 `json:"active_execs"`
	Credentials int    `json:"credentials"`
	Sessions    int    `json:"sessions"`
	TotalExecs  uint64 `json:"total_execs"`
}

func (s *Server) handleGetStats(w http.ResponseWriter, r *http.Request, _ scope) error {
	active, total := s.exec.counts()
	writeJSON(w, http.StatusOK, statsView{
		ActiveExecs: active,
		TotalExecs:  total,
		Sessions:    s.sessions.count(),
		Credentials: s.creds.count(),
	})
	return nil
}
