package sidecar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"

	"github.com/opengpu/ogpu/gpu/gemm"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// blobServer serves body at /blob and counts the requests; the blob declared for it is right.
func blobServer(t *testing.T, body []byte) (*httptest.Server, computetypes.Blob, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/blob":
			_, _ = w.Write(body)
		case "/moved":
			http.Redirect(w, r, "/blob", http.StatusFound)
		case "/stall":
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(body)
	return srv, computetypes.Blob{Uri: srv.URL + "/blob", Sha256: hex.EncodeToString(sum[:]), Size_: uint64(len(body))}, &hits
}

// fetcher is a sidecar that only fetches.
func fetcher(allowPrivate bool) *Sidecar {
	return newSidecar(Config{AllowPrivateFetch: allowPrivate}, log.NewNopLogger(), newFakeChain(), nil, gemm.CPU{})
}

func fetchAll(s *Sidecar, b computetypes.Blob, maxSize uint64) ([]byte, error) {
	var got []byte
	err := s.streamBlob(context.Background(), b, 1, nil, maxSize, func(r io.Reader) error {
		var err error
		got, err = io.ReadAll(r)
		return err
	})
	return got, err
}

// TestFetchRefusesRedirect: a blob is read only from the address on chain; a redirect, even
// to the same server, is refused.
func TestFetchRefusesRedirect(t *testing.T) {
	body := []byte("the blob")
	_, blob, hits := blobServer(t, body)
	s := fetcher(true)
	got, err := fetchAll(s, blob, 1<<20)
	require.NoError(t, err)
	require.Equal(t, body, got)

	moved := blob
	moved.Uri = strings.Replace(blob.Uri, "/blob", "/moved", 1)
	_, err = fetchAll(s, moved, 1<<20)
	require.ErrorIs(t, err, errBlobUnavailable)
	require.ErrorContains(t, err, "/blob refused: a blob is fetched only from the address on chain")
	require.EqualValues(t, 2, hits.Load(), "the redirect's target was never asked")
}

// TestFetchRefusesPrivateAddresses: without allow-private-fetch no connection is made to a
// loopback address, by IP or by a name that resolves to one (the dialer checks the address it
// connects to); with it, the same fetch succeeds.
func TestFetchRefusesPrivateAddresses(t *testing.T) {
	body := []byte("the blob")
	srv, blob, hits := blobServer(t, body)
	byName := blob
	byName.Uri = strings.Replace(blob.Uri, "127.0.0.1", "localhost", 1)
	for _, b := range []computetypes.Blob{blob, byName} {
		_, err := fetchAll(fetcher(false), b, 1<<20)
		require.ErrorIs(t, err, errBlobUnavailable, b.Uri)
		require.ErrorContains(t, err, "is a loopback, private, link-local or reserved address")
		require.ErrorContains(t, err, "allow-private-fetch")
	}
	require.Zero(t, hits.Load(), "no request reached the server")

	got, err := fetchAll(fetcher(true), byName, 1<<20)
	require.NoError(t, err)
	require.Equal(t, body, got)
	require.NotEmpty(t, srv.URL)
}

// TestPublicAddr is the address rule.
func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700::1111": true, "64:ff9b::808:808": true,
		"127.0.0.1": false, "127.1.2.3": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "0.1.2.3": false, "224.0.0.1": false,
		"255.255.255.255": false, "198.18.0.1": false, "::1": false, "::": false, "fe80::1": false,
		"fc00::1": false, "fd12:3456::1": false, "ff02::1": false, "::ffff:127.0.0.1": false,
		"::ffff:10.0.0.1": false, "64:ff9b::a00:1": false, "2001:db8::1": false,
	} {
		require.Equal(t, want, publicAddr(netip.MustParseAddr(addr)), addr)
	}
	require.ErrorIs(t, refusePrivate("tcp", "10.0.0.1:80", nil), errPrivateAddress)
	require.NoError(t, refusePrivate("tcp", "[2606:4700::1111]:443", nil))
	require.ErrorIs(t, refusePrivate("tcp", "no-port", nil), errPrivateAddress)
}

// TestFetchCapsSizeTimeAndHash: a declared size over the cap is refused before any request,
// more or fewer bytes than declared or another sha256 make the blob unavailable whatever the
// consumer read, a stalled server is cut off at the time cap, and only http(s) is fetched.
func TestFetchCapsSizeTimeAndHash(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1000)
	_, blob, hits := blobServer(t, body)
	s := fetcher(true)

	_, err := fetchAll(s, blob, uint64(len(body))-1)
	require.ErrorContains(t, err, "must be at most")
	require.Zero(t, hits.Load())

	short := blob
	short.Size_--
	_, err = fetchAll(s, short, 1<<20)
	require.ErrorIs(t, err, errBlobUnavailable)
	require.ErrorContains(t, err, "more than the declared")

	long := blob
	long.Size_++
	_, err = fetchAll(s, long, 1<<20)
	require.ErrorContains(t, err, "bytes, declared")

	other := blob
	other.Sha256 = strings.Repeat("0", 64)
	_, err = fetchAll(s, other, 1<<20)
	require.ErrorContains(t, err, "sha256 does not match")

	// the consumer stops early: the rest is still read and hashed before the verdict
	err = s.streamBlob(context.Background(), blob, 1, nil, 1<<20, func(r io.Reader) error {
		_, err := r.Read(make([]byte, 10))
		return err
	})
	require.NoError(t, err)

	stall := blob
	stall.Uri = strings.Replace(blob.Uri, "/blob", "/stall", 1)
	s.fetchTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err = fetchAll(s, stall, 1<<20)
	require.ErrorIs(t, err, errBlobUnavailable)
	require.Less(t, time.Since(start), 5*time.Second)

	for _, uri := range []string{"file:///etc/passwd", "ftp://example.com/x", "/v1/blobs/x"} {
		_, err = fetchAll(s, computetypes.Blob{Uri: uri, Size_: 1}, 1<<20)
		require.ErrorContains(t, err, "must be an http or https URL", uri)
	}
}
