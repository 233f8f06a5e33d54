package cmd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opengpu/ogpu/gpu/device"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// The parts of the full report, in the order they run.
var benchParts = []string{"gemm", "timers", "verify-memory", "market", "latency", "vote-extensions"}

// runBenchReport is `ogpud bench` without a subcommand: every benchmark, one table.
func runBenchReport(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	outDir, _ := f.GetString("out")
	compare, _ := f.GetString("compare")
	only, _ := f.GetStringSlice("only")
	clients, _ := f.GetInt("clients")
	duration, _ := f.GetDuration("duration")
	blocks, _ := f.GetInt64("blocks")
	tasks, _ := f.GetInt("tasks")
	for _, p := range only {
		if !slices.Contains(benchParts, p) {
			return fmt.Errorf("--only %q: must be among %s", p, strings.Join(benchParts, ", "))
		}
	}
	if len(only) == 0 {
		only = benchParts
	}
	for _, f := range []struct {
		name  string
		value int64
	}{{"clients", int64(clients)}, {"tasks", int64(tasks)}, {"blocks", blocks}} {
		if f.value < 1 {
			return fmt.Errorf("--%s %d: must be at least 1", f.name, f.value)
		}
	}
	if duration <= 0 {
		return fmt.Errorf("--duration %s: must be positive", duration)
	}
	var earlier *BenchReport
	if compare != "" {
		bz, err := os.ReadFile(compare)
		if err != nil {
			return fmt.Errorf("--compare: %w", err)
		}
		earlier = new(BenchReport)
		if err := json.Unmarshal(bz, earlier); err != nil {
			return fmt.Errorf("--compare %s: %w", compare, err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	parent, err := os.MkdirTemp("", "ogpu-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(parent)
	ctx := cmd.Context()
	progress := cmd.ErrOrStderr()

	r := &BenchReport{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Machine: thisMachine()}
	for _, part := range only {
		fmt.Fprintf(progress, "bench: %s…\n", part)
		start := time.Now()
		dir := filepath.Join(parent, part)
		switch part {
		case "gemm":
			res, err := BenchGemm([]int{512, 1024, 2048})
			if err != nil {
				return fmt.Errorf("gemm: %w", err)
			}
			r.Gemm = &res
		case "timers":
			res, err := BenchTimers(ctx, self, dir, 1000, 5, 10)
			if err != nil {
				return fmt.Errorf("timers: %w", err)
			}
			r.Timers = &res
		case "verify-memory":
			res, err := BenchVerifyMemory(ctx, workload.GemmMaxDim, 3)
			if err != nil {
				return fmt.Errorf("verify-memory: %w", err)
			}
			r.VerifyMemory = &res
		case "market":
			res, err := BenchMarket(ctx, self, dir, clients, 2, duration)
			if err != nil {
				return fmt.Errorf("market: %w", err)
			}
			r.Market = &res
		case "latency":
			res, err := BenchLatency(ctx, self, dir, []int{256, 1024}, tasks)
			if err != nil {
				return fmt.Errorf("latency: %w", err)
			}
			r.Latency = &res
		case "vote-extensions":
			res, err := BenchVoteExtensions(ctx, self, dir, blocks, 256)
			if err != nil {
				return fmt.Errorf("vote-extensions: %w", err)
			}
			r.VoteExtensions = &res
		}
		fmt.Fprintf(progress, "bench: %s done in %s\n", part, time.Since(start).Round(time.Second))
	}
	r.Rows = r.rows()

	md := r.Markdown(earlier)
	fmt.Fprint(cmd.OutOrStdout(), md)
	if outDir == "" {
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	bz, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "bench.json"), append(bz, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "bench.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(progress, "bench: wrote %s and %s\n", filepath.Join(outDir, "bench.md"), filepath.Join(outDir, "bench.json"))
	return nil
}

// BenchReport is the table `ogpud bench` prints, with the raw results it came from.
type BenchReport struct {
	Date           string                    `json:"date"`
	Machine        BenchMachine              `json:"machine"`
	Rows           []BenchRow                `json:"rows"`
	Gemm           *GemmBenchResult          `json:"gemm,omitempty"`
	Market         *MarketBenchResult        `json:"market,omitempty"`
	Latency        *LatencyBenchResult       `json:"latency,omitempty"`
	VoteExtensions *VoteExtensionBenchResult `json:"vote_extensions,omitempty"`
	Timers         *TimersBenchResult        `json:"timers,omitempty"`
	VerifyMemory   *VerifyMemoryBenchResult  `json:"verify_memory,omitempty"`
}

// BenchMachine is where a report was measured.
type BenchMachine struct {
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
	GPU   string `json:"gpu"`
	OS    string `json:"os"`
	Go    string `json:"go"`
}

// BenchRow is one figure: what was measured, against what, and the ratio of the two.
type BenchRow struct {
	ID       string  `json:"id"`
	Figure   string  `json:"figure"`
	Measured string  `json:"measured"`
	Baseline string  `json:"baseline"`
	Ratio    float64 `json:"ratio"`
	Target   string  `json:"target,omitempty"`
	Met      *bool   `json:"met,omitempty"`
}

func thisMachine() BenchMachine {
	m := BenchMachine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), CPU: "unknown CPU"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	inv, err := device.NewNVML().Discover()
	switch {
	case err != nil:
		m.GPU = "none (" + err.Error() + ")"
	case inv.HasGPU():
		var names []string
		for _, d := range inv.Devices {
			names = append(names, fmt.Sprintf("%s %d MiB", d.Name, d.MemoryMiB))
		}
		m.GPU = strings.Join(names, ", ")
	default:
		m.GPU = "none (" + inv.NoGPU + ")"
	}
	return m
}

func met(ok bool) *bool { return &ok }

// timersRatioBound is the most the slowest block processing timers may take, in empty blocks
// of the app (about 2.5 ms on 2 cores): a quarter of the dev chain's 1 s block, so blocks keep
// their pace. A block of 256 timers takes some 20 empty blocks, up to 60 when the collector
// runs in it; all 1,000 timers in one block would take 4 times as long, and more blocks than
// ⌈tasks / max_timers_per_block⌉ mean the timers are not taken at the cap.
const timersRatioBound = 100

// rows turns the results into the table's rows.
func (r *BenchReport) rows() []BenchRow {
	var rows []BenchRow
	if m := r.Market; m != nil {
		rows = append(rows, BenchRow{
			ID: "market-throughput", Figure: "Task market: create-task + bid tx/s against bank-send tx/s (1 validator)",
			Measured: fmt.Sprintf("%.0f tx/s", m.MarketTxPerSec), Baseline: fmt.Sprintf("%.0f tx/s", m.BankTxPerSecond),
			Ratio: m.MarketOverBank, Target: "≥ 0.8", Met: met(m.MarketOverBank >= 0.8),
		})
	}
	if l := r.Latency; l != nil {
		// one block more than before commit–reveal buys the draw after the submission
		bound := int64(l.BidWindow) + 5
		for _, s := range l.Sizes {
			row := BenchRow{
				ID:     fmt.Sprintf("latency-n%d", s.N),
				Figure: fmt.Sprintf("Create → VERIFIED (verdict), n = %d, %d validators + %d providers (%d/%d verified)", s.N, l.Validators, l.Providers, s.Completed, s.Tasks),
				Measured: fmt.Sprintf("p50 %d blocks (%.1f s), p95 %d blocks (%.1f s)",
					s.P50Blocks, s.P50Seconds, s.P95Blocks, s.P95Seconds),
				Baseline: fmt.Sprintf("bid window + 5 = %d blocks", bound),
				Ratio:    float64(s.P50Blocks) / float64(bound),
			}
			if s.N == 256 {
				row.Target, row.Met = "p50 ≤ 1", met(s.Completed > 0 && s.P50Blocks <= bound)
			}
			rows = append(rows, row)
		}
	}
	if g := r.Gemm; g != nil {
		for _, v := range g.Verify {
			row := BenchRow{
				ID: fmt.Sprintf("verify-n%d", v.N), Figure: fmt.Sprintf("Verification (Freivalds) against execution (%s), n = %d", v.Executor, v.N),
				Measured: fmt.Sprintf("verify %.1f ms", v.VerifySeconds*1000), Baseline: fmt.Sprintf("execute %.3f s", v.ExecSeconds),
				Ratio: v.Ratio,
			}
			if v.N == 2048 {
				row.Target, row.Met = "≤ 0.02", met(v.Ratio <= 0.02)
			}
			rows = append(rows, row)
		}
	}
	if ve := r.VoteExtensions; ve != nil {
		rows = append(rows, BenchRow{
			ID: "vote-extension-block-time", Figure: fmt.Sprintf("Block time, %d attestations per vote (commits and reveals, %.0f B each, %.0f B a commit and its reveal; a single attestation before commit–reveal: 42 B) against empty votes, %d validators", ve.Attestations, ve.BytesPerAttestation, 2*ve.BytesPerAttestation, ve.Validators),
			Measured: fmt.Sprintf("%.3f s", ve.FullBlockSeconds), Baseline: fmt.Sprintf("%.3f s", ve.EmptyBlockSeconds),
			Ratio: ve.Ratio, Target: "≤ 1.1", Met: met(ve.Ratio <= 1.1),
		})
	}
	if t := r.Timers; t != nil {
		for _, v := range []struct {
			id, how string
			v       TimersVariant
		}{
			{"timers-expired", "their bid windows ending with no bid (expired)", t.Expired},
			{"timers-matched", "their bid windows ending with a bid each (matched)", t.Matched},
		} {
			var per []string
			if len(v.v.Rounds) > 0 {
				for _, b := range v.v.Rounds[0].Blocks {
					per = append(per, strconv.Itoa(b.Processed))
				}
			}
			rows = append(rows, BenchRow{
				ID: v.id,
				Figure: fmt.Sprintf("Block time (FinalizeBlock + Commit, in process) with %d task timers due at one height, %s, max_timers_per_block %d, against an empty block; median of %d rounds",
					t.Tasks, v.how, t.MaxTimersPerBlock, len(v.v.Rounds)),
				Measured: fmt.Sprintf("slowest %.3f s (median %.3f s), %d blocks (%s)", v.v.SlowestBlockSeconds, v.v.MedianBlockSeconds, v.v.Blocks, strings.Join(per, " + ")),
				Baseline: fmt.Sprintf("empty %.4f s", t.EmptyBlockSeconds),
				Ratio:    v.v.Ratio,
				Target:   fmt.Sprintf("≤ %d, in ⌈%d / %d⌉ = %d blocks", timersRatioBound, t.Tasks, t.MaxTimersPerBlock, t.BlocksWanted),
				Met:      met(v.v.Ratio <= timersRatioBound && v.v.Blocks == t.BlocksWanted),
			})
		}
	}
	if vm := r.VerifyMemory; vm != nil {
		row := BenchRow{
			ID: fmt.Sprintf("verify-memory-n%d", vm.N),
			Figure: fmt.Sprintf("Verifier peak heap, largest task (n = %d, %.0f MiB downloaded from a server in the process), streamed, against the whole-in-memory path",
				vm.N, vm.DownloadedMiB),
			Measured: fmt.Sprintf("%.1f MiB (%.1f s)", vm.StreamedPeakMiB, vm.StreamedSeconds),
			Ratio:    vm.Ratio,
		}
		if vm.WholeInMemorySkipped != "" {
			row.Baseline = "not run: " + vm.WholeInMemorySkipped
		} else {
			row.Baseline = fmt.Sprintf("%.0f MiB (%.1f s)", vm.WholeInMemoryPeakMiB, vm.WholeInMemorySeconds)
			row.Target, row.Met = "≤ 0.01", met(vm.Ratio <= 0.01)
		}
		rows = append(rows, row)
	}
	if g := r.Gemm; g != nil {
		rows = append(rows, BenchRow{
			ID: "executor-cpu", Figure: "CPU executor against the naive loop, 512³ int8",
			Measured: fmt.Sprintf("%.2f GMAC/s", g.CPUGMACs), Baseline: fmt.Sprintf("%.2f GMAC/s", g.NaiveGMACs), Ratio: g.CPUOverNaive,
		})
		if c := g.CUDA; c != nil {
			rows = append(rows,
				BenchRow{
					ID: "executor-cuda", Figure: fmt.Sprintf("CUDA executor (copies included) against bare cuBLAS, %d³ int8 on %s", c.N, g.GPU),
					Measured: fmt.Sprintf("%.1f TOPS", c.ExecutorTOPS), Baseline: fmt.Sprintf("%.1f TOPS", c.BareCublasTOPS), Ratio: c.ExecutorOverRaw,
				},
				BenchRow{
					ID: "executor-cuda-over-cpu", Figure: "CUDA executor against the CPU executor",
					Measured: fmt.Sprintf("%.0f GMAC/s", c.ExecutorTOPS*1e3/2), Baseline: fmt.Sprintf("%.2f GMAC/s", g.CPUGMACs), Ratio: c.OverCPU,
				})
		} else {
			rows = append(rows, BenchRow{
				ID: "executor-cuda", Figure: "CUDA executor against bare cuBLAS", Measured: "not run: " + g.NoGPU, Baseline: "—",
			})
		}
	}
	return rows
}

// Markdown renders the table, with the ratios of an earlier report beside them when given.
func (r *BenchReport) Markdown(earlier *BenchReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## `ogpud bench`, %s\n\n", r.Date)
	fmt.Fprintf(&b, "Machine: %s, %d cores; GPU: %s; %s, %s.\n\n", r.Machine.CPU, r.Machine.Cores, r.Machine.GPU, r.Machine.OS, r.Machine.Go)
	head := "| Figure | Measured | Baseline (same run) | Ratio | Target | Met |"
	sep := "|---|---|---|---|---|---|"
	prev := map[string]float64{}
	if earlier != nil {
		head += " Earlier ratio (" + earlier.Date + ") |"
		sep += "---|"
		for _, row := range earlier.Rows {
			prev[row.ID] = row.Ratio
		}
	}
	fmt.Fprintln(&b, head)
	fmt.Fprintln(&b, sep)
	for _, row := range r.Rows {
		ratio, target, ok := "—", row.Target, ""
		if row.Ratio != 0 {
			ratio = formatRatio(row.Ratio)
		}
		if target == "" {
			target = "—"
		}
		if row.Met != nil {
			ok = map[bool]string{true: "yes", false: "**no**"}[*row.Met]
		}
		line := fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", row.Figure, row.Measured, row.Baseline, ratio, target, ok)
		if earlier != nil {
			p := "—"
			if v, found := prev[row.ID]; found && v != 0 {
				p = formatRatio(v)
			}
			line += " " + p + " |"
		}
		fmt.Fprintln(&b, line)
	}
	return b.String()
}

func formatRatio(v float64) string {
	if v < 0.1 {
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
