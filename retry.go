package agentjail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// retryable applies the retry policy. GET, HEAD and DELETE are retried on transport
// failures and 408, 429, 502, 503, 504. POST and PATCH may start code or create
// resources, so they are retried only when the server provably did not act: the
// connection was never established, or the answer was 429 or 503.
func (c *Client) retryable(r call, e *Error) bool {
	idempotent := r.method == http.MethodGet || r.method == http.MethodHead || r.method == http.MethodDelete
	if e.StatusCode == 0 {
		if e.err == nil || isTLSError(e.err) || isPolicyError(e.err) {
			return false
		}
		return idempotent || neverConnected(e.err)
	}
	switch e.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusRequestTimeout, http.StatusBadGateway, http.StatusGatewayTimeout:
		return idempotent
	}
	return false
}

// neverConnected reports whether err happened before a connection existed (refused,
// unreachable, DNS), so no byte of the request reached the server.
func neverConnected(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// isTLSError reports certificate and handshake failures, which retrying cannot fix: a
// bad or untrusted certificate, a TLS alert from the server, or a server that answers
// plain HTTP on an https URL.
func isTLSError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		header   tls.RecordHeaderError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.Is(err, http.ErrSchemeMismatch)
}

// isPolicyError reports a failure that the same request would meet again: a redirect
// refused by the redirect policy.
func isPolicyError(err error) bool {
	var redirect *redirectError
	return errors.As(err, &redirect)
}

// backoff returns the wait before the next attempt: retryBase·2^(attempt-1) with equal
// jitter, or the server's Retry-After, never more than retryCap.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, c.retryCap)
	}
	d := c.retryBase << (attempt - 1)
	if d > c.retryCap || d <= 0 {
		d = c.retryCap
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleep waits for d or until ctx is done, releasing its timer either way. A wait that
// ends at or after ctx's deadline reports context.DeadlineExceeded even if ctx's own
// timer has not fired yet, so that no attempt starts past the deadline.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
			return context.DeadlineExceeded
		}
		return ctx.Err()
	}
}
