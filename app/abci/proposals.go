package abci

import (
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"cosmossdk.io/core/comet"

	"cosmossdk.io/log/v2"
	"github.com/cosmos/cosmos-sdk/baseapp"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// ExtensionsEnabled reports whether the block at height carries the previous height's vote
// extensions: from the height after VoteExtensionsEnableHeight on.
func ExtensionsEnabled(ctx sdk.Context, height int64) bool {
	cp := ctx.ConsensusParams()
	return cp.Abci != nil && cp.Abci.VoteExtensionsEnableHeight > 0 && height > cp.Abci.VoteExtensionsEnableHeight
}

// ProposalHandler wraps the app's own proposal handlers: it puts the extended commit info first
// in every block that needs it, and rejects a block whose first tx is not a valid one.
type ProposalHandler struct {
	prepare  sdk.PrepareProposalHandler
	process  sdk.ProcessProposalHandler
	valStore baseapp.ValidatorStore
	limits   Limits
	logger   log.Logger
}

// NewProposalHandler wraps prepare and process; limits are the caps the injected extensions were
// voted under, which ProcessProposal applies again: those of the previous block, or larger.
func NewProposalHandler(prepare sdk.PrepareProposalHandler, process sdk.ProcessProposalHandler, valStore baseapp.ValidatorStore, limits Limits, logger log.Logger) *ProposalHandler {
	return &ProposalHandler{prepare: prepare, process: process, valStore: valStore, limits: limits, logger: logger}
}

// PrepareProposal checks the local last commit, reserves room for it in MaxTxBytes, lets the
// inner handler fill the block from the mempool, and puts the commit info first.
func (h *ProposalHandler) PrepareProposal() sdk.PrepareProposalHandler {
	return func(ctx sdk.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
		if !ExtensionsEnabled(ctx, req.Height) {
			return h.prepare(ctx, req)
		}
		if err := baseapp.ValidateVoteExtensions(ctx, h.valStore, req.Height, ctx.ChainID(), req.LocalLastCommit); err != nil {
			// CometBFT verified every extension before handing them over; this is a bug, and
			// proposing it would only get the block rejected
			return nil, fmt.Errorf("local last commit at height %d: %w", req.Height, err)
		}
		injected, err := EncodeInjected(req.LocalLastCommit)
		if err != nil {
			return nil, err
		}
		// CometBFT counts a tx in max_tx_bytes as it is encoded in the block's data, with its
		// field tag and length prefix: reserve that, or a full block goes over
		size := cmttypes.ComputeProtoSizeForTxs([]cmttypes.Tx{injected})
		if size > req.MaxTxBytes {
			return nil, fmt.Errorf("extended commit info of %d encoded bytes does not fit in max_tx_bytes %d", size, req.MaxTxBytes)
		}
		inner := *req
		inner.MaxTxBytes -= size
		resp, err := h.prepare(ctx, &inner)
		if err != nil {
			return nil, err
		}
		resp.Txs = append([][]byte{injected}, resp.Txs...)
		return resp, nil
	}
}

// ProcessProposal rejects a block that needs the extended commit info and lacks it, carries it
// undecodable, or carries one that fails signature, power or last-commit checks, or the caps
// VerifyVoteExtension applies; then it hands the other txs to the inner handler.
func (h *ProposalHandler) ProcessProposal() sdk.ProcessProposalHandler {
	return func(ctx sdk.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
		reject := &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}
		if !ExtensionsEnabled(ctx, req.Height) {
			for _, tx := range req.Txs {
				if IsInjected(tx) {
					h.logger.Info("rejecting proposal: extended commit info before extensions are enabled", "height", req.Height)
					return reject, nil
				}
			}
			return h.process(ctx, req)
		}
		if len(req.Txs) == 0 {
			h.logger.Info("rejecting proposal: extended commit info missing", "height", req.Height)
			return reject, nil
		}
		eci, err := DecodeInjected(req.Txs[0], int(maxInjectedBytes(ctx)))
		if err != nil {
			h.logger.Info("rejecting proposal", "height", req.Height, "err", err)
			return reject, nil
		}
		if err := baseapp.ValidateVoteExtensions(ctx, h.valStore, req.Height, ctx.ChainID(), eci); err != nil {
			h.logger.Info("rejecting proposal: invalid extended commit info", "height", req.Height, "err", err)
			return reject, nil
		}
		if err := sameFlags(eci, ctx.CometInfo().GetLastCommit()); err != nil {
			h.logger.Info("rejecting proposal: extended commit info hides votes", "height", req.Height, "err", err)
			return reject, nil
		}
		maxCount, maxBytes := h.limits(ctx)
		if err := checkExtensions(eci, maxCount, maxBytes); err != nil {
			h.logger.Info("rejecting proposal: extended commit info breaks the vote extension caps", "height", req.Height, "err", err)
			return reject, nil
		}
		for _, tx := range req.Txs[1:] {
			if IsInjected(tx) {
				h.logger.Info("rejecting proposal: a second extended commit info", "height", req.Height)
				return reject, nil
			}
		}
		inner := *req
		inner.Txs = req.Txs[1:]
		return h.process(ctx, &inner)
	}
}

// sameFlags checks that the proposer marked no committed vote absent (which would drop its
// attestations): every vote must carry the flag it has in the block's last commit.
func sameFlags(eci abci.ExtendedCommitInfo, last comet.CommitInfo) error {
	votes := last.Votes()
	if votes.Len() != len(eci.Votes) {
		return fmt.Errorf("%d votes, the last commit has %d", len(eci.Votes), votes.Len())
	}
	for i, v := range eci.Votes {
		if want := cmtproto.BlockIDFlag(votes.Get(i).GetBlockIDFlag()); v.BlockIdFlag != want {
			return fmt.Errorf("vote %d has flag %s, the last commit %s", i, v.BlockIdFlag, want)
		}
	}
	return nil
}

// checkExtensions applies to every extension of eci the checks VerifyVoteExtension applies to
// each vote: a proposer could otherwise inject one its peers refused, signed by itself or by a
// colluding validator. A vote that is not a commit carries no extension: CometBFT strips it, and
// ValidateVoteExtensions checks no signature on it.
func checkExtensions(eci abci.ExtendedCommitInfo, maxCount, maxBytes int) error {
	for i, v := range eci.Votes {
		if v.BlockIdFlag != cmtproto.BlockIDFlagCommit {
			if len(v.VoteExtension) != 0 || len(v.ExtensionSignature) != 0 {
				return fmt.Errorf("votes[%d] (validator %X): flag %s with a vote extension or its signature; only commits carry one", i, v.Validator.Address, v.BlockIdFlag)
			}
			continue
		}
		if len(v.VoteExtension) == 0 {
			continue
		}
		if _, err := DecodeExtension(v.VoteExtension, maxCount, maxBytes); err != nil {
			return fmt.Errorf("votes[%d] (validator %X): %w", i, v.Validator.Address, err)
		}
	}
	return nil
}

// maxInjectedBytes is the block's byte budget: the injected tx can be no larger.
func maxInjectedBytes(ctx sdk.Context) int64 {
	if cp := ctx.ConsensusParams(); cp.Block != nil && cp.Block.MaxBytes > 0 {
		return cp.Block.MaxBytes
	}
	return 21 << 20 // CometBFT's hard cap on block size
}
