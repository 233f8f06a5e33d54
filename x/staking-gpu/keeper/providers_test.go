package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	"github.com/opengpu/ogpu/x/staking-gpu/types"
)

func TestRegisterProvider(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	op := f.account(1, ogpu(10_000))
	taken := f.account(2, ogpu(10_000))
	f.register(t, taken)

	params := types.DefaultParams()
	params.MaxGpus = 2
	_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: params})
	require.NoError(t, err)

	tests := []struct {
		name   string
		edit   func(m *types.MsgRegisterProvider)
		err    *errorsmod.Error
		detail string
	}{
		{"gpu provider", func(*types.MsgRegisterProvider) {}, nil, ""},
		{"cpu provider", func(m *types.MsgRegisterProvider) { m.Gpus = nil }, nil, ""},
		{"endpoint not a url", func(m *types.MsgRegisterProvider) { m.Endpoint = "provider.example" }, types.ErrInvalidEndpoint, "endpoint"},
		{"endpoint not http", func(m *types.MsgRegisterProvider) { m.Endpoint = "ftp://provider.example" }, types.ErrInvalidEndpoint, "http"},
		{"endpoint with credentials", func(m *types.MsgRegisterProvider) { m.Endpoint = "https://u:p@provider.example" }, types.ErrInvalidEndpoint, "credentials"},
		{"empty moniker", func(m *types.MsgRegisterProvider) { m.Moniker = "" }, types.ErrInvalidMoniker, "moniker"},
		{"gpu with 0 vram", func(m *types.MsgRegisterProvider) { m.Gpus[0].VramMib = 0 }, types.ErrInvalidGPU, "gpus[0]: vram_mib 0"},
		{"gpu with empty model", func(m *types.MsgRegisterProvider) { m.Gpus[0].Model = " " }, types.ErrInvalidGPU, "model"},
		{"gpu with bad capability", func(m *types.MsgRegisterProvider) { m.Gpus[0].ComputeCapability = "nine" }, types.ErrInvalidGPU, "compute_capability"},
		{"duplicate gpu uuid", func(m *types.MsgRegisterProvider) { m.Gpus = append(m.Gpus, m.Gpus[0]) }, types.ErrDuplicateGPU, "gpus[1].uuid"},
		{"more gpus than max_gpus", func(m *types.MsgRegisterProvider) {
			m.Gpus = []types.GPU{h100("a"), h100("b"), h100("c")}
		}, types.ErrInvalidGPU, "max_gpus = 2"},
		{"unknown workload", func(m *types.MsgRegisterProvider) { m.Workloads = []string{"mine-bitcoin/v1"} }, types.ErrUnknownWorkload, "gemm-int8/v1"},
		{"no workloads", func(m *types.MsgRegisterProvider) { m.Workloads = nil }, types.ErrUnknownWorkload, "workloads"},
		{"bad operator", func(m *types.MsgRegisterProvider) { m.Operator = "nobody" }, types.ErrInvalidOperator, "operator"},
		{"registering twice", func(m *types.MsgRegisterProvider) { m.Operator = taken.String() }, types.ErrProviderExists, "MsgUpdateProvider"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := registerMsg(op)
			tc.edit(msg)
			before := f.snapshot(t)
			_, err := f.msgs.RegisterProvider(f.ctx, msg)
			if tc.err == nil {
				require.NoError(t, err)
				p := f.provider(t, op)
				require.Equal(t, msg.Gpus, p.Gpus)
				require.True(t, p.Bonded.IsZero())
				_, err := f.msgs.DeregisterProvider(f.ctx, &types.MsgDeregisterProvider{Operator: op.String()})
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.err)
			require.ErrorContains(t, err, tc.detail)
			require.Equal(t, before, f.snapshot(t), "a refused message changes no state")
		})
	}
}

func TestUpdateProvider(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	op := f.account(1, ogpu(10_000))
	f.register(t, op)
	f.bond(t, op, ogpu(1_000))

	upd := &types.MsgUpdateProvider{
		Operator: op.String(), Moniker: "renamed", Endpoint: "http://10.0.0.7:8547",
		Gpus: []types.GPU{h100("GPU-1"), h100("GPU-2")}, Workloads: []string{"gemm-int8/v1"},
	}
	_, err := f.msgs.UpdateProvider(f.ctx, upd)
	require.NoError(t, err)
	p := f.provider(t, op)
	require.Equal(t, "renamed", p.Moniker)
	require.Len(t, p.Gpus, 2)
	require.Equal(t, ogpu(1_000), p.Bonded, "updating keeps the stake")

	stranger := f.account(2, math.ZeroInt())
	upd.Operator = stranger.String()
	_, err = f.msgs.UpdateProvider(f.ctx, upd)
	require.ErrorIs(t, err, types.ErrProviderNotFound)
}

