package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	"github.com/opengpu/ogpu/x/compute/types"
)

// The stream messages; the keeper implementation lands with the stream keeper.
var errStreamsPending = errorsmod.Register(types.ModuleName, 99, "streams are not enabled in this build")

func (s msgServer) OpenStream(context.Context, *types.MsgOpenStream) (*types.MsgOpenStreamResponse, error) {
	return nil, errStreamsPending
}
func (s msgServer) FundStream(context.Context, *types.MsgFundStream) (*types.MsgFundStreamResponse, error) {
	return nil, errStreamsPending
}
func (s msgServer) CloseStream(context.Context, *types.MsgCloseStream) (*types.MsgCloseStreamResponse, error) {
	return nil, errStreamsPending
}
func (s msgServer) Subscribe(context.Context, *types.MsgSubscribe) (*types.MsgSubscribeResponse, error) {
	return nil, errStreamsPending
}
func (s msgServer) ClaimStream(context.Context, *types.MsgClaimStream) (*types.MsgClaimStreamResponse, error) {
	return nil, errStreamsPending
}
func (s msgServer) CommitReceipts(context.Context, *types.MsgCommitReceipts) (*types.MsgCommitReceiptsResponse, error) {
	return nil, errStreamsPending
}
func (s msgServer) RevealSamples(context.Context, *types.MsgRevealSamples) (*types.MsgRevealSamplesResponse, error) {
	return nil, errStreamsPending
}
func (s msgServer) ChallengeResponse(context.Context, *types.MsgChallengeResponse) (*types.MsgChallengeResponseResponse, error) {
	return nil, errStreamsPending
}
func (q queryServer) Stream(context.Context, *types.QueryStreamRequest) (*types.QueryStreamResponse, error) {
	return nil, errStreamsPending
}
func (q queryServer) Streams(context.Context, *types.QueryStreamsRequest) (*types.QueryStreamsResponse, error) {
	return nil, errStreamsPending
}
