package stream

import (
	"context"
	"testing"
)

// BenchmarkInfer is the client's cost per request, signing and checking included, against two
// in-process replicas of a 16-8-4 model.
func BenchmarkInfer(b *testing.B) {
	n := newTestNet(b, 2, bigShare.MulRaw(1_000_000))
	s := n.open(b)
	rows := testRows(1, 1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Infer(context.Background(), rows); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
