//go:build race

package testserver

// raceEnabled shrinks the volume-heavy tests: the race detector makes them ~10× slower.
const raceEnabled = true
