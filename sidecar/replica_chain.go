package sidecar

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
	signingtypes "github.com/cosmos/cosmos-sdk/types/tx/signing"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	ogpuclient "github.com/opengpu/ogpu/client"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// streamLedger is what a replica reads from the chain beyond ledger: streams, the stream
// parameters and the validator set. chain implements it through the node's gRPC API; tests use
// a fake.
type streamLedger interface {
	// stream is one stream with its subscriptions and the receipt commitments the chain holds.
	stream(ctx context.Context, id uint64) (*computetypes.QueryStreamResponse, error)
	// streams lists every stream req selects, all pages.
	streams(ctx context.Context, req *computetypes.QueryStreamsRequest) ([]computetypes.Stream, error)
	streamParams(ctx context.Context) (computetypes.StreamParams, error)
	// bondedOperator says whether acc is the operator account of a bonded validator.
	bondedOperator(ctx context.Context, acc sdk.AccAddress) (bool, error)
}

// receiptSigner signs a replica's receipts with the provider's key.
type receiptSigner interface {
	sign(msg []byte) ([]byte, cryptotypes.PubKey, error)
}

// keyringSigner signs with a keyring key, in direct mode (the mode docs/streams.md names).
type keyringSigner struct {
	kr  keyring.Keyring
	key string
	// priv and pub are the key itself, read once when the keyring holds it: a receipt per
	// request then costs a signature, not a keyring read
	priv cryptotypes.PrivKey
	pub  cryptotypes.PubKey
}

// newKeyringSigner signs as key of kr; a key the keyring cannot give (a Ledger) signs through it.
func newKeyringSigner(kr keyring.Keyring, key string) keyringSigner {
	s := keyringSigner{kr: kr, key: key}
	if rec, err := kr.Key(key); err == nil {
		if priv := ogpuclient.LocalPrivKey(rec); priv != nil {
			s.priv, s.pub = priv, priv.PubKey()
		}
	}
	return s
}

func (k keyringSigner) sign(msg []byte) ([]byte, cryptotypes.PubKey, error) {
	if k.priv != nil {
		sig, err := k.priv.Sign(msg)
		if err != nil {
			return nil, nil, fmt.Errorf("sign as %q: %w", k.key, err)
		}
		return sig, k.pub, nil
	}
	sig, pub, err := k.kr.Sign(k.key, msg, signingtypes.SignMode_SIGN_MODE_DIRECT)
	if err != nil {
		return nil, nil, fmt.Errorf("sign as %q: %w", k.key, err)
	}
	return sig, pub, nil
}

// stream implements streamLedger.
func (c *chain) stream(ctx context.Context, id uint64) (*computetypes.QueryStreamResponse, error) {
	res, err := computetypes.NewQueryClient(c.conn).Stream(ctx, &computetypes.QueryStreamRequest{StreamId: id})
	if err != nil {
		return nil, fmt.Errorf("query stream %d: %w", id, err)
	}
	return res, nil
}

// streams implements streamLedger.
func (c *chain) streams(ctx context.Context, req *computetypes.QueryStreamsRequest) ([]computetypes.Stream, error) {
	var out []computetypes.Stream
	page := *req
	page.Pagination = &query.PageRequest{Limit: 200}
	for {
		res, err := computetypes.NewQueryClient(c.conn).Streams(ctx, &page)
		if err != nil {
			return nil, fmt.Errorf("query streams: %w", err)
		}
		out = append(out, res.Streams...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return out, nil
		}
		page.Pagination = &query.PageRequest{Key: res.Pagination.NextKey, Limit: 200}
	}
}

// streamParams implements streamLedger.
func (c *chain) streamParams(ctx context.Context) (computetypes.StreamParams, error) {
	res, err := computetypes.NewQueryClient(c.conn).Params(ctx, &computetypes.QueryParamsRequest{})
	if err != nil {
		return computetypes.StreamParams{}, fmt.Errorf("query compute params: %w", err)
	}
	return res.Params.Stream, nil
}

// bondedOperator implements streamLedger.
func (c *chain) bondedOperator(ctx context.Context, acc sdk.AccAddress) (bool, error) {
	res, err := stakingtypes.NewQueryClient(c.conn).Validator(ctx, &stakingtypes.QueryValidatorRequest{ValidatorAddr: sdk.ValAddress(acc).String()})
	if status.Code(err) == codes.NotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("query validator of %s: %w", acc, err)
	}
	return res.Validator.IsBonded(), nil
}
