package testserver

// Inside halves started ahead of time. Most of a jail's start-up is creating its namespaces and
// starting this binary up to the hook that recognises the inside half; neither depends on the
// execution, which arrives later as the spec on fd 3. So after each execution the jailer starts
// one more inside half of the same kind, and the next execution only sends it a spec.

import (
	"sync"
	"syscall"
	"unsafe"
)

// warmPool holds at most one waiting inside half of each kind. The zero value is ready to use.
type warmPool struct {
	mu      sync.Mutex
	closed  bool
	ready   map[jailKind]*pendingJail
	filling map[jailKind]chan struct{} // closed when that start has ended
	wg      sync.WaitGroup             // one per start in progress
}

// take removes and returns the waiting child of kind k, or nil when there is none. When one is
// being started it waits for it: the start is under way and so ends sooner than a new one. A child
// that has died while it waited (killed from outside) is reaped and not returned.
func (w *warmPool) take(k jailKind) *pendingJail {
	w.mu.Lock()
	if fill := w.filling[k]; fill != nil && w.ready[k] == nil {
		w.mu.Unlock()
		<-fill
		w.mu.Lock()
	}
	c := w.ready[k]
	delete(w.ready, k)
	w.mu.Unlock()
	if c != nil && exited(c.cmd.Process.Pid) {
		c.discard()
		return nil
	}
	return c
}

// refill starts a child of kind k in the background with start, unless one is waiting or being
// started, or the pool is closed. A failed start leaves the slot empty: the next execution starts
// its own child and so reports the failure.
func (w *warmPool) refill(k jailKind, start func(jailKind) (*pendingJail, error)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.ready[k] != nil || w.filling[k] != nil {
		return
	}
	if w.filling == nil {
		w.filling, w.ready = map[jailKind]chan struct{}{}, map[jailKind]*pendingJail{}
	}
	fill := make(chan struct{})
	w.filling[k] = fill
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer close(fill)
		c, err := start(k)
		w.mu.Lock()
		delete(w.filling, k)
		closed := w.closed
		if err == nil && !closed {
			w.ready[k] = c
		}
		w.mu.Unlock()
		if err == nil && closed {
			c.discard()
		}
	}()
}

// close ends every waiting child and waits for the starts in progress, whose children are ended
// too. Later refills do nothing.
func (w *warmPool) close() {
	w.mu.Lock()
	w.closed = true
	ready := w.ready
	w.ready = nil
	w.mu.Unlock()
	w.wg.Wait()
	for _, c := range ready {
		c.discard()
	}
}

// exited reports whether the child pid has ended, without reaping it: waitid with WNOWAIT leaves
// the exit status for exec.Cmd.Wait.
func exited(pid int) bool {
	const pPID = 1     // P_PID: wait for the child whose process ID is pid
	var info [128]byte // siginfo_t; Linux sets si_signo, its first int, to 0 when nothing ended
	_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info[0])),
		syscall.WEXITED|syscall.WNOHANG|syscall.WNOWAIT, 0, 0)
	if errno != 0 {
		return true // not a child of ours any more
	}
	return info[0]|info[1]|info[2]|info[3] != 0
}
