package abci_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	abci "github.com/cometbft/cometbft/abci/types"

	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"

	ogpuabci "github.com/opengpu/ogpu/app/abci"
	sidecartypes "github.com/opengpu/ogpu/sidecar/types"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

var accounts = addresscodec.NewBech32Codec("cosmos")

// account is the bech32 account of raw address bytes name; operator i's account is
// account("operator-i"), the account of the validator network.GetValidatorByConsAddr names.
func account(name string) string {
	s, err := accounts.BytesToString([]byte(name))
	if err != nil {
		panic(err)
	}
	return s
}

func probe(stream uint64, provider string, round uint64, ok bool) computetypes.ProbeReport {
	return computetypes.ProbeReport{StreamId: stream, Provider: provider, Round: round, Ok: ok}
}

// rawProbes encodes probes as a peer might, without the checks EncodeVoteExtension applies.
func rawProbes(probes ...computetypes.ProbeReport) []byte {
	bz, err := (&committeetypes.VoteExtension{Probes: probes}).Marshal()
	if err != nil {
		panic(err)
	}
	return bz
}

func probeExtension(t *testing.T, probes ...computetypes.ProbeReport) []byte {
	bz, err := ogpuabci.EncodeVoteExtension(committeetypes.VoteExtension{Probes: probes}, 100, 1<<20)
	require.NoError(t, err)
	return bz
}

// probeSink is an x/compute that records the rounds applied to it, and refuses those of
// stream 13. It writes every call to the store, so a test sees which writes were kept.
type probeSink struct {
	key     *storetypes.KVStoreKey
	applied []string
}

func (s *probeSink) ApplyProbeRound(ctx context.Context, streamID uint64, provider string, round uint64, ok bool) error {
	call := fmt.Sprintf("%d/%s/%d/%t", streamID, provider, round, ok)
	s.applied = append(s.applied, call)
	sdk.UnwrapSDKContext(ctx).KVStore(s.key).Set([]byte(call), []byte{1})
	if streamID == 13 {
		return errors.New("no such stream")
	}
	return nil
}

func twoThirds(sdk.Context) math.LegacyDec { return math.LegacyNewDec(2).QuoInt64(3) }

// preBlockProbes runs the PreBlocker over the extensions exts (see network.commit) and returns
// the rounds it applied and the store they were applied to.
func preBlockProbes(t *testing.T, n *network, exts [][]byte) ([]string, storetypes.KVStore) {
	eci := n.commit(2, exts)
	injected, err := ogpuabci.EncodeInjected(eci)
	require.NoError(t, err)
	key := storetypes.NewKVStoreKey("compute")
	ctx := n.ctx(3, eci).WithMultiStore(testutil.DefaultContext(key, storetypes.NewTransientStoreKey("t")).MultiStore()).
		WithGasMeter(storetypes.NewInfiniteGasMeter())
	sink := &probeSink{key: key}
	pre := ogpuabci.NewAttestationRecorder(&recorder{}, n, stringCodec{}, func(sdk.Context) (int, int) { return 10, 1 << 20 }, log.NewNopLogger()).
		WithProbes(sink, accounts, twoThirds)
	pre.PreBlock(ctx, &abci.RequestFinalizeBlock{Height: 3, Txs: [][]byte{injected}})
	return sink.applied, ctx.KVStore(key)
}

