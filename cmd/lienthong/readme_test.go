package main

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/gateway/config"
)

// readmeCommands returns the shell commands of the README's ```sh blocks, one per logical
// line (backslash continuations joined, comments dropped).
func readmeCommands(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	in, cont := false, ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		}
		if !in {
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line = strings.TrimSpace(cont + line)
		cont = ""
		for _, c := range strings.Split(line, ";") {
			if c = strings.TrimSpace(c); c != "" {
				cmds = append(cmds, c)
			}
		}
	}
	return cmds
}

// lienthongArgs returns the arguments of a README command that runs lienthong, or nil.
func lienthongArgs(cmd string) []string {
	for _, prefix := range []string{"go run ./cmd/lienthong ", "bin/lienthong ", "lienthong "} {
		if rest, ok := strings.CutPrefix(cmd, prefix); ok {
			return shellFields(rest)
		}
	}
	return nil
}

// shellFields splits a command line on spaces, keeping single-quoted strings whole.
func shellFields(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`'[^']*'|\S+`).FindAllString(s, -1) {
		out = append(out, strings.Trim(m, "'"))
	}
	return out
}

// Every lienthong command the README shows names a real subcommand, and every flag it uses
// is accepted by that subcommand (checked by parsing the whole command with --help appended,
// which stops before doing anything).
func TestReadmeCommandsParse(t *testing.T) {
	known := map[string]bool{}
	for _, c := range commands() {
		known[c.name] = true
	}
	seen := 0
	for _, cmd := range readmeCommands(t) {
		args := lienthongArgs(cmd)
		if args == nil {
			continue
		}
		seen++
		if !known[args[0]] {
			t.Errorf("README command %q: no subcommand %q", cmd, args[0])
			continue
		}
		var stdout, stderr bytes.Buffer
		if code := dispatch(append(args, "--help"), &stdout, &stderr); code != exitOK {
			t.Errorf("README command %q: its flags are refused (exit %d): %s", cmd, code, stderr.String())
		}
	}
	if seen < 3 {
		t.Fatalf("found %d lienthong commands in the README; the extraction is broken", seen)
	}
}

// The README's configuration table names every setting `lienthong serve` has.
func TestReadmeListsEverySetting(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	for _, s := range c.Settings() {
		if !bytes.Contains(data, []byte("`--"+s.Flag+"`")) {
			t.Errorf("README does not document --%s", s.Flag)
		}
	}
}
