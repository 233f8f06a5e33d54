package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing (ledger).
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	cdc.RegisterConcrete(&MsgRegisterProvider{}, "ogpu/stakinggpu/MsgRegisterProvider", nil)
	cdc.RegisterConcrete(&MsgUpdateProvider{}, "ogpu/stakinggpu/MsgUpdateProvider", nil)
	cdc.RegisterConcrete(&MsgDeregisterProvider{}, "ogpu/stakinggpu/MsgDeregisterProvider", nil)
	cdc.RegisterConcrete(&MsgBond{}, "ogpu/stakinggpu/MsgBond", nil)
	cdc.RegisterConcrete(&MsgUnbond{}, "ogpu/stakinggpu/MsgUnbond", nil)
	cdc.RegisterConcrete(&MsgUnjail{}, "ogpu/stakinggpu/MsgUnjail", nil)
	cdc.RegisterConcrete(&MsgWithdrawRewards{}, "ogpu/stakinggpu/MsgWithdrawRewards", nil)
	cdc.RegisterConcrete(&MsgUpdateParams{}, "ogpu/stakinggpu/MsgUpdateParams", nil)
}

// RegisterInterfaces registers the module's messages.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgRegisterProvider{}, &MsgUpdateProvider{}, &MsgDeregisterProvider{},
		&MsgBond{}, &MsgUnbond{}, &MsgUnjail{}, &MsgWithdrawRewards{}, &MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
