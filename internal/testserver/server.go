package testserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running fake control plane plus phantom proxy. Create it with
// New (or Start in tests) and stop it with Close.
type Server struct {
	stateDir      string       // absolute; root of all on-disk state
	maxConcurrent int          // concurrent executions allowed; default 16
	log           *slog.Logger // never nil
	exec          *execEngine  // execution half (runs, workspaces, jails, …)
	jail          *jailer      // nil: executions are host processes (see isolation.go)

	apiKeys      []apiKey // empty: auth off, every caller is the dev admin
	removeState  bool     // stateDir is a temp dir owned by the server
	upstreams    map[string]string
	proxyBaseURL string // base of the proxy URLs in session env maps, without a trailing slash

	ctlLn, proxyLn   net.Listener
	ctlSrv, proxySrv *http.Server
	ctlHosts         hostGuard
	proxyHosts       hostGuard
	router           *routeTable
	upstreamClient   *http.Client

	keys     *keyStore
	creds    *credentialStore
	sessions *sessionStore
	audit    *auditLog

	fresh freshConns // connections that have not sent a request yet
	tap   controlTap // fault rules and the request log of the control plane

	gc        snapshotGC    // snapshot garbage collection policy
	idleCheck time.Duration // idle-reaper interval; 0 = off
	bg        *background   // periodic tasks, stopped by Close

	hostClones    bool         // workspace git seeds clone in host mode
	gatewayAddr   string       // configured gateway address; "" = no gateway
	gatewayLn     net.Listener // nil when off or not bound
	gatewaySrv    *http.Server
	gatewayClient *http.Client

	// relayCtx is the base context of proxy and gateway requests; Close cancels it so a
	// request waiting on a slow upstream or backend ends at once instead of holding Close.
	relayCtx    context.Context
	cancelRelay context.CancelFunc

	serving   sync.WaitGroup // one per listener's Serve loop; Close waits for them
	closeOnce sync.Once
	closeErr  error
}

// freshConns tracks connections that were accepted but have not started a
// request. http.Server.Shutdown treats those as busy for five seconds, so a
// client that dialed a spare connection would stall Close; Close drops them.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (f *freshConns) track(c net.Conn, st http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st == http.StateNew {
		if f.conns == nil {
			f.conns = map[net.Conn]struct{}{}
		}
		f.conns[c] = struct{}{}
		return
	}
	delete(f.conns, c)
}

// closeAll closes every connection that has not sent a request yet.
func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close()
		delete(f.conns, c)
	}
}

// New starts a fake control plane and phantom proxy, by default on two free
// loopback ports. The caller must call Close.
func New(opts ...Option) (*Server, error) {
	cfg := config{
		ctlAddr: "127.0.0.1:0", proxyAddr: "127.0.0.1:0", maxConcurrent: 16,
		gc: snapshotGC{tick: defaultGCTick}, idleCheck: defaultIdleCheck,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		maxConcurrent: cfg.maxConcurrent,
		log:           cfg.log,
		upstreams:     map[string]string{},
		keys:          newKeyStore(),
		creds:         newCredentialStore(),
		sessions:      newSessionStore(),
		audit:         newAuditLog(),
		gc:            cfg.gc,
		idleCheck:     cfg.idleCheck,
		hostClones:    cfg.hostClones,
		bg:            newBackground(),
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.gatewayAddr != "" && !ParseSocketAddr(cfg.gatewayAddr) {
		return nil, fmt.Errorf("testserver: gateway address %q is not an IP:port socket address", cfg.gatewayAddr)
	}
	if s.maxConcurrent <= 0 {
		return nil, fmt.Errorf("testserver: max concurrent executions must be positive, got %d", cfg.maxConcurrent)
	}
	for i, entry := range cfg.apiKeys {
		k, err := parseAPIKey(strings.TrimSpace(entry))
		if err != nil {
			return nil, fmt.Errorf("testserver: api key %d: %w", i+1, err)
		}
		s.apiKeys = append(s.apiKeys, k)
	}
	for _, svc := range services {
		s.upstreams[svc.id] = svc.defaultBase
	}
	for svc, base := range cfg.upstreams {
		if !validService(svc) {
			return nil, fmt.Errorf("testserver: upstream for unknown service %q", svc)
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("testserver: upstream for %s must be an http(s) URL", svc)
		}
		s.upstreams[svc] = strings.TrimRight(base, "/")
	}
	for _, c := range cfg.creds {
		if !validService(c.service) {
			return nil, fmt.Errorf("testserver: credential for unknown service %q", c.service)
		}
		s.keys.set(c.tenant, c.service, c.secret)
	}
	pool, err := makePoolDir(cfg.poolDir)
	if err != nil {
		return nil, err
	}

	if err := s.initStateDir(cfg.stateDir); err != nil {
		return nil, err
	}
	logIsolation, err := s.setupIsolation(cfg.isolation)
	if err != nil {
		s.cleanupState()
		return nil, err
	}
	if err := s.listen(cfg); err != nil {
		s.cleanupState()
		return nil, err
	}
	s.upstreamClient = newUpstreamClient()

	s.exec = newExecEngine(s)
	s.exec.setSnapshotPoolDir(pool)
	s.router = newRouteTable(s.routes())

	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)
	s.relayCtx, s.cancelRelay = context.WithCancel(context.Background())
	s.ctlSrv = &http.Server{Handler: s.tapped(http.HandlerFunc(s.serveControl)), ReadHeaderTimeout: 30 * time.Second, ErrorLog: errLog, ConnState: s.fresh.track}
	s.proxySrv = &http.Server{Handler: http.HandlerFunc(s.serveProxy), ReadHeaderTimeout: 30 * time.Second, ErrorLog: errLog, ConnState: s.fresh.track, BaseContext: s.relayBase}
	s.serve(s.ctlSrv, s.ctlLn)
	s.serve(s.proxySrv, s.proxyLn)
	if cfg.gatewayAddr != "" {
		s.startGateway(cfg.gatewayAddr)
	}
	s.startBackground()
	logIsolation()
	return s, nil
}

