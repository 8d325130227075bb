package testserver

// Live ledger rows: while a process runs, its ledger row is refreshed every stats period (500 ms
// like the real server, first one period after the start) with a stats sample and, for runs,
// session execs, fork children and workspace execs, the output captured so far. Fork parents and
// streams get stats only. The row stays "running" with no end fields until it completes.

import (
	"context"
	"errors"
	"sync"
	"time"
)

// watchLive refreshes row id from p every stats period until the returned stop is called; stop
// waits for a refresh in progress, so the completion written after it is final.
func (e *execEngine) watchLive(id int64, p *process, withOutput bool) (stop func()) {
	_, every := e.streamTimings()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-p.done:
				return
			case <-t.C:
				var out, errOut *string
				if withOutput {
					out, errOut = ledgerText(p.outBuf.String()), ledgerText(p.errBuf.String())
				}
				e.jails.refresh(id, p.sample(), out, errOut)
			}
		}
	}()
	return sync.OnceFunc(func() {
		close(quit)
		wg.Wait()
	})
}

// refresh writes a live stats sample, and the output so far when out is not nil, into row id
// while it is still running.
func (st *jailStore) refresh(id int64, stats execStats, out, errOut *string) {
	st.change(id, func(r *jailRecord) {
		r.setStats(stats)
		if out != nil {
			r.Stdout, r.Stderr = out, errOut
		}
	})
}

// changedLocked wakes everyone waiting for a row to change. st.mu held.
func (st *jailStore) changedLocked() {
	if st.ended != nil {
		close(st.ended)
		st.ended = nil
	}
}

// awaitRow waits until row id satisfies cond, or ctx ends.
func (st *jailStore) awaitRow(ctx context.Context, id int64, cond func(jailRecord) bool) (jailRecord, error) {
	for {
		st.mu.Lock()
		r := st.rowLocked(id)
		if r == nil && id < st.next {
			st.mu.Unlock()
			return jailRecord{}, errors.New("jail row no longer retained")
		}
		if r != nil && cond(*r) {
			rec := *r
			st.mu.Unlock()
			return rec, nil
		}
		if st.ended == nil {
			st.ended = make(chan struct{})
		}
		ch := st.ended
		st.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return jailRecord{}, ctx.Err()
		}
	}
}
