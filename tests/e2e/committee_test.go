package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/bech32"

	"github.com/opengpu/ogpu/testutil/attestor"
	"github.com/opengpu/ogpu/testutil/network"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// withAttestor starts a scripted attestor and points the app.toml of the node at home to it.
func withAttestor(t *testing.T, home string) *attestor.Scripted {
	a, err := attestor.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(a.Stop)
	path := filepath.Join(home, "config", "app.toml")
	bz, err := os.ReadFile(path)
	require.NoError(t, err)
	// [sidecar] is the last section of app.toml, and address its first key
	locs := sidecarAddress.FindAllIndex(bz, -1)
	require.NotEmpty(t, locs, "app.toml has a [sidecar] address")
	last := locs[len(locs)-1]
	bz = append(bz[:last[0]:last[0]], append([]byte(`address = "`+a.Addr()+`"`), bz[last[1]:]...)...)
	require.NoError(t, os.WriteFile(path, bz, 0o600))
	return a
}

var sidecarAddress = regexp.MustCompile(`(?m)^address = "[^"]*"`)

// startScripted starts a network of 4 validators, each with a scripted attestor as its sidecar,
// after edit (if any) of the genesis, and waits for height.
func startScripted(t *testing.T, chainID string, height int64, edit func(app map[string]any)) (*network.Network, []*attestor.Scripted) {
	attestors := make([]*attestor.Scripted, 4)
	net := network.New(t, network.Config{
		ChainID: chainID,
		Genesis: edit,
		Setup:   func(i int, home string) { attestors[i] = withAttestor(t, home) },
		Height:  height,
	})
	return net, attestors
}

// validatorTx sends msg signed by node i's validator key and requires it to succeed.
func validatorTx(net *network.Network, i int, msg sdk.Msg) {
	net.T.Helper()
	net.MustSend(net.Homes[i], "validator", msg)
}

// runTask has client create a task, provider bid and submit a result with the given hash, and
// the attestors of the given nodes commit to verdict for it and reveal it once reveals open.
func runTask(net *network.Network, id uint64, client, provider int, resultSHA string, verdict committeetypes.AttestedVerdict, attestors []*attestor.Scripted) {
	net.T.Helper()
	require.Equal(net.T, id, create(net, net.Homes[client], "validator", gemmTask(net.Addr(client), 8, 8, 8, 1, 2, ogpu(100), 60)))
	net.WaitState(id, computetypes.TASK_STATE_OPEN, 30*time.Second)
	validatorTx(net, provider, &computetypes.MsgBid{Provider: net.Addr(provider), TaskId: id, Price: ogpu(50)})
	net.WaitState(id, computetypes.TASK_STATE_ASSIGNED, 60*time.Second)
	sha, err := hex.DecodeString(resultSHA)
	require.NoError(net.T, err)
	validatorTx(net, provider, &computetypes.MsgSubmitResult{Provider: net.Addr(provider), TaskId: id, Sha256: resultSHA, Size_: 32 + 4*64,
		Uri: "http://127.0.0.1:1/v1/blobs/" + resultSHA})
	attest(net, id, 1, sha, verdict, attestors)
}

// attest has the attestors commit to verdict on round of task id once its committee is drawn,
// and reveal it once reveals open. Attestors of validators off the committee are ignored by
// the chain.
func attest(net *network.Network, id uint64, round uint32, resultSHA []byte, verdict committeetypes.AttestedVerdict, attestors []*attestor.Scripted) {
	net.T.Helper()
	waitCommittee(net, id, round, func(c committeetypes.Committee) bool { return c.DrawnHeight > 0 })
	reveals := make([]committeetypes.Attestation, len(attestors))
	for i, a := range attestors {
		_, member, err := bech32.DecodeAndConvert(net.Addr(i))
		require.NoError(net.T, err)
		digest := sha256.Sum256(append([]byte("digest"), member...))
		salt := digest[:committeetypes.SaltSize]
		reveals[i] = committeetypes.Attestation{TaskId: id, Verdict: verdict, Digest: digest[:], Salt: salt}
		a.Set(committeetypes.Attestation{TaskId: id, Commitment: committeetypes.Commitment(id, round, resultSHA, verdict, digest[:], 0, salt, member)})
	}
	// reveals open once every member committed, or after the committee's commit phase
	waitCommittee(net, id, round, func(c committeetypes.Committee) bool {
		st, err := net.Up().Status(context.Background())
		return err == nil && ((c.RevealHeight != 0 && st.Height+1 >= c.RevealHeight) || st.Height+1 > c.CommitEnd)
	})
	for i, a := range attestors {
		a.Set(reveals[i])
	}
}

// waitCommittee waits until the committee of task id is in round and ok holds for it.
func waitCommittee(net *network.Network, id uint64, round uint32, ok func(committeetypes.Committee) bool) committeetypes.Committee {
	net.T.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := net.Client().Committee(ctx, id)
		cancel()
		if err == nil && res.Committee.Round == round && ok(res.Committee) {
			return res.Committee
		}
		time.Sleep(300 * time.Millisecond)
	}
	net.T.Fatalf("committee of task %d never reached round %d as wanted", id, round)
	return committeetypes.Committee{}
}

func hexSHA(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
