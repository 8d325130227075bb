//go:build !linux

package testserver

// Jails need Linux namespaces; elsewhere every execution is a host process.

import "errors"

// jailer is never created on this platform.
type jailer struct{}

func newJailer(string) (*jailer, error) {
	return nil, errors.New("namespaces are only available on Linux")
}

func (j *jailer) launch(procSpec) (launched, error) {
	return launched{}, errors.New("namespaces are only available on Linux")
}

func (j *jailer) share(string) {}

func (j *jailer) close() {}
