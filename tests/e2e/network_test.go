package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

	"github.com/opengpu/ogpu/testutil/network"
)

// createMany has key on home create n gemm tasks (create-task args) in one tx, and returns the
// height of the block it landed in.
func createMany(l *network.Network, home, key string, n int, args ...string) int64 {
	l.T.Helper()
	dir := l.T.TempDir()
	gas := 80_000 * n
	one := network.Run(l.T, l.Bin, append(append([]string{"tx", "compute", "create-task", "gemm-int8"}, args...),
		"--from", key, "--home", home, "--generate-only", "--gas", strconv.Itoa(gas), "--fees", coin(sdkmath.NewInt(int64(gas)).MulRaw(1_000_000_000)))...)
	var tx map[string]any
	require.NoError(l.T, json.Unmarshal(network.LastJSON(one), &tx))
	body := tx["body"].(map[string]any)
	msg := body["messages"].([]any)[0]
	msgs := make([]any, n)
	for i := range msgs {
		msgs[i] = msg
	}
	body["messages"] = msgs
	bz, err := json.Marshal(tx)
	require.NoError(l.T, err)
	unsigned, signed := filepath.Join(dir, "unsigned.json"), filepath.Join(dir, "signed.json")
	require.NoError(l.T, os.WriteFile(unsigned, bz, 0o600))
	out := network.Run(l.T, l.Bin, "tx", "sign", unsigned, "--from", key, "--home", home, "--node", l.Up().RPC())
	require.NoError(l.T, os.WriteFile(signed, network.LastJSON(out), 0o600))
	out = network.Run(l.T, l.Bin, "tx", "broadcast", signed, "--home", home, "--node", l.Up().RPC(), "--output", "json")
	var res struct {
		TxHash string `json:"txhash"`
		Code   uint32 `json:"code"`
		RawLog string `json:"raw_log"`
	}
	require.NoError(l.T, json.Unmarshal(network.LastJSON(out), &res))
	require.Zero(l.T, res.Code, res.RawLog)
	height, err := l.WaitTx(res.TxHash)
	require.NoError(l.T, err, "the tx of %d tasks", n)
	return height
}

// createTask has key on home create a gemm task and returns its id.
func createTask(l *network.Network, home, key string, m, n, k int, extra ...string) string {
	l.T.Helper()
	before := len(l.TasksOf(l.KeyAddr(home, key)))
	l.Tx(home, append([]string{"compute", "create-task", "gemm-int8", "--m", strconv.Itoa(m), "--n", strconv.Itoa(n), "--k", strconv.Itoa(k),
		"--seed-a", strconv.Itoa(m*7 + k), "--seed-b", strconv.Itoa(n*13 + k), "--max-price", coin(ogpu(10)), "--from", key}, extra...)...)
	list := l.TasksOf(l.KeyAddr(home, key))
	require.Len(l.T, list, before+1)
	return list[len(list)-1].ID
}