// Start is New for tests: it fails tb on error and closes the server when
// the test and its subtests finish.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := New(opts...)
	if err != nil {
		tb.Fatalf("testserver: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("testserver: close: %v", err)
		}
	})
	return s
}

func (s *Server) initStateDir(dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "agentjail-testserver-")
		if err != nil {
			return fmt.Errorf("testserver: state dir: %w", err)
		}
		dir, s.removeState = tmp, true
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("testserver: state dir: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("testserver: state dir: %w", err)
	}
	s.stateDir = abs
	return nil
}

// makePoolDir creates the snapshot pool directory dir, if one is set, and returns its absolute path.
func makePoolDir(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(abs, 0o755)
	}
	if err != nil {
		return "", fmt.Errorf("testserver: snapshot pool dir: %w", err)
	}
	return abs, nil
}

func (s *Server) cleanupState() error {
	if !s.removeState {
		return nil
	}
	return os.RemoveAll(s.stateDir)
}

func (s *Server) listen(cfg config) error {
	var err error
	if s.ctlLn, err = listenTCP(cfg.ctlAddr); err != nil {
		return fmt.Errorf("testserver: control listener: %w", err)
	}
	s.ctlLn = lenientListener{s.ctlLn} // a stray "%" in a path reaches the handlers

	if s.proxyLn, err = listenTCP(cfg.proxyAddr); err != nil {
		s.ctlLn.Close()
		return fmt.Errorf("testserver: proxy listener: %w", err)
	}
	s.proxyBaseURL = strings.TrimRight(cfg.proxyBaseURL, "/")
	if s.proxyBaseURL == "" {
		s.proxyBaseURL = s.ProxyURL()
	}
	s.ctlHosts = newHostGuard(s.ctlLn.Addr())
	s.proxyHosts = newHostGuard(s.proxyLn.Addr())
	if u, err := url.Parse(s.proxyBaseURL); err == nil && u.Hostname() != "" {
		s.proxyHosts.extra = append(s.proxyHosts.extra, strings.ToLower(u.Hostname()))
	}
	return nil
}

// relayBase is the BaseContext of the proxy and gateway servers.
func (s *Server) relayBase(net.Listener) context.Context { return s.relayCtx }

// listenTCP listens on addr. An IPv4 literal gets an IPv4-only socket, as the real server
// binds exactly the address it parsed, so "0.0.0.0:7000" neither accepts IPv6 nor reports
// itself as "[::]:7000"; other addresses listen as net.Listen("tcp") does.
func listenTCP(addr string) (net.Listener, error) {
	network := "tcp"
	if host, _, err := net.SplitHostPort(addr); err == nil && !strings.Contains(host, ":") {
		if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
			network = "tcp4"
		}
	}
	return net.Listen(network, addr)
}

// serve runs srv on ln in the background until Close.
func (s *Server) serve(srv *http.Server, ln net.Listener) {
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// URL returns the control plane base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return "http://" + s.ctlLn.Addr().String() }

// ProxyURL returns the phantom proxy listener's base URL. Session env maps use
// the proxy base URL, which is this unless WithProxyBaseURL was given.
func (s *Server) ProxyURL() string { return "http://" + s.proxyLn.Addr().String() }

// StateDir returns the absolute directory holding the server's on-disk state.
func (s *Server) StateDir() string { return s.stateDir }

// Close stops the listeners (the gateway's too), kills every process the
// server started and waits for them, ends proxy and gateway requests still
// waiting on an upstream (they are answered 502), stops the snapshot GC and
// idle reaper, and removes the state directory if the server created it.
// It is safe to call more than once; later calls return the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		// Stop the periodic tasks, then kill running processes so in-flight exec requests
		// finish.
		s.bg.close()
		s.exec.close()
		s.cancelRelay()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var errs []error
		var wg sync.WaitGroup
		servers := []*http.Server{s.ctlSrv, s.proxySrv}
		if s.gatewaySrv != nil {
			servers = append(servers, s.gatewaySrv)
		}
		for _, srv := range servers {
			wg.Add(1)
			go func(srv *http.Server) {
				defer wg.Done()
				if err := srv.Shutdown(ctx); err != nil {
					srv.Close()
				}
			}(srv)
		}
		// Shutdown has stopped accepting; spare connections that never
		// carried a request would otherwise hold it for seconds.
		s.fresh.closeAll()
		wg.Wait()
		s.serving.Wait() // a Serve that started after Shutdown closes its listener on return
		s.upstreamClient.CloseIdleConnections()
		if s.gatewayClient != nil {
			s.gatewayClient.CloseIdleConnections()
		}
		if err := s.cleanupState(); err != nil {
			errs = append(errs, fmt.Errorf("testserver: remove state dir: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
