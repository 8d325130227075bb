package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

// listFlag collects every value of a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// choiceFlag is a flag whose value must be one of a fixed set, so that a typo is a
// usage error instead of a value the server would ignore or refuse.
type choiceFlag struct {
	value   string
	choices []string
}

// choice defines the flag name on fs with the value def ("" for none) and the values
// choices; usage should name them as its `placeholder`.
func choice(fs *flag.FlagSet, name, def, usage string, choices ...string) *choiceFlag {
	f := &choiceFlag{value: def, choices: choices}
	fs.Var(f, name, usage)
	return f
}

func (f *choiceFlag) String() string {
	if f == nil {
		return ""
	}
	return f.value
}

func (f *choiceFlag) Set(v string) error {
	if !slices.Contains(f.choices, v) {
		last := len(f.choices) - 1
		return fmt.Errorf("want %s or %s", strings.Join(f.choices[:last], ", "), f.choices[last])
	}
	f.value = v
	return nil
}
