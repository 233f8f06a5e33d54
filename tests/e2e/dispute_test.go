package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/bech32"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/testutil/network"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// TestDispute: a lazy first committee (scripted) passes a wrong result; the client's
// `create-task --wait` downloads it, finds it wrong with its own Freivalds check and disputes
// it; an escalation committee drawn from the other validators overturns the verdict. The
// provider is slashed and jailed, the lazy member loses 5% of its validator's stake, and the
// client gets its escrow and bond back and the bond again as its reward. A second dispute, of a
// correct result, loses its bond to the escalation committee; that client is a dApp, which
// creates and disputes the task through the ICompute precompile and follows it by its logs.
func TestDispute(t *testing.T) {
	// first committees of one leave validators for an escalation committee; no random audits,
	// so that the first verdict is what the client sees
	net, attestors := startScripted(t, "ogpu-dispute-1", 4, func(app map[string]any) {
		p := app["committee"].(map[string]any)["params"].(map[string]any)
		p["committee_size"] = 1
		p["audit_probability"] = "0.000000000000000001"
		p["max_member_fee"] = "100"
	})
	bin, homes, nodes := net.Bin, net.Homes, net.Nodes
	// validator 0's operator is the provider; validator 1's account the client
	provider, client := net.Addr(0), net.Addr(1)
	validatorTx(net, 0, registerProvider(provider, "p0", "http://127.0.0.1:8547"))
	validatorTx(net, 0, bond(provider, ogpu(2_000)))

	// the provider serves a result, right or wrong in one element, computed on the inputs its
	// assignment fixed
	s := gemm.Shape{M: 8, N: 8, K: 8}
	var mu sync.Mutex
	blobs := map[string][]byte{}
	result := func(nonce []byte, corrupt bool) []byte {
		seedA, seedB := workload.GemmInt8{SeedA: 1, SeedB: 2}.InputSeeds(nonce)
		c := make([]int32, s.M*s.N)
		require.NoError(t, gemm.CPU{}.GemmInt8(s, gemm.Generate(seedA, s.M, s.K), gemm.Generate(seedB, s.K, s.N), c))
		if corrupt {
			c[5]++
		}
		b := gemm.Encode(s, c)
		sum := sha256.Sum256(b)
		mu.Lock()
		blobs[hex.EncodeToString(sum[:])] = b
		mu.Unlock()
		return b
	}
	// it answers the client's challenge like a sidecar, and serves whoever signs
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/challenge" {
			_, _ = w.Write([]byte(`{"challenge":"00"}`))
			return
		}
		mu.Lock()
		b, ok := blobs[filepath.Base(r.URL.Path)]
		mu.Unlock()
		if ok {
			_, _ = w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()

	// deliver has provider bid on task id and submit result; the first committee attests VALID
	// without checking it
	deliver := func(id uint64, provider int, corrupt bool) []byte {
		net.WaitState(id, computetypes.TASK_STATE_OPEN, 30*time.Second)
		validatorTx(net, provider, &computetypes.MsgBid{Provider: net.Addr(provider), TaskId: id, Price: ogpu(50)})
		v := net.WaitState(id, computetypes.TASK_STATE_ASSIGNED, 60*time.Second)
		require.Len(t, v.InputNonce, 32, "the assignment fixes the inputs' nonce")
		result := result(v.InputNonce, corrupt)
		sum := sha256.Sum256(result)
		sha := hex.EncodeToString(sum[:])
		validatorTx(net, provider, &computetypes.MsgSubmitResult{Provider: net.Addr(provider), TaskId: id, Sha256: sha, Size_: uint64(len(result)),
			Uri: srv.URL + "/v1/blobs/" + sha})
		attest(net, id, 1, sum[:], committeetypes.ATTESTED_VALID, attestors)
		return sum[:]
	}
	createArgs := []string{"tx", "compute", "create-task", "gemm-int8", "--m", "8", "--n", "8", "--k", "8",
		"--seed-a", "1", "--seed-b", "2", "--max-price", coin(ogpu(100)), "--deadline", "60"}

	lazy := -1 // the first-round member of the first dispute, slashed and benched by it
	t.Run("a lazy committee passes a wrong result; the client's check disputes it and the escalation overturns it", func(t *testing.T) {
		before := balance(t, nodes[0], client)
		tokens := map[string]sdkmath.Int{}
		for i := 2; i < 4; i++ {
			tokens[net.Addr(i)] = validatorTokensOf(t, nodes[0], net.Addr(i))
		}
		// create-task --wait, which checks the result itself and disputes it, is what this checks
		wait := exec.Command(bin, append(createArgs, "--wait", "--wait-timeout", "4m", "--from", "validator", "--home", homes[1],
			"--gas-prices", "1000000000aogpu", "--gas", "auto", "--gas-adjustment", "1.5", "--yes")...)
		var buf bytes.Buffer
		wait.Stdout, wait.Stderr = &buf, &buf
		require.NoError(t, wait.Start())
		sha := deliver(1, 0, true)
		// --wait finds the verified result wrong and disputes it
		attest(net, 1, 2, sha, committeetypes.ATTESTED_INVALID, attestors)
		err := wait.Wait()
		out := buf.String()
		require.Error(t, err, out)
		require.Contains(t, out, "fails our own check")
		require.Contains(t, out, "TASK_STATE_FAILED")
		v := net.Task(1)
		require.Contains(t, v.Outcome, "after the creator's dispute")
		// the client paid gas and got the bond (10% of 50 OGPU) back twice: once its own, once
		// as its reward out of the provider's slash
		gain := balance(t, nodes[0], client).Sub(before)
		require.True(t, gain.GT(ogpu(4)) && gain.LT(ogpu(5)), "client gained %s", gain)
		p := providerRecord(t, net, provider)
		require.True(t, p.Jailed)
		require.Equal(t, ogpu(1_800).String(), p.Bonded.String())
		// the first-round member (one of validators 2 and 3) lost 5% of its stake
		slashed := 0
		for i := 2; i < 4; i++ {
			before := tokens[net.Addr(i)]
			after := validatorTokensOf(t, nodes[0], net.Addr(i))
			if !after.Equal(before) {
				slashed++
				lazy = i
				require.Equal(t, before.Sub(before.Quo(ogpu(1)).Mul(ogpu(1)).QuoRaw(20)).String(), after.String())
			}
		}
		require.Equal(t, 1, slashed, "exactly the lazy first-round member")
	})

	t.Run("a dispute of a correct result loses its bond to the escalation committee", func(t *testing.T) {
		// the lazy member of the first dispute is benched: it provides this time, and the
		// committees come from validator 0 and the other of validators 2 and 3
		require.GreaterOrEqual(t, lazy, 2, "the first dispute slashed a member")
		other := 5 - lazy
		validatorTx(net, lazy, registerProvider(net.Addr(lazy), "p2", fmt.Sprintf("http://127.0.0.%d:8547", lazy+1)))
		validatorTx(net, lazy, bond(net.Addr(lazy), ogpu(2_000)))
		members := map[string]sdkmath.Int{net.Addr(0): balance(t, nodes[0], net.Addr(0)), net.Addr(other): balance(t, nodes[0], net.Addr(other))}
		before := balance(t, nodes[0], client)
		// the client is a dApp this time: it creates and disputes through the ICompute precompile,
		// with its account's eth key over node 1's JSON-RPC
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		eth, err := ethclient.DialContext(ctx, nodes[1].JSONRPC())
		require.NoError(t, err)
		defer eth.Close()
		chainID, err := eth.ChainID(ctx)
		require.NoError(t, err)
		keyHex := strings.TrimSpace(string(network.Run(t, bin, "keys", "unsafe-export-eth-key", "validator", "--home", homes[1], "--keyring-backend", "test")))
		key, err := crypto.HexToECDSA(strings.TrimPrefix(keyHex, "0x"))
		require.NoError(t, err)
		opts := bind.NewKeyedTransactor(key, chainID)
		opts.Context = ctx
		require.Equal(t, common.BytesToAddress(sdk.MustAccAddressFromBech32(client)), opts.From)
		dapp := evmAccount{t: t, ctx: ctx, client: eth, opts: opts}
		compute := loadArtifact(t, "ICompute")
		pack := func(method string, args ...any) []byte {
			data, err := compute.ABI.Pack(method, args...)
			require.NoError(t, err, method)
			return data
		}
		params, err := abi.Arguments{{Type: abiType(t, "uint32")}, {Type: abiType(t, "uint32")}, {Type: abiType(t, "uint32")},
			{Type: abiType(t, "uint64")}, {Type: abiType(t, "uint64")}}.Pack(uint32(8), uint32(8), uint32(8), uint64(1), uint64(2))
		require.NoError(t, err)
		created := dapp.send(&computePrecompile, nil, pack("createTask", "gemm-int8/v1", params,
			[]struct {
				Uri    string //nolint:revive // the ABI's field uri
				Sha256 string
				Size   uint64
			}{}, ogpu(100).BigInt(), uint64(60),
			struct {
				Kind            uint8
				FullUntilBlocks uint64
				MinFraction     string
			}{Kind: 1}))
		taskTopic := common.BigToHash(big.NewInt(2))
		require.Equal(t, taskTopic, created.Logs[len(created.Logs)-1].Topics[1], "task 2, by its TaskCreated log")
		sha := deliver(2, lazy, false)
		net.WaitState(2, computetypes.TASK_STATE_VERIFIED, 60*time.Second)
		// node 1, which the dApp asks, may be a block behind the node WaitState asked
		require.Eventually(t, func() bool {
			out, err := eth.CallContract(ctx, ethereum.CallMsg{To: &computePrecompile, Data: pack("getTask", uint64(2))}, nil)
			if err != nil {
				return false
			}
			values, err := compute.ABI.Unpack("getTask", out)
			return err == nil && abi.ConvertType(values[0], new(taskInfo)).(*taskInfo).State == taskVerified
		}, 30*time.Second, 200*time.Millisecond, "task 2 VERIFIED on node 1")
		dapp.send(&computePrecompile, nil, pack("disputeResult", uint64(2)))
		c := waitCommittee(net, 2, 2, func(c committeetypes.Committee) bool { return c.DrawnHeight > 0 })
		require.Len(t, c.Members, 1, "the one validator neither a party nor on the first committee")
		attest(net, 2, 2, sha, committeetypes.ATTESTED_VALID, attestors)
		v := net.WaitState(2, computetypes.TASK_STATE_COMPLETED, 90*time.Second)
		requirePaidInFull(t, v)
		lost := before.Sub(balance(t, nodes[0], client))
		// the price (50 OGPU), the bond (5 OGPU), the first member's capped fee and gas
		require.True(t, lost.GT(ogpu(55)) && lost.LT(ogpu(56)), "client lost %s", lost)
		gained := 0
		for a, b := range members {
			if d := balance(t, nodes[0], a).Sub(b); d.GTE(ogpu(5)) {
				gained++
			}
		}
		require.Equal(t, 1, gained, "the escalation member takes the bond")

		// the dApp followed the task by its logs: its own transactions' and, from every
		// validator's identical block results, the block's
		taskLogs := func() ([]string, error) {
			logs, err := eth.FilterLogs(ctx, ethereum.FilterQuery{
				FromBlock: created.BlockNumber, Addresses: []common.Address{computePrecompile}, Topics: [][]common.Hash{nil, {taskTopic}},
			})
			if err != nil {
				return nil, err
			}
			var names []string
			for _, l := range logs {
				ev, err := compute.ABI.EventByID(l.Topics[0])
				if err != nil {
					return nil, err
				}
				names = append(names, ev.Name)
				if ev.Name == "TaskCompleted" {
					values, err := compute.ABI.Unpack(ev.Name, l.Data)
					if err != nil {
						return nil, err
					}
					names[len(names)-1] += fmt.Sprint(values[0])
				}
			}
			return names, nil
		}
		// node 1 may be a block behind the node that saw the task COMPLETED
		var names []string
		var logsErr error
		require.Eventually(t, func() bool { names, logsErr = taskLogs(); return logsErr != nil || len(names) >= 5 },
			30*time.Second, 200*time.Millisecond)
		require.NoError(t, logsErr)
		require.Equal(t, []string{"TaskCreated", "TaskAssigned", "TaskCompleted8", "ResultDisputed", "TaskCompleted4"}, names)
	})
}

func abiType(t *testing.T, name string) abi.Type {
	t.Helper()
	typ, err := abi.NewType(name, "", nil)
	require.NoError(t, err)
	return typ
}

func validatorTokensOf(t *testing.T, n *network.Node, addr string) sdkmath.Int {
	t.Helper()
	_, bz, err := bech32.DecodeAndConvert(addr)
	require.NoError(t, err)
	valoper, err := bech32.ConvertAndEncode("ogpuvaloper", bz)
	require.NoError(t, err)
	var v struct {
		Validator struct {
			Tokens string `json:"tokens"`
		} `json:"validator"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, network.GetJSON(ctx, n.REST()+"/cosmos/staking/v1beta1/validators/"+valoper, &v))
	amt, ok := sdkmath.NewIntFromString(v.Validator.Tokens)
	require.True(t, ok)
	return amt
}
