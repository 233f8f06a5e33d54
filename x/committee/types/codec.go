package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing (ledger).
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	cdc.RegisterConcrete(&MsgRegisterVerifier{}, "ogpu/committee/MsgRegisterVerifier", nil)
	cdc.RegisterConcrete(&MsgDeregisterVerifier{}, "ogpu/committee/MsgDeregisterVerifier", nil)
	cdc.RegisterConcrete(&MsgUpdateParams{}, "ogpu/committee/MsgUpdateParams", nil)
}

// RegisterInterfaces registers the module's messages.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil), &MsgRegisterVerifier{}, &MsgDeregisterVerifier{}, &MsgUpdateParams{})
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
