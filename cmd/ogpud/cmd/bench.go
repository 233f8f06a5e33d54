package cmd

import "github.com/spf13/cobra"

// BenchCmd groups the benchmarks.
func BenchCmd() *cobra.Command {
	return &cobra.Command{Use: "bench", Short: "Benchmarks against a running chain"}
}
