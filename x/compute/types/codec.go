package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing (ledger).
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	cdc.RegisterConcrete(&MsgCreateTask{}, "ogpu/compute/MsgCreateTask", nil)
	cdc.RegisterConcrete(&MsgCancelTask{}, "ogpu/compute/MsgCancelTask", nil)
	cdc.RegisterConcrete(&MsgBid{}, "ogpu/compute/MsgBid", nil)
	cdc.RegisterConcrete(&MsgWithdrawBid{}, "ogpu/compute/MsgWithdrawBid", nil)
	cdc.RegisterConcrete(&MsgSubmitResult{}, "ogpu/compute/MsgSubmitResult", nil)
	cdc.RegisterConcrete(&MsgReportInputUnavailable{}, "ogpu/compute/MsgReportInputUnavailable", nil)
	cdc.RegisterConcrete(&MsgAcceptResult{}, "ogpu/compute/MsgAcceptResult", nil)
	cdc.RegisterConcrete(&MsgDisputeResult{}, "ogpu/compute/MsgDisputeResult", nil)
	cdc.RegisterConcrete(&MsgUpdateParams{}, "ogpu/compute/MsgUpdateParams", nil)
	cdc.RegisterConcrete(&MsgOpenStream{}, "ogpu/compute/MsgOpenStream", nil)
	cdc.RegisterConcrete(&MsgFundStream{}, "ogpu/compute/MsgFundStream", nil)
	cdc.RegisterConcrete(&MsgCloseStream{}, "ogpu/compute/MsgCloseStream", nil)
	cdc.RegisterConcrete(&MsgSubscribe{}, "ogpu/compute/MsgSubscribe", nil)
	cdc.RegisterConcrete(&MsgClaimStream{}, "ogpu/compute/MsgClaimStream", nil)
	cdc.RegisterConcrete(&MsgCommitReceipts{}, "ogpu/compute/MsgCommitReceipts", nil)
	cdc.RegisterConcrete(&MsgRevealSamples{}, "ogpu/compute/MsgRevealSamples", nil)
	cdc.RegisterConcrete(&MsgChallengeResponse{}, "ogpu/compute/MsgChallengeResponse", nil)
	cdc.RegisterConcrete(&GemmInt8Params{}, "ogpu/compute/GemmInt8Params", nil)
	cdc.RegisterConcrete(&InferMlpInt8Params{}, "ogpu/compute/InferMlpInt8Params", nil)
	cdc.RegisterConcrete(&TrainMlpInt8Params{}, "ogpu/compute/TrainMlpInt8Params", nil)
}

// RegisterInterfaces registers the module's messages.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgCreateTask{}, &MsgCancelTask{}, &MsgBid{}, &MsgWithdrawBid{}, &MsgSubmitResult{},
		&MsgReportInputUnavailable{}, &MsgAcceptResult{}, &MsgDisputeResult{}, &MsgUpdateParams{},
		&MsgOpenStream{}, &MsgFundStream{}, &MsgCloseStream{}, &MsgSubscribe{}, &MsgClaimStream{},
		&MsgCommitReceipts{}, &MsgRevealSamples{}, &MsgChallengeResponse{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
