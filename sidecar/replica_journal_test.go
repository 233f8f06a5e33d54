package sidecar

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// journalReplica is a fresh replica of stream 7, live at 100, to read a journal into.
func journalReplica() *replica {
	st := computetypes.Stream{Id: 7, State: computetypes.STREAM_STATE_LIVE, LiveHeight: 100, EndHeight: 1000, Replicas: 2, Budget: math.NewInt(1000)}
	self := computetypes.Replica{Provider: "ogpu1replica", Price: math.NewInt(10), Claimed: math.ZeroInt(), Collateral: math.ZeroInt()}
	return newReplica(st, self, computetypes.DefaultStreamParams())
}

// journalSeed is a journal as a replica writes it: a header line, a voucher, receipts of two
// periods, the first committed and revealed.
func journalSeed(t testing.TB) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	p0 := uint64(0)
	v := computetypes.Voucher{StreamId: 7, Provider: "ogpu1replica", Total: math.NewInt(30), Nonce: 3}
	vb, err := v.Marshal()
	require.NoError(t, err)
	require.NoError(t, enc.Encode(journalEntry{Next: 2, Sealed: 109, Claimed: 1}))
	require.NoError(t, enc.Encode(journalEntry{Voucher: vb, VoucherSig: []byte{1, 2, 3}}))
	for i, h := range []int64{105, 112} {
		rc := computetypes.Receipt{
			StreamId: 7, Provider: "ogpu1replica", Sequence: uint64(i), Height: h,
			InputSha256: strings.Repeat("ab", 32), OutputSha256: strings.Repeat("cd", 32), InputSize: 40, OutputSize: 200,
		}
		b, err := rc.Marshal()
		require.NoError(t, err)
		require.NoError(t, enc.Encode(journalEntry{Receipt: b}))
	}
	require.NoError(t, enc.Encode(journalEntry{Committed: &p0}))
	require.NoError(t, enc.Encode(journalEntry{Revealed: &p0}))
	return buf.Bytes()
}

// TestAJournalLineTooLongIsAnError: a journal the reader cannot read to its end is an error,
// not the silent loss of every entry after the long line.
func TestAJournalLineTooLongIsAnError(t *testing.T) {
	dir := t.TempDir()
	long := append(bytes.Repeat([]byte{'x'}, 2<<20), '\n')
	require.NoError(t, os.WriteFile(journalPath(dir, 7), append(long, journalSeed(t)...), 0o644))
	r := journalReplica()
	require.ErrorContains(t, r.openJournal(dir), "stream 7 journal")
	require.Nil(t, r.journal)
}

// FuzzJournal: a journal of any bytes is read into a replica or refused with an error, never a
// panic; what is read leaves the replica's state well-formed.
func FuzzJournal(f *testing.F) {
	// short journals, so that what the fuzzer finds is short and quick to minimize (a journal as
	// the replica writes it is in the tests above): a voucher and a receipt with only the fields
	// the journal reads
	short := []byte(`{"next":2,"sealed":109}` + "\n" + `{"voucher":"CAcaAjMwIAM=","voucher_sig":"AQ=="}` + "\n" +
		`{"receipt":"CAcYAUBp"}` + "\n" + `{"committed":0}` + "\n" + `{"revealed":0,"claimed":1}` + "\n")
	f.Add(short)
	f.Add(short[:len(short)/2])
	f.Add(append(append([]byte{}, short...), "{\"receipt\": \"AAAA\"}\n{\"committed\": -1}\n{\"voucher\": 5}\n\x00\x00\x00"...))
	f.Add([]byte(`{"voucher":"CgEH","voucher_sig":null}` + "\n" + `{"receipt":"CAcSAA==","next":18446744073709551615}`))
	f.Add([]byte(`{"sealed":-9223372036854775808,"committed":18446744073709551615,"revealed":0}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, journal []byte) {
		r := journalReplica()
		if err := r.replayJournal(bytes.NewReader(journal)); err != nil {
			return
		}
		require.False(t, r.total.IsNil())
		if r.voucher != nil {
			require.Equal(t, r.nonce, r.voucher.Nonce)
			require.False(t, r.voucher.Total.IsNil())
			_, err := r.voucher.Marshal()
			require.NoError(t, err)
		}
		for p, pr := range r.book.periods {
			for _, rc := range pr.receipts {
				require.Equal(t, p, r.st.Period(rc.Height, r.params.ReceiptPeriod))
				_ = computetypes.ReceiptSignBytes(replicaChainID, rc)
			}
		}
	})
}

// TestAJournalReadsBackWhatItsCompactionWrote: a journal rewritten short is read back into the
// same state.
func TestAJournalReadsBackWhatItsCompactionWrote(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(journalPath(dir, 7), journalSeed(t), 0o644))
	r := journalReplica()
	require.NoError(t, r.openJournal(dir))
	defer r.closeJournal()
	require.Equal(t, uint64(3), r.nonce)
	require.Equal(t, int64(109), r.sealed)
	r.mu.Lock()
	require.NoError(t, r.compact())
	r.mu.Unlock()
	again := journalReplica()
	require.NoError(t, again.openJournal(dir))
	require.Equal(t, r.seq, again.seq)
	require.Equal(t, r.nonce, again.nonce)
	require.Equal(t, r.total, again.total)
	require.Equal(t, r.sealed, again.sealed)
	require.Equal(t, r.claimedNonce, again.claimedNonce)
	require.Equal(t, r.book.periods, again.book.periods)
	again.journal.Close()
}
