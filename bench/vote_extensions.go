package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	ogpuabci "github.com/opengpu/ogpu/app/abci"
	"github.com/opengpu/ogpu/testutil/attestor"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
)

// VoteExtensionsResult is what the vote-extensions benchmark (`ogpud bench vote-extensions`) measures.
type VoteExtensionsResult struct {
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

// VoteExtensions runs the benchmark on a new 4-validator network in dir.
func VoteExtensions(ctx context.Context, env Env, dir string, blocks int64, n int) (VoteExtensionsResult, error) {
	const validators = 4
	if err := env.WriteTestnet(dir, "ogpu-bench-1", validators); err != nil {
		return VoteExtensionsResult{}, err
	}
	attestors := make([]*attestor.Scripted, validators)
	var ps processes
	defer func() { // the nodes first, so none sees its attestor go away
		ps.stop()
		for _, a := range attestors {
			if a != nil {
				a.Stop()
			}
		}
	}()
	for i := range attestors {
		a, err := attestor.Start("127.0.0.1:0")
		if err != nil {
			return VoteExtensionsResult{}, err
		}
		attestors[i] = a
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if err := env.SetSidecarAddress(home, a.Addr()); err != nil {
			return VoteExtensionsResult{}, err
		}
		if _, err := ps.start(env.Binary, home, env.NodeHost(i), filepath.Join(home, "node.log"), "start", "--home", home, "--log_level", "error"); err != nil {
			return VoteExtensionsResult{}, err
		}
	}
	rpc, err := rpchttp.New(ps[0].RPC(), "/websocket")
	if err != nil {
		return VoteExtensionsResult{}, err
	}
	if _, err := waitHeight(ctx, rpc, 4, 3*time.Minute); err != nil {
		return VoteExtensionsResult{}, err
	}
	empty, err := meanBlockTime(ctx, rpc, blocks)
	if err != nil {
		return VoteExtensionsResult{}, err
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
		return VoteExtensionsResult{}, err
	}
	h, err := waitHeight(ctx, rpc, 0, time.Minute)
	if err != nil {
		return VoteExtensionsResult{}, err
	}
	if _, err := waitHeight(ctx, rpc, h+2, time.Minute); err != nil { // the full extensions are in blocks now
		return VoteExtensionsResult{}, err
	}
	full, err := meanBlockTime(ctx, rpc, blocks)
	if err != nil {
		return VoteExtensionsResult{}, err
	}
	return VoteExtensionsResult{
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
