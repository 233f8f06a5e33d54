package keeper_test

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	keepertest "github.com/opengpu/ogpu/testutil/keeper"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	"github.com/opengpu/ogpu/x/staking-gpu/keeper"
	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

func TestSplitCapped(t *testing.T) {
	b := func(v int64) *big.Int { return big.NewInt(v) }
	split := func(available int64, shares ...[2]int64) []int64 {
		in := make([]keeper.Share, len(shares))
		for i, s := range shares {
			in[i] = keeper.Share{Weight: b(s[0]), Cap: b(s[1])}
		}
		var out []int64
		for _, v := range keeper.SplitCapped(b(available), in) {
			out = append(out, v.Int64())
		}
		return out
	}
	// nobody capped: pro rata, rounded down
	require.Equal(t, []int64{333, 666}, split(1000, [2]int64{1, 1000}, [2]int64{2, 1000}))
	// the first is capped at 100; the rest is shared by the others at one level
	require.Equal(t, []int64{100, 300, 600}, split(1000, [2]int64{5, 100}, [2]int64{1, 1000}, [2]int64{2, 1000}))
	// everyone capped: the rest is left over
	require.Equal(t, []int64{10, 20}, split(1000, [2]int64{1, 10}, [2]int64{1, 20}))
	// no fee, no reward; no work, no reward
	require.Equal(t, []int64{0, 1000}, split(1000, [2]int64{1, 0}, [2]int64{1, 5000}))
	require.Equal(t, []int64{0, 1000}, split(1000, [2]int64{0, 500}, [2]int64{1, 5000}))

	// random: never above a cap, never above available, and the level is one level
	rng := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		n := 1 + rng.IntN(6)
		shares := make([]keeper.Share, n)
		for i := range shares {
			shares[i] = keeper.Share{Weight: b(rng.Int64N(1 << 40)), Cap: b(rng.Int64N(1 << 30))}
		}
		available := b(rng.Int64N(1 << 32))
		out := keeper.SplitCapped(available, shares)
		sum := new(big.Int)
		uncapped := -1
		for i, v := range out {
			require.True(t, v.Sign() >= 0 && v.Cmp(shares[i].Cap) <= 0)
			sum.Add(sum, v)
			if v.Cmp(shares[i].Cap) < 0 && shares[i].Weight.Sign() > 0 {
				uncapped = i
			}
		}
		require.True(t, sum.Cmp(available) <= 0)
		if uncapped >= 0 {
			// someone below its cap: all but rounding dust (< one unit per share) is handed out
			require.True(t, new(big.Int).Sub(available, sum).Cmp(b(int64(n))) <= 0, "left %s of %s", new(big.Int).Sub(available, sum), available)
		}
	}
}

