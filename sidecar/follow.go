package sidecar

import (
	"context"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// follow sends on wake whenever the node announces a new block over its CometBFT websocket. It
// reconnects after any error; the caller also polls, so a lost connection only costs latency,
// and every pass reads the chain's state, so nothing is missed while disconnected.
func (s *Sidecar) follow(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		if err := s.subscribe(ctx, wake); err != nil && ctx.Err() == nil {
			s.logger.Debug("block subscription lost; reconnecting", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

func (s *Sidecar) subscribe(ctx context.Context, wake chan<- struct{}) error {
	client, err := rpchttp.New(s.cfg.RPC, "/websocket")
	if err != nil {
		return err
	}
	if err := client.Start(); err != nil {
		return err
	}
	defer func() { _ = client.Stop() }()
	events, err := client.Subscribe(ctx, "ogpu-sidecar", "tm.event='NewBlock'", 16)
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-events:
			if !ok {
				return context.Canceled
			}
			select {
			case wake <- struct{}{}:
			default: // a pass is already due
			}
		}
	}
}
