package e2e

import (
	"context"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/opengpu/ogpu/testutil/network"
)

// storageContract is init code whose runtime stores the first 32 bytes of calldata in slot 0
// when there is calldata, and always returns slot 0.
//
//	runtime: CALLDATASIZE ISZERO PUSH1 0b JUMPI PUSH1 0 CALLDATALOAD PUSH1 0 SSTORE
//	         JUMPDEST PUSH1 0 SLOAD PUSH1 0 MSTORE PUSH1 20 PUSH1 0 RETURN
const storageContract = "6017600c60003960176000f3" + "3615600b576000356000555b60005460005260206000f3"

// TestDevChain runs `ogpud dev` and checks the chain a new user gets: blocks, the fixed
// supply and its allocation, a CLI bank send, Ethereum txs through JSON-RPC, a contract that
// buys a task through the ICompute precompile, team vesting, and a restart that keeps the chain.
func TestDevChain(t *testing.T) {
	home := t.TempDir() + "/dev"
	net := network.Dev(t, network.DevConfig{Home: home})
	node, bin := net.Nodes[0], net.Bin
	accounts := net.DevAccounts()

	t.Run("supply is 21M OGPU and each share is its percentage", func(t *testing.T) {
		ctx := context.Background()
		var supply struct {
			Amount struct {
				Amount string `json:"amount"`
			} `json:"amount"`
		}
		require.NoError(t, network.GetJSON(ctx, node.REST()+"/cosmos/bank/v1beta1/supply/by_denom?denom=aogpu", &supply))
		require.Equal(t, ogpu(21_000_000).String(), supply.Amount.Amount)

		var pools struct {
			Pools []struct {
				Name     string `json:"name"`
				Governed bool   `json:"governed"`
				Balance  []struct {
					Amount string `json:"amount"`
				} `json:"balance"`
			} `json:"pools"`
		}
		require.NoError(t, network.GetJSON(ctx, node.REST()+"/ogpu/treasury/v1/pools", &pools))
		got := map[string]string{}
		for _, p := range pools.Pools {
			require.Len(t, p.Balance, 1, p.Name)
			got[p.Name] = p.Balance[0].Amount
			require.Equal(t, p.Name != "provider_rewards", p.Governed, p.Name)
		}
		// the dev keys (1,300,000 OGPU) are paid from the community share
		prefunded := ogpu(1_000_000 + 3*100_000)
		require.Equal(t, map[string]string{
			"ecosystem":        ogpu(2_100_000).String(),
			"community":        ogpu(3_150_000).Sub(prefunded).String(),
			"reserve":          ogpu(2_100_000).String(),
			"provider_rewards": ogpu(10_500_000).String(),
		}, got)
		// the team's 15% is the team key's vesting balance
		require.Equal(t, ogpu(3_150_000).String(), balance(t, node, accounts["team"].Address).String())
	})

	t.Run("bank send via the CLI lands", func(t *testing.T) {
		alice, bob := accounts["alice"], accounts["bob"]
		before := balance(t, node, bob.Address)
		// the CLI's bank send is what this checks
		require.NoError(t, net.TryTx(home, "bank", "send", "alice", bob.Address, coin(ogpu(7))))
		require.Equal(t, before.Add(ogpu(7)).String(), balance(t, node, bob.Address).String())
		require.True(t, balance(t, node, alice.Address).LT(ogpu(100_000-7)), "alice paid amount and fee")
	})

	t.Run("team vesting account cannot spend unvested coins", func(t *testing.T) {
		team := accounts["team"]
		send := func(amt sdkmath.Int) error {
			_, err := net.Send(home, "team", banktypes.NewMsgSend(sdk.MustAccAddressFromBech32(team.Address),
				sdk.MustAccAddressFromBech32(accounts["bob"].Address), sdk.NewCoins(aogpu(amt))))
			return err
		}
		err := send(ogpu(1_000))
		require.Error(t, err)
		require.Contains(t, strings.ToLower(err.Error()), "insufficient funds")
		// what has vested so far (about 0.033 OGPU a second) can be spent
		require.NoError(t, send(sdkmath.NewIntWithDecimal(1, 15)))
		require.True(t, balance(t, node, team.Address).LT(ogpu(3_150_000)))
	})

	t.Run("ethereum json-rpc", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		client, err := ethclient.DialContext(ctx, node.JSONRPC())
		require.NoError(t, err)
		defer client.Close()

		chainID, err := client.ChainID(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(1337), chainID.Int64())

		keyHex := strings.TrimSpace(string(network.Run(t, bin, "keys", "unsafe-export-eth-key", "alice", "--home", home, "--keyring-backend", "test")))
		key, err := crypto.HexToECDSA(strings.TrimPrefix(keyHex, "0x"))
		require.NoError(t, err)
		from := crypto.PubkeyToAddress(key.PublicKey)
		require.Equal(t, common.HexToAddress(accounts["alice"].EthAddr), from)
		signer := types.LatestSignerForChainID(chainID)

		send := func(to *common.Address, value *big.Int, data []byte, gas uint64) *types.Receipt {
			nonce, err := client.PendingNonceAt(ctx, from)
			require.NoError(t, err)
			head, err := client.HeaderByNumber(ctx, nil)
			require.NoError(t, err)
			tip := big.NewInt(1_000_000_000)
			feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
			tx, err := types.SignNewTx(key, signer, &types.DynamicFeeTx{
				ChainID: chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas,
				To: to, Value: value, Data: data,
			})
			require.NoError(t, err)
			require.NoError(t, client.SendTransaction(ctx, tx))
			for {
				receipt, err := client.TransactionReceipt(ctx, tx.Hash())
				if err == nil {
					require.Equal(t, types.DynamicFeeTxType, int(tx.Type()))
					return receipt
				}
				require.ErrorIs(t, err, ethereum.NotFound)
				require.NoError(t, ctx.Err())
				time.Sleep(300 * time.Millisecond)
			}
		}

		bob := common.HexToAddress(accounts["bob"].EthAddr)
		bobBefore, err := client.BalanceAt(ctx, bob, nil)
		require.NoError(t, err)
		value := big.NewInt(1_500_000_000_000_000_000) // 1.5 OGPU
		receipt := send(&bob, value, nil, 21_000)
		require.Equal(t, types.ReceiptStatusSuccessful, receipt.Status)
		bobAfter, err := client.BalanceAt(ctx, bob, nil)
		require.NoError(t, err)
		require.Equal(t, new(big.Int).Add(bobBefore, value).String(), bobAfter.String())

		// one account, one balance: the bank module and eth_getBalance agree
		require.Equal(t, balance(t, node, accounts["bob"].Address).String(), bobAfter.String())

		receipt = send(nil, big.NewInt(0), common.FromHex(storageContract), 200_000)
		require.Equal(t, types.ReceiptStatusSuccessful, receipt.Status)
		contract := receipt.ContractAddress
		code, err := client.CodeAt(ctx, contract, nil)
		require.NoError(t, err)
		require.Equal(t, storageContract[24:], common.Bytes2Hex(code))

		out, err := client.CallContract(ctx, ethereum.CallMsg{From: from, To: &contract}, nil)
		require.NoError(t, err)
		require.Equal(t, int64(0), new(big.Int).SetBytes(out).Int64())

		receipt = send(&contract, big.NewInt(0), common.LeftPadBytes([]byte{42}, 32), 100_000)
		require.Equal(t, types.ReceiptStatusSuccessful, receipt.Status)
		out, err = client.CallContract(ctx, ethereum.CallMsg{From: from, To: &contract}, nil)
		require.NoError(t, err)
		require.Equal(t, int64(42), new(big.Int).SetBytes(out).Int64())

		// the block holding the tx is served with full txs
		block, err := client.BlockByNumber(ctx, receipt.BlockNumber)
		require.NoError(t, err)
		require.NotNil(t, block.Transaction(receipt.TxHash))
	})

	t.Run("provider registers with --auto, bonds, queries and unbonds", func(t *testing.T) {
		testProviderCLI(t, net, accounts["alice"])
	})

	t.Run("the dev sidecar bids, runs, verifies: a gemm task reaches COMPLETED", func(t *testing.T) {
		testComputeMarket(t, net, accounts)
	})

	t.Run("a contract pays for a gemm task through ICompute, accepts it and records its result", func(t *testing.T) {
		testComputeConsumer(t, net)
	})

	t.Run("MNIST: a model trained through the market classifies the test set through the market and through a stream at 95% or more", func(t *testing.T) {
		testMNIST(t, net)
	})

	t.Run("tasks on uploaded inputs: one completes, one whose input vanishes pays the provider the deposit", func(t *testing.T) {
		testUploadedInputs(t, net)
	})

	t.Run("a client toggling its input server slashes nobody and pays the full price", func(t *testing.T) {
		testToggledInputs(t, net, accounts)
	})

	t.Run("a provider whose sidecar corrupts results is FAILED, slashed and jailed", func(t *testing.T) {
		testCheatingProvider(t, net, accounts)
	})

	t.Run("a sidecar restarted in the middle of a task finishes it", func(t *testing.T) {
		testRestartMidTask(t, net)
	})

	t.Run("restart keeps height and balances", func(t *testing.T) {
		balances := map[string]sdkmath.Int{}
		for name, a := range accounts {
			balances[name] = balance(t, node, a.Address)
		}
		net.Restart(0) // and waits for two blocks past the height before
		for name, a := range accounts {
			require.Equal(t, balances[name].String(), balance(t, node, a.Address).String(), name)
		}
	})
}

// TestDevWithoutHome runs the README's command as a new user does: `ogpud dev` with no flags
// makes its chain in a new temporary directory and produces blocks.
func TestDevWithoutHome(t *testing.T) {
	tmp := t.TempDir()
	// the chain's directory is made, and removed, under the test's
	t.Setenv("TMPDIR", tmp)
	net := network.Dev(t, network.DevConfig{Height: 2})
	net.Stop(0)
	made, err := filepath.Glob(filepath.Join(tmp, "ogpu-dev-*", "config", "genesis.json"))
	require.NoError(t, err)
	require.Len(t, made, 1, "one new chain directory")
}
