package sidecar

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"
	"google.golang.org/grpc"

	"github.com/cosmos/evm/crypto/ethsecp256k1"
	evmtypes "github.com/cosmos/evm/x/vm/types"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	sdked25519 "github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/opengpu/ogpu/sidecar/blobauth"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// chainAuthorizer lets a reader have a blob of a task when x/compute says it may: the validators
// on the task's current committee (its result and inputs, in any round), and the task's
// creator once the committee's verdict is in (its result only).
type chainAuthorizer struct {
	conn *grpc.ClientConn
	// states says whether a blob is a state of the task's training run, which its committee
	// may fetch as well (nil: none is)
	states func(ctx context.Context, task uint64, sha string) bool
	// provider is this sidecar's provider: a stream's check task is served only when it checks
	// this provider's response
	provider string
}

// Authorize checks the reader's signature against its on-chain key and its right to the blob.
func (a chainAuthorizer) Authorize(ctx context.Context, r blobauth.Request) error {
	res, err := computetypes.NewQueryClient(a.conn).Task(ctx, &computetypes.QueryTaskRequest{TaskId: r.Task})
	if err != nil {
		return fmt.Errorf("task %d: %v", r.Task, err)
	}
	t := res.Task
	if err := streamCheckServed(t, a.provider); err != nil {
		return err
	}
	isState := a.states != nil && t.Workload.GetTrainMlpInt8() != nil && t.Result.Sha256 != r.SHA && a.states(ctx, r.Task, r.SHA)
	return authorize(t, r, isState,
		func(valoper string) ([]byte, error) { return a.consensusKey(ctx, valoper) },
		func(contract string, msg, sig []byte) error { return a.contractApproves(ctx, contract, msg, sig) })
}

// streamCheckServed lets through a task that is no stream's check, or the check of a response
// of provider: its inputs (the stream's model and the request body) and its result (the
// response body) are what this replica kept, and the rule of authorize then applies to them.
func streamCheckServed(t computetypes.Task, provider string) error {
	if t.StreamId == 0 || t.Provider == provider {
		return nil
	}
	return fmt.Errorf("task %d checks a response of stream %d by %s, not by this provider", t.Id, t.StreamId, t.Provider)
}

// authorize is the rule: consensusKey gives a validator's ed25519 consensus key; approves asks
// a contract whether an account's signature of msg stands for it (ERC-1271); isState says the
// blob is a state of the task's training run (committee only, as inputs are).
func authorize(t computetypes.Task, r blobauth.Request, isState bool, consensusKey func(valoper string) ([]byte, error),
	approves func(contract string, msg, sig []byte) error,
) error {
	isResult := t.Result.Sha256 == r.SHA
	if !isResult && !isState && !slices.ContainsFunc(t.Inputs, func(b computetypes.Blob) bool { return b.Sha256 == r.SHA }) {
		return fmt.Errorf("blob %s is neither the result, an input nor a training state of task %d", r.SHA, r.Task)
	}
	if _, err := sdk.ValAddressFromBech32(r.Signer); err == nil {
		key, err := consensusKey(r.Signer)
		if err != nil {
			return err
		}
		if len(r.PubKey) != ed25519.PublicKeySize || !slices.Equal(key, r.PubKey) {
			return fmt.Errorf("public key is not the consensus key of %s", r.Signer)
		}
		if !ed25519.Verify(r.PubKey, r.Message, r.Signature) {
			return errors.New("signature does not verify")
		}
		if !slices.Contains(t.Committee, r.Signer) {
			return fmt.Errorf("validator %s is not on the committee of task %d", r.Signer, r.Task)
		}
		return nil
	}
	pk := &ethsecp256k1.PubKey{Key: r.PubKey}
	if addr := pk.Address(); addr == nil || sdk.AccAddress(addr).String() != r.Signer {
		return fmt.Errorf("public key is not the key of %s", r.Signer)
	}
	if !pk.VerifySignature(r.Message, r.Signature) {
		return errors.New("signature does not verify")
	}
	reader := r.Signer
	if r.For != "" {
		reader = r.For
	}
	if reader != t.Creator {
		return fmt.Errorf("%s is neither the creator of task %d nor on its committee", reader, r.Task)
	}
	if !isResult {
		return fmt.Errorf("the inputs and training states of task %d are served to its committee only", r.Task)
	}
	if t.VerifiedHeight == 0 && t.State != computetypes.TASK_STATE_FAILED {
		return fmt.Errorf("task %d is %s: its result is served to its creator once the committee's verdict is in", r.Task, t.State)
	}
	if r.For != "" {
		// last: every check that needs no EVM call has passed
		if err := approves(r.For, r.Message, r.Signature); err != nil {
			return fmt.Errorf("%s reads for %s: %w", r.Signer, r.For, err)
		}
	}
	return nil
}