func providerOf(l *network.Network, addr string) (bonded sdkmath.Int, jailed bool) {
	var v struct {
		Provider struct {
			Bonded string `json:"bonded"`
			Jailed bool   `json:"jailed"`
		} `json:"provider"`
	}
	l.MustGet("/ogpu/stakinggpu/v1/providers/"+addr, &v)
	amt, ok := sdkmath.NewIntFromString(v.Provider.Bonded)
	require.True(l.T, ok)
	return amt, v.Provider.Jailed
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
// adds up to the fixed supply, the compute module holds exactly the escrow of the open tasks,
// and the provider bond account exactly what providers have bonded and unbonding.
func checkBooks(l *network.Network) {
	l.T.Helper()
	require.Equal(l.T, ogpu(21_000_000).String(), balancesSum(l).String(), "sum of all balances")

	var tasks struct {
		Tasks []network.Task `json:"tasks"`
	}
	l.MustGet("/ogpu/compute/v1/tasks?pagination.limit=10000", &tasks)
	escrow := sdkmath.ZeroInt()
	for _, tk := range tasks.Tasks {
		amt, ok := sdkmath.NewIntFromString(tk.Escrow)
		require.True(l.T, ok)
		escrow = escrow.Add(amt)
	}
	require.Equal(l.T, escrow.String(), moduleBalance(l, "compute").String(), "escrow account")

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
func download(l *network.Network, tk network.Task) {
	l.T.Helper()
	file := filepath.Join(l.T.TempDir(), "task-"+tk.ID+".bin")
	home, key, ok := l.Key(tk.Creator)
	require.True(l.T, ok, "the key of %s, creator of task %s", tk.Creator, tk.ID)
	// the provider serves the result to its creator only
	network.Run(l.T, l.Bin, "q", "compute", "result", tk.ID, "--out", file, "--home", home, "--from", key, "--node", l.Up().RPC())
	bz, err := os.ReadFile(file)
	require.NoError(l.T, err)
	sum := sha256.Sum256(bz)
	require.Equal(l.T, tk.Result.Sha256, hex.EncodeToString(sum[:]), "task %s", tk.ID)
	require.Equal(l.T, tk.Result.Size, strconv.Itoa(len(bz)))
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
	l := network.New(t, network.Config{ChainID: "ogpu-net-1", StartArgs: []string{"--sidecar.embedded"}, Providers: 2})
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
	l.Tx(l.Homes[0], append(append([]string{"bank", "multi-send", "validator"}, addrs...), coin(ogpu(1_000)), "--from", "validator")...)
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
					errs <- l.TryTx(l.Homes[0], "compute", "create-task", "gemm-int8",
						"--m", strconv.Itoa(s[0]), "--n", strconv.Itoa(s[1]), "--k", strconv.Itoa(s[2]),
						"--seed-a", strconv.Itoa(c*100+j), "--seed-b", strconv.Itoa(c*100+j+50),
						"--max-price", coin(ogpu(10)), "--deadline", "120", "--from", names[c])
				}
			}(c)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		var all []network.Task
		for _, a := range addrs {
			mine := l.TasksOf(a)
			require.Len(t, mine, perClient, "tasks of %s", a)
			all = append(all, mine...)
		}
		for _, tk := range all {
			tk = l.WaitFinal(tk.ID, 4*time.Minute)
			require.Equal(t, "TASK_STATE_COMPLETED", tk.State, "task %s: %s", tk.ID, tk.Outcome)
			require.Contains(t, []string{provider0, provider1}, tk.Provider)
			download(l, tk)
		}
		checkBooks(l)
	})

	t.Run("a thousand tasks whose bid windows end at one height: at most max_timers_per_block a block, blocks keep coming, books balance", func(t *testing.T) {
		const n, perBlock = 1000, 256 // perBlock: the default max_timers_per_block
		// one tx of a thousand tasks no provider here can take (B200 only): they all end at
		// their bid window's end, one height
		crowd := l.NewAccount(l.Homes[0], "crowd", coin(ogpu(1_000)))
		created := createMany(l, l.Homes[0], "crowd", n, "--m", "8", "--n", "8", "--k", "8", "--seed-a", "1", "--seed-b", "2",
			"--max-price", coin(ogpu(1).QuoRaw(10)), "--deadline", "60", "--gpu-model", "B200")
		var tasks []network.Task
		deadline := time.Now().Add(2 * time.Minute)
		for {
			tasks = l.TasksOf(crowd)
			require.Len(t, tasks, n)
			if !slices.ContainsFunc(tasks, func(tk network.Task) bool { return !slices.Contains(network.FinalStates, tk.State) }) || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Second)
		}
		perHeight := map[int]int{}
		for _, tk := range tasks {
			require.Equal(t, strconv.FormatInt(created, 10), tk.CreatedHeight)
			require.Equal(t, "TASK_STATE_EXPIRED", tk.State, "task %s", tk.ID)
			perHeight[atoi(tk.FinalHeight)]++
		}
		heights := slices.Sorted(maps.Keys(perHeight))
		for _, h := range heights {
			require.LessOrEqual(t, perHeight[h], perBlock, "tasks ended at height %d", h)
		}
		require.Len(t, heights, (n+perBlock-1)/perBlock, "ended over %v", perHeight)
		// the blocks that ended them came at the usual pace: none took more than the bound
		last := int64(heights[len(heights)-1]) + 1
		l.Up().WaitHeight(t, last, time.Minute)
		for h := int64(heights[0]); h <= last; h++ {
			gap := blockTime(t, l.Up(), h).Sub(blockTime(t, l.Up(), h-1))
			require.Less(t, gap, 5*time.Second, "block %d came %s after the one before", h, gap)
		}
		checkBooks(l)
	})

	t.Run("fifty of the largest tasks: the providers pass them over, every process stays within its memory bound, and the validators keep voting", func(t *testing.T) {
		// 16384³ multiply-adds in a 10-block deadline: no CPU provider finishes one in time
		giant := l.NewAccount(l.Homes[0], "giant", coin(ogpu(1_000)))
		created := createMany(l, l.Homes[0], "giant", 50, "--m", "16384", "--n", "16384", "--k", "16384", "--seed-a", "3", "--seed-b", "4",
			"--max-price", coin(ogpu(1)), "--deadline", "10")
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var open int
			for _, tk := range l.TasksOf(giant) {
				if tk.CreatedHeight == strconv.FormatInt(created, 10) && !slices.Contains(network.FinalStates, tk.State) {
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
			if tk.CreatedHeight == strconv.FormatInt(created, 10) {
				require.Equal(t, "TASK_STATE_EXPIRED", tk.State, "task %s was not bid on: %s", tk.ID, tk.Outcome)
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
		setSidecarOption(l, 1, "lazy-verifier", "true")
		defer setSidecarOption(l, 1, "lazy-verifier", "")
		// node2's validator account turns provider and runs a sidecar that underbids everyone
		// and corrupts one element of every result
		home := l.Homes[2]
		cheat := l.KeyAddr(home, "validator")
		l.Tx(home, "staking-gpu", "register-provider", "--moniker", "cheat", "--endpoint", "http://127.0.0.3:8549", "--from", "validator")
		l.Tx(home, "staking-gpu", "bond", coin(ogpu(2_000)), "--from", "validator")
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
		id := createTask(l, l.Homes[0], names[0], 96, 64, 48, "--deadline", "60")
		tk := l.WaitFinal(id, 3*time.Minute)
		require.Equal(t, "TASK_STATE_FAILED", tk.State, tk.Outcome)
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

		id = createTask(l, l.Homes[0], names[0], 96, 64, 48, "--deadline", "60")
		tk = l.WaitFinal(id, 3*time.Minute)
		require.Equal(t, "TASK_STATE_COMPLETED", tk.State, tk.Outcome)
		require.Contains(t, []string{provider0, provider1}, tk.Provider, "the jailed provider's bid does not count")
		checkBooks(l)
	})

	t.Run("a provider whose result URI never answers is slashed for the miss, no verifier is benched, and the task completes elsewhere", func(t *testing.T) {
		// node3's validator account turns provider; its sidecar submits results at a URL
		// nobody serves
		home := l.Homes[3]
		ghost := l.KeyAddr(home, "validator")
		l.Tx(home, "staking-gpu", "register-provider", "--moniker", "ghost", "--endpoint", "http://127.0.0.4:8549", "--from", "validator")
		l.Tx(home, "staking-gpu", "bond", coin(ogpu(2_000)), "--from", "validator")
		sc := network.NewNode(l.Bin, filepath.Join(l.Dir, "ghost"), "127.0.0.4", "sidecar", "--home", home,
			"--provider-key", "validator", "--listen", "127.0.0.4:8549", "--public-url", "http://127.0.0.4:1",
			"--min-price", "1000", "--price-per-gmac", "0", "--validator-account", "")
		sc.Start(t)
		waitServing(t, "http://127.0.0.4:8549")
		id := createTask(l, l.Homes[0], names[1], 96, 64, 48, "--deadline", "60")
		var tk network.Task
		deadline := time.Now().Add(2 * time.Minute)
		for tk = l.Task(id); len(tk.FailedProviders) == 0 && !slices.Contains(network.FinalStates, tk.State); tk = l.Task(id) {
			require.True(t, time.Now().Before(deadline), "task %s: %+v", id, tk)
			time.Sleep(300 * time.Millisecond)
		}
		sc.Stop(t) // it would win every later task with its price
		tk = l.WaitFinal(id, 3*time.Minute)
		require.Equal(t, "TASK_STATE_COMPLETED", tk.State, tk.Outcome)
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
		l.Tx(l.Homes[0], "compute", "create-task", "gemm-int8", "--m", "2048", "--n", "2048", "--k", "1024",
			"--seed-a", "71", "--seed-b", "72", "--max-price", coin(ogpu(10)), "--deadline", "100",
			"--execution-blocks", "12", "--from", names[1])
		mine := l.TasksOf(addrs[1])
		id := mine[len(mine)-1].ID
		var tk network.Task
		deadline := time.Now().Add(time.Minute)
		for tk = l.Task(id); tk.State != "TASK_STATE_ASSIGNED"; tk = l.Task(id) {
			require.True(t, time.Now().Before(deadline), "task %s never assigned: %+v", id, tk)
			time.Sleep(100 * time.Millisecond)
		}
		winner := tk.Provider
		killed := l.Providers[0]
		if winner == provider1 {
			killed = l.Providers[1]
		}
		killed.Kill(t) // a few seconds into 4.3·10^9 multiply-adds
		tk = l.WaitFinal(id, 4*time.Minute)
		require.Equal(t, "TASK_STATE_COMPLETED", tk.State, tk.Outcome)
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
		id := createTask(l, l.Homes[0], names[2], 256, 256, 256, "--deadline", "60")
		down.Kill(t)
		ids := []string{id, createTask(l, l.Homes[1], "validator", 128, 128, 128, "--deadline", "60")}
		for _, id := range ids {
			tk := l.WaitFinal(id, 3*time.Minute)
			require.Equal(t, "TASK_STATE_COMPLETED", tk.State, "task %s: %s", id, tk.Outcome)
		}
		down.Start(l.T)
		st, err := l.Nodes[0].Status(context.Background())
		require.NoError(t, err)
		down.WaitHeight(t, st.Height, 3*time.Minute)
		require.Equal(t, appHashAt(t, l.Nodes[0], st.Height), appHashAt(t, down, st.Height))
		checkBooks(l)
	})

	t.Run("the whole network stopped and started: nothing lost, open tasks carry on", func(t *testing.T) {
		id := createTask(l, l.Homes[0], names[3], 2048, 2048, 2048, "--deadline", "150")
		deadline := time.Now().Add(time.Minute)
		for tk := l.Task(id); tk.State != "TASK_STATE_ASSIGNED"; tk = l.Task(id) {
			require.True(t, time.Now().Before(deadline), "task %s never assigned: %+v", id, tk)
			time.Sleep(100 * time.Millisecond)
		}
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
		require.Equal(t, "TASK_STATE_COMPLETED", tk.State, tk.Outcome)
		download(l, tk)
		checkBooks(l)
	})
}

// setSidecarOption sets key = value in node i's [sidecar] section of app.toml (value "" removes
// it) and restarts the node, whose embedded sidecar reads it.
func setSidecarOption(l *network.Network, i int, key, value string) {
	l.T.Helper()
	path := filepath.Join(l.Homes[i], "config", "app.toml")
	bz, err := os.ReadFile(path)
	require.NoError(l.T, err)
	var lines []string
	for _, line := range strings.Split(strings.TrimRight(string(bz), "\n"), "\n") {
		if !strings.HasPrefix(line, key+" =") {
			lines = append(lines, line)
		}
	}
	if value != "" {
		lines = append(lines, key+" = "+value) // [sidecar] is the last section
	}
	require.NoError(l.T, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	l.Restart(i)
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
