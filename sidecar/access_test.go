package sidecar

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cosmos/evm/crypto/ethsecp256k1"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/sidecar/blobauth"
	"github.com/opengpu/ogpu/sidecar/server"
	"github.com/opengpu/ogpu/sidecar/store"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

type ethSigner struct{ key *ethsecp256k1.PrivKey }

func (s ethSigner) Signer() string                  { return sdk.AccAddress(s.key.PubKey().Address()).String() }
func (s ethSigner) PubKey() []byte                  { return s.key.PubKey().Bytes() }
func (s ethSigner) Sign(msg []byte) ([]byte, error) { return s.key.Sign(msg) }

// taskAuthorizer applies the chain's rule to a fixed task and validator set.
type taskAuthorizer struct {
	task *computetypes.Task
	keys map[string][]byte
	// approves stands for the creator contract's isValidSignature (nil: no contract answers)
	approves func(contract string, msg, sig []byte) error
}

func (a taskAuthorizer) Authorize(_ context.Context, r blobauth.Request) error {
	if r.Task != a.task.Id {
		return errors.New("task not found")
	}
	return authorize(*a.task, r, false, func(v string) ([]byte, error) {
		if k, ok := a.keys[v]; ok {
			return k, nil
		}
		return nil, errors.New("no such validator")
	}, func(contract string, msg, sig []byte) error {
		if a.approves == nil {
			return errors.New("no contract here")
		}
		return a.approves(contract, msg, sig)
	})
}

// TestResultsArePrivate: the provider's blob server serves a result to the task's committee
// members (proven by their consensus keys) and, once the verdict is in, to its creator; never to
// anyone else, never on a stale or reused challenge, and the inputs to the committee only.
func TestResultsArePrivate(t *testing.T) {
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	result, err := st.Put([]byte("the result"))
	require.NoError(t, err)
	input, err := st.Put([]byte("an input"))
	require.NoError(t, err)

	// a committee member's consensus key, as priv_validator_key.json holds it
	pv := privval.GenFilePV("", "")
	keyFile := filepath.Join(t.TempDir(), "priv_validator_key.json")
	bz, err := cmtjson.Marshal(pv.Key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, bz, 0o600))
	member := sdk.ValAddress("member-validator----").String()
	memberSigner, err := loadConsensusSigner(keyFile, member)
	require.NoError(t, err)
	outsiderVal, err := loadConsensusSigner(keyFile, sdk.ValAddress("other-validator-----").String())
	require.NoError(t, err)
	creatorKey, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	outsiderKey, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	creator, outsider := ethSigner{creatorKey}, ethSigner{outsiderKey}

	task := &computetypes.Task{
		Id: 4, Creator: creator.Signer(), State: computetypes.TASK_STATE_SUBMITTED, Committee: []string{member},
		Result: computetypes.Blob{Sha256: result}, Inputs: []computetypes.Blob{{Sha256: input}},
	}
	keys := map[string][]byte{member: pv.Key.PubKey.Bytes(), outsiderVal.Signer(): ed25519.PublicKey(make([]byte, 32))}
	srv := httptest.NewServer(server.Handler(st, prometheus.NewRegistry(), taskAuthorizer{task: task, keys: keys}, nil))
	defer srv.Close()
	get := func(sha string, s blobauth.Signer) int {
		res, err := blobauth.Get(context.Background(), http.DefaultClient, srv.URL+"/v1/blobs/"+sha, 4, s)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}

	require.Equal(t, http.StatusOK, get(result, memberSigner), "a committee member reads the result")
	require.Equal(t, http.StatusOK, get(input, memberSigner), "and the inputs the provider kept")
	require.Equal(t, http.StatusForbidden, get(result, creator), "the creator waits for the verdict")
	require.Equal(t, http.StatusForbidden, get(result, outsider), "an outsider never reads it")
	require.Equal(t, http.StatusForbidden, get(result, outsiderVal), "a validator off the committee, even with a key it claims")

	task.State, task.VerifiedHeight = computetypes.TASK_STATE_VERIFIED, 10
	require.Equal(t, http.StatusOK, get(result, creator), "the creator reads it once the verdict is in")
	require.Equal(t, http.StatusForbidden, get(input, creator), "inputs go to the committee only")
	require.Equal(t, http.StatusForbidden, get(result, outsider))
	require.Equal(t, http.StatusForbidden, get("00"+result[2:], memberSigner), "a blob that is not the task's")

	// no proof, a proof for another task, a reused challenge
	res, err := http.Get(srv.URL + "/v1/blobs/" + result + "?task=4")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	res, err = blobauth.Get(context.Background(), http.DefaultClient, srv.URL+"/v1/blobs/"+result, 5, memberSigner)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusForbidden, res.StatusCode, "task 5's result is not this blob")
	ch := getChallenge(t, srv.URL)
	sig, _ := memberSigner.Sign(blobauth.Message(ch, 4, result))
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/blobs/"+result+"?task=4", nil)
		req.Header.Set(blobauth.HeaderChallenge, ch)
		req.Header.Set(blobauth.HeaderSigner, member)
		req.Header.Set(blobauth.HeaderPubKey, hexOf(memberSigner.PubKey()))
		req.Header.Set(blobauth.HeaderSignature, hexOf(sig))
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, want, res.StatusCode, "use %d of one challenge", i+1)
	}
}

