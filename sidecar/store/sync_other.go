//go:build !linux

package store

import (
	"os"
	"syscall"
)

// syncFS flushes what the system holds in memory; f only names the store.
func syncFS(*os.File) error {
	syscall.Sync()
	return nil
}
