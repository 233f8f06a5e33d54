package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/sidecar/server"
	"github.com/opengpu/ogpu/sidecar/store"
)

func TestBlobsAndMetrics(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	require.NoError(t, err)
	data := []byte("0123456789abcdef")
	sha, err := st.Put(data)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ogpu_sidecar_bids_total", Help: "bids"})
	reg.MustRegister(c)
	c.Add(3)
	srv := httptest.NewServer(server.Handler(st, reg, nil, nil))
	defer srv.Close()

	get := func(path, rng string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	res, body := get("/v1/blobs/"+sha, "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, string(data), body)
	res, body = get("/v1/blobs/"+sha, "bytes=4-7")
	require.Equal(t, http.StatusPartialContent, res.StatusCode)
	require.Equal(t, "4567", body)
	res, _ = get("/v1/blobs/"+strings.Repeat("0", 64), "")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = get("/v1/blobs/..%2fetc%2fpasswd", "")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	_, body = get("/metrics", "")
	require.Contains(t, body, "ogpu_sidecar_bids_total 3")

	// a new store on the same directory still has the blob: results survive a restart
	again, err := store.Open(dir)
	require.NoError(t, err)
	got, err := again.Get(sha)
	require.NoError(t, err)
	require.Equal(t, data, got)
}
