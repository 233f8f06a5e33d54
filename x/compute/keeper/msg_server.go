package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
)

type msgServer struct{ Keeper }

// NewMsgServer returns the module's Msg service.
func NewMsgServer(k Keeper) types.MsgServer { return msgServer{k} }

var _ types.MsgServer = msgServer{}

// signer validates the message (also when it arrives without the ante handler, e.g. through
// authz) and decodes its signer.
func (s msgServer) signer(msg interface{ ValidateBasic() error }, addr string) (sdk.AccAddress, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	a, err := s.addressCodec.StringToBytes(addr)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidAddress, "%q: %v", addr, err)
	}
	return a, nil
}

func (s msgServer) CreateTask(ctx context.Context, msg *types.MsgCreateTask) (*types.MsgCreateTaskResponse, error) {
	creator, err := s.signer(msg, msg.Creator)
	if err != nil {
		return nil, err
	}
	id, err := s.Keeper.CreateTask(ctx, creator, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgCreateTaskResponse{TaskId: id}, nil
}

func (s msgServer) CancelTask(ctx context.Context, msg *types.MsgCancelTask) (*types.MsgCancelTaskResponse, error) {
	creator, err := s.signer(msg, msg.Creator)
	if err != nil {
		return nil, err
	}
	return &types.MsgCancelTaskResponse{}, s.Keeper.CancelTask(ctx, creator, msg.TaskId)
}

func (s msgServer) Bid(ctx context.Context, msg *types.MsgBid) (*types.MsgBidResponse, error) {
	provider, err := s.signer(msg, msg.Provider)
	if err != nil {
		return nil, err
	}
	return &types.MsgBidResponse{}, s.PlaceBid(ctx, provider, msg.TaskId, msg.Price)
}

func (s msgServer) WithdrawBid(ctx context.Context, msg *types.MsgWithdrawBid) (*types.MsgWithdrawBidResponse, error) {
	provider, err := s.signer(msg, msg.Provider)
	if err != nil {
		return nil, err
	}
	return &types.MsgWithdrawBidResponse{}, s.Keeper.WithdrawBid(ctx, provider, msg.TaskId)
}

func (s msgServer) SubmitResult(ctx context.Context, msg *types.MsgSubmitResult) (*types.MsgSubmitResultResponse, error) {
	provider, err := s.signer(msg, msg.Provider)
	if err != nil {
		return nil, err
	}
	return &types.MsgSubmitResultResponse{}, s.Keeper.SubmitResult(ctx, provider, msg.TaskId, msg.Result())
}

func (s msgServer) ReportInputUnavailable(ctx context.Context, msg *types.MsgReportInputUnavailable) (*types.MsgReportInputUnavailableResponse, error) {
	provider, err := s.signer(msg, msg.Provider)
	if err != nil {
		return nil, err
	}
	return &types.MsgReportInputUnavailableResponse{}, s.Keeper.ReportInputUnavailable(ctx, provider, msg.TaskId)
}

func (s msgServer) AcceptResult(ctx context.Context, msg *types.MsgAcceptResult) (*types.MsgAcceptResultResponse, error) {
	creator, err := s.signer(msg, msg.Creator)
	if err != nil {
		return nil, err
	}
	return &types.MsgAcceptResultResponse{}, s.Keeper.AcceptResult(ctx, creator, msg.TaskId)
}

func (s msgServer) DisputeResult(ctx context.Context, msg *types.MsgDisputeResult) (*types.MsgDisputeResultResponse, error) {
	creator, err := s.signer(msg, msg.Creator)
	if err != nil {
		return nil, err
	}
	return &types.MsgDisputeResultResponse{}, s.Keeper.DisputeResult(ctx, creator, msg.TaskId)
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "authority %s: only the governance account %s may update the params", msg.Authority, s.authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, err
	}
	if err := s.providers.CheckHoldFits(ctx, msg.Params.LongestHoldBlocks()); err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidParams, "max_deadline_blocks %d with the verify and dispute windows: %v", msg.Params.MaxDeadlineBlocks, err)
	}
	return &types.MsgUpdateParamsResponse{}, s.Params.Set(ctx, msg.Params)
}