func TestDeregisterProvider(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	op := f.account(1, ogpu(10_000))
	f.register(t, op)
	f.bond(t, op, ogpu(1_000))
	deregister := func() error {
		_, err := f.msgs.DeregisterProvider(f.ctx, &types.MsgDeregisterProvider{Operator: op.String()})
		return err
	}

	require.ErrorIs(t, deregister(), types.ErrStakeRemaining, "with stake bonded")
	_, err := f.msgs.Unbond(f.ctx, &types.MsgUnbond{Operator: op.String(), Amount: coin(ogpu(1_000))})
	require.NoError(t, err)
	before := f.snapshot(t)
	require.ErrorIs(t, deregister(), types.ErrStakeRemaining, "with stake unbonding")
	require.Equal(t, before, f.snapshot(t))

	f.advance(types.DefaultParams().UnbondingTime, 1)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	f.work[string(op)] = true
	require.ErrorIs(t, deregister(), types.ErrOpenWork, "with a task still assigned")

	f.work[string(op)] = false
	require.NoError(t, deregister())
	_, err = f.k.GetProvider(f.ctx, op)
	require.ErrorIs(t, err, types.ErrProviderNotFound)
	require.ErrorIs(t, deregister(), types.ErrProviderNotFound)
	require.Equal(t, ogpu(10_000), f.bank.GetBalance(f.ctx, op, denom).Amount, "all stake came back")
	f.requireInvariants(t)
}

func TestEligible(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	gpuOp := f.account(1, ogpu(100_000))
	f.register(t, gpuOp)
	f.bond(t, gpuOp, ogpu(5_000))

	cpuOp := f.account(2, ogpu(100_000))
	cpu := registerMsg(cpuOp)
	cpu.Gpus = nil
	_, err := f.msgs.RegisterProvider(f.ctx, cpu)
	require.NoError(t, err)
	f.bond(t, cpuOp, ogpu(5_000))

	poorOp := f.account(3, ogpu(100_000))
	f.register(t, poorOp)
	f.bond(t, poorOp, ogpu(999))

	gemm := types.Requirements{Workload: "gemm-int8/v1"}
	with := func(edit func(r *types.Requirements)) types.Requirements {
		r := gemm
		edit(&r)
		return r
	}
	tests := []struct {
		name  string
		op    []byte
		reqs  types.Requirements
		price math.Int
		err   *errorsmod.Error
	}{
		{"no requirements, gpu provider", gpuOp, gemm, ogpu(1), nil},
		{"no requirements, cpu provider", cpuOp, gemm, ogpu(1), nil},
		{"cpu provider, gpu asked", cpuOp, with(func(r *types.Requirements) { r.GpuCount = 1 }), ogpu(1), types.ErrRequirementsNotMet},
		{"cpu provider, vram asked", cpuOp, with(func(r *types.Requirements) { r.MinVramMib = 1 }), ogpu(1), types.ErrRequirementsNotMet},
		{"model named", gpuOp, with(func(r *types.Requirements) { r.GpuModel = "h100" }), ogpu(1), nil},
		{"other model", gpuOp, with(func(r *types.Requirements) { r.GpuModel = "A100" }), ogpu(1), types.ErrRequirementsNotMet},
		{"vram enough", gpuOp, with(func(r *types.Requirements) { r.MinVramMib = 81920 }), ogpu(1), nil},
		{"vram short", gpuOp, with(func(r *types.Requirements) { r.MinVramMib = 81921 }), ogpu(1), types.ErrRequirementsNotMet},
		{"two gpus asked, one held", gpuOp, with(func(r *types.Requirements) { r.GpuCount = 2 }), ogpu(1), types.ErrRequirementsNotMet},
		{"capability met", gpuOp, with(func(r *types.Requirements) { r.MinComputeCapability = "8.9" }), ogpu(1), nil},
		{"capability short", gpuOp, with(func(r *types.Requirements) { r.MinComputeCapability = "10.0" }), ogpu(1), types.ErrRequirementsNotMet},
		{"unsupported workload", gpuOp, with(func(r *types.Requirements) { r.Workload = "train-mlp-fxp/v1" }), ogpu(1), types.ErrInvalidRequirements},
		{"stake below minimum", poorOp, gemm, ogpu(1), types.ErrInsufficientBond},
		{"collateral covers price", gpuOp, gemm, ogpu(2_500), nil},
		{"collateral short of 2 × price", gpuOp, gemm, ogpu(2_500).AddRaw(1), types.ErrInsufficientBond},
		{"not registered", f.account(9, math.ZeroInt()), gemm, ogpu(1), types.ErrProviderNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.k.Eligible(f.ctx, tc.op, tc.reqs, tc.price)
			if tc.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.err)
			}
		})
	}

	require.NoError(t, f.k.Jail(f.ctx, gpuOp, f.ctx.BlockTime().Add(types.DefaultParams().JailDuration)))
	require.ErrorIs(t, f.k.Eligible(f.ctx, gpuOp, gemm, ogpu(1)), types.ErrProviderJailed)
}

func TestIsBondedValidator(t *testing.T) {
	f := newFixture(t, math.ZeroInt())
	op := f.account(1, ogpu(1))
	ok, err := f.k.IsBondedValidator(f.ctx, op)
	require.NoError(t, err)
	require.False(t, ok)
	f.validators.SetBonded(op)
	ok, err = f.k.IsBondedValidator(f.ctx, op)
	require.NoError(t, err)
	require.True(t, ok)
}
