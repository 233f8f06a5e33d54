package cmd

import (
	"fmt"
	"os"
	"strings"
)

// tomlEdit sets key = value inside [section] of a TOML file written by ogpud (CometBFT's
// config.toml or app.toml); section "" is the top level. Each key must already be there:
// the templates write every key, so a missing one means a typo here.
type tomlEdit struct {
	section, key, value string
}

func editTOML(path string, edits ...tomlEdit) error {
	bz, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(bz), "\n")
	for _, e := range edits {
		section, done := "", false
		for i, line := range lines {
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]") {
				section = strings.Trim(trimmed, "[]")
				continue
			}
			if section != e.section {
				continue
			}
			if k, _, ok := strings.Cut(trimmed, "="); ok && strings.TrimSpace(k) == e.key {
				lines[i] = e.key + " = " + e.value
				done = true
				break
			}
		}
		if !done {
			return fmt.Errorf("%s: no key %q in section [%s]", path, e.key, e.section)
		}
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
