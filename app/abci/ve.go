package abci

import (
	"context"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"cosmossdk.io/log/v2"
	sdk "github.com/cosmos/cosmos-sdk/types"

	committeetypes "github.com/opengpu/ogpu/x/committee/types"
)

// Attestor is the node's view of its sidecar: the attestations and probe reports to put in the
// vote at height, as the extension they make before the caps.
type Attestor interface {
	Attestations(ctx context.Context, height int64) (committeetypes.VoteExtension, error)
}

// Limits reads caps on vote extensions from the committee's state in ctx: for the votes being
// made (committee keeper's VoteExtensionCaps), or for the extensions a block carries, which were
// voted a height before and may exceed caps lowered since (InjectedExtensionCaps).
type Limits func(ctx sdk.Context) (maxCount, maxBytes int)

// AttestorTimeout bounds how long ExtendVote waits for the sidecar.
const AttestorTimeout = 500 * time.Millisecond

// VoteExtensionHandler builds and checks vote extensions.
type VoteExtensionHandler struct {
	attestor Attestor // nil: this validator has no sidecar and votes with empty extensions
	limits   Limits
	timeout  time.Duration
	logger   log.Logger
}

// NewVoteExtensionHandler returns the handler; attestor may be nil; limits are the caps on the
// votes being made.
func NewVoteExtensionHandler(attestor Attestor, limits Limits, logger log.Logger) *VoteExtensionHandler {
	return &VoteExtensionHandler{attestor: attestor, limits: limits, timeout: AttestorTimeout, logger: logger}
}

// ExtendVote asks the sidecar for attestations and probe reports and never fails: on an error, a timeout or a
// panic it returns an empty extension, so the validator still votes.
func (h *VoteExtensionHandler) ExtendVote() sdk.ExtendVoteHandler {
	return func(ctx sdk.Context, req *abci.RequestExtendVote) (resp *abci.ResponseExtendVote, err error) {
		empty := &abci.ResponseExtendVote{VoteExtension: []byte{}}
		defer func() {
			if r := recover(); r != nil {
				h.logger.Error("extend vote panicked; voting with an empty extension", "height", req.Height, "panic", fmt.Sprint(r))
				resp, err = empty, nil
			}
		}()
		if h.attestor == nil {
			return empty, nil
		}
		cctx, cancel := context.WithTimeout(ctx.Context(), h.timeout)
		defer cancel()
		type result struct {
			ve  committeetypes.VoteExtension
			err error
		}
		ch := make(chan result, 1)
		go func() {
			defer func() {
				if r := recover(); r != nil {
					ch <- result{err: fmt.Errorf("attestor panicked: %v", r)}
				}
			}()
			ve, err := h.attestor.Attestations(cctx, req.Height)
			ch <- result{ve, err}
		}()
		var res result
		select {
		case res = <-ch:
		case <-cctx.Done():
			res.err = cctx.Err()
		}
		if res.err != nil {
			h.logger.Error("sidecar gave no attestations; voting with an empty extension", "height", req.Height, "err", res.err)
			return empty, nil
		}
		maxCount, maxBytes := h.limits(ctx)
		bz, err := EncodeVoteExtension(res.ve, maxCount, maxBytes)
		if err != nil {
			h.logger.Error("encode vote extension", "height", req.Height, "err", err)
			return empty, nil
		}
		return &abci.ResponseExtendVote{VoteExtension: bz}, nil
	}
}

// VerifyVoteExtension accepts an empty extension and any extension that decodes within the caps;
// it looks at nothing but the bytes and the params.
func (h *VoteExtensionHandler) VerifyVoteExtension() sdk.VerifyVoteExtensionHandler {
	return func(ctx sdk.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
		if len(req.VoteExtension) == 0 {
			return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
		}
		maxCount, maxBytes := h.limits(ctx)
		if _, err := DecodeExtension(req.VoteExtension, maxCount, maxBytes); err != nil {
			h.logger.Info("rejecting vote extension", "height", req.Height, "validator", fmt.Sprintf("%X", req.ValidatorAddress), "err", err)
			return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_REJECT}, nil
		}
		return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
	}
}
