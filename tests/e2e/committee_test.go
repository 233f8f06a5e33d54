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
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/types/bech32"

	"github.com/opengpu/ogpu/testutil/attestor"
	"github.com/opengpu/ogpu/testutil/network"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
)

// withAttestors starts one scripted attestor per node home and points the node's app.toml at it.
func withAttestors(t *testing.T, homes []string) []*attestor.Scripted {
	out := make([]*attestor.Scripted, len(homes))
	for i, home := range homes {
		a, err := attestor.Start("127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(a.Stop)
		out[i] = a
		path := filepath.Join(home, "config", "app.toml")
		bz, err := os.ReadFile(path)
		require.NoError(t, err)
		// [sidecar] is the last section of app.toml, and address its first key
		locs := sidecarAddress.FindAllIndex(bz, -1)
		require.NotEmpty(t, locs, "app.toml has a [sidecar] address")
		last := locs[len(locs)-1]
		bz = append(bz[:last[0]:last[0]], append([]byte(`address = "`+a.Addr()+`"`), bz[last[1]:]...)...)
		require.NoError(t, os.WriteFile(path, bz, 0o600))
	}
	return out
}

var sidecarAddress = regexp.MustCompile(`(?m)^address = "[^"]*"`)

// market drives tasks on a local network from the CLI of each node's home.
type market struct {
	t     *testing.T
	bin   string
	homes []string
	node  *network.Node // a node that stays up, for queries
	// via sends a home's txs through another node's RPC (its own is down)
	via map[int]string
}

func (m *market) addr(i int) string {
	return strings.TrimSpace(string(network.Run(m.t, m.bin, "keys", "show", "validator", "-a", "--home", m.homes[i])))
}

func (m *market) tx(i int, args ...string) {
	m.t.Helper()
	args = append(args, "--from", "validator")
	if rpc, ok := m.via[i]; ok {
		args = append(args, "--node", rpc)
	}
	code, log := sendTx(m.t, m.bin, m.homes[i], args...)
	require.Zero(m.t, code, "%v: %s", args, log)
}

func (m *market) task(id int) taskView {
	var v taskView
	out, err := network.TryRun(m.bin, "q", "compute", "task", strconv.Itoa(id), "--home", m.homes[0], "--node", m.node.RPC(), "--output", "json")
	if err == nil {
		_ = json.Unmarshal(out, &v)
	}
	return v
}

func (m *market) waitState(id int, state string, timeout time.Duration) taskView {
	m.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if v := m.task(id); v.Task.State == state {
			return v
		}
		time.Sleep(500 * time.Millisecond)
	}
	m.t.Fatalf("task %d did not reach %s in %s: %+v", id, state, timeout, m.task(id).Task)
	return taskView{}
}

// runTask has client create a task, provider bid and submit a result with the given hash, and
// the attestors of the given nodes commit to verdict for it and reveal it once reveals open.
func (m *market) runTask(id, client, provider int, resultSHA string, verdict committeetypes.AttestedVerdict, attestors []*attestor.Scripted) {
	m.tx(client, "compute", "create-task", "gemm-int8", "--m", "8", "--n", "8", "--k", "8", "--seed-a", "1", "--seed-b", "2",
		"--max-price", coin(ogpu(100)), "--deadline", "60")
	m.waitState(id, "TASK_STATE_OPEN", 30*time.Second)
	m.tx(provider, "compute", "bid", strconv.Itoa(id), ogpu(50).String())
	m.waitState(id, "TASK_STATE_ASSIGNED", 60*time.Second)
	sha, err := hex.DecodeString(resultSHA)
	require.NoError(m.t, err)
	m.tx(provider, "compute", "submit-result", strconv.Itoa(id), resultSHA, strconv.Itoa(32+4*64), "http://127.0.0.1:1/v1/blobs/"+resultSHA)
	m.attest(id, 1, sha, verdict, attestors)
}

// attest has the attestors commit to verdict on round of task id once its committee is drawn,
// and reveal it once reveals open. Attestors of validators off the committee are ignored by
// the chain.
func (m *market) attest(id int, round uint32, resultSHA []byte, verdict committeetypes.AttestedVerdict, attestors []*attestor.Scripted) {
	m.t.Helper()
	m.waitCommittee(id, round, func(c committeeView) bool { return c.DrawnHeight > 0 })
	reveals := make([]committeetypes.Attestation, len(attestors))
	for i, a := range attestors {
		_, member, err := bech32.DecodeAndConvert(m.addr(i))
		require.NoError(m.t, err)
		digest := sha256.Sum256(append([]byte("digest"), member...))
		salt := digest[:committeetypes.SaltSize]
		reveals[i] = committeetypes.Attestation{TaskId: uint64(id), Verdict: verdict, Digest: digest[:], Salt: salt}
		a.Set(committeetypes.Attestation{TaskId: uint64(id), Commitment: committeetypes.Commitment(uint64(id), round, resultSHA, verdict, digest[:], 0, salt, member)})
	}
	// reveals open once every member committed, or after the committee's commit phase
	m.waitCommittee(id, round, func(c committeeView) bool {
		st, err := m.node.Status(context.Background())
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
func (m *market) waitCommittee(id int, round uint32, ok func(committeeView) bool) committeeView {
	m.t.Helper()
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
		out, err := network.TryRun(m.bin, "q", "committee", "committee", strconv.Itoa(id), "--home", m.homes[0], "--node", m.node.RPC(), "--output", "json")
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
	m.t.Fatalf("committee of task %d never reached round %d as wanted", id, round)
	return committeeView{}
}

func committeeOf(t *testing.T, bin, home string, node *network.Node, id int) []string {
	var v struct {
		Task struct {
			Committee []string `json:"committee"`
		} `json:"task"`
	}
	require.NoError(t, json.Unmarshal(network.Run(t, bin, "q", "compute", "task", strconv.Itoa(id), "--home", home, "--node", node.RPC(), "--output", "json"), &v))
	return v.Task.Committee
}

func hexSHA(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func balanceOf(t *testing.T, n *network.Node, addr string) sdkmath.Int { return balance(t, n, addr) }
