package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

type msgServer struct{ Keeper }

// NewMsgServer returns the module's Msg service.
func NewMsgServer(k Keeper) types.MsgServer { return msgServer{k} }

var _ types.MsgServer = msgServer{}

// operator validates the message (also when it arrives without the ante handler, e.g. through
// authz) and decodes its signer.
func (s msgServer) operator(msg interface{ ValidateBasic() error }, operator string) (sdk.AccAddress, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	addr, err := s.addressCodec.StringToBytes(operator)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidOperator, "operator %q: %v", operator, err)
	}
	return addr, nil
}

func (s msgServer) RegisterProvider(ctx context.Context, msg *types.MsgRegisterProvider) (*types.MsgRegisterProviderResponse, error) {
	op, err := s.operator(msg, msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgRegisterProviderResponse{}, s.Keeper.RegisterProvider(ctx, op, msg.Moniker, msg.Endpoint, msg.Gpus, msg.Workloads)
}

func (s msgServer) UpdateProvider(ctx context.Context, msg *types.MsgUpdateProvider) (*types.MsgUpdateProviderResponse, error) {
	op, err := s.operator(msg, msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgUpdateProviderResponse{}, s.Keeper.UpdateProvider(ctx, op, msg.Moniker, msg.Endpoint, msg.Gpus, msg.Workloads)
}

func (s msgServer) DeregisterProvider(ctx context.Context, msg *types.MsgDeregisterProvider) (*types.MsgDeregisterProviderResponse, error) {
	op, err := s.operator(msg, msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgDeregisterProviderResponse{}, s.Keeper.DeregisterProvider(ctx, op)
}

func (s msgServer) Bond(ctx context.Context, msg *types.MsgBond) (*types.MsgBondResponse, error) {
	op, err := s.operator(msg, msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgBondResponse{}, s.Keeper.Bond(ctx, op, msg.Amount)
}

func (s msgServer) Unbond(ctx context.Context, msg *types.MsgUnbond) (*types.MsgUnbondResponse, error) {
	op, err := s.operator(msg, msg.Operator)
	if err != nil {
		return nil, err
	}
	id, err := s.Keeper.Unbond(ctx, op, msg.Amount)
	if err != nil {
		return nil, err
	}
	return &types.MsgUnbondResponse{EntryId: id}, nil
}

func (s msgServer) Unjail(ctx context.Context, msg *types.MsgUnjail) (*types.MsgUnjailResponse, error) {
	op, err := s.operator(msg, msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgUnjailResponse{}, s.Keeper.Unjail(ctx, op)
}

func (s msgServer) WithdrawRewards(ctx context.Context, msg *types.MsgWithdrawRewards) (*types.MsgWithdrawRewardsResponse, error) {
	op, err := s.operator(msg, msg.Operator)
	if err != nil {
		return nil, err
	}
	coin, err := s.Keeper.WithdrawRewards(ctx, op)
	if err != nil {
		return nil, err
	}
	return &types.MsgWithdrawRewardsResponse{Amount: coin}, nil
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "authority %s: only the governance account %s may update the params", msg.Authority, s.authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, err
	}
	hold, err := s.work.LongestHoldBlocks(ctx)
	if err != nil {
		return nil, err
	}
	if err := types.CheckHoldFits(hold, msg.Params.UnbondingTime); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, s.Params.Set(ctx, msg.Params)
}
