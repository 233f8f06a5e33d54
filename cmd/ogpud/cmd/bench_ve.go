package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/opengpu/ogpu/app"
	ogpuabci "github.com/opengpu/ogpu/app/abci"
	"github.com/opengpu/ogpu/testutil/attestor"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
)

func benchVoteExtensionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vote-extensions",
		Short: "Block time of a 4-validator network with full vote extensions against empty ones",
		Long: `Start 4 validators on 127.0.0.1-4, each with a scripted sidecar attestor. Measure the mean block
time over --blocks blocks while the attestors return nothing, then while each returns --attestations
attestations in every vote, and print both, their ratio, and the bytes per attestation. The
attestations name no real task, so they are signed, carried, verified and decoded, but not stored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			blocks, _ := cmd.Flags().GetInt64("blocks")
			n, _ := cmd.Flags().GetInt("attestations")
			if blocks < 1 {
				return fmt.Errorf("--blocks %d: must be at least 1", blocks)
			}
			if n < 1 {
				return fmt.Errorf("--attestations %d: must be at least 1", n)
			}
			return benchRun(cmd, func(ctx context.Context, self, dir string) (any, error) {
				return BenchVoteExtensions(ctx, self, dir, blocks, n)
			})
		},
	}
	cmd.Flags().Int64("blocks", 20, "blocks measured in each phase")
	cmd.Flags().Int("attestations", 256, "attestations per vote extension in the full phase")
	return cmd
}

// VoteExtensionBenchResult is what `ogpud bench vote-extensions` measures.
type VoteExtensionBenchResult struct {
	Validators          int     `json:"validators"`
	Blocks              int64   `json:"blocks_per_phase"`
	EmptyBlockSeconds   float64 `json:"empty_block_seconds"`
	FullBlockSeconds    float64 `json:"full_block_seconds"`
	Ratio               float64 `json:"full_over_empty"`
	Attestations        int     `json:"attestations_per_extension"`
	ExtensionBytes      int     `json:"extension_bytes"`
	BytesPerAttestation float64 `json:"bytes_per_attestation"`
	NumCPU              int     `json:"num_cpu"`
}

// BenchVoteExtensions runs the benchmark on a new 4-validator network in dir.
func BenchVoteExtensions(ctx context.Context, self, dir string, blocks int64, n int) (VoteExtensionBenchResult, error) {
	const validators = 4
	if err := InitTestnetFiles(self, dir, "ogpu-bench-1", app.DefaultEVMChainID, validators); err != nil {
		return VoteExtensionBenchResult{}, err
	}
	attestors := make([]*attestor.Scripted, validators)
	for i := range attestors {
		a, err := attestor.Start("127.0.0.1:0")
		if err != nil {
			return VoteExtensionBenchResult{}, err
		}
		defer a.Stop()
		attestors[i] = a
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if err := editTOML(filepath.Join(home, "config", "app.toml"), tomlEdit{"sidecar", "address", quote(a.Addr())}); err != nil {
			return VoteExtensionBenchResult{}, err
		}
		node := exec.Command(self, "start", "--home", home, "--log_level", "error")
		logFile, err := os.Create(filepath.Join(home, "node.log"))
		if err != nil {
			return VoteExtensionBenchResult{}, err
		}
		node.Stdout, node.Stderr = logFile, logFile
		if err := node.Start(); err != nil {
			return VoteExtensionBenchResult{}, err
		}
		defer func() {
			_ = node.Process.Signal(os.Interrupt)
			_ = node.Wait()
		}()
	}
	rpc, err := rpchttp.New("http://127.0.0.1:26657", "/websocket")
	if err != nil {
		return VoteExtensionBenchResult{}, err
	}
	if _, err := waitHeight(ctx, rpc, 4, 3*time.Minute); err != nil {
		return VoteExtensionBenchResult{}, err
	}
	empty, err := meanBlockTime(ctx, rpc, blocks)
	if err != nil {
		return VoteExtensionBenchResult{}, err
	}

	// a member's work on one task is a commit and, a few blocks later, a reveal: half of each
	atts := make([]committeetypes.Attestation, n)
	for i := range atts {
		sha := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		id := 1_000_000 + uint64(i/2)
		if i%2 == 0 {
			atts[i] = committeetypes.Attestation{TaskId: id, Commitment: sha[:]}
		} else {
			atts[i] = committeetypes.Attestation{TaskId: id, Verdict: committeetypes.ATTESTED_VALID, Digest: sha[:], Salt: sha[:committeetypes.SaltSize]}
		}
	}
	for _, a := range attestors {
		a.Set(atts...)
	}
	bz, err := ogpuabci.EncodeExtension(atts, n, 1<<30)
	if err != nil {
		return VoteExtensionBenchResult{}, err
	}
	h, err := waitHeight(ctx, rpc, 0, time.Minute)
	if err != nil {
		return VoteExtensionBenchResult{}, err
	}
	if _, err := waitHeight(ctx, rpc, h+2, time.Minute); err != nil { // the full extensions are in blocks now
		return VoteExtensionBenchResult{}, err
	}
	full, err := meanBlockTime(ctx, rpc, blocks)
	if err != nil {
		return VoteExtensionBenchResult{}, err
	}
	return VoteExtensionBenchResult{
		Validators: validators, Blocks: blocks, EmptyBlockSeconds: empty, FullBlockSeconds: full, Ratio: full / empty,
		Attestations: n, ExtensionBytes: len(bz), BytesPerAttestation: float64(len(bz)) / float64(max(n, 1)), NumCPU: runtime.NumCPU(),
	}, nil
}

// meanBlockTime waits for blocks more blocks and returns the mean interval of their header times.
func meanBlockTime(ctx context.Context, rpc *rpchttp.HTTP, blocks int64) (float64, error) {
	start, err := waitHeight(ctx, rpc, 0, time.Minute)
	if err != nil {
		return 0, err
	}
	end, err := waitHeight(ctx, rpc, start+blocks, time.Duration(blocks)*10*time.Second)
	if err != nil {
		return 0, err
	}
	first, err := rpc.Block(ctx, &start)
	if err != nil {
		return 0, err
	}
	last, err := rpc.Block(ctx, &end)
	if err != nil {
		return 0, err
	}
	return last.Block.Time.Sub(first.Block.Time).Seconds() / float64(end-start), nil
}
