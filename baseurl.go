package agentjail

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// urlEnv is the variable NewClient reads when it gets no base URL.
const urlEnv = "AGENTJAIL_URL"

// parseBaseURL validates a control-plane URL and returns it without trailing slashes.
// from names where raw came from ("$AGENTJAIL_URL", or "" for NewClient's argument);
// every error names it and shows the value, with any user information masked.
func parseBaseURL(raw, from string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("agentjail: no base URL: pass one to NewClient or set $" + urlEnv)
	}
	fail := func(problem string) (string, error) {
		if from == "" {
			return "", fmt.Errorf("agentjail: base URL %q: %s", maskUserinfo(raw), problem)
		}
		return "", fmt.Errorf("agentjail: %s=%q: %s", from, maskUserinfo(raw), problem)
	}
	if !strings.Contains(raw, "://") {
		return fail("missing http:// or https://")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, user information included: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fail(err.Error())
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fail(fmt.Sprintf("the scheme must be http or https, not %q", u.Scheme))
	case u.Host == "":
		return fail("no host")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fail("a query or fragment is not allowed")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u.String(), nil
}

// maskUserinfo replaces the user information of a URL-like string (everything between
// "://", or the start, and the last "@" before the path) with "xxxxx": a user name can
// be a token as well as a password can.
func maskUserinfo(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + len("://")
	}
	end := len(raw)
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 {
		end = start + i
	}
	at := strings.LastIndex(raw[start:end], "@")
	if at < 0 {
		return raw
	}
	return raw[:start] + "xxxxx" + raw[start+at:]
}
