package types

import (
	"context"

	corestore "cosmossdk.io/core/store"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// StakingKeeper gives the validators and their power.
type StakingKeeper interface {
	GetValidator(ctx context.Context, addr sdk.ValAddress) (stakingtypes.Validator, error)
	// LastValidatorsIterator walks the bonded validators' last powers (at most max_validators),
	// in operator address order; stakingtypes.AddressFromLastValidatorPowerKey reads each key.
	LastValidatorsIterator(ctx context.Context) (corestore.Iterator, error)
	GetValidatorByConsAddr(ctx context.Context, consAddr sdk.ConsAddress) (stakingtypes.Validator, error)
	PowerReduction(ctx context.Context) math.Int
	Slash(ctx context.Context, consAddr sdk.ConsAddress, infractionHeight, power int64, slashFactor math.LegacyDec) (math.Int, error)
}

// ComputeKeeper is the market the committee hands its verdicts to.
type ComputeKeeper interface {
	GetTask(ctx context.Context, id uint64) (computetypes.Task, error)
	ApplyVerdict(ctx context.Context, id uint64, s computetypes.Settlement) error
	// StartEscalation holds a task for the escalation committee drawn in the next block.
	StartEscalation(ctx context.Context, id uint64) error
}
