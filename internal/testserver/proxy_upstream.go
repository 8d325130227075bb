package testserver

// The phantom proxy's upstream client, behaving like the real proxy's HTTP client: HTTP/1.1, a
// 10 s connect timeout and 120 s per request, "accept: */*" and no User-Agent unless the sandbox
// sent them, and redirects followed the way that client follows them (see sendUpstream).

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// upstreamConnectTimeout bounds the TCP connect to an upstream.
	upstreamConnectTimeout = 10 * time.Second
	// upstreamTimeout bounds a whole proxied request, redirects included.
	upstreamTimeout = 120 * time.Second
	// upstreamMaxRedirects is how many redirects one proxied request may follow.
	upstreamMaxRedirects = 10
)

// newUpstreamClient returns the proxy's client: no environment proxies, no transparent gzip,
// HTTP/1.1 only. Redirects are followed by sendUpstream, not by the client.
func newUpstreamClient() *http.Client {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: upstreamConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       upstreamTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Header lists of the real proxy. Request headers the sandbox sent are forwarded except
// proxyRequestDrop; upstream response headers are copied except proxyResponseDrop, and only the
// last value of a repeated one survives.
var (
	proxyRequestDrop  = []string{"Authorization", "X-Api-Key", "Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host"}
	proxyResponseDrop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization"}
	// payloadHeaders go when a redirect turns the request into one without a body.
	payloadHeaders = []string{"Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding"}
	// redirectSensitive go on a redirect to another host or port, so the real key stays home.
	redirectSensitive = []string{"Authorization", "Cookie", "Cookie2", "Proxy-Authorization", "Www-Authenticate"}
)

// copyHeaderExcept copies src into dst without the names in drop. With lastOnly, a repeated
// header keeps only its last value, as a header map filled by insert does.
func copyHeaderExcept(dst, src http.Header, drop []string, lastOnly bool) {
	skip := make(map[string]bool, len(drop))
	for _, name := range drop {
		skip[http.CanonicalHeaderKey(name)] = true
	}
	for k, vs := range src {
		if skip[http.CanonicalHeaderKey(k)] || len(vs) == 0 {
			continue
		}
		if lastOnly {
			dst[k] = []string{vs[len(vs)-1]}
		} else {
			dst[k] = append([]string(nil), vs...)
		}
	}
}

// clientDefaults adds what the real HTTP client adds to every request: "accept: */*" when the
// caller sent no Accept, and no User-Agent of its own.
func clientDefaults(h http.Header) {
	if len(h.Values("Accept")) == 0 {
		h.Set("Accept", "*/*")
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = nil // present but empty: net/http then sends none
	}
}

// upstreamError is a failed upstream exchange, worded like the real client's errors.
type upstreamError struct{ msg string }

func (e *upstreamError) Error() string { return e.msg }

// sendUpstream sends out and follows redirects like the real proxy's client, whose request
// body is a stream that cannot be sent twice:
//   - 301 and 302 are followed only for POST, which becomes a GET without a body;
//   - 303 is followed for every method, as a GET (a HEAD stays a HEAD) without a body;
//   - 307 and 308 are followed only once an earlier hop has dropped the body;
//   - anything else, or a redirect without a usable Location, is the answer.
//
// A followed hop drops the payload headers, drops credentials and cookies when the host or
// port changes, and sends the previous URL as Referer (not from https to http). More than
// upstreamMaxRedirects redirects is an error. The caller closes the returned body.
func (s *Server) sendUpstream(out *http.Request) (*http.Response, error) {
	base := out.Header.Clone()
	cur := out.URL
	bodiless := false
	for hops := 0; ; hops++ {
		resp, err := s.upstreamClient.Do(out)
		if err != nil {
			return nil, &upstreamError{msg: fmt.Sprintf("error sending request for url (%s)", cur.Redacted())}
		}
		method := out.Method
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound:
			if method == http.MethodPost {
				method, bodiless = http.MethodGet, true
			}
		case http.StatusSeeOther:
			if method != http.MethodHead {
				method = http.MethodGet
			}
			bodiless = true
		case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			return resp, nil
		}
		loc := resp.Header.Values("Location")
		if !bodiless || len(loc) == 0 {
			return resp, nil
		}
		next, err := cur.Parse(loc[0])
		if err != nil {
			return resp, nil
		}
		drainClose(resp.Body)
		if hops+1 > upstreamMaxRedirects {
			return nil, &upstreamError{msg: fmt.Sprintf("error following redirect for url (%s)", cur.Redacted())}
		}
		if next.Scheme != "http" && next.Scheme != "https" {
			return nil, &upstreamError{msg: fmt.Sprintf("builder error for url (%s)", next.Redacted())}
		}
		for _, h := range payloadHeaders {
			base.Del(h)
		}
		hdr := base.Clone()
		if crossHost(cur, next) {
			for _, h := range redirectSensitive {
				hdr.Del(h)
			}
		}
		if ref, ok := referer(cur, next); ok {
			hdr.Set("Referer", ref)
		}
		req, err := http.NewRequestWithContext(out.Context(), method, next.String(), http.NoBody)
		if err != nil {
			return nil, &upstreamError{msg: fmt.Sprintf("builder error for url (%s)", next.Redacted())}
		}
		req.Header = hdr
		out, cur = req, next
	}
}

// crossHost reports whether next names another host or port than prev.
func crossHost(prev, next *url.URL) bool {
	return !strings.EqualFold(prev.Hostname(), next.Hostname()) || portOf(prev) != portOf(next)
}

// portOf is the URL's port, or the scheme's default.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// referer is the Referer of a redirected hop: prev without credentials and fragment, and none
// when the hop goes from https to http.
func referer(prev, next *url.URL) (string, bool) {
	if next.Scheme == "http" && prev.Scheme == "https" {
		return "", false
	}
	r := *prev
	r.User = nil
	r.Fragment, r.RawFragment = "", ""
	return r.String(), true
}

// drainClose discards what is left of body and closes it.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	body.Close()
}
