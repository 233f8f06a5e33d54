package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	"github.com/opengpu/ogpu/x/treasury/types"
)

type msgServer struct{ Keeper }

// NewMsgServer returns the treasury Msg service.
func NewMsgServer(k Keeper) types.MsgServer { return msgServer{k} }

func (s msgServer) Spend(ctx context.Context, msg *types.MsgSpend) (*types.MsgSpendResponse, error) {
	if msg.Authority != s.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "authority %s: only the governance account %s may spend", msg.Authority, s.authority)
	}
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	recipient, err := s.addressCodec.StringToBytes(msg.Recipient)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidRecipient, "recipient %q: %v", msg.Recipient, err)
	}
	if err := s.Keeper.Spend(ctx, msg.Pool, recipient, msg.Amount); err != nil {
		return nil, err
	}
	return &types.MsgSpendResponse{}, nil
}
