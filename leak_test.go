package agentjail

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// leakWaitGoroutines waits (bounded) until at most want goroutines run, and fails with a
// dump of every goroutine otherwise. Polling is the only way to observe goroutines that
// are exiting on their own, such as a closed connection's read loop.
func leakWaitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want at most %d (baseline):\n%s", n, want, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLeakGoroutines runs each fault scenario many times against a fresh server and
// client, then closes the client's idle connections and the server, and expects the
// goroutine count back at its baseline: no timer, body reader, connection or retry
// goroutine outlives its call. Not parallel: it counts every goroutine in the process
// (parallel tests are still parked when sequential tests run).
func TestLeakGoroutines(t *testing.T) {
	n := 20
	if raceEnabled {
		n = 10
	}
	arrived := make(chan struct{}, 1)
	get := func(ctx context.Context, c *Client) error { _, err := c.Sessions.Get(ctx, "sess_1"); return err }
	post := func(ctx context.Context, c *Client) error {
		_, err := c.Sessions.Exec(ctx, "sess_1", SessionExecParams{Cmd: "id"})
		return err
	}
	cases := []struct {
		name   string
		script []http.HandlerFunc
		tls    bool
		run    func(t *testing.T, c *Client, srv *recorder)
	}{
		{name: "retries_then_success", script: []http.HandlerFunc{faultCycle(faultStatus(503, ""), faultStatus(429, "0"), faultOK(fixtureSession))},
			run: func(t *testing.T, c *Client, srv *recorder) {
				for i := 0; i < n; i++ {
					if err := get(context.Background(), c); err != nil {
						t.Fatal(err)
					}
				}
				if got := len(srv.requests()); got != 3*n {
					t.Fatalf("%d requests for %d calls", got, n)
				}
			}},
		{name: "retries_exhausted", script: []http.HandlerFunc{faultStatus(503, "")},
			run: func(t *testing.T, c *Client, srv *recorder) {
				for i := 0; i < n; i++ {
					if err := post(context.Background(), c); !errors.Is(err, ErrServerError) {
						t.Fatal(err)
					}
				}
			}},
		// The wait (30 s) outlives leakWaitGoroutines' patience (5 s): anything tied to it
		// that is not released on cancellation shows up.
		{name: "cancel_during_backoff", script: []http.HandlerFunc{faultStatus(503, "30")},
			run: func(t *testing.T, c *Client, srv *recorder) {
				retrying := make(chan struct{}, 1)
				c.logger = slog.New(faultSignalHandler{slog.LevelWarn, retrying})
				c.retryCap = time.Minute
				for i := 0; i < n; i++ {
					ctx, cancel := context.WithCancel(context.Background())
					done := make(chan error, 1)
					go func() { done <- get(ctx, c) }()
					<-retrying
					cancel()
					if err := <-done; !errors.Is(err, context.Canceled) {
						t.Fatal(err)
					}
				}
			}},
		{name: "cancel_during_request", script: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-r.Context().Done()
		}},
			run: func(t *testing.T, c *Client, srv *recorder) {
				for i := 0; i < n; i++ {
					ctx, cancel := context.WithCancel(context.Background())
					done := make(chan error, 1)
					go func() { done <- post(ctx, c) }()
					<-arrived
					cancel()
					if err := <-done; !errors.Is(err, context.Canceled) {
						t.Fatal(err)
					}
				}
			}},
		{name: "deadlines", script: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
			run: func(t *testing.T, c *Client, srv *recorder) {
				for i := 0; i < n; i++ {
					ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
					err := get(ctx, c)
					cancel()
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Fatal(err)
					}
				}
			}},
		{name: "dropped_connections", script: []http.HandlerFunc{faultDrop},
			run: func(t *testing.T, c *Client, srv *recorder) {
				for i := 0; i < n; i++ {
					if err := get(context.Background(), c); !errors.Is(err, ErrNetwork) {
						t.Fatal(err)
					}
				}
			}},
		{name: "bodies_cut_short", script: []http.HandlerFunc{faultCut(200, 1000, `{"id":`)},
			run: func(t *testing.T, c *Client, srv *recorder) {
				for i := 0; i < n; i++ {
					if err := get(context.Background(), c); !errors.Is(err, ErrNetwork) {
						t.Fatal(err)
					}
				}
			}},
		// Bodies larger than the drain limit: only Close frees their connections.
		{name: "huge_bodies", script: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			code := 500
			if r.Method == http.MethodGet {
				code = 200
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(`{"id":"sess_1"}`))
			pad := make([]byte, 64<<10)
			for i := range pad {
				pad[i] = ' '
			}
			for i := 0; i < 160; i++ { // 10 MiB
				if _, err := w.Write(pad); err != nil {
					return
				}
			}
		}},
			run: func(t *testing.T, c *Client, srv *recorder) {
				for i := 0; i < 3; i++ {
					if err := get(context.Background(), c); err != nil {
						t.Fatal(err)
					}
					if err := post(context.Background(), c); !errors.Is(err, ErrServerError) {
						t.Fatal(err)
					}
				}
			}},
		{name: "tls_failures", tls: true, script: []http.HandlerFunc{faultOK(fixtureSession)},
			run: func(t *testing.T, c *Client, srv *recorder) {
				for i := 0; i < n; i++ {
					if err := get(context.Background(), c); !errors.Is(err, ErrNetwork) {
						t.Fatal(err)
					}
				}
			}},
		{name: "many_concurrent_calls", script: []http.HandlerFunc{faultOK(fixtureSession)},
			run: func(t *testing.T, c *Client, srv *recorder) {
				var wg sync.WaitGroup
				for g := 0; g < 20; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < n; i++ {
							if err := get(context.Background(), c); err != nil {
								t.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			srv := startRecorder(t, tc.tls, tc.script...)
			c := testClient(t, srv.URL)
			tc.run(t, c, srv)
			c.hc.Transport.(*http.Transport).CloseIdleConnections()
			srv.Close()
			leakWaitGoroutines(t, base)
		})
	}

	t.Run("refused", func(t *testing.T) {
		base := runtime.NumGoroutine()
		c := testClient(t, faultRefusedURL(t))
		for i := 0; i < n; i++ {
			if err := post(context.Background(), c); !errors.Is(err, ErrNetwork) {
				t.Fatal(err)
			}
		}
		c.hc.Transport.(*http.Transport).CloseIdleConnections()
		leakWaitGoroutines(t, base)
	})
}

// faultCycle answers the n-th request with handlers[n % len(handlers)].
func faultCycle(handlers ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	next := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handlers[next%len(handlers)]
		next++
		mu.Unlock()
		h(w, r)
	}
}
