package sidecar

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// collectEvery is how often the provider looks for blobs past their retention.
const collectEvery = time.Minute

// collectBlobs deletes the blobs of tasks that settled (COMPLETED, FAILED, EXPIRED or CANCELLED)
// at least BlobRetention before now, unless another task still holds them. A settlement counts
// from when this sidecar first sees it, noted in the store: a sidecar that was down keeps blobs
// longer, never shorter.
func (s *Sidecar) collectBlobs(ctx context.Context, now time.Time) {
	holds, err := s.store.Holds()
	if err != nil {
		s.logger.Error("blob holds", "err", err)
		return
	}
	for _, h := range holds {
		if h.Settled.IsZero() {
			t, err := s.chain.task(ctx, h.Task)
			switch {
			case status.Code(err) == codes.NotFound: // pruned: over long ago
			case err != nil, !t.State.IsFinal():
				continue
			}
			if err := s.store.Settle(h.Task, now); err != nil {
				s.logger.Error("blob holds", "task", h.Task, "err", err)
				continue
			}
			h.Settled = now
		}
		if now.Sub(h.Settled) < s.cfg.BlobRetention {
			continue
		}
		deleted, err := s.store.Release(h.Task)
		if err != nil {
			s.logger.Error("delete blobs", "task", h.Task, "err", err)
			continue
		}
		s.mu.Lock()
		delete(s.trainRuns, h.Task) // its states are gone with its blobs
		s.mu.Unlock()
		s.metrics.blobsDeleted.Add(float64(len(deleted)))
		if len(deleted) > 0 {
			s.logger.Info("blobs deleted after retention", "task", h.Task, "blobs", len(deleted), "settled", h.Settled)
		}
	}
}
