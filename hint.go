package agentjail

import (
	"net/http"
	"strings"
)

// statusError builds the *Error for a non-2xx response to r, adding a hint when the
// status has a likely cause in the client's own set-up.
func (c *Client) statusError(r call, resp *http.Response, body []byte) *Error {
	e := newStatusError(resp.StatusCode, resp.Header, body, c.secrets(r)...)
	e.hint = c.setupHint(r, e.StatusCode)
	return e
}

// setupHint explains a status caused by the client's configuration, or returns "":
//   - a base URL ending in /v1 doubles the /v1 every route starts with, so every route
//     is unknown: 404, or 401 on a public call (unknown paths need a key);
//   - an API key containing "@" is the server's token@tenant:role entry pasted whole,
//     which the server can never match: 401.
//
// A hint never contains the key.
func (c *Client) setupHint(r call, status int) string {
	switch {
	case strings.HasSuffix(c.base, "/v1") && (status == http.StatusNotFound || status == http.StatusUnauthorized && r.public):
		return "the base URL " + c.shown + " ends in /v1, which the SDK adds to every route itself: use " +
			strings.TrimSuffix(c.shown, "/v1")
	case status == http.StatusUnauthorized && !r.public && strings.Contains(c.apiKey(), "@"):
		return "the API key contains '@': it looks like a server entry of the form token@tenant:role; " +
			"send only the token, the part before the '@'"
	}
	return ""
}