// erc1271GasCap bounds the EVM call that asks a creator contract about a signature: enough for
// an ecrecover and a few storage reads, not for a contract that makes the node work for its reader.
const erc1271GasCap = 100_000

var (
	erc1271ABI = func() abi.ABI {
		a, err := abi.JSON(strings.NewReader(`[{"type":"function","name":"isValidSignature","stateMutability":"view",` +
			`"inputs":[{"name":"hash","type":"bytes32"},{"name":"signature","type":"bytes"}],"outputs":[{"name":"","type":"bytes4"}]}]`))
		if err != nil {
			panic(err) // a constant
		}
		return a
	}()
	erc1271Valid = []byte{0x16, 0x26, 0xba, 0x7e}
)

// contractApproves asks contract, by ERC-1271's isValidSignature(keccak256(msg), sig), whether
// sig (an account key's r ‖ s ‖ v over msg) stands for it, as the chain's latest state says.
func (a chainAuthorizer) contractApproves(ctx context.Context, contract string, msg, sig []byte) error {
	addr, err := sdk.AccAddressFromBech32(contract)
	if err != nil {
		return fmt.Errorf("header %s: %w", blobauth.HeaderFor, err)
	}
	data, err := erc1271ABI.Pack("isValidSignature", crypto.Keccak256Hash(msg), sig)
	if err != nil {
		return err
	}
	to := common.BytesToAddress(addr)
	input := hexutil.Bytes(data)
	args, err := json.Marshal(evmtypes.TransactionArgs{To: &to, Input: &input})
	if err != nil {
		return err
	}
	res, err := evmtypes.NewQueryClient(a.conn).EthCall(ctx, &evmtypes.EthCallRequest{Args: args, GasCap: erc1271GasCap})
	if err != nil {
		return fmt.Errorf("isValidSignature: %v", err)
	}
	if res.Failed() {
		return fmt.Errorf("isValidSignature failed: %s", res.VmError)
	}
	if len(res.Ret) < 4 || !bytes.Equal(res.Ret[:4], erc1271Valid) {
		return errors.New("the contract does not accept the signature (ERC-1271)")
	}
	return nil
}

// consensusKey is a validator's ed25519 consensus key as x/staking has it.
func (a chainAuthorizer) consensusKey(ctx context.Context, valoper string) ([]byte, error) {
	res, err := stakingtypes.NewQueryClient(a.conn).Validator(ctx, &stakingtypes.QueryValidatorRequest{ValidatorAddr: valoper})
	if err != nil {
		return nil, fmt.Errorf("validator %s: %v", valoper, err)
	}
	var pk sdked25519.PubKey
	if res.Validator.ConsensusPubkey == nil || pk.Unmarshal(res.Validator.ConsensusPubkey.Value) != nil {
		return nil, fmt.Errorf("validator %s: no ed25519 consensus key", valoper)
	}
	return pk.Key, nil
}

// consensusSigner signs blob reads as a validator, with its consensus key.
type consensusSigner struct {
	valoper string
	key     ed25519.PrivateKey
}

// loadConsensusSigner reads the validator's consensus key (priv_validator_key.json).
func loadConsensusSigner(path, valoper string) (consensusSigner, error) {
	bz, err := os.ReadFile(path)
	if err != nil {
		return consensusSigner{}, fmt.Errorf("consensus key (the verifier signs its reads of results with it): %w", err)
	}
	var k privval.FilePVKey
	if err := cmtjson.Unmarshal(bz, &k); err != nil {
		return consensusSigner{}, fmt.Errorf("consensus key %s: %w", path, err)
	}
	if k.PrivKey == nil || len(k.PrivKey.Bytes()) != ed25519.PrivateKeySize {
		return consensusSigner{}, fmt.Errorf("consensus key %s: not an ed25519 key", path)
	}
	return consensusSigner{valoper: valoper, key: ed25519.PrivateKey(k.PrivKey.Bytes())}, nil
}

func (s consensusSigner) Signer() string { return s.valoper }
func (s consensusSigner) PubKey() []byte { return s.key.Public().(ed25519.PublicKey) }
func (s consensusSigner) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(s.key, msg), nil
}