func getChallenge(t *testing.T, base string) string {
	res, err := http.Get(base + blobauth.ChallengePath)
	require.NoError(t, err)
	defer res.Body.Close()
	var v struct {
		Challenge string `json:"challenge"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&v))
	return v.Challenge
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// delegate reads for a contract with an account key.
type delegate struct {
	ethSigner
	contract string
}

func (d delegate) For() string { return d.contract }

// TestAContractsResultGoesToTheAccountItApproves: a contract that created a task cannot sign, so
// an account reads for it, and the server asks the contract (ERC-1271) whether that account's
// signature stands for it: only after every other check, and only for the task's creator.
func TestAContractsResultGoesToTheAccountItApproves(t *testing.T) {
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	result, err := st.Put([]byte("the contract's result"))
	require.NoError(t, err)
	ownerKey, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	strangerKey, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	contract := sdk.AccAddress("a-consumer-contract-").String()
	other := sdk.AccAddress("another-contract----").String()
	owner := ethSigner{ownerKey}

	// the contract's isValidSignature: the owner's key signed keccak256(msg)
	asked := 0
	approves := func(c string, msg, sig []byte) error {
		asked++
		require.Equal(t, contract, c)
		pub, err := crypto.SigToPub(crypto.Keccak256(msg), sig)
		if err != nil || crypto.PubkeyToAddress(*pub) != common.BytesToAddress(ownerKey.PubKey().Address()) {
			return errors.New("not the owner's signature")
		}
		return nil
	}
	task := &computetypes.Task{Id: 4, Creator: contract, State: computetypes.TASK_STATE_SUBMITTED, Result: computetypes.Blob{Sha256: result}}
	srv := httptest.NewServer(server.Handler(st, prometheus.NewRegistry(), taskAuthorizer{task: task, approves: approves}, nil))
	defer srv.Close()
	get := func(s blobauth.Signer) int {
		res, err := blobauth.Get(context.Background(), http.DefaultClient, srv.URL+"/v1/blobs/"+result, 4, s)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}

	require.Equal(t, http.StatusForbidden, get(delegate{owner, contract}), "the creator contract waits for the verdict too")
	require.Zero(t, asked, "the contract is not asked before the verdict")

	task.State, task.VerifiedHeight = computetypes.TASK_STATE_VERIFIED, 10
	require.Equal(t, http.StatusOK, get(delegate{owner, contract}), "the owner reads for its contract")
	require.Equal(t, 1, asked)
	require.Equal(t, http.StatusForbidden, get(owner), "the owner is not the creator on its own")
	require.Equal(t, http.StatusForbidden, get(delegate{ethSigner{strangerKey}, contract}), "the contract refuses a stranger")
	require.Equal(t, 2, asked)
	require.Equal(t, http.StatusForbidden, get(delegate{owner, other}), "a contract that is not the creator")
	require.Equal(t, 2, asked, "is never asked")
}
