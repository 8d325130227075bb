package agentjailtest

import (
	"time"

	"github.com/agentjail/agentjail-go/internal/testserver"
)

// Fault makes the control plane answer matching requests with a failure
// instead of handling them, so you can test how your code copes with the
// server misbehaving. A faulted request has no side effect at all: nothing
// runs, and no session, ledger row, audit row or statistic changes. Faults
// apply to the control plane only, never to the phantom proxy.
type Fault struct {
	// Method is the request method to match, e.g. "POST"; "" matches every
	// method.
	Method string
	// Path is the escaped request path to match, without the query: an exact
	// path ("/v1/runs"), or a prefix ending in "*" ("/v1/sessions/*" matches
	// every path under /v1/sessions/). "" matches every path.
	Path string
	// Status is the status to answer, e.g. 429, 503 or 500; 0 means 500.
	Status int
	// Body is the response body. "" answers the server's usual JSON error
	// envelope, {"error":"<status text>"} such as {"error":"service
	// unavailable"}. A Body that is valid JSON is sent as application/json,
	// any other as text/plain.
	Body string
	// RetryAfter, when positive, sets the Retry-After header in whole seconds,
	// rounded up.
	RetryAfter time.Duration
	// Drop reads the whole request, then closes the connection without
	// answering, so the client cannot tell it from a server that acted and
	// then died: the case a client must never retry blindly for a POST.
	// Status, Body and RetryAfter are ignored.
	Drop bool
	// Times is how many matching requests fail: 0 means 1, a negative number
	// means all of them until ClearFaults.
	Times int
}

// InjectFault makes the control plane fail the requests f matches. Rules are
// tried in the order they were added and the first match answers; a rule
// that has failed its Times requests is removed. Requests whose Host header
// the server refuses are never faulted. InjectFault panics if f.Status is
// neither 0 nor between 200 and 599, a programming error.
func (s *Server) InjectFault(f Fault) {
	if err := s.srv.InjectFault(testserver.Fault(f)); err != nil {
		panic("agentjailtest: InjectFault: " + err.Error())
	}
}

// ClearFaults removes every fault rule; requests are handled normally again.
func (s *Server) ClearFaults() { s.srv.ClearFaults() }

// Request is one control-plane request the server received, whatever its
// outcome.
type Request struct {
	Method string // e.g. "GET"
	Path   string // escaped path, no query
	Query  string // raw query, "" when none
	// Status is the status answered; 0 when a Drop fault closed the
	// connection, and while the request is still being handled (a client
	// that has its answer always finds the status here).
	Status int
}

// Requests returns the control-plane requests the server has received,
// oldest first: every attempt of every call, including those answered 401,
// 404 or by a fault, but not the phantom proxy's traffic. It keeps the last
// 10,000. The slice is a copy the caller may keep or modify. It is safe to
// call while requests are in flight.
func (s *Server) Requests() []Request {
	log := s.srv.Requests()
	out := make([]Request, len(log))
	for i, r := range log {
		out[i] = Request(r)
	}
	return out
}
