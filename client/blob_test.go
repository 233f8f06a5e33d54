package client

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

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

func TestDownloadFileChecksSizeAndHash(t *testing.T) {
	blob := []byte("the result of a gemm task")
	sum := sha256.Sum256(blob)
	want := computetypes.Blob{Sha256: hex.EncodeToString(sum[:]), Size_: uint64(len(blob))}
	serve := blob
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(serve) }))
	defer srv.Close()
	want.Uri = srv.URL
	c := New(nil, nil)
	dir := t.TempDir()

	out := filepath.Join(dir, "ok.bin")
	require.NoError(t, c.DownloadFile(context.Background(), want, 0, nil, out))
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
		err := c.DownloadFile(context.Background(), want, 0, nil, bad)
		require.ErrorIs(t, err, ErrBlobMismatch, name)
		require.NoFileExists(t, bad, "%s: a mismatching download is not kept", name)
	}
}

func TestDownloadReadsNoMoreThanOnePastTheDeclaredSize(t *testing.T) {
	const declared = 1 << 10
	body := make([]byte, 64<<10) // a server that sends far more than declared
	sum := sha256.Sum256(body[:declared])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	var w countingWriter
	err := New(nil, nil).Download(context.Background(), computetypes.Blob{Uri: srv.URL, Sha256: hex.EncodeToString(sum[:]), Size_: declared}, 0, nil, &w)
	require.ErrorIs(t, err, ErrBlobMismatch)
	require.Equal(t, declared+1, w.n)
}

func TestDownloadReportsARefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "not yours", http.StatusForbidden) }))
	defer srv.Close()
	err := New(nil, nil).Download(context.Background(), computetypes.Blob{Uri: srv.URL, Size_: 1}, 0, nil, &countingWriter{})
	require.ErrorContains(t, err, "403 Forbidden: not yours")
	require.NotErrorIs(t, err, ErrBlobMismatch)
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
