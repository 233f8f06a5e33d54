package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	"github.com/opengpu/ogpu/x/committee/types"
)

type msgServer struct{ Keeper }

// NewMsgServer returns the module's Msg service.
func NewMsgServer(k Keeper) types.MsgServer { return msgServer{k} }

func (s msgServer) RegisterVerifier(ctx context.Context, msg *types.MsgRegisterVerifier) (*types.MsgRegisterVerifierResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	op, err := s.addressCodec.StringToBytes(msg.Operator)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidOperator, "operator %q: %v", msg.Operator, err)
	}
	return &types.MsgRegisterVerifierResponse{}, s.Keeper.RegisterVerifier(ctx, op)
}

func (s msgServer) DeregisterVerifier(ctx context.Context, msg *types.MsgDeregisterVerifier) (*types.MsgDeregisterVerifierResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	op, err := s.addressCodec.StringToBytes(msg.Operator)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidOperator, "operator %q: %v", msg.Operator, err)
	}
	return &types.MsgDeregisterVerifierResponse{}, s.Keeper.DeregisterVerifier(ctx, op)
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "authority %s: only the governance account %s may update the params", msg.Authority, s.authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, err
	}
	if err := s.keepPreviousCaps(ctx, msg.Params); err != nil {
		return nil, err
	}
	s.eligible.forget() // min_verifier_stake may have changed
	return &types.MsgUpdateParamsResponse{}, s.Params.Set(ctx, msg.Params)
}
