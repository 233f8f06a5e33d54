package precompile_test

import (
	"encoding/binary"
	"testing"

	evmtypes "github.com/cosmos/evm/x/vm/types"
	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/x/compute/precompile"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// asm assembles EVM code with labels: a string element is a label's position (a JUMPDEST is
// placed there), a labelRef pushes a label's position, and bytes are copied as they are.
type labelRef string

func asm(parts ...any) []byte {
	// two passes: the first finds where the labels are, the second writes the pushes
	where := map[string]int{}
	for pass := 0; pass < 2; pass++ {
		var code []byte
		for _, p := range parts {
			switch v := p.(type) {
			case string:
				where[v] = len(code)
				code = append(code, 0x5b) // JUMPDEST
			case labelRef:
				code = append(code, 0x61, byte(where[string(v)]>>8), byte(where[string(v)])) // PUSH2
			case []byte:
				code = append(code, v...)
			}
		}
		if pass == 1 {
			return code
		}
	}
	return nil
}

var (
	copyArgs = []byte{0x60, 0x20, 0x36, 0x03, 0x60, 0x20, 0x60, 0x00, 0x37} // calldatacopy(0, 32, calldatasize-32)
	// call(gas, 0xc0de, value, 0, calldatasize-32, 0, 0), with value pushed before it
	callPrecompile = []byte{0x60, 0x00, 0x60, 0x00, 0x60, 0x20, 0x36, 0x03, 0x60, 0x00}
	toPrecompile   = []byte{0x61, 0xc0, 0xde, 0x5a, 0xf1}
	bubbleRevert   = []byte{0x3d, 0x60, 0x00, 0x60, 0x00, 0x3e, 0x3d, 0x60, 0x00, 0xfd} // revert with the callee's data
)

// repeater is runtime code that calls the precompile n times with the same data (its calldata
// is a 32-byte n followed by the precompile's calldata) and reverts with the precompile's answer
// as soon as one call fails.
func repeater() []byte {
	return asm(
		copyArgs,
		[]byte{0x60, 0x00, 0x35}, // n = calldataload(0)
		"loop",
		[]byte{0x80, 0x15}, labelRef("done"), []byte{0x57}, // if n == 0 goto done
		callPrecompile, []byte{0x60, 0x00}, toPrecompile, // value 0
		[]byte{0x15}, labelRef("failed"), []byte{0x57}, // if the call failed goto failed
		[]byte{0x60, 0x01, 0x90, 0x03}, // n = n - 1
		labelRef("loop"), []byte{0x56},
		"failed", bubbleRevert,
		"done", []byte{0x00},
	)
}

// payer is runtime code that calls the precompile once, sending it 1 aogpu of its own.
func payer() []byte {
	return asm(
		copyArgs,
		callPrecompile, []byte{0x60, 0x01}, toPrecompile, // value 1
		[]byte{0x15}, labelRef("failed"), []byte{0x57},
		[]byte{0x00},
		"failed", bubbleRevert,
	)
}

func times(n uint64, data []byte) []byte {
	word := make([]byte, 32)
	binary.BigEndian.PutUint64(word[24:], n)
	return append(word, data...)
}

// TestPrecompileCallLimit: a transaction calls precompiles at most evmtypes.MaxPrecompileCalls
// times; the call past the limit fails, and with it the whole transaction, so none of the tasks
// the earlier calls created survives.
func TestPrecompileCallLimit(t *testing.T) {
	c := newChain(t)
	looper := common.HexToAddress("0x00000000000000000000000000000000000C0C0D")
	c.deploy(looper, repeater())
	c.fund(looper, aogpu(100))
	data := createTaskData(t, nil)
	const big = 30_000_000

	limit := uint64(evmtypes.MaxPrecompileCalls)
	r := c.call(alice, looper, times(limit+1, data), big)
	require.Contains(t, revertReason(t, r), "max calls to precompiles")
	_, err := c.app.ComputeKeeper.GetTask(c.ctx, 1)
	require.ErrorIs(t, err, computetypes.ErrTaskNotFound, "the calls within the limit are undone too")
	require.Equal(t, aogpu(100).String(), c.balance(looper).String())

	// up to the limit, every call lands
	r = c.call(alice, looper, times(limit, data), big)
	require.NoError(t, r.err)
	r = c.call(alice, precompileAddr, pack(t, precompile.TasksOfMethod, looper, uint64(0), uint64(100)), gasLimit)
	require.NoError(t, r.err)
	out, err := precompile.ABI.Unpack(precompile.TasksOfMethod, r.ret)
	require.NoError(t, err)
	require.Len(t, out[0], int(limit))
	task, err := c.app.ComputeKeeper.GetTask(c.ctx, 1)
	require.NoError(t, err)
	require.Equal(t, aogpu(100).Sub(task.Escrow.MulRaw(int64(limit))).String(), c.balance(looper).String())
}

// TestValueIsRefused: coins sent with a call never reach the precompile: the escrow is taken
// from the caller's balance, so a payment by value would be a second one, stuck in an account
// nobody controls. The precompile's address is blocked for bank transfers, so the EVM's own
// value transfer cannot land (and the precompile refuses a write with msg.value besides): the
// transaction fails, and both views of both balances are as before.
func TestValueIsRefused(t *testing.T) {
	c := newChain(t)
	sender := common.HexToAddress("0x00000000000000000000000000000000000C0C0E")
	c.deploy(sender, payer())
	c.fund(sender, aogpu(10))

	for _, data := range [][]byte{createTaskData(t, nil), pack(t, precompile.ParamsMethod)} {
		r := c.call(alice, sender, data, gasLimit)
		require.Error(t, r.err)
		_, err := c.app.ComputeKeeper.GetTask(c.ctx, 1)
		require.ErrorIs(t, err, computetypes.ErrTaskNotFound)
		require.Equal(t, aogpu(10).String(), c.balance(sender).String())
		require.True(t, c.balance(precompileAddr).IsZero())
	}
}