// The network's powers are 40, 30, 20 and 10 (of 100), in the order of n.vals; a verdict needs
// at least 2/3 of 100.
func TestPreBlockProbeRounds(t *testing.T) {
	n := newNetwork(t)
	a, b := account("provider-a"), account("provider-b")
	self := account("operator-1") // the account of the validator with 30
	tests := []struct {
		name string
		exts [][]byte
		want []string
	}{
		{"failed by 40 + 30", [][]byte{
			probeExtension(t, probe(1, a, 3, false)), probeExtension(t, probe(1, a, 3, false)), {}, {},
		}, []string{"1/" + a + "/3/false"}},
		{"failed by 40 + 20 only: nothing", [][]byte{
			probeExtension(t, probe(1, a, 3, false)), probeExtension(t, probe(1, a, 3, true)), probeExtension(t, probe(1, a, 3, false)), {},
		}, nil},
		{"ok by all", [][]byte{
			probeExtension(t, probe(2, b, 4, true)), probeExtension(t, probe(2, b, 4, true)), probeExtension(t, probe(2, b, 4, true)), probeExtension(t, probe(2, b, 4, true)),
		}, []string{"2/" + b + "/4/true"}},
		{"the absent count in the total", [][]byte{
			nil, probeExtension(t, probe(1, a, 3, false)), probeExtension(t, probe(1, a, 3, false)), probeExtension(t, probe(1, a, 3, false)),
		}, nil}, // 30 + 20 + 10 of 100
		{"a validator never counts on its own provider", [][]byte{
			probeExtension(t, probe(1, self, 3, false)), probeExtension(t, probe(1, self, 3, false)), probeExtension(t, probe(1, self, 3, false)), {},
		}, nil},
		{"however it spells its account", [][]byte{
			probeExtension(t, probe(1, self, 3, false)), probeExtension(t, probe(1, strings.ToUpper(self), 3, false)), probeExtension(t, probe(1, self, 3, false)), {},
		}, nil},
		{"a spelling is one provider", [][]byte{
			probeExtension(t, probe(1, a, 3, false)), probeExtension(t, probe(1, strings.ToUpper(a), 3, false)), {}, {},
		}, []string{"1/" + a + "/3/false"}},
		{"the others still decide a validator's provider", [][]byte{
			probeExtension(t, probe(1, self, 3, false)), probeExtension(t, probe(1, self, 3, true)), probeExtension(t, probe(1, self, 3, false)), probeExtension(t, probe(1, self, 3, false)),
		}, []string{"1/" + self + "/3/false"}}, // 40 + 20 + 10 of 100
		{"an extension that does not verify counts for nothing", [][]byte{
			probeExtension(t, probe(1, a, 3, false)), rawProbes(probe(1, a, 3, false), probe(1, a, 4, false)), probeExtension(t, probe(1, a, 3, false)), {},
		}, nil},
		{"rounds are separate", [][]byte{
			probeExtension(t, probe(1, a, 3, false)), probeExtension(t, probe(1, a, 4, false)), probeExtension(t, probe(1, a, 3, false)), {},
		}, nil},
		{"not an account", [][]byte{
			probeExtension(t, probe(1, "nobody", 3, false)), probeExtension(t, probe(1, "nobody", 3, false)), {}, {},
		}, nil},
		{"in order of stream, provider and round", [][]byte{
			probeExtension(t, probe(9, a, 1, true), probe(3, b, 8, false), probe(2, a, 9, true), probe(2, b, 7, false)),
			probeExtension(t, probe(2, b, 7, false), probe(2, a, 9, true), probe(9, a, 1, true), probe(3, b, 8, false)),
			probeExtension(t, probe(3, b, 8, false), probe(9, a, 1, true)),
			{},
		}, []string{"2/" + a + "/9/true", "2/" + b + "/7/false", "3/" + b + "/8/false", "9/" + a + "/1/true"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			applied, _ := preBlockProbes(t, n, tc.exts)
			require.Equal(t, tc.want, applied)
		})
	}

	// a round the keeper refuses leaves no write behind and stops no other
	ext := probeExtension(t, probe(13, a, 1, false), probe(14, a, 1, false))
	applied, store := preBlockProbes(t, n, [][]byte{ext, ext, ext, ext})
	require.Equal(t, []string{"13/" + a + "/1/false", "14/" + a + "/1/false"}, applied)
	require.False(t, store.Has([]byte("13/"+a+"/1/false")), "the refused round's writes are dropped")
	require.True(t, store.Has([]byte("14/"+a+"/1/false")))
}

func TestVerifyVoteExtensionProbes(t *testing.T) {
	h := ogpuabci.NewVoteExtensionHandler(nil, func(sdk.Context) (int, int) { return 4, 1 << 20 }, log.NewNopLogger())
	a, b := account("provider-a"), account("provider-b")
	var many []computetypes.ProbeReport
	for i := range ogpuabci.MaxProbesPerVote + 1 {
		many = append(many, probe(uint64(i+1), a, 1, true))
	}
	tests := []struct {
		name   string
		ext    []byte
		accept bool
	}{
		{"probes", probeExtension(t, probe(1, a, 3, true), probe(1, b, 3, false), probe(2, a, 3, false)), true},
		{"probes and attestations", rawExtensionWith(t, []committeetypes.Attestation{attestation(1, 1)}, probe(1, a, 3, true)), true},
		{"at the cap", rawProbes(many[:ogpuabci.MaxProbesPerVote]...), true},
		{"above the cap", rawProbes(many...), false},
		{"two reports on a replica", rawProbes(probe(1, a, 3, true), probe(1, a, 3, false)), false},
		{"two rounds of a replica", rawProbes(probe(1, a, 3, true), probe(1, a, 4, true)), false},
		{"no provider", rawProbes(probe(1, "", 3, true)), false},
		{"a provider too long", rawProbes(probe(1, strings.Repeat("a", 129), 3, true)), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.VerifyVoteExtension()(sdk.Context{}, &abci.RequestVerifyVoteExtension{Height: 5, VoteExtension: tc.ext})
			require.NoError(t, err)
			want := abci.ResponseVerifyVoteExtension_REJECT
			if tc.accept {
				want = abci.ResponseVerifyVoteExtension_ACCEPT
			}
			require.Equal(t, want, res.Status)
		})
	}
}

