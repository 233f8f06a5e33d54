package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDownloadBlobChecksSizeAndHash(t *testing.T) {
	blob := []byte("the result of a gemm task")
	sum := sha256.Sum256(blob)
	sha := hex.EncodeToString(sum[:])
	serve := blob
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(serve) }))
	defer srv.Close()
	dir := t.TempDir()

	out := filepath.Join(dir, "ok.bin")
	require.NoError(t, DownloadBlob(context.Background(), srv.URL, 0, nil, sha, uint64(len(blob)), out))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, blob, got)

	for name, body := range map[string][]byte{
		"one byte changed": append([]byte("The"), blob[3:]...),
		"too long":         append(append([]byte(nil), blob...), '!'),
		"too short":        blob[:len(blob)-1],
	} {
		serve = body
		bad := filepath.Join(dir, name)
		err := DownloadBlob(context.Background(), srv.URL, 0, nil, sha, uint64(len(blob)), bad)
		require.ErrorIs(t, err, ErrBlobMismatch, name)
		require.NoFileExists(t, bad, "%s: a mismatching download is not kept", name)
	}
}
