package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/opengpu/ogpu/sidecar"
)

// VerifyMemoryResult is what the verify-memory benchmark (`ogpud bench verify-memory`) measures.
type VerifyMemoryResult struct {
	N               int     `json:"n"`
	DownloadedMiB   float64 `json:"downloaded_mib"`
	Runs            int     `json:"runs"`
	StreamedPeakMiB float64 `json:"streamed_peak_heap_mib"`
	StreamedSeconds float64 `json:"streamed_seconds"` // the fastest run
	// the whole-in-memory baseline, or why it was not run
	WholeInMemoryPeakMiB float64 `json:"whole_in_memory_peak_heap_mib,omitempty"`
	WholeInMemorySeconds float64 `json:"whole_in_memory_seconds,omitempty"`
	WholeInMemorySkipped string  `json:"whole_in_memory_skipped,omitempty"`
	Ratio                float64 `json:"streamed_over_whole_in_memory,omitempty"`
	NumCPU               int     `json:"num_cpu"`
}

// VerifyMemory measures a verifier's peak heap for an n×n×n task in this process.
func VerifyMemory(ctx context.Context, n, runs int) (VerifyMemoryResult, error) {
	b, err := sidecar.NewVerifyMemoryBench(n)
	if err != nil {
		return VerifyMemoryResult{}, err
	}
	defer b.Close()
	const mib = 1 << 20
	res := VerifyMemoryResult{N: n, DownloadedMiB: float64(b.Downloaded) / mib, Runs: runs, NumCPU: runtime.NumCPU()}
	var peak uint64
	for range runs {
		start := time.Now()
		p, err := b.Streamed(ctx)
		if err != nil {
			return res, err
		}
		if s := time.Since(start).Seconds(); res.StreamedSeconds == 0 || s < res.StreamedSeconds {
			res.StreamedSeconds = s
		}
		peak = max(peak, p)
	}
	res.StreamedPeakMiB = float64(peak) / mib

	// the old path holds every blob and a copy of each input: twice what is downloaded, and
	// a margin for the result's buffer growing as it is read
	need := 5 * b.Downloaded / 2
	if avail, err := memAvailable(); err != nil {
		res.WholeInMemorySkipped = err.Error()
		return res, nil
	} else if avail < need {
		res.WholeInMemorySkipped = fmt.Sprintf("needs about %d MiB, %d MiB available", need/mib, avail/mib)
		return res, nil
	}
	start := time.Now()
	old, err := b.WholeInMemory(ctx)
	if err != nil {
		return res, err
	}
	res.WholeInMemorySeconds = time.Since(start).Seconds()
	debug.FreeOSMemory() // the parts after this one need not share the machine with its 3 GiB
	res.WholeInMemoryPeakMiB = float64(old) / mib
	res.Ratio = float64(peak) / float64(max(old, 1))
	return res, nil
}

// memAvailable is the kernel's estimate of the memory available without swapping
// (MemAvailable in /proc/meminfo), in bytes.
func memAvailable() (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("available memory unknown: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kib, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("MemAvailable %q: %w", rest, err)
			}
			return kib << 10, nil
		}
	}
	return 0, fmt.Errorf("available memory unknown: no MemAvailable in /proc/meminfo")
}
