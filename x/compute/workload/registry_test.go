package workload_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/x/compute/workload"
)

func TestGemmInt8(t *testing.T) {
	g := workload.GemmInt8{M: 256, N: 128, K: 64, SeedA: 1, SeedB: 2}
	require.NoError(t, workload.ValidateParams(workload.GemmInt8V1, g, nil))
	require.Equal(t, uint64(256*128*64), g.WorkUnits())
	require.Equal(t, uint64(32+4*256*128), g.ResultSize())

	max := workload.GemmInt8{M: 16384, N: 16384, K: 16384}
	require.NoError(t, max.Validate(nil))
	require.Equal(t, uint64(1)<<42, max.WorkUnits(), "fits in uint64")

	for _, tc := range []struct {
		p      workload.GemmInt8
		inputs []workload.Input
		err    string
	}{
		{workload.GemmInt8{M: 0, N: 1, K: 1}, nil, "m 0: must be in 1..16384"},
		{workload.GemmInt8{M: 1, N: 16385, K: 1}, nil, "n 16385"},
		{workload.GemmInt8{M: 1, N: 1, K: 0}, nil, "k 0"},
		{workload.GemmInt8{M: 2, N: 3, K: 4}, []workload.Input{{Size: 8}, {Size: 12}}, ""},
		{workload.GemmInt8{M: 2, N: 3, K: 4}, []workload.Input{{Size: 8}, {Size: 11}}, "inputs[1] (B) size 11"},
		{workload.GemmInt8{M: 2, N: 3, K: 4, SeedA: 1}, []workload.Input{{Size: 8}, {Size: 12}}, "seed_a"},
		{workload.GemmInt8{M: 2, N: 3, K: 4}, []workload.Input{{Size: 8}}, "inputs: 1 given"},
	} {
		err := tc.p.Validate(tc.inputs)
		if tc.err == "" {
			require.NoError(t, err)
		} else {
			require.ErrorContains(t, err, tc.err)
		}
	}
}

func TestValidateNames(t *testing.T) {
	require.NoError(t, workload.Validate("gemm-int8/v1"))
	require.ErrorContains(t, workload.Validate("gemm-int8/v2"), "unknown workload version")
	require.ErrorContains(t, workload.Validate("sha-mining/v1"), "must be one of gemm-int8/v1")
	require.ErrorContains(t, workload.ValidateParams("gemm-int8/v1", nil, nil), "parameters missing")
}
