package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"cosmossdk.io/math"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// VoucherStore keeps the last voucher issued to each replica beyond the life of a Stream. The
// chain only knows the vouchers a replica redeemed; one it holds and has not redeemed yet would
// make a new client's first voucher a nonce it already took (409). Save is called before the
// voucher is sent, and again with the voucher before it when the replica never took it.
type VoucherStore interface {
	Load(streamID uint64, provider string) (v computetypes.Voucher, ok bool, err error)
	Save(v computetypes.Voucher) error
}

// WithVoucherStore keeps the vouchers in store, read when a replica is first seen.
func WithVoucherStore(store VoucherStore) Option { return func(c *config) { c.store = store } }

// FileStore is a VoucherStore in one JSON file, rewritten whole (atomically) at every Save.
type FileStore struct {
	path string

	mu       sync.Mutex
	loaded   bool
	vouchers map[string]storedVoucher
}

type storedVoucher struct {
	Total string `json:"total"`
	Nonce uint64 `json:"nonce"`
}

// NewFileStore is the store in the file at path; the file and its directory are made at the
// first Save.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

func storeKey(streamID uint64, provider string) string {
	return fmt.Sprintf("%d/%s", streamID, provider)
}

func (f *FileStore) load() error {
	if f.loaded {
		return nil
	}
	f.vouchers = map[string]storedVoucher{}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		f.loaded = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("voucher store: %w", err)
	}
	if err := json.Unmarshal(b, &f.vouchers); err != nil {
		return fmt.Errorf("voucher store %s: %w", f.path, err)
	}
	f.loaded = true
	return nil
}

// Load is the last voucher saved for the replica of the stream.
func (f *FileStore) Load(streamID uint64, provider string) (computetypes.Voucher, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.load(); err != nil {
		return computetypes.Voucher{}, false, err
	}
	sv, ok := f.vouchers[storeKey(streamID, provider)]
	if !ok {
		return computetypes.Voucher{}, false, nil
	}
	total, okTotal := math.NewIntFromString(sv.Total)
	if !okTotal {
		return computetypes.Voucher{}, false, fmt.Errorf("voucher store %s: %s: total %q is not an integer", f.path, storeKey(streamID, provider), sv.Total)
	}
	return computetypes.Voucher{StreamId: streamID, Provider: provider, Total: total, Nonce: sv.Nonce}, true, nil
}

// Save records v as the last voucher of its replica.
func (f *FileStore) Save(v computetypes.Voucher) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.load(); err != nil {
		return err
	}
	f.vouchers[storeKey(v.StreamId, v.Provider)] = storedVoucher{Total: v.Total.String(), Nonce: v.Nonce}
	b, err := json.MarshalIndent(f.vouchers, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return fmt.Errorf("voucher store: %w", err)
	}
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("voucher store: %w", err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return fmt.Errorf("voucher store: %w", err)
	}
	return nil
}
