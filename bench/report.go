package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/opengpu/ogpu/gpu/device"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// Parts are the parts of the full report, in the order they run by default.
var Parts = []string{"gemm", "mlp", "timers", "precompile", "verify-memory", "market", "stream", "latency", "vote-extensions"}

// Options are the settings of a full run that `ogpud bench`'s flags choose.
type Options struct {
	Parts    []string      // among Parts, run in this order
	Clients  int           // market: concurrent clients, and as many providers
	Duration time.Duration // market: length of each measuring window
	Tasks    int           // latency: tasks per size
	Blocks   int64         // vote-extensions: blocks measured in each phase
	// stream: concurrent clients of the stream and of the plain path, and the requests each
	// path sends
	StreamClients  int
	StreamRequests int
}

// Run runs the parts one after another, each on its own fresh chain or network in a new
// directory it removes afterwards, says on progress when each starts and ends, and returns
// the report with its rows.
func Run(ctx context.Context, env Env, o Options, progress io.Writer) (*Report, error) {
	parent, err := os.MkdirTemp("", "ogpu-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(parent)

	r := &Report{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Machine: thisMachine()}
	for _, part := range o.Parts {
		fmt.Fprintf(progress, "bench: %s…\n", part)
		start := time.Now()
		dir := filepath.Join(parent, part)
		switch part {
		case "gemm":
			res, err := Gemm([]int{512, 1024, 2048})
			if err != nil {
				return nil, fmt.Errorf("gemm: %w", err)
			}
			r.Gemm = &res
		case "mlp":
			res, err := MLP()
			if err != nil {
				return nil, fmt.Errorf("mlp: %w", err)
			}
			r.MLP = &res
		case "timers":
			res, err := Timers(ctx, env, dir, 1000, 5, 10)
			if err != nil {
				return nil, fmt.Errorf("timers: %w", err)
			}
			r.Timers = &res
		case "precompile":
			res, err := Precompile(ctx, env, dir, 8, 200, 10)
			if err != nil {
				return nil, fmt.Errorf("precompile: %w", err)
			}
			r.Precompile = &res
		case "verify-memory":
			res, err := VerifyMemory(ctx, workload.GemmMaxDim, 3)
			if err != nil {
				return nil, fmt.Errorf("verify-memory: %w", err)
			}
			r.VerifyMemory = &res
		case "market":
			res, err := Market(ctx, env, dir, o.Clients, 2, o.Duration)
			if err != nil {
				return nil, fmt.Errorf("market: %w", err)
			}
			r.Market = &res
		case "stream":
			res, err := StreamBench(ctx, env, dir, o.StreamClients, o.StreamRequests)
			if err != nil {
				return nil, fmt.Errorf("stream: %w", err)
			}
			r.Stream = &res
		case "latency":
			res, err := Latency(ctx, env, dir, []int{256, 1024}, o.Tasks)
			if err != nil {
				return nil, fmt.Errorf("latency: %w", err)
			}
			r.Latency = &res
		case "vote-extensions":
			res, err := VoteExtensions(ctx, env, dir, o.Blocks, 256)
			if err != nil {
				return nil, fmt.Errorf("vote-extensions: %w", err)
			}
			r.VoteExtensions = &res
		default:
			return nil, fmt.Errorf("part %q: must be among %s", part, strings.Join(Parts, ", "))
		}
		fmt.Fprintf(progress, "bench: %s done in %s\n", part, time.Since(start).Round(time.Second))
	}
	r.Rows = r.rows()
	return r, nil
}

// ReadReport reads a report from its bench.json.
func ReadReport(path string) (*Report, error) {
	bz, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := new(Report)
	if err := json.Unmarshal(bz, r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// WriteFiles writes the table (md, as Markdown renders it) to bench.md and the report to
// bench.json in dir, and returns the two paths.
func (r *Report) WriteFiles(dir, md string) (string, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	bz, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", "", err
	}
	mdPath, jsonPath := filepath.Join(dir, "bench.md"), filepath.Join(dir, "bench.json")
	if err := os.WriteFile(jsonPath, append(bz, '\n'), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
		return "", "", err
	}
	return mdPath, jsonPath, nil
}

// Report is the table `ogpud bench` prints, with the raw results it came from.
type Report struct {
	Date           string                `json:"date"`
	Machine        Machine               `json:"machine"`
	Rows           []Row                 `json:"rows"`
	Gemm           *GemmResult           `json:"gemm,omitempty"`
	MLP            *MLPResult            `json:"mlp,omitempty"`
	Market         *MarketResult         `json:"market,omitempty"`
	Stream         *StreamResult         `json:"stream,omitempty"`
	Latency        *LatencyResult        `json:"latency,omitempty"`
	VoteExtensions *VoteExtensionsResult `json:"vote_extensions,omitempty"`
	Timers         *TimersResult         `json:"timers,omitempty"`
	VerifyMemory   *VerifyMemoryResult   `json:"verify_memory,omitempty"`
	Precompile     *PrecompileResult     `json:"precompile,omitempty"`
}

// Machine is where a report was measured.
type Machine struct {
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
	GPU   string `json:"gpu"`
	OS    string `json:"os"`
	Go    string `json:"go"`
}

// Row is one figure: what was measured, against what, and the ratio of the two.
type Row struct {
	ID       string  `json:"id"`
	Figure   string  `json:"figure"`
	Measured string  `json:"measured"`
	Baseline string  `json:"baseline"`
	Ratio    float64 `json:"ratio"`
	Target   string  `json:"target,omitempty"`
	Met      *bool   `json:"met,omitempty"`
}

func thisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), CPU: "unknown CPU"}
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
func (r *Report) rows() []Row {
	var rows []Row
	if m := r.Market; m != nil {
		rows = append(rows, Row{
			ID: "market-throughput", Figure: "Task market: create-task + bid tx/s against bank-send tx/s (1 validator)",
			Measured: fmt.Sprintf("%.0f tx/s", m.MarketTxPerSec), Baseline: fmt.Sprintf("%.0f tx/s", m.BankTxPerSecond),
			Ratio: m.MarketOverBank, Target: "≥ 0.8", Met: met(m.MarketOverBank >= 0.8),
		})
	}
	if s := r.Stream; s != nil {
		rows = append(rows, s.rows()...)
	}
	if l := r.Latency; l != nil {
		// one block more than before commit–reveal buys the draw after the submission
		bound := int64(l.BidWindow) + 5
		for _, s := range l.Sizes {
			row := Row{
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
	if g := r.Gemm; g != nil && len(g.Kernels) > 0 {
		bestPath := g.Kernels[len(g.Kernels)-1]
		for _, k := range g.Kernels {
			row := Row{
				ID: "kernel-" + k.Path, Figure: fmt.Sprintf("CPU int8 GEMM kernel %q at %d³ on %d cores (packing included) against the naive loop", k.Path, g.KernelN, g.NumCPU),
				Measured: fmt.Sprintf("%.1f GMAC/s", k.GMACs), Baseline: fmt.Sprintf("naive %.2f GMAC/s", g.KernelNaive),
				Ratio: k.GMACs / g.KernelNaive,
			}
			if k == bestPath && k.Path == "vnni" {
				row.Target, row.Met = "≥ 600 GMAC/s", met(k.GMACs >= 600)
			}
			rows = append(rows, row)
		}
		if generic := g.Kernels[0]; bestPath.Path != generic.Path {
			rows = append(rows, Row{
				ID: "kernel-best-over-go", Figure: fmt.Sprintf("Best CPU kernel (%s) against the pure Go path, %d³", bestPath.Path, g.KernelN),
				Measured: fmt.Sprintf("%.1f GMAC/s", bestPath.GMACs), Baseline: fmt.Sprintf("%.1f GMAC/s", generic.GMACs),
				Ratio: bestPath.GMACs / generic.GMACs,
			})
		}
	}
	if m := r.MLP; m != nil {
		rows = append(rows, Row{
			ID: "mlp-infer-verify", Figure: fmt.Sprintf("infer-mlp-int8: a member's check (Freivalds per layer, requantization, logits, argmax) against the run, widths %v, %d rows", m.InferWidths, m.InferRows),
			Measured: fmt.Sprintf("verify %.1f ms", m.VerifyInferSecs*1000), Baseline: fmt.Sprintf("infer %.1f ms (%.0f rows/s)", m.InferSeconds*1000, m.InferRowsPerSec),
			Ratio: m.VerifyOverInfer, Target: "≤ 0.02", Met: met(m.VerifyOverInfer <= 0.02),
		}, Row{
			ID: "mlp-train-verify", Figure: fmt.Sprintf("train-mlp-int8: a member's check (%d sampled steps re-run, the final state) against the run, widths %v, %d steps of %d", m.Samples, m.TrainWidths, m.TrainSteps, m.TrainBatch),
			Measured: fmt.Sprintf("verify %.1f ms", m.VerifyTrainSecs*1000), Baseline: fmt.Sprintf("train %.2f s (%.0f steps/s)", m.TrainSeconds, m.TrainStepsPerSec),
			Ratio: m.VerifyOverTrain, Target: "≤ 0.05", Met: met(m.VerifyOverTrain <= 0.05),
		})
	}
	if g := r.Gemm; g != nil {
		for _, v := range g.Verify {
			row := Row{
				ID: fmt.Sprintf("verify-n%d", v.N), Figure: fmt.Sprintf("Verification (Freivalds) against execution (%s), n = %d", v.Executor, v.N),
				Measured: fmt.Sprintf("verify %.1f ms", v.VerifySeconds*1000), Baseline: fmt.Sprintf("execute %.1f ms", v.ExecSeconds*1000),
				Ratio: v.Ratio,
			}
			if v.N == 2048 {
				row.Target, row.Met = "≤ 0.02", met(v.Ratio <= 0.02)
			}
			rows = append(rows, row)
		}
	}
	if ve := r.VoteExtensions; ve != nil {
		rows = append(rows, Row{
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
			rows = append(rows, Row{
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
	if p := r.Precompile; p != nil {
		rows = append(rows, p.rows()...)
	}
	if vm := r.VerifyMemory; vm != nil {
		row := Row{
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
		rows = append(rows, Row{
			ID: "executor-cpu", Figure: "CPU executor against the naive loop, 512³ int8",
			Measured: fmt.Sprintf("%.2f GMAC/s", g.CPUGMACs), Baseline: fmt.Sprintf("%.2f GMAC/s", g.NaiveGMACs), Ratio: g.CPUOverNaive,
		})
		if c := g.CUDA; c != nil {
			rows = append(rows,
				Row{
					ID: "executor-cuda", Figure: fmt.Sprintf("CUDA executor (copies included) against bare cuBLAS, %d³ int8 on %s", c.N, g.GPU),
					Measured: fmt.Sprintf("%.1f TOPS", c.ExecutorTOPS), Baseline: fmt.Sprintf("%.1f TOPS", c.BareCublasTOPS), Ratio: c.ExecutorOverRaw,
				},
				Row{
					ID: "executor-cuda-over-cpu", Figure: "CUDA executor against the CPU executor",
					Measured: fmt.Sprintf("%.0f GMAC/s", c.ExecutorTOPS*1e3/2), Baseline: fmt.Sprintf("%.2f GMAC/s", g.CPUGMACs), Ratio: c.OverCPU,
				})
		} else {
			rows = append(rows, Row{
				ID: "executor-cuda", Figure: "CUDA executor against bare cuBLAS", Measured: "not run: " + g.NoGPU, Baseline: "—",
			})
		}
	}
	return rows
}

// Markdown renders the table, with the ratios of an earlier report beside them when given.
func (r *Report) Markdown(earlier *Report) string {
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