// TestSelfDealingDoesNotPay is the property of docs/economics.md: in an epoch of honest clients
// and providers, a party that posts the largest tasks (or streams) to itself at any price, under any
// parameters params validation allows, takes from the reward pool at most the protocol fees it
// paid, so its net gain (reward − protocol fees − committee fees, gas aside) is never positive;
// and every honest provider gets at least what it would have got without the self-dealer.
func TestSelfDealingDoesNotPay(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	computeAddr := authtypes.NewModuleAddress(computetypes.ModuleName)
	maxUnits := math.NewInt(workload.GemmMaxDim).MulRaw(workload.GemmMaxDim).MulRaw(workload.GemmMaxDim)
	dec := func(max int64) math.LegacyDec { return math.LegacyNewDecWithPrec(rng.Int64N(max+1), 2) }

	type task struct {
		provider int
		units    math.Int
		price    math.Int
		stream   bool // a stream claim of price, recorded without counting a task
	}
	for trial := range 150 {
		// parameters: anything validation allows
		cp := computetypes.DefaultParams()
		cp.ProtocolFeeRatio = dec(50)
		cp.CommitteeFeeRatio = dec(100)
		require.NoError(t, cp.Validate())
		gs := types.DefaultGenesis()
		gs.Params.ValidatorBonus = math.LegacyOneDec().Add(dec(900))
		gs.Params.ProviderRewardPeriod = time.Duration(1+rng.Int64N(20*365)) * 24 * time.Hour
		require.NoError(t, gs.Params.Validate())
		pool := ogpu(1 + rng.Int64N(10_500_000))
		epoch := time.Duration(1+rng.Int64N(72)) * time.Hour

		honest := 1 + rng.IntN(5)
		var tasks []task
		for range rng.IntN(20) {
			tasks = append(tasks, task{
				provider: rng.IntN(honest),
				units:    math.NewInt(1 + rng.Int64N(maxUnits.Int64())),
				price:    math.NewInt(1 + rng.Int64N(1<<62)).MulRaw(1 + rng.Int64N(1_000)),
			})
		}
		attacker := honest
		var self []task
		for range 1 + rng.IntN(50) {
			price := math.OneInt() // 1 aogpu, or anything
			if rng.IntN(2) == 0 {
				price = math.NewInt(1 + rng.Int64N(1<<62)).MulRaw(1 + rng.Int64N(1_000))
			}
			// a stream claim: as many requests of the largest rows at 1 aogpu as the price pays
			stream := rng.IntN(2) == 0
			units := maxUnits
			if stream {
				units = price.Mul(math.NewIntFromUint64(workload.InferMlpInt8{Widths: []uint32{1024, 1024, 1024}, Rows: 1024}.WorkUnits()))
			}
			self = append(self, task{provider: attacker, units: units, price: price, stream: stream})
		}
		bonded := rng.IntN(2) == 0 // the self-dealer also runs a validator

		run := func(tasks []task) (rewards []math.Int, fees, committee math.Int) {
			bank := keepertest.NewBank()
			bank.Set(rewardsAddr, denom, pool)
			f := newFixtureWith(t, bank, gs, genesisTime, 1)
			ops := make([]sdk.AccAddress, attacker+1)
			for i := range ops {
				ops[i] = f.account(i, ogpu(1))
				f.register(t, ops[i])
			}
			if bonded {
				f.validators.SetBonded(ops[attacker])
			}
			f.advance(epoch, 100)
			fees, committee = math.ZeroInt(), math.ZeroInt()
			for _, tk := range tasks {
				fee := cp.ProtocolFee(tk.price)
				f.bank.Set(computeAddr, denom, fee)
				require.NoError(t, f.k.RecycleFee(f.ctx, computetypes.ModuleName, fee))
				record := f.k.RecordWork
				if tk.stream {
					record = f.k.RecordStreamWork
				}
				require.NoError(t, record(f.ctx, ops[tk.provider], tk.units, fee))
				if tk.provider == attacker {
					fees = fees.Add(fee)
					committee = committee.Add(cp.CommitteeFeeRatio.MulInt(tk.price).TruncateInt())
				}
			}
			require.NoError(t, f.k.DistributeEpoch(f.ctx))
			f.requireInvariants(t)
			for _, op := range ops {
				r, err := f.k.AccruedRewards(f.ctx, op)
				require.NoError(t, err)
				rewards = append(rewards, r)
			}
			return rewards, fees, committee
		}

		without, _, _ := run(tasks)
		mixed := append(append([]task{}, tasks...), self...)
		rng.Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
		with, fees, committee := run(mixed)

		gain := with[attacker].Sub(fees).Sub(committee)
		require.False(t, gain.IsPositive(), "trial %d: the self-dealer gained %s (reward %s, fees %s, committee %s)", trial, gain, with[attacker], fees, committee)
		for i := range honest {
			require.True(t, with[i].GTE(without[i]), "trial %d: honest provider %d got %s, %s without the self-dealer", trial, i, with[i], without[i])
		}
	}
}
