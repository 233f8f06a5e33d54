package client

import (
	"context"
	"fmt"

	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
	"github.com/cosmos/gogoproto/proto"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// ChainID is the chain id the client signs for; vouchers, requests and receipts name it too.
func (c *Client) ChainID() string { return c.chainID }

// Stream is the stream with id.
func (c *Client) Stream(ctx context.Context, id uint64) (computetypes.Stream, error) {
	res, err := c.StreamDetail(ctx, id)
	if err != nil {
		return computetypes.Stream{}, err
	}
	return res.Stream, nil
}

// StreamDetail is the stream with id, its subscriptions and its replicas' receipt commitments
// still held.
func (c *Client) StreamDetail(ctx context.Context, id uint64) (*computetypes.QueryStreamResponse, error) {
	res, err := computetypes.NewQueryClient(c.conn).Stream(ctx, &computetypes.QueryStreamRequest{StreamId: id})
	if err != nil {
		return nil, fmt.Errorf("query stream %d: %w", id, err)
	}
	return res, nil
}

// Streams lists every stream req selects (by state, creator, serving provider), all pages;
// req.Pagination is ignored.
func (c *Client) Streams(ctx context.Context, req *computetypes.QueryStreamsRequest) ([]computetypes.Stream, error) {
	q := computetypes.NewQueryClient(c.conn)
	var all []computetypes.Stream
	req.Pagination = &query.PageRequest{Limit: pageSize}
	for {
		res, err := q.Streams(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("query streams: %w", err)
		}
		all = append(all, res.Streams...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return all, nil
		}
		req.Pagination = &query.PageRequest{Key: res.Pagination.NextKey, Limit: pageSize}
	}
}

// OpenStream sends msg, waits for its tx to be in a block and returns the new stream's id.
func (c *Client) OpenStream(ctx context.Context, txf clienttx.Factory, msg *computetypes.MsgOpenStream) (uint64, error) {
	res, err := c.SendAndWait(ctx, txf, msg)
	if err != nil {
		return 0, fmt.Errorf("open stream: %w", err)
	}
	return OpenedStreamID(res)
}

// OpenedStreamID reads the id of the stream a MsgOpenStream opened from its tx's result.
func OpenedStreamID(res *sdk.TxResponse) (uint64, error) {
	var r computetypes.MsgOpenStreamResponse
	if err := msgResponse(res, &r); err != nil {
		return 0, fmt.Errorf("open stream: %w", err)
	}
	return r.StreamId, nil
}

// FundStream sends msg (more budget for a stream, with its committee fee and security deposit
// in proportion) and waits for its tx to be in a block.
func (c *Client) FundStream(ctx context.Context, txf clienttx.Factory, msg *computetypes.MsgFundStream) (*sdk.TxResponse, error) {
	res, err := c.SendAndWait(ctx, txf, msg)
	if err != nil {
		return res, fmt.Errorf("fund stream %d: %w", msg.StreamId, err)
	}
	return res, nil
}

// CloseStream sends msg (end a stream early) and waits for its tx to be in a block.
func (c *Client) CloseStream(ctx context.Context, txf clienttx.Factory, msg *computetypes.MsgCloseStream) (*sdk.TxResponse, error) {
	res, err := c.SendAndWait(ctx, txf, msg)
	if err != nil {
		return res, fmt.Errorf("close stream %d: %w", msg.StreamId, err)
	}
	return res, nil
}

// ChallengeResponse sends msg (a replica's signed receipt the client believes wrong), waits for
// its tx to be in a block and returns the id of the check task it became.
func (c *Client) ChallengeResponse(ctx context.Context, txf clienttx.Factory, msg *computetypes.MsgChallengeResponse) (uint64, error) {
	res, err := c.SendAndWait(ctx, txf, msg)
	if err != nil {
		return 0, fmt.Errorf("challenge response of stream %d: %w", msg.Receipt.StreamId, err)
	}
	var r computetypes.MsgChallengeResponseResponse
	if err := msgResponse(res, &r); err != nil {
		return 0, fmt.Errorf("challenge response: %w", err)
	}
	return r.CheckTask, nil
}

// msgResponse reads the response of type out from a tx's result.
func msgResponse(res *sdk.TxResponse, out proto.Message) error {
	d, err := msgData(res)
	if err != nil {
		return err
	}
	for _, any := range d.MsgResponses {
		if any.TypeUrl == "/"+proto.MessageName(out) {
			if err := proto.Unmarshal(any.Value, out); err != nil {
				return fmt.Errorf("tx data: %w", err)
			}
			return nil
		}
	}
	return fmt.Errorf("tx data holds no %s", proto.MessageName(out))
}

// StreamSource is where WaitStream reads a stream; a *Client is one.
type StreamSource interface {
	Stream(ctx context.Context, id uint64) (computetypes.Stream, error)
}

// WaitStream follows stream id until cond holds for it and returns it then; a CLOSED stream for
// which cond does not hold ends the wait with an error. Failed queries are asked again until
// ctx ends.
func (c *Client) WaitStream(ctx context.Context, id uint64, cond func(computetypes.Stream) bool) (computetypes.Stream, error) {
	return waitStream(ctx, c, c.sleep, id, cond)
}

// StreamIsLive is a WaitStream condition: the stream's replicas serve.
func StreamIsLive(s computetypes.Stream) bool { return s.State == computetypes.STREAM_STATE_LIVE }

func waitStream(ctx context.Context, src StreamSource, sleep func(context.Context) error, id uint64, cond func(computetypes.Stream) bool) (computetypes.Stream, error) {
	var last computetypes.Stream
	for {
		s, err := src.Stream(ctx, id)
		if err == nil {
			last = s
			if cond(s) {
				return s, nil
			}
			if s.State == computetypes.STREAM_STATE_CLOSED {
				return s, fmt.Errorf("stream %d closed: %s", id, s.Outcome)
			}
		}
		if err := sleep(ctx); err != nil {
			return last, fmt.Errorf("stream %d still %s: %w", id, last.State, err)
		}
	}
}
