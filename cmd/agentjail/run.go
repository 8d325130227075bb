package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	agentjail "github.com/agentjail/agentjail-go"
)

var runCommand = &command{
	name:    "run",
	args:    "[flags] FILE|-",
	summary: "run code in a one-shot jail, streaming its output",
	about: `The code is read from FILE, or from standard input for -. Its language comes from
the file extension (.sh bash, .py python, .js and .mjs javascript) unless -lang is given;
-lang is required for -.

The jail's stdout lines go to stdout and its stderr lines to stderr as they are printed.
With -git or -json the run is not streamed: the output is printed when it ends.

Exit status: the jail's exit code; 124 when it timed out; 130 when interrupted (the
stream is closed, so the server kills the job; a second signal exits at once); 1 for an
API, network or jail error; 2 for a usage error.`,
	run: runRun,
}

// extLanguages maps file extensions to the language their code is run as.
var extLanguages = map[string]agentjail.Language{
	".sh":  agentjail.LanguageBash,
	".py":  agentjail.LanguagePython,
	".js":  agentjail.LanguageJavaScript,
	".mjs": agentjail.LanguageJavaScript,
}

func runRun(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.path)
	lang := choice(fs, "lang", "", "the language of the code, `bash|python|javascript` (default: from the file extension)",
		string(agentjail.LanguageBash), string(agentjail.LanguagePython), string(agentjail.LanguageJavaScript))
	jf := addJailFlags(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON when the run ends instead of streaming")
	var (
		language agentjail.Language
		opts     agentjail.ExecOptions
	)
	p, client, err := c.connect(cmd, fs, args, 1, 1, func(p parsed) (err error) {
		if language, err = languageOf(agentjail.Language(lang.value), p.pos[0]); err != nil {
			return err
		}
		opts, err = jf.options()
		return err
	})
	if err != nil {
		return err
	}
	code, err := readCode(ctx, c.stdin, p.pos[0])
	if err != nil {
		return err
	}
	params := agentjail.RunParams{
		Code: code, Language: language, Timeout: jf.timeout, MemoryMB: jf.memory,
		Git: jf.gitSeed(), ExecOptions: opts,
	}
	// The stream route ignores git, so a seeded run waits for its result.
	if *asJSON || params.Git != nil {
		res, err := client.Runs.Create(ctx, params)
		if err != nil {
			return err
		}
		if *asJSON {
			if err := writeJSON(c.stdout, res); err != nil {
				return err
			}
		} else {
			c.printOutput(res)
		}
		return jailExit(res.ExitCode, res.TimedOut)
	}
	return c.stream(ctx, client, params)
}

// languageOf returns lang, the language -lang names, else the one of file's extension.
func languageOf(lang agentjail.Language, file string) (agentjail.Language, error) {
	if lang != "" {
		return lang, nil
	}
	if file == "-" {
		return "", errors.New("-lang is required when the code comes from standard input")
	}
	if l, ok := extLanguages[filepath.Ext(file)]; ok {
		return l, nil
	}
	return "", fmt.Errorf("cannot tell the language of %s from its extension: pass -lang", file)
}

// readCode returns the contents of file, or of stdin for "-".
func readCode(ctx context.Context, stdin io.Reader, file string) (string, error) {
	var (
		b   []byte
		err error
	)
	if file == "-" {
		b, err = readInput(ctx, stdin, 0)
	} else {
		b, err = os.ReadFile(file)
	}
	return string(b), err
}

// stream runs p with its output streamed live: each line is written as it arrives, to
// the stream it came from, with the newline the server took off put back.
func (c *cli) stream(ctx context.Context, client *agentjail.Client, p agentjail.RunParams) error {
	st, err := client.Runs.Stream(ctx, p)
	if err != nil {
		return err
	}
	defer st.Close()
	var line []byte
	for st.Next() {
		switch ev := st.Event().(type) {
		case agentjail.StdoutEvent:
			line = writeLine(c.stdout, line, ev.Line)
		case agentjail.StderrEvent:
			line = writeLine(c.stderr, line, ev.Line)
		case agentjail.CompletedEvent:
			return jailExit(ev.ExitCode, ev.TimedOut)
		case agentjail.ErrorEvent:
			return errors.New("run failed: " + ev.Message)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := st.Err(); err != nil {
		return err
	}
	return errors.New("run stream ended without a result")
}

// writeLine writes s and a newline in one write, so lines of stdout and stderr never
// interleave mid-line; buf is reused between calls.
func writeLine(w io.Writer, buf []byte, s string) []byte {
	buf = append(append(buf[:0], s...), '\n')
	_, _ = w.Write(buf)
	return buf
}

// printOutput writes a finished jail's captured output to stdout and stderr.
func (c *cli) printOutput(res *agentjail.ExecResult) {
	io.WriteString(c.stdout, res.Stdout)
	io.WriteString(c.stderr, res.Stderr)
}
