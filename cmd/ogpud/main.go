// Command ogpud is the one ogpu binary: node, CLI, dev chain, local network and benchmarks.
package main

import (
	"fmt"
	"os"

	"github.com/opengpu/ogpu/cmd/ogpud/cmd"
)

func main() {
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
