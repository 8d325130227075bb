package testserver

// Background tasks of the server (snapshot GC, idle reaper): each runs on its own ticker, first
// one interval after start-up, skipping ticks it missed, until Close.

import (
	"sync"
	"time"
)

// background owns the server's periodic tasks.
type background struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	tick chan struct{} // closed (and replaced) after every run of any task
}

func newBackground() *background {
	return &background{stop: make(chan struct{}), tick: make(chan struct{})}
}

// ran returns a channel that is closed when the next task run finishes, so a caller can wait
// for a pass instead of sleeping.
func (b *background) ran() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tick
}

func (b *background) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.tick)
	b.tick = make(chan struct{})
}

// every runs fn every interval until close or until fn returns false; the first run is one
// interval after the call.
func (b *background) every(interval time.Duration, fn func() bool) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				more := fn()
				b.notify()
				if !more {
					return
				}
			}
		}
	}()
}

// close stops every task and waits for a run in progress to finish.
func (b *background) close() {
	close(b.stop)
	b.wg.Wait()
}

// startBackground starts the snapshot GC and the idle reaper when they are configured.
func (s *Server) startBackground() {
	if g := s.gc; g.enabled() {
		s.bg.every(g.interval(), func() bool { s.exec.collectSnapshots(g, now()); return true })
	}
	if s.idleCheck > 0 {
		s.bg.every(s.idleCheck, func() bool { _, ok := s.exec.reapIdle(now()); return ok })
	}
}
