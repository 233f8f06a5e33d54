package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/opengpu/ogpu/testutil/network"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// createMany has key on home create n copies of msg in one tx, and returns the height of the
// block it landed in.
func createMany(l *network.Network, home, key string, n int, msg *computetypes.MsgCreateTask) int64 {
	l.T.Helper()
	msgs := make([]sdk.Msg, n)
	for i := range msgs {
		msgs[i] = msg
	}
	// a fixed gas limit: simulating a thousand tasks costs as much as running them
	txf := l.TxFactory(home, key).WithGas(uint64(80_000 * n)).WithSimulateAndExecute(false)
	res, err := l.SendWith(txf, msgs...)
	require.NoError(l.T, err, "the tx of %d tasks", n)
	return res.Height
}

// createTask has key on home create an m×n×k gemm task with deadline and returns its id.
func createTask(l *network.Network, home, key string, m, n, k int, deadline uint64) uint64 {
	l.T.Helper()
	msg := gemmTask(l.KeyAddr(home, key), m, n, k, uint64(m*7+k), uint64(n*13+k), ogpu(10), deadline)
	return create(l, home, key, msg)
}

func providerOf(l *network.Network, addr string) (bonded sdkmath.Int, jailed bool) {
	p := providerRecord(l.T, l, addr)
	return p.Bonded, p.Jailed
}

func moduleBalance(l *network.Network, name string) sdkmath.Int {
	var raw map[string]any
	l.MustGet("/cosmos/auth/v1beta1/module_accounts/"+name, &raw)
	addr := findString(raw, "address")
	require.NotEmpty(l.T, addr, "module account %s: %v", name, raw)
	return balance(l.T, l.Up(), addr)
}

// balancesSum adds up the aogpu of every holder.
func balancesSum(l *network.Network) sdkmath.Int {
	var v struct {
		DenomOwners []struct {
			Balance struct {
				Amount string `json:"amount"`
			} `json:"balance"`
		} `json:"denom_owners"`
	}
	l.MustGet("/cosmos/bank/v1beta1/denom_owners/aogpu?pagination.limit=10000", &v)
	sum := sdkmath.ZeroInt()
	for _, o := range v.DenomOwners {
		amt, ok := sdkmath.NewIntFromString(o.Balance.Amount)
		require.True(l.T, ok)
		sum = sum.Add(amt)
	}
	return sum
}

