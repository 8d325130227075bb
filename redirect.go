package agentjail

import (
	"errors"
	"fmt"
	"net/http"
)

// guardRedirects returns a copy of hc (or a new default client) whose redirect policy
// strips the Authorization header, and the WithHeader headers (which may carry secrets
// too), whenever a redirect leaves the original host or downgrades to http; net/http
// alone would forward Authorization to subdomains and every other header anywhere.
func guardRedirects(hc *http.Client, custom http.Header) *http.Client {
	var out http.Client
	if hc != nil {
		out = *hc
	} else {
		out.Transport = defaultTransport()
	}
	next := out.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if req.URL.Host != first.Host || (first.Scheme == "https" && req.URL.Scheme != "https") {
			req.Header.Del("Authorization")
			for k := range custom {
				req.Header.Del(k)
			}
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return &redirectError{fmt.Errorf("redirect to unsupported scheme %q", req.URL.Scheme)}
		}
		if next != nil {
			err := next(req, via)
			if err != nil && !errors.Is(err, http.ErrUseLastResponse) {
				return &redirectError{err}
			}
			return err
		}
		if len(via) >= 10 {
			return &redirectError{errors.New("stopped after 10 redirects")}
		}
		return nil
	}
	return &out
}

// redirectError marks a redirect refused by the redirect policy (a loop, another
// scheme, or the caller's CheckRedirect): asking again would be refused again.
type redirectError struct{ err error }

// Error returns the refused redirect's reason.
func (e *redirectError) Error() string { return e.err.Error() }

// Unwrap returns the redirect policy's own error.
func (e *redirectError) Unwrap() error { return e.err }
