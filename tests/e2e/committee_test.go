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
	// the committee is drawn in the block after the submission
	deadline := time.Now().Add(30 * time.Second)
	for len(committeeOf(m.t, m.bin, m.homes[0], m.node, id)) == 0 {
		require.True(m.t, time.Now().Before(deadline), "task %d got no committee", id)
		time.Sleep(300 * time.Millisecond)
	}
	reveals := make([]committeetypes.Attestation, len(attestors))
	for i, a := range attestors {
		_, member, err := bech32.DecodeAndConvert(m.addr(i))
		require.NoError(m.t, err)
		digest := sha256.Sum256(append([]byte("digest"), member...))
		salt := digest[:committeetypes.SaltSize]
		reveals[i] = committeetypes.Attestation{TaskId: uint64(id), Verdict: verdict, Digest: digest[:], Salt: salt}
		a.Set(committeetypes.Attestation{TaskId: uint64(id), Commitment: committeetypes.Commitment(uint64(id), 1, sha, verdict, digest[:], 0, salt, member)})
	}
	m.waitRevealsOpen(id)
	for i, a := range attestors {
		a.Set(reveals[i])
	}
}

// waitRevealsOpen waits until the task's committee takes reveals: every member committed, or
// commit_blocks passed since the draw.
func (m *market) waitRevealsOpen(id int) {
	m.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var v struct {
			Committee struct {
				DrawnHeight  string `json:"drawn_height"`
				RevealHeight string `json:"reveal_height"`
			} `json:"committee"`
		}
		out, err := network.TryRun(m.bin, "q", "committee", "committee", strconv.Itoa(id), "--home", m.homes[0], "--node", m.node.RPC(), "--output", "json")
		if err == nil && json.Unmarshal(out, &v) == nil {
			drawn, _ := strconv.ParseInt(v.Committee.DrawnHeight, 10, 64)
			reveal, _ := strconv.ParseInt(v.Committee.RevealHeight, 10, 64)
			st, err := m.node.Status(context.Background())
			if err == nil && drawn > 0 && ((reveal != 0 && st.Height+1 >= reveal) || st.Height+1 > drawn+int64(committeetypes.DefaultParams().CommitBlocks)) {
				return
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	m.t.Fatalf("reveals of task %d did not open", id)
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
