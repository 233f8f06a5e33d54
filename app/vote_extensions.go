package app

import (
	"github.com/spf13/cast"

	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/server/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/mempool"

	ogpuabci "github.com/opengpu/ogpu/app/abci"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
)

// FlagSidecarAddress is the app.toml key ([sidecar] address) of the sidecar's Attestor service.
// Empty: this node votes with empty extensions.
const FlagSidecarAddress = "sidecar.address"

// configureVoteExtensions installs the ABCI++ handlers through which committees attest, around
// the mempool's proposal builder. An embedded sidecar sets its attestor with SetAttestor.
func (app *App) configureVoteExtensions(appOpts types.AppOptions, logger log.Logger) error {
	var attestor ogpuabci.Attestor
	if addr := cast.ToString(appOpts.Get(FlagSidecarAddress)); addr != "" {
		a, err := ogpuabci.DialAttestor(addr)
		if err != nil {
			return err
		}
		attestor = a
		logger.Info("vote extensions: attestations from the sidecar", "address", addr)
	}
	// a block carries the extensions voted a height before, under caps a params update in the
	// block between may have lowered since
	votes, injected := app.CommitteeKeeper.VoteExtensionCaps, app.CommitteeKeeper.InjectedExtensionCaps
	ve := ogpuabci.NewVoteExtensionHandler(attestor, votes, logger)
	app.SetExtendVoteHandler(ve.ExtendVote())
	app.SetVerifyVoteExtensionHandler(ve.VerifyVoteExtension())

	prepare := app.prepareProposal
	if prepare == nil { // no app mempool
		prepare = baseapp.NewDefaultProposalHandler(mempool.NoOpMempool{}, app.BaseApp).PrepareProposalHandler()
	}
	proposals := ogpuabci.NewProposalHandler(prepare, baseapp.NoOpProcessProposal(), app.StakingKeeper, injected, logger)
	app.SetPrepareProposal(proposals.PrepareProposal())
	app.SetProcessProposal(proposals.ProcessProposal())

	app.attestations = ogpuabci.NewAttestationRecorder(app.CommitteeKeeper, app.StakingKeeper,
		app.StakingKeeper.ValidatorAddressCodec(), injected, logger)
	// the validators' probe reports decide the replicas' probe rounds in x/compute
	app.attestations.WithProbes(app.ComputeKeeper, app.AccountKeeper.AddressCodec(), app.probeQuorum)
	return nil
}

// probeQuorum is the share of an extended commit's power that decides a probe round: the
// committee's quorum.
func (app *App) probeQuorum(ctx sdk.Context) math.LegacyDec {
	p, err := app.CommitteeKeeper.Params.Get(ctx)
	if err != nil {
		return committeetypes.DefaultParams().Quorum
	}
	return p.Quorum
}