// checkBooks checks what the chain's invariants promise from outside: every holder's balance
// adds up to the fixed supply, the compute module holds exactly the escrow of the open tasks and
// streams,
// and the provider bond account exactly what providers have bonded and unbonding.
func checkBooks(l *network.Network) {
	l.T.Helper()
	require.Equal(l.T, ogpu(21_000_000).String(), balancesSum(l).String(), "sum of all balances")

	escrow := sdkmath.ZeroInt()
	for _, tk := range l.Tasks(&computetypes.QueryTasksRequest{}) {
		escrow = escrow.Add(tk.Escrow)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	streams, err := l.Client().Streams(ctx, &computetypes.QueryStreamsRequest{})
	require.NoError(l.T, err)
	for _, st := range streams {
		escrow = escrow.Add(st.Escrow)
	}
	require.Equal(l.T, escrow.String(), moduleBalance(l, "compute").String(), "escrow account: the tasks' and the streams'")

	var providers struct {
		Providers []struct {
			Operator string `json:"operator"`
		} `json:"providers"`
	}
	l.MustGet("/ogpu/stakinggpu/v1/providers?pagination.limit=1000", &providers)
	stake := sdkmath.ZeroInt()
	for _, p := range providers.Providers {
		var s struct {
			Bonded    string `json:"bonded"`
			Unbonding string `json:"unbonding"`
		}
		l.MustGet("/ogpu/stakinggpu/v1/providers/"+p.Operator+"/stake", &s)
		b, ok1 := sdkmath.NewIntFromString(s.Bonded)
		u, ok2 := sdkmath.NewIntFromString(s.Unbonding)
		require.True(l.T, ok1 && ok2, "%+v", s)
		stake = stake.Add(b).Add(u)
	}
	require.Equal(l.T, stake.String(), moduleBalance(l, "stakinggpu").String(), "provider bond account")

	var pool struct {
		Pool struct {
			Total     string `json:"total"`
			Withdrawn string `json:"withdrawn"`
			Recycled  string `json:"recycled"`
		} `json:"pool"`
	}
	l.MustGet("/ogpu/stakinggpu/v1/reward_pool", &pool)
	total, ok1 := sdkmath.NewIntFromString(pool.Pool.Total)
	withdrawn, ok2 := sdkmath.NewIntFromString(pool.Pool.Withdrawn)
	recycled, ok3 := sdkmath.NewIntFromString(pool.Pool.Recycled)
	require.True(l.T, ok1 && ok2 && ok3, "%+v", pool)
	require.Equal(l.T, total.Add(recycled).Sub(withdrawn).String(), moduleBalance(l, "provider_rewards").String(), "provider reward pool: total + recycled protocol fees − withdrawn")
}

// download fetches a completed task's result with the CLI, which checks size and hash, and
// checks the file against the hash on chain once more.
func download(l *network.Network, tk computetypes.Task) {
	l.T.Helper()
	id := strconv.FormatUint(tk.Id, 10)
	file := filepath.Join(l.T.TempDir(), "task-"+id+".bin")
	home, key, ok := l.Key(tk.Creator)
	require.True(l.T, ok, "the key of %s, creator of task %d", tk.Creator, tk.Id)
	// the provider serves the result to its creator only; `q compute result` is what users run
	network.Run(l.T, l.Bin, "q", "compute", "result", id, "--out", file, "--home", home, "--from", key, "--node", l.Up().RPC())
	bz, err := os.ReadFile(file)
	require.NoError(l.T, err)
	sum := sha256.Sum256(bz)
	require.Equal(l.T, tk.Result.Sha256, hex.EncodeToString(sum[:]), "task %d", tk.Id)
	require.Equal(l.T, tk.Result.Size_, uint64(len(bz)))
}

// blockHeader is the header of block h as node n serves it.
type blockHeader struct {
	AppHash string    `json:"app_hash"`
	Time    time.Time `json:"time"`
}

func headerAt(t *testing.T, n *network.Node, h int64) blockHeader {
	var b struct {
		Result struct {
			Block struct {
				Header blockHeader `json:"header"`
			} `json:"block"`
		} `json:"result"`
	}
	require.NoError(t, network.GetJSON(context.Background(), fmt.Sprintf("%s/block?height=%d", n.RPC(), h), &b))
	return b.Result.Block.Header
}

// appHashAt is the app hash in the header of block h as node n serves it.
func appHashAt(t *testing.T, n *network.Node, h int64) string {
	hash := headerAt(t, n, h).AppHash
	require.NotEmpty(t, hash)
	return hash
}

// commitSignatures counts the validators whose precommit for block h-1 is in block h.
func commitSignatures(t *testing.T, n *network.Node, h int64) int {
	var b struct {
		Result struct {
			Block struct {
				LastCommit struct {
					Signatures []struct {
						Flag int `json:"block_id_flag"`
					} `json:"signatures"`
				} `json:"last_commit"`
			} `json:"block"`
		} `json:"result"`
	}
	require.NoError(t, network.GetJSON(context.Background(), fmt.Sprintf("%s/block?height=%d", n.RPC(), h), &b))
	count := 0
	for _, s := range b.Result.Block.LastCommit.Signatures {
		if s.Flag == 2 { // BlockIDFlagCommit
			count++
		}
	}
	return count
}

// grepLines are the lines of text that contain sub.
func grepLines(text, sub string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// getText GETs url and returns its body.
func getText(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	bz, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return string(bz), nil
}

// blockTime is the time in the header of block h.
func blockTime(t *testing.T, n *network.Node, h int64) time.Time {
	bt := headerAt(t, n, h).Time
	require.False(t, bt.IsZero(), "block %d", h)
	return bt
}

// TestNetwork drives the local network as validators and providers run it: many clients' tasks
// of mixed sizes under real sidecars, a cheating provider, a killed validator, a provider killed
// after winning, and the whole network stopped and started again. With -short (inside
// `make test`) the load is smaller; every scenario runs.
func TestNetwork(t *testing.T) {
	// the network of `make localnet`: each validator's sidecar embedded as its verifier, and a
	// provider-only sidecar beside nodes 0 and 1 whose keys are registered and bonded at genesis
	// the providers run at 3·10^9 multiply-adds a second, whatever the machine: a provider killed
	// or a network stopped after an assignment is then a few seconds into its run
	l := network.New(t, network.Config{ChainID: "ogpu-net-1", StartArgs: []string{"--sidecar.embedded"}, Providers: 2,
		ProviderArgs: []string{"--throttle-gmacs", "3"}})
	clients, perClient := 6, 2
	sizes := [][3]int{{64, 64, 64}, {128, 96, 80}, {256, 256, 256}, {200, 136, 72}, {512, 256, 128}, {33, 17, 9}}
	if !testing.Short() {
		clients, perClient = 12, 4
		sizes = append(sizes, [3]int{1024, 512, 256}, [3]int{768, 768, 768})
	}

	// clients are keys of node0's keyring, funded from its validator in one multi-send
	names := make([]string, clients)
	addrs := make([]string, clients)
	for i := range names {
		names[i] = fmt.Sprintf("client%d", i)
		network.Run(t, l.Bin, "keys", "add", names[i], "--home", l.Homes[0], "--output", "json")
		addrs[i] = l.KeyAddr(l.Homes[0], names[i])
	}
	l.MustSend(l.Homes[0], "validator", multiSend(l.Addr(0), ogpu(1_000), addrs...))
	checkBooks(l)
	provider0 := l.KeyAddr(l.Homes[0], "provider")
	provider1 := l.KeyAddr(l.Homes[1], "provider")

	t.Run("many clients, mixed sizes: every task final, results download, books balance", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, clients*perClient)
		for c := range clients {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for j := range perClient {
					s := sizes[(c*perClient+j)%len(sizes)]
					_, err := l.Send(l.Homes[0], names[c], gemmTask(addrs[c], s[0], s[1], s[2], uint64(c*100+j), uint64(c*100+j+50), ogpu(10), 120))
					errs <- err
				}
			}(c)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		var all []computetypes.Task
		for _, a := range addrs {
			mine := l.TasksOf(a)
			require.Len(t, mine, perClient, "tasks of %s", a)
			all = append(all, mine...)
		}
		for _, tk := range all {
			tk = l.WaitFinal(tk.Id, 4*time.Minute)
			require.Equal(t, computetypes.TASK_STATE_COMPLETED, tk.State, "task %d: %s", tk.Id, tk.Outcome)
			require.Contains(t, []string{provider0, provider1}, tk.Provider)
			download(l, tk)
		}
		checkBooks(l)
	})

	t.Run("a thousand tasks whose bid windows end at one height: at most max_timers_per_block a block, blocks keep coming, books balance", func(t *testing.T) {
		const n, perBlock = 1000, 256 // perBlock: the default max_timers_per_block
		// one tx of a thousand tasks no provider here can take (B200 only): they all end at
		// their bid window's end, one height
		crowd := l.NewAccount(l.Homes[0], "crowd", aogpu(ogpu(1_000)))
		msg := gemmTask(crowd, 8, 8, 8, 1, 2, ogpu(1).QuoRaw(10), 60)
		msg.Requirements.GpuModel = "B200"
		created := createMany(l, l.Homes[0], "crowd", n, msg)
		var tasks []computetypes.Task
		deadline := time.Now().Add(2 * time.Minute)
		for {
			tasks = l.TasksOf(crowd)
			require.Len(t, tasks, n)
			if !slices.ContainsFunc(tasks, func(tk computetypes.Task) bool { return !tk.State.IsFinal() }) || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Second)
		}
		perHeight := map[int64]int{}
		for _, tk := range tasks {
			require.Equal(t, created, tk.CreatedHeight)
			require.Equal(t, computetypes.TASK_STATE_EXPIRED, tk.State, "task %d", tk.Id)
			perHeight[tk.FinalHeight]++
		}
		heights := slices.Sorted(maps.Keys(perHeight))
		for _, h := range heights {
			require.LessOrEqual(t, perHeight[h], perBlock, "tasks ended at height %d", h)
		}
		require.Len(t, heights, (n+perBlock-1)/perBlock, "ended over %v", perHeight)
		// the blocks that ended them came at the usual pace: none took more than the bound
		last := heights[len(heights)-1] + 1
		l.Up().WaitHeight(t, last, time.Minute)
		for h := heights[0]; h <= last; h++ {
			gap := blockTime(t, l.Up(), h).Sub(blockTime(t, l.Up(), h-1))
			require.Less(t, gap, 5*time.Second, "block %d came %s after the one before", h, gap)
		}
		checkBooks(l)
	})

	t.Run("fifty of the largest tasks: the providers pass them over, every process stays within its memory bound, and the validators keep voting", func(t *testing.T) {
		// 16384³ multiply-adds in a 10-block deadline: no CPU provider finishes one in time
		giant := l.NewAccount(l.Homes[0], "giant", aogpu(ogpu(1_000)))
		created := createMany(l, l.Homes[0], "giant", 50, gemmTask(giant, 16384, 16384, 16384, 3, 4, ogpu(1), 10))
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var open int
			for _, tk := range l.TasksOf(giant) {
				if tk.CreatedHeight == created && !tk.State.IsFinal() {
					open++
				}
			}
			if open == 0 {
				break
			}
			require.True(t, time.Now().Before(deadline), "%d of the largest tasks still open", open)
			time.Sleep(time.Second)
		}
		for _, tk := range l.TasksOf(giant) {
			if tk.CreatedHeight == created {
				require.Equal(t, computetypes.TASK_STATE_EXPIRED, tk.State, "task %d was not bid on: %s", tk.Id, tk.Outcome)
			}
		}
		// the provider sidecars passed them over for want of time, and say so
		for i := range l.Providers {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			metrics, err := getText(ctx, fmt.Sprintf("http://%s:8548/metrics", l.Nodes[i].Host))
			cancel()
			require.NoError(t, err)
			if !regexp.MustCompile(`ogpu_sidecar_bids_skipped_total\{reason="window"\} [1-9]`).MatchString(metrics) {
				log, _ := os.ReadFile(filepath.Join(l.Dir, fmt.Sprintf("provider%d.log", i)))
				t.Fatalf("provider %d did not pass the largest tasks over for want of time:\n%s\n%s", i, grepLines(metrics, "ogpu_sidecar_bid"), log[max(0, len(log)-6000):])
			}
		}
		// every node (with its embedded verifier) and provider is alive and within its bound
		const nodeBound, providerBound = 2 << 30, 1 << 30
		for i, n := range l.Nodes {
			rss, err := n.PeakRSS()
			require.NoError(t, err, "node %d", i)
			require.Less(t, rss, int64(nodeBound), "node %d peak RSS", i)
			t.Logf("node %d peak RSS %d MiB", i, rss>>20)
		}
		for i, p := range l.Providers {
			rss, err := p.PeakRSS()
			require.NoError(t, err, "provider %d", i)
			require.Less(t, rss, int64(providerBound), "provider %d peak RSS", i)
			t.Logf("provider %d peak RSS %d MiB", i, rss>>20)
		}
		// and every validator still signs blocks
		h := l.Up().WaitHeight(t, created+15, time.Minute)
		require.Equal(t, 4, commitSignatures(t, l.Up(), h), "signatures in the commit of block %d", h-1)
	})

	t.Run("a provider returning wrong results is slashed and jailed; a lazy verifier on its committee is slashed and unpaid, the honest ones are paid from the provider's slash; the next task goes to an honest provider", func(t *testing.T) {
		// node1's embedded sidecar turns lazy: it attests VALID without fetching anything
		l.SetSidecarOption(1, "lazy-verifier", "true")
		defer l.SetSidecarOption(1, "lazy-verifier", "")
		// node2's validator account turns provider and runs a sidecar that underbids everyone
		// and corrupts one element of every result
		home := l.Homes[2]
		cheat := l.KeyAddr(home, "validator")
		l.MustSend(home, "validator", registerProvider(cheat, "cheat", "http://127.0.0.3:8549"), bond(cheat, ogpu(2_000)))
		sc := network.NewNode(l.Bin, filepath.Join(l.Dir, "cheat"), "127.0.0.3", "sidecar", "--home", home,
			"--provider-key", "validator", "--listen", "127.0.0.3:8549", "--public-url", "http://127.0.0.3:8549",
			"--min-price", "1000", "--price-per-gmac", "0", "--validator-account", "", "--corrupt-results")
		sc.Start(t)
		defer sc.Stop(t)
		waitServing(t, "http://127.0.0.3:8549")

		members := []string{l.KeyAddr(l.Homes[0], "validator"), l.KeyAddr(l.Homes[1], "validator"), l.KeyAddr(l.Homes[3], "validator")}
		balances, tokens := map[string]sdkmath.Int{}, map[string]sdkmath.Int{}
		for _, a := range members {
			balances[a], tokens[a] = balance(l.T, l.Up(), a), validatorTokensOf(t, l.Up(), a)
		}
		client := l.KeyAddr(l.Homes[0], names[0])
		before := balance(l.T, l.Up(), client)
		id := createTask(l, l.Homes[0], names[0], 96, 64, 48, 60)
		tk := l.WaitFinal(id, 3*time.Minute)
		require.Equal(t, computetypes.TASK_STATE_FAILED, tk.State, tk.Outcome)
		require.Equal(t, cheat, tk.Provider, "the lowest bid won")
		bonded, jailed := providerOf(l, cheat)
		require.True(t, jailed)
		require.Equal(t, ogpu(1_800).String(), bonded.String(), "slashed 10%")
		require.True(t, before.Sub(balance(l.T, l.Up(), client)).LT(ogpu(1)), "the client paid only gas")

		// the committee is the three other validators; two of them caught it
		lazy, honest := members[1], []string{members[0], members[2]}
		require.Equal(t, balances[lazy].String(), balance(l.T, l.Up(), lazy).String(), "the lazy member is not paid")
		power := tokens[lazy].Quo(ogpu(1))
		require.Equal(t, tokens[lazy].Sub(ogpu(1).Mul(power).QuoRaw(20)).String(), validatorTokensOf(t, l.Up(), lazy).String(),
			"the lazy member loses 5% of its stake through x/staking")
		for _, a := range honest {
			// 2% of the cheat's price of 1000 aogpu, shared by two
			require.Equal(t, balances[a].AddRaw(10).String(), balance(l.T, l.Up(), a).String(), "honest member %s is paid out of the slash", a)
			require.Equal(t, tokens[a].String(), validatorTokensOf(t, l.Up(), a).String())
		}

		id = createTask(l, l.Homes[0], names[0], 96, 64, 48, 60)
		tk = l.WaitFinal(id, 3*time.Minute)
		require.Equal(t, computetypes.TASK_STATE_COMPLETED, tk.State, tk.Outcome)
		require.Contains(t, []string{provider0, provider1}, tk.Provider, "the jailed provider's bid does not count")
		checkBooks(l)
	})

	t.Run("a provider whose result URI never answers is slashed for the miss, no verifier is benched, and the task completes elsewhere", func(t *testing.T) {
		// node3's validator account turns provider; its sidecar submits results at a URL
		// nobody serves
		home := l.Homes[3]
		ghost := l.KeyAddr(home, "validator")
		l.MustSend(home, "validator", registerProvider(ghost, "ghost", "http://127.0.0.4:8549"), bond(ghost, ogpu(2_000)))
		sc := network.NewNode(l.Bin, filepath.Join(l.Dir, "ghost"), "127.0.0.4", "sidecar", "--home", home,
			"--provider-key", "validator", "--listen", "127.0.0.4:8549", "--public-url", "http://127.0.0.4:1",
			"--min-price", "1000", "--price-per-gmac", "0", "--validator-account", "")
		sc.Start(t)
		waitServing(t, "http://127.0.0.4:8549")
		id := createTask(l, l.Homes[0], names[1], 96, 64, 48, 60)
		l.WaitTask(id, 3*time.Minute, func(tk computetypes.Task) bool { return len(tk.FailedProviders) > 0 })
		sc.Stop(t) // it would win every later task with its price
		tk := l.WaitFinal(id, 3*time.Minute)
		require.Equal(t, computetypes.TASK_STATE_COMPLETED, tk.State, tk.Outcome)
		require.Equal(t, []string{ghost}, tk.FailedProviders)
		require.Contains(t, []string{provider0, provider1}, tk.Provider)
		bonded, jailed := providerOf(l, ghost)
		require.False(t, jailed, "unavailable is a miss, not fraud")
		require.Equal(t, ogpu(1_980).String(), bonded.String(), "slashed 1%")
		var v struct {
			Verifiers []struct {
				Validator    string `json:"validator"`
				BenchedUntil string `json:"benched_until"`
				Missed       int    `json:"missed"`
			} `json:"verifiers"`
		}
		l.MustGet("/ogpu/committee/v1/verifiers", &v)
		st, err := l.Up().Status(context.Background())
		require.NoError(t, err)
		for _, ver := range v.Verifiers {
			if ver.Validator == l.Valoper(1) {
				continue // benched for its lazy VALID in the scenario before
			}
			require.LessOrEqual(t, int64(atoi(ver.BenchedUntil)), st.Height, "verifier %s benched", ver.Validator)
		}
		download(l, tk)
		checkBooks(l)
	})

	t.Run("a provider killed after winning times out, is slashed, and the task completes elsewhere", func(t *testing.T) {
		before := map[string]sdkmath.Int{}
		for _, p := range []string{provider0, provider1} {
			before[p], _ = providerOf(l, p)
		}
		msg := gemmTask(addrs[1], 2048, 2048, 1024, 71, 72, ogpu(10), 100)
		msg.ExecutionBlocks = 12
		id := create(l, l.Homes[0], names[1], msg)
		tk := l.WaitState(id, computetypes.TASK_STATE_ASSIGNED, time.Minute)
		winner := tk.Provider
		killed := l.Providers[0]
		if winner == provider1 {
			killed = l.Providers[1]
		}
		killed.Kill(t) // a second or two into 4.3·10^9 multiply-adds at 3·10^9 a second
		tk = l.WaitFinal(id, 4*time.Minute)
		require.Equal(t, computetypes.TASK_STATE_COMPLETED, tk.State, tk.Outcome)
		require.Equal(t, []string{winner}, tk.FailedProviders)
		require.NotEqual(t, winner, tk.Provider)
		bonded, jailed := providerOf(l, winner)
		require.False(t, jailed)
		require.Equal(t, before[winner].Sub(before[winner].QuoRaw(100)).String(), bonded.String(), "slashed 1% for the timeout")
		killed.Start(l.T) // the network outlives this subtest
		download(l, tk)
		checkBooks(l)
	})

	t.Run("a validator killed mid-run: verdicts go on, it restarts and catches up", func(t *testing.T) {
		down := l.Nodes[3]
		id := createTask(l, l.Homes[0], names[2], 256, 256, 256, 60)
		l.Kill(3)
		ids := []uint64{id, createTask(l, l.Homes[1], "validator", 128, 128, 128, 60)}
		for _, id := range ids {
			tk := l.WaitFinal(id, 3*time.Minute)
			require.Equal(t, computetypes.TASK_STATE_COMPLETED, tk.State, "task %d: %s", id, tk.Outcome)
		}
		l.Start(3)
		st, err := l.Nodes[0].Status(context.Background())
		require.NoError(t, err)
		down.WaitHeight(t, st.Height, 3*time.Minute)
		require.Equal(t, appHashAt(t, l.Nodes[0], st.Height), appHashAt(t, down, st.Height))
		checkBooks(l)
	})

	t.Run("the whole network stopped and started: nothing lost, open tasks carry on", func(t *testing.T) {
		id := createTask(l, l.Homes[0], names[3], 2048, 2048, 2048, 150)
		l.WaitState(id, computetypes.TASK_STATE_ASSIGNED, time.Minute)
		// the clients' balances: nothing changes them while the network is down
		balances := map[string]sdkmath.Int{}
		for _, a := range addrs {
			balances[a] = balance(l.T, l.Up(), a)
		}
		st, err := l.Nodes[0].Status(context.Background())
		require.NoError(t, err)
		l.StopAll()

		l.StartAll()
		l.Nodes[0].WaitHeight(t, st.Height+2, 3*time.Minute)
		for a, b := range balances {
			require.Equal(t, b.String(), balance(l.T, l.Up(), a).String(), a)
		}
		tk := l.WaitFinal(id, 4*time.Minute)
		require.Equal(t, computetypes.TASK_STATE_COMPLETED, tk.State, tk.Outcome)
		download(l, tk)
		checkBooks(l)
	})
}

// multiSend is a MsgMultiSend of amt from from to each of to.
func multiSend(from string, amt sdkmath.Int, to ...string) sdk.Msg {
	outs := make([]banktypes.Output, len(to))
	for i, a := range to {
		outs[i] = banktypes.Output{Address: a, Coins: sdk.NewCoins(aogpu(amt))}
	}
	return &banktypes.MsgMultiSend{Inputs: []banktypes.Input{{Address: from, Coins: sdk.NewCoins(aogpu(amt.MulRaw(int64(len(to)))))}}, Outputs: outs}
}

// findString returns the first string value under key anywhere in a decoded JSON value.
func findString(v any, key string) string {
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v[key].(string); ok {
			return s
		}
		for _, x := range v {
			if s := findString(x, key); s != "" {
				return s
			}
		}
	case []any:
		for _, x := range v {
			if s := findString(x, key); s != "" {
				return s
			}
		}
	}
	return ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
