package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cosmos/cosmos-sdk/types/bech32"

	"github.com/opengpu/ogpu/testutil/attestor"
	"github.com/opengpu/ogpu/testutil/network"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
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

// validatorTx sends a tx signed by node i's validator key and requires it to succeed.
func validatorTx(net *network.Network, i int, args ...string) {
	net.T.Helper()
	net.Tx(net.Homes[i], append(args, "--from", "validator")...)
}

// runTask has client create a task, provider bid and submit a result with the given hash, and
// the attestors of the given nodes commit to verdict for it and reveal it once reveals open.
func runTask(net *network.Network, id, client, provider int, resultSHA string, verdict committeetypes.AttestedVerdict, attestors []*attestor.Scripted) {
	net.T.Helper()
	validatorTx(net, client, "compute", "create-task", "gemm-int8", "--m", "8", "--n", "8", "--k", "8", "--seed-a", "1", "--seed-b", "2",
		"--max-price", coin(ogpu(100)), "--deadline", "60")
	net.WaitState(strconv.Itoa(id), "TASK_STATE_OPEN", 30*time.Second)
	validatorTx(net, provider, "compute", "bid", strconv.Itoa(id), ogpu(50).String())
	net.WaitState(strconv.Itoa(id), "TASK_STATE_ASSIGNED", 60*time.Second)
	sha, err := hex.DecodeString(resultSHA)
	require.NoError(net.T, err)
	validatorTx(net, provider, "compute", "submit-result", strconv.Itoa(id), resultSHA, strconv.Itoa(32+4*64), "http://127.0.0.1:1/v1/blobs/"+resultSHA)
	attest(net, id, 1, sha, verdict, attestors)
}

// attest has the attestors commit to verdict on round of task id once its committee is drawn,
// and reveal it once reveals open. Attestors of validators off the committee are ignored by
// the chain.
func attest(net *network.Network, id int, round uint32, resultSHA []byte, verdict committeetypes.AttestedVerdict, attestors []*attestor.Scripted) {
	net.T.Helper()
	waitCommittee(net, id, round, func(c committeeView) bool { return c.DrawnHeight > 0 })
	reveals := make([]committeetypes.Attestation, len(attestors))
	for i, a := range attestors {
		_, member, err := bech32.DecodeAndConvert(net.Addr(i))
		require.NoError(net.T, err)
		digest := sha256.Sum256(append([]byte("digest"), member...))
		salt := digest[:committeetypes.SaltSize]
		reveals[i] = committeetypes.Attestation{TaskId: uint64(id), Verdict: verdict, Digest: digest[:], Salt: salt}
		a.Set(committeetypes.Attestation{TaskId: uint64(id), Commitment: committeetypes.Commitment(uint64(id), round, resultSHA, verdict, digest[:], 0, salt, member)})
	}
	// reveals open once every member committed, or after the committee's commit phase
	waitCommittee(net, id, round, func(c committeeView) bool {
		st, err := net.Up().Status(context.Background())
		return err == nil && ((c.RevealHeight != 0 && st.Height+1 >= c.RevealHeight) || st.Height+1 > c.CommitEnd)
	})
	for i, a := range attestors {
		a.Set(reveals[i])
	}
}

type committeeView struct {
	Round        uint32
	DrawnHeight  int64
	RevealHeight int64
	CommitEnd    int64
	Members      []string
}

// waitCommittee waits until the committee of task id is in round and ok holds for it.
func waitCommittee(net *network.Network, id int, round uint32, ok func(committeeView) bool) committeeView {
	net.T.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var v struct {
			Committee struct {
				Round        uint32 `json:"round"`
				DrawnHeight  string `json:"drawn_height"`
				RevealHeight string `json:"reveal_height"`
				CommitEnd    string `json:"commit_end"`
				Members      []struct {
					Validator string `json:"validator"`
				} `json:"members"`
			} `json:"committee"`
		}
		out, err := network.TryRun(net.Bin, "q", "committee", "committee", strconv.Itoa(id), "--home", net.Homes[0], "--node", net.Up().RPC(), "--output", "json")
		if err == nil && json.Unmarshal(out, &v) == nil && v.Committee.Round == round {
			c := committeeView{Round: round}
			c.DrawnHeight, _ = strconv.ParseInt(v.Committee.DrawnHeight, 10, 64)
			c.RevealHeight, _ = strconv.ParseInt(v.Committee.RevealHeight, 10, 64)
			c.CommitEnd, _ = strconv.ParseInt(v.Committee.CommitEnd, 10, 64)
			for _, mem := range v.Committee.Members {
				c.Members = append(c.Members, mem.Validator)
			}
			if ok(c) {
				return c
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	net.T.Fatalf("committee of task %d never reached round %d as wanted", id, round)
	return committeeView{}
}

func hexSHA(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
