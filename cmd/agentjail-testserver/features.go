package main

import (
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/agentjail/agentjail-go/internal/testserver"
)

// featureOptions reads the settings of the snapshot GC, the idle reaper, the gateway and
// workspace clones the way the real server does: numbers trimmed, a blank or unparsable one
// counting as unset; a gateway address that is not an IP:port dropped silently. warnings are
// to be logged once the server is up.
func featureOptions(getenv func(string) string) (opts []testserver.Option, warnings []string) {
	if v, ok := envUint(getenv, "AGENTJAIL_SNAPSHOT_MAX_AGE_SECS"); ok {
		if d, fits := secondsDuration(v); fits {
			opts = append(opts, testserver.WithSnapshotMaxAge(d))
		} else {
			// The real server's GC evicts everything or stops for good on such values.
			warnings = append(warnings, "AGENTJAIL_SNAPSHOT_MAX_AGE_SECS="+strconv.FormatUint(v, 10)+" is too large and is ignored")
		}
	}
	if v, ok := envUint(getenv, "AGENTJAIL_SNAPSHOT_MAX_COUNT"); ok {
		opts = append(opts, testserver.WithSnapshotMaxCount(int(min(v, math.MaxInt))))
	}
	if v, ok := envUint(getenv, "AGENTJAIL_SNAPSHOT_GC_TICK_SECS"); ok {
		d, _ := secondsDuration(v)
		opts = append(opts, testserver.WithSnapshotGCTick(d))
	}
	if v, ok := envUint(getenv, "AGENTJAIL_IDLE_CHECK_INTERVAL_SECS"); ok {
		d, _ := secondsDuration(v)
		opts = append(opts, testserver.WithIdleCheckInterval(d))
	}
	if addr := getenv("AGENTJAIL_GATEWAY_ADDR"); strings.TrimSpace(addr) != "" && testserver.ParseSocketAddr(addr) {
		opts = append(opts, testserver.WithGateway(addr))
	}
	// Read once at start-up; the real server rereads it on every workspace creation.
	if strings.ToLower(getenv("AGENTJAIL_CLONE_MODE")) == "host" {
		opts = append(opts, testserver.WithHostClones())
	}
	return opts, warnings
}

// logHandler is the log format LOG_FORMAT asks for: json, or text otherwise.
func logHandler(getenv func(string) string, out io.Writer) slog.Handler {
	if getenv("LOG_FORMAT") == "json" {
		return slog.NewJSONHandler(out, nil)
	}
	return slog.NewTextHandler(out, nil)
}

// envUint parses a trimmed unsigned decimal, with an optional leading "+" as Rust's integer
// parser allows; false when the variable is blank or not such a number.
func envUint(getenv func(string) string, key string) (uint64, bool) {
	v := strings.TrimSpace(getenv(key))
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(v, "+"), 10, 64)
	return n, err == nil
}

// secondsDuration converts whole seconds to a duration; fits is false, and the duration the
// longest one, when secs does not fit.
func secondsDuration(secs uint64) (d time.Duration, fits bool) {
	if secs > uint64(math.MaxInt64/int64(time.Second)) {
		return math.MaxInt64, false
	}
	return time.Duration(secs) * time.Second, true
}
