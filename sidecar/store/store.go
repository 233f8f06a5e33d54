// Package store is the sidecar's content-addressed blob store: each blob is a file named by its
// sha256 under one directory, written atomically, so results survive a restart. Blobs are held
// by the tasks that need them (holds, under .holds/), and a task's release deletes the blobs no
// other task holds.
package store

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// ErrNotFound is a blob the store does not hold.
var ErrNotFound = errors.New("blob not found")

var hexSHA = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Store keeps blobs in dir.
type Store struct {
	dir string
	mu  sync.Mutex // orders commits and holds against releases, so no held blob is deleted
}

// holdsDir is where the holds live, beside the blobs; its name is no sha256, so it is never
// served.
const holdsDir = ".holds"

// Open makes dir if needed and returns the store in it.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, holdsDir), 0o755); err != nil {
		return nil, fmt.Errorf("blob store %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// Put stores data and returns its sha256 in lowercase hex.
func (s *Store) Put(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	name := hex.EncodeToString(sum[:])
	if _, err := os.Stat(s.path(name)); err == nil {
		return name, nil
	}
	tmp, err := os.CreateTemp(s.dir, ".put-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return name, os.Rename(tmp.Name(), s.path(name))
}

// Open returns the blob named sha for reading and seeking.
func (s *Store) Open(sha string) (*os.File, error) {
	if !hexSHA.MatchString(sha) {
		return nil, fmt.Errorf("%w: %q is not a sha256 in lowercase hex", ErrNotFound, sha)
	}
	f, err := os.Open(s.path(sha))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, sha)
	}
	return f, err
}

// Has reports whether the store holds sha.
func (s *Store) Has(sha string) bool {
	f, err := s.Open(sha)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// Get reads a whole blob.
func (s *Store) Get(sha string) ([]byte, error) {
	f, err := s.Open(sha)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (s *Store) path(sha string) string { return filepath.Join(s.dir, sha) }

// Writer writes a blob whose name is known only once it is complete.
type Writer struct {
	st   *Store
	f    *os.File
	h    hash.Hash
	done bool
}

// Create starts a blob.
func (s *Store) Create() (*Writer, error) {
	f, err := os.CreateTemp(s.dir, ".put-*")
	if err != nil {
		return nil, err
	}
	return &Writer{st: s, f: f, h: sha256.New()}, nil
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	w.h.Write(p)
	return w.f.Write(p)
}

// Commit stores the blob under its sha256, held by task, and returns its name; the blob is on
// disk when Commit returns.
func (w *Writer) Commit(task uint64) (string, error) { return w.commit(task, true) }

// CommitUnsynced is Commit without waiting for the disk: the blob survives a crash of the
// process at once, and a crash of the machine after the next Sync. A stream replica keeps each
// request and response this way and syncs once per period, before it commits the period's
// receipts on chain.
func (w *Writer) CommitUnsynced(task uint64) (string, error) { return w.commit(task, false) }

func (w *Writer) commit(task uint64, sync bool) (string, error) {
	if w.done {
		return "", errors.New("blob store: writer already committed or aborted")
	}
	w.done = true
	defer os.Remove(w.f.Name())
	if sync {
		if err := w.f.Sync(); err != nil {
			w.f.Close()
			return "", err
		}
	}
	if err := w.f.Close(); err != nil {
		return "", err
	}
	name := hex.EncodeToString(w.h.Sum(nil))
	w.st.mu.Lock()
	defer w.st.mu.Unlock()
	if _, err := os.Stat(w.st.path(name)); err != nil {
		if err := os.Rename(w.f.Name(), w.st.path(name)); err != nil {
			return "", err
		}
	}
	return name, w.st.hold(task, name)
}

// Abort drops an uncommitted blob; after Commit it does nothing.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

// Hold is the blobs a task needs, and when the task was seen settled (zero: not yet).
type Hold struct {
	Task    uint64    `json:"task"`
	Blobs   []string  `json:"blobs"`
	Settled time.Time `json:"settled,omitzero"`
}

// Hold records that task needs blob sha.
func (s *Store) Hold(task uint64, sha string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hold(task, sha)
}

func (s *Store) hold(task uint64, sha string) error {
	h, err := s.readHold(task)
	if err != nil {
		return err
	}
	if !slices.Contains(h.Blobs, sha) {
		h.Blobs = append(h.Blobs, sha)
	}
	h.Settled = time.Time{} // a task that needs a blob again is not over
	return s.writeHold(h)
}

// Settle notes that task was seen settled at t.
func (s *Store) Settle(task uint64, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.readHold(task)
	if err != nil {
		return err
	}
	h.Settled = t
	return s.writeHold(h)
}

// Holds are every task's hold, in task order.
func (s *Store) Holds() ([]Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holds()
}

func (s *Store) holds() ([]Hold, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, holdsDir))
	if err != nil {
		return nil, err
	}
	var out []Hold
	for _, e := range entries {
		task, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil {
			continue // a temporary file
		}
		h, err := s.readHold(task)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Hold) int { return cmp.Compare(a.Task, b.Task) })
	return out, nil
}

// Release forgets task's hold and deletes the blobs it held that no other task holds; it
// returns their names.
func (s *Store) Release(task uint64) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.holds()
	if err != nil {
		return nil, err
	}
	var mine []string
	others := map[string]bool{}
	for _, h := range all {
		if h.Task == task {
			mine = h.Blobs
			continue
		}
		for _, b := range h.Blobs {
			others[b] = true
		}
	}
	if err := os.Remove(s.holdPath(task)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var deleted []string
	for _, b := range mine {
		if others[b] || !hexSHA.MatchString(b) {
			continue
		}
		if err := os.Remove(s.path(b)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return deleted, err
		}
		deleted = append(deleted, b)
	}
	return deleted, nil
}

func (s *Store) holdPath(task uint64) string {
	return filepath.Join(s.dir, holdsDir, strconv.FormatUint(task, 10))
}

func (s *Store) readHold(task uint64) (Hold, error) {
	bz, err := os.ReadFile(s.holdPath(task))
	if errors.Is(err, os.ErrNotExist) {
		return Hold{Task: task}, nil
	}
	if err != nil {
		return Hold{}, err
	}
	var h Hold
	if err := json.Unmarshal(bz, &h); err != nil {
		return Hold{}, fmt.Errorf("blob store: hold of task %d: %w", task, err)
	}
	h.Task = task
	return h, nil
}

func (s *Store) writeHold(h Hold) error {
	bz, err := json.Marshal(h)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, holdsDir), ".hold-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(bz); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.holdPath(h.Task))
}

// Sync writes everything the store's file system holds in memory to disk (syncfs): the blobs
// committed unsynced before it survive a crash of the machine after it returns.
func (s *Store) Sync() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return syncFS(d)
}