func rawExtensionWith(t *testing.T, atts []committeetypes.Attestation, probes ...computetypes.ProbeReport) []byte {
	bz, err := (&committeetypes.VoteExtension{Attestations: atts, Probes: probes}).Marshal()
	require.NoError(t, err)
	return bz
}

func TestExtendVoteProbes(t *testing.T) {
	a, b := account("provider-a"), account("provider-b")
	var many []computetypes.ProbeReport
	for i := range 2 * ogpuabci.MaxProbesPerVote {
		many = append(many, probe(uint64(i+1), a, 1, true))
	}
	atts := []committeetypes.Attestation{attestation(1, committeetypes.ATTESTED_VALID), attestation(2, committeetypes.ATTESTED_INVALID)}
	extend := func(t *testing.T, att ogpuabci.Attestor, maxBytes int) committeetypes.VoteExtension {
		h := ogpuabci.NewVoteExtensionHandler(att, func(sdk.Context) (int, int) { return 4, maxBytes }, log.NewNopLogger())
		res, err := h.ExtendVote()(sdk.Context{}.WithContext(context.Background()), &abci.RequestExtendVote{Height: 5})
		require.NoError(t, err)
		require.LessOrEqual(t, len(res.VoteExtension), maxBytes)
		ve, err := ogpuabci.DecodeExtension(res.VoteExtension, 4, maxBytes)
		require.NoError(t, err, "peers accept what ExtendVote makes")
		return ve
	}

	ve := extend(t, fakeAttestor{atts: atts, probes: []computetypes.ProbeReport{probe(1, a, 3, true), probe(1, b, 3, false)}}, 1<<20)
	require.Len(t, ve.Attestations, 2)
	require.Equal(t, []computetypes.ProbeReport{probe(1, a, 3, true), probe(1, b, 3, false)}, ve.Probes)

	ve = extend(t, fakeAttestor{probes: many}, 1<<20)
	require.Len(t, ve.Probes, ogpuabci.MaxProbesPerVote, "capped at MaxProbesPerVote")

	ve = extend(t, fakeAttestor{probes: []computetypes.ProbeReport{probe(1, a, 3, true), probe(1, a, 4, false), probe(1, "", 3, true), probe(2, a, 3, false)}}, 1<<20)
	require.Equal(t, []computetypes.ProbeReport{probe(1, a, 3, true), probe(2, a, 3, false)}, ve.Probes, "what peers would refuse is left out")

	// over the byte cap, probes go before any attestation
	both := rawExtensionWith(t, atts)
	ve = extend(t, fakeAttestor{atts: atts, probes: many}, len(both)+200)
	require.Len(t, ve.Attestations, 2)
	require.NotEmpty(t, ve.Probes)
	require.Less(t, len(ve.Probes), 10)
	ve = extend(t, fakeAttestor{atts: atts, probes: many}, len(both))
	require.Len(t, ve.Attestations, 2)
	require.Empty(t, ve.Probes)
	ve = extend(t, fakeAttestor{atts: atts, probes: many}, len(both)-1)
	require.Len(t, ve.Attestations, 1)
	require.Empty(t, ve.Probes)
}

// probeAttestor is a sidecar's Attestor service answering with probe reports.
type probeAttestor struct {
	sidecartypes.UnimplementedAttestorServer
	res sidecartypes.AttestationsResponse
}

func (a probeAttestor) Attestations(context.Context, *sidecartypes.AttestationsRequest) (*sidecartypes.AttestationsResponse, error) {
	return &a.res, nil
}

// TestGRPCAttestorProbes: the probe reports the sidecar answers reach the vote extension.
func TestGRPCAttestorProbes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(grpc.ForceServerCodec(ogpuabci.GRPCCodec()))
	probes := []computetypes.ProbeReport{probe(1, account("provider-a"), 3, true), probe(2, account("provider-b"), 5, false)}
	sidecartypes.RegisterAttestorServer(srv, probeAttestor{res: sidecartypes.AttestationsResponse{
		Attestations: []committeetypes.Attestation{attestation(1, committeetypes.ATTESTED_VALID)}, Probes: probes,
	}})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	att, err := ogpuabci.DialAttestor(ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = att.Close() })

	h := ogpuabci.NewVoteExtensionHandler(att, limits, log.NewNopLogger())
	res, err := h.ExtendVote()(sdk.Context{}.WithContext(context.Background()), &abci.RequestExtendVote{Height: 5})
	require.NoError(t, err)
	ve, err := ogpuabci.DecodeExtension(res.VoteExtension, 4, 512)
	require.NoError(t, err)
	require.Len(t, ve.Attestations, 1)
	require.Equal(t, probes, ve.Probes)
}
