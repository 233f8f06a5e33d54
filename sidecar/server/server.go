// Package server is the sidecar's HTTP face: GET /v1/blobs/{sha256} (with range requests) for
// results and the inputs kept for the committee, GET /v1/challenge for the challenges readers
// sign (blobauth), /metrics for Prometheus, and the routes the sidecar adds (a replica's
// POST /v1/streams/{id}/infer).
package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opengpu/ogpu/sidecar/blobauth"
	"github.com/opengpu/ogpu/sidecar/store"
)

// Authorizer decides whether a proven reader may have a blob; nil means yes.
type Authorizer interface {
	Authorize(ctx context.Context, r blobauth.Request) error
}

// Filler makes a blob of a task that the store lacks but can be made on demand (a training
// run's state between checkpoints); it is asked only for an authorized reader.
type Filler interface {
	Fill(ctx context.Context, task uint64, sha string) error
}

// maxChallenges bounds the outstanding challenges.
const maxChallenges = 10_000

// Route is a further endpoint the sidecar serves beside the blobs: a replica's stream
// inference (POST /v1/streams/{id}/infer).
type Route struct {
	Pattern string // a ServeMux pattern, with its method
	Handler http.Handler
}

// Handler serves the blobs of st to the readers auth lets through (to anyone when auth is
// nil), those fill makes on demand (none when nil), the metrics of reg, and routes.
func Handler(st *store.Store, reg *prometheus.Registry, auth Authorizer, fill Filler, routes ...Route) http.Handler {
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.Handle(r.Pattern, r.Handler)
	}
	challenges := blobauth.NewChallenges(maxChallenges)
	mux.HandleFunc("GET "+blobauth.ChallengePath, func(w http.ResponseWriter, _ *http.Request) {
		ch, err := challenges.New(time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": ch})
	})
	mux.HandleFunc("GET /v1/blobs/{sha256}", func(w http.ResponseWriter, r *http.Request) {
		sha := r.PathValue("sha256")
		var task uint64
		if auth != nil {
			req, ch, err := blobauth.ParseRequest(r, sha)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			if !challenges.Take(ch, time.Now()) {
				http.Error(w, "challenge: unknown, used or expired", http.StatusUnauthorized)
				return
			}
			if err := auth.Authorize(r.Context(), req); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			task = req.Task
		}
		if fill != nil && auth != nil && !st.Has(sha) {
			if err := fill.Fill(r.Context(), task, sha); err != nil {
				http.Error(w, "blob "+sha+": "+err.Error(), http.StatusNotFound)
				return
			}
		}
		f, err := st.Open(sha)
		if errors.Is(err, store.ErrNotFound) {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, "blob store: "+err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"`+sha+`"`)
		http.ServeContent(w, r, "", info.ModTime(), f) // handles Range and If-None-Match
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
