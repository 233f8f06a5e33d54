package sidecar

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// TestConfigNewSettings: the settings an older app.toml lacks take their defaults, and a bad
// value is refused with the setting's name and range.
func TestConfigNewSettings(t *testing.T) {
	base := Config{Verifier: true, ValidatorAccount: "v", AttestorListen: "127.0.0.1:1", GRPC: "127.0.0.1:2", ChainID: "c"}
	require.NoError(t, base.Validate())
	d := base.withDefaults()
	require.Equal(t, DefaultMaxConcurrentVerifications, d.MaxConcurrentVerifications)
	require.Equal(t, DefaultBlobRetention, d.BlobRetention)
	require.Equal(t, DefaultBlockTime, d.BlockTime)
	require.False(t, d.AllowPrivateFetch, "private fetches are off unless turned on")

	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.MaxConcurrentVerifications = 65 }, "max-concurrent-verifications 65: must be in 1..64"},
		{func(c *Config) { c.MaxConcurrentVerifications = -1 }, "max-concurrent-verifications -1"},
		{func(c *Config) { c.BlobRetention = -time.Hour }, "blob-retention -1h0m0s: must not be negative"},
		{func(c *Config) { c.BlockTime = 2 * time.Hour }, "block-time 2h0m0s: must be in 0..1h"},
	} {
		c := base
		tc.edit(&c)
		require.ErrorContains(t, c.Validate(), tc.want)
	}
	p := base
	p.Provider, p.ProviderKey, p.Listen, p.PublicURL = true, "k", "l", "u"
	p.PricePerGMAC, p.MinPrice = math.NewInt(1), math.NewInt(1)
	require.ErrorContains(t, p.Validate(), "max concurrent tasks must be at least 1")
}

// TestCalibrate: the calibration measures a positive speed in a fraction of a second.
func TestCalibrate(t *testing.T) {
	rates, err := calibrate(gemm.CPU{})
	require.NoError(t, err)
	for _, w := range workload.Names() {
		require.Positive(t, rates[w], w)
	}
}

// TestThrottled: a throttled executor gives the executor's bytes and takes at least the time its
// rate allows.
func TestThrottled(t *testing.T) {
	s := gemm.Shape{M: 100, N: 100, K: 100} // 10^6 multiply-adds: 1 ms at 1 GMAC/s
	a, b := gemm.Generate(1, s.M, s.K), gemm.Generate(2, s.K, s.N)
	c := make([]int32, s.M*s.N)
	start := time.Now()
	require.NoError(t, throttled{Executor: gemm.CPU{}, gmacs: 1}.GemmInt8(s, a, b, c))
	require.GreaterOrEqual(t, time.Since(start), time.Millisecond)
	require.Equal(t, gemm.Naive(s, a, b), c)
}
