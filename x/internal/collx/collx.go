// Package collx holds what the modules need from collections beyond its API.
package collx

import (
	"context"

	"cosmossdk.io/collections"
)

// Clear removes the entries of m in r. Map.Clear sets aside room for 10,000 keys on every call;
// the ranges the modules clear (a task's bids, a committee's attestations) hold a few dozen at
// most, and are often empty, so on the market's hot path this walks and removes them instead.
func Clear[K, V any](ctx context.Context, m collections.Map[K, V], r collections.Ranger[K]) error {
	iter, err := m.Iterate(ctx, r)
	if err != nil {
		return err
	}
	keys, err := iter.Keys() // closes the iterator
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := m.Remove(ctx, k); err != nil {
			return err
		}
	}
	return nil
}
