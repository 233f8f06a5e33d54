// Package store is the sidecar's content-addressed blob store: each blob is a file named by its
// sha256 under one directory, written atomically, so results survive a restart.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// ErrNotFound is a blob the store does not hold.
var ErrNotFound = errors.New("blob not found")

var hexSHA = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Store keeps blobs in dir.
type Store struct{ dir string }

// Open makes dir if needed and returns the store in it.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
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
