package sidecar

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// getProof asks the replica at url for the inclusion proof of receipt seq of stream 7.
func getProof(t *testing.T, url string, seq uint64) (int, receiptProof, string) {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("%s/v1/streams/7/receipts/%d/proof", url, seq))
	require.NoError(t, err)
	defer res.Body.Close()
	var body struct {
		receiptProof
		Error string `json:"error"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	return res.StatusCode, body.receiptProof, body.Error
}

// TestReplicaServesInclusionProofs: once a period's commitment is on chain, the replica proves
// each of its receipts under the root it committed, also after the period settles, for
// proofPeriods periods; and after a restart.
func TestReplicaServesInclusionProofs(t *testing.T) {
	f := newJournaledReplica(t, t.TempDir())
	var receipts []computetypes.Receipt
	for i := range 3 {
		res := f.send(t, paid{x: testRows(1), rows: 1, total: int64(10 * (i + 1)), nonce: uint64(i + 1)})
		require.Equal(t, http.StatusOK, res.StatusCode)
		receipts = append(receipts, receiptOf(t, res))
	}
	code, _, msg := getProof(t, f.url, 1)
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, msg, "not committed on chain yet")

	f.at(109)
	f.records(computetypes.ReceiptCommitment{Period: 0})
	f.s.replicaPass(t.Context())
	var root []byte
	for _, m := range f.chain.msgs() {
		if m, ok := m.(*computetypes.MsgCommitReceipts); ok {
			root = m.Root
		}
	}
	require.NotNil(t, root)
	code, _, msg = getProof(t, f.url, 1)
	require.Equal(t, http.StatusNotFound, code, "sent, but not on chain yet")
	require.Contains(t, msg, "not committed on chain yet")

	check := func() {
		t.Helper()
		for i, want := range receipts {
			code, p, msg := getProof(t, f.url, uint64(i))
			require.Equal(t, http.StatusOK, code, msg)
			require.Equal(t, root, p.Root, "the root the replica committed")
			require.Equal(t, uint64(0), p.Period)
			require.Equal(t, uint64(3), p.Count)
			require.Equal(t, uint64(i), p.Index)
			var got computetypes.Receipt
			require.NoError(t, got.Unmarshal(p.Receipt))
			require.Equal(t, want, got)
			require.NoError(t, computetypes.VerifySample(replicaChainID, root, p.Count, computetypes.SampleProof{Receipt: got, Index: p.Index, Aunts: p.Aunts}))
		}
		code, _, msg := getProof(t, f.url, 3)
		require.Equal(t, http.StatusNotFound, code)
		require.Contains(t, msg, "not held")
	}
	f.at(111)
	committed := computetypes.ReceiptCommitment{Period: 0, Root: root, Count: 3, CommittedHeight: 110}
	f.records(committed)
	f.s.replicaPass(t.Context())
	check()

	// revealed: the period is settled and kept for proofs, across a restart
	committed.SampledHeight, committed.Samples, committed.Revealed = 111, []uint64{0, 2}, true
	f.records(committed)
	f.at(112)
	f.s.replicaPass(t.Context())
	r := f.s.replicas.get(7)
	r.mu.Lock()
	_, unsettled := r.book.periods[0]
	r.mu.Unlock()
	require.False(t, unsettled)
	check()
	f.restart(t, 113)
	check()

	// proofPeriods periods later it is forgotten
	f.at(100 + 10*proofPeriods)
	f.s.replicaPass(t.Context())
	code, _, msg = getProof(t, f.url, 0)
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, msg, "not held")

	res, err := http.Get(f.url + "/v1/streams/7/receipts/x/proof")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
}

// TestReplicaCommitsPeriodsInOrder: the chain takes a replica's periods in order, so a period
// whose commitment failed holds back the later ones of the same pass, which go in the next.
func TestReplicaCommitsPeriodsInOrder(t *testing.T) {
	f := newReplicaFixture(t)
	periods := func() []uint64 {
		var out []uint64
		for _, m := range f.chain.msgs() {
			if m, ok := m.(*computetypes.MsgCommitReceipts); ok {
				out = append(out, m.Period)
			}
		}
		return out
	}
	f.streams.mu.Lock()
	f.streams.params.RevealWindow = 15 // two periods due at once
	f.streams.mu.Unlock()
	f.chain.mu.Lock()
	f.chain.broadcast = func(sdk.Msg) error { return errors.New("mempool full") }
	f.chain.mu.Unlock()
	f.at(119)
	f.records(computetypes.ReceiptCommitment{Period: 0}, computetypes.ReceiptCommitment{Period: 1})
	f.s.replicaPass(t.Context())
	require.Equal(t, []uint64{0}, periods(), "period 1 waits for period 0")
	f.chain.mu.Lock()
	f.chain.broadcast = nil
	f.chain.mu.Unlock()
	f.at(120)
	f.s.replicaPass(t.Context())
	require.Equal(t, []uint64{0, 0, 1}, periods())
}
