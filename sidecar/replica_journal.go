package sidecar

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// A replica's journal keeps what it must not lose to a restart: the receipts of the periods not
// yet settled or kept for inclusion proofs and the next sequence, the latest voucher and its signature, the periods sealed,
// committed and revealed, and the last voucher redeemed. It is a file of JSON lines, one per
// change, appended without a sync (a process that dies loses nothing the OS took) and rewritten
// short whenever a period is forgotten.
type journalEntry struct {
	Receipt    []byte  `json:"receipt,omitempty"` // protobuf Receipt
	Voucher    []byte  `json:"voucher,omitempty"` // protobuf Voucher
	VoucherSig []byte  `json:"voucher_sig,omitempty"`
	Next       uint64  `json:"next,omitempty"` // the next sequence
	Sealed     int64   `json:"sealed,omitempty"`
	Committed  *uint64 `json:"committed,omitempty"` // a period committed
	Revealed   *uint64 `json:"revealed,omitempty"`  // a period revealed
	Claimed    uint64  `json:"claimed,omitempty"`   // the nonce of a voucher redeemed
	Settled    *uint64 `json:"settled,omitempty"`   // a period settled, kept for inclusion proofs
}

func journalPath(dir string, stream uint64) string {
	return filepath.Join(dir, strconv.FormatUint(stream, 10)+".jsonl")
}

// hasJournal says whether dir holds a journal of stream.
func hasJournal(dir string, stream uint64) bool {
	if dir == "" {
		return false
	}
	_, err := os.Stat(journalPath(dir, stream))
	return err == nil
}

// openJournal reads the replica's journal in dir, if any, into r, and opens it for appending.
// Callers hold r.mu or own r alone.
func (r *replica) openJournal(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("stream %d journal: %w", r.id, err)
	}
	path := journalPath(dir, r.id)
	f, err := os.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("stream %d journal: %w", r.id, err)
	default:
		err := r.replayJournal(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("stream %d journal %s: %w", r.id, path, err)
		}
	}
	r.journal, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("stream %d journal: %w", r.id, err)
	}
	r.journalDir = dir
	return nil
}

// replayJournal applies every entry of a journal to r. A line that is not an entry is skipped
// (a line cut short by a crash); one past the scanner's bound is an error, since it hides
// every entry after it.
func (r *replica) replayJournal(journal io.Reader) error {
	sc := bufio.NewScanner(journal)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e journalEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		r.replay(e)
	}
	return sc.Err()
}

// replay applies one journal entry to r.
func (r *replica) replay(e journalEntry) {
	if e.Receipt != nil {
		var rc computetypes.Receipt
		if rc.Unmarshal(e.Receipt) == nil {
			r.book.add(r.st.Period(rc.Height, r.params.ReceiptPeriod), rc)
			r.seq = max(r.seq, rc.Sequence+1)
			r.lastDated = max(r.lastDated, rc.Height)
		}
	}
	if e.Voucher != nil {
		var v computetypes.Voucher
		if v.Unmarshal(e.Voucher) == nil && v.Nonce > r.nonce && !v.Total.IsNil() {
			r.nonce, r.total, r.voucher, r.voucherSig = v.Nonce, v.Total, &v, e.VoucherSig
		}
	}
	r.seq = max(r.seq, e.Next)
	r.sealed = max(r.sealed, e.Sealed)
	if e.Committed != nil {
		r.book.period(*e.Committed).committed = true
	}
	if e.Revealed != nil {
		r.book.period(*e.Revealed).revealed = true
	}
	if e.Settled != nil {
		r.book.settle(*e.Settled)
	}
	r.claimedNonce = max(r.claimedNonce, e.Claimed)
}

// note appends e to the journal; callers hold r.mu. A failed write is logged by the caller's
// next compaction at worst: the journal only shortens what a restart loses.
func (r *replica) note(e journalEntry) {
	if r.journal == nil {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	_, _ = r.journal.Write(append(b, '\n'))
}

// compact rewrites the journal with what r holds now; callers hold r.mu.
func (r *replica) compact() error {
	if r.journal == nil {
		return nil
	}
	path := journalPath(r.journalDir, r.id)
	tmp, err := os.CreateTemp(r.journalDir, ".journal-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	_ = enc.Encode(journalEntry{Next: r.seq, Sealed: r.sealed, Claimed: r.claimedNonce})
	if r.voucher != nil {
		vb, _ := r.voucher.Marshal()
		_ = enc.Encode(journalEntry{Voucher: vb, VoucherSig: r.voucherSig})
	}
	periods := make([]uint64, 0, len(r.book.periods)+len(r.book.proved))
	for p := range r.book.periods {
		periods = append(periods, p)
	}
	for p := range r.book.proved {
		periods = append(periods, p)
	}
	slices.Sort(periods)
	for _, p := range periods {
		pr, settled := r.book.proved[p]
		if !settled {
			pr = r.book.periods[p]
		}
		for _, rc := range pr.receipts {
			b, _ := rc.Marshal()
			_ = enc.Encode(journalEntry{Receipt: b})
		}
		if pr.committed {
			_ = enc.Encode(journalEntry{Committed: &p})
		}
		if pr.revealed {
			_ = enc.Encode(journalEntry{Revealed: &p})
		}
		if settled {
			_ = enc.Encode(journalEntry{Settled: &p})
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	r.journal.Close()
	r.journal, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	return err
}

// closeJournal closes and deletes the journal of a replica forgotten; callers hold r.mu.
func (r *replica) closeJournal() {
	if r.journal == nil {
		return
	}
	r.journal.Close()
	r.journal = nil
	_ = os.Remove(journalPath(r.journalDir, r.id))
}
