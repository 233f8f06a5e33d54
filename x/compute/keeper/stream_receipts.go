package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// verifySignature checks sig over msg with the on-chain public key of addr (bech32).
func (k Keeper) verifySignature(ctx context.Context, field, addr string, msg, sig []byte) error {
	a, err := k.addressCodec.StringToBytes(addr)
	if err != nil {
		return errorsmod.Wrapf(types.ErrInvalidAddress, "%s %q: %v", field, addr, err)
	}
	pk, err := k.pubKey(ctx, field, a)
	if err != nil {
		return err
	}
	if !pk.VerifySignature(msg, sig) {
		return fmt.Errorf("%s: not a signature of %s", field, addr)
	}
	return nil
}

// pubKey is addr's public key on chain: an account has one once it signed a Cosmos transaction
// (an EVM transaction does not record it, and a contract never has one).
func (k Keeper) pubKey(ctx context.Context, field string, addr sdk.AccAddress) (cryptotypes.PubKey, error) {
	if k.accounts == nil {
		return nil, errorsmod.Wrapf(types.ErrMissingPubKey, "%s: no account keeper to read %s's public key", field, addr)
	}
	acc := k.accounts.GetAccount(ctx, addr)
	if acc == nil || acc.GetPubKey() == nil {
		return nil, errorsmod.Wrapf(types.ErrMissingPubKey,
			"%s: account %s has no public key on chain; it must sign a Cosmos transaction first (a contract never has one)", field, addr)
	}
	return acc.GetPubKey(), nil
}

// ClaimStream redeems a voucher of the stream's creator for provider: it pays total − what the
// provider redeemed before, less the protocol fee (into the provider reward pool). The voucher
// must be signed by the creator, carry a nonce above the last redeemed and keep the slot's
// claims, across every replica that held it, within its share. A provider removed from the
// stream may redeem until the stream settles, unless it was removed for fraud.
func (k Keeper) ClaimStream(ctx context.Context, provider sdk.AccAddress, v types.Voucher, sig []byte) (math.Int, error) {
	s, err := k.GetStream(ctx, v.StreamId)
	if err != nil {
		return math.Int{}, err
	}
	if s.Settled {
		return math.Int{}, errorsmod.Wrapf(types.ErrStreamState, "stream %d settled at its close: vouchers are no longer redeemed", s.Id)
	}
	key := collections.Join(s.Id, provider)
	c, err := k.StreamClaims.Get(ctx, key)
	if errors.Is(err, collections.ErrNotFound) {
		return math.Int{}, errorsmod.Wrapf(types.ErrNotReplica, "provider %s never held a slot of stream %d", k.str(provider), s.Id)
	} else if err != nil {
		return math.Int{}, err
	}
	if c.Fraud {
		return math.Int{}, errorsmod.Wrapf(types.ErrNotReplica, "provider %s was removed from stream %d for fraud: its vouchers are refused", c.Provider, s.Id)
	}
	if v.Nonce <= c.Nonce {
		return math.Int{}, errorsmod.Wrapf(types.ErrInvalidVoucher, "voucher.nonce %d: must be above the last redeemed, %d", v.Nonce, c.Nonce)
	}
	if v.Total.LTE(c.Claimed) {
		return math.Int{}, errorsmod.Wrapf(types.ErrInvalidVoucher, "voucher.total %s: must exceed what was redeemed, %s", v.Total, c.Claimed)
	}
	delta := v.Total.Sub(c.Claimed)
	used := s.SlotClaimed[c.Slot]
	for _, r := range s.Serving {
		if r.Slot == c.Slot {
			used = used.Add(r.Claimed)
		}
	}
	if share := s.SlotShare(); used.Add(delta).GT(share) {
		return math.Int{}, errorsmod.Wrapf(types.ErrInvalidVoucher, "voucher.total %s: slot %d was paid %s, and may be paid at most its share %s", v.Total, c.Slot, used, share)
	}
	if err := k.verifySignature(ctx, "signature", s.Creator, types.VoucherSignBytes(sdk.UnwrapSDKContext(ctx).ChainID(), v), sig); err != nil {
		return math.Int{}, errorsmod.Wrapf(types.ErrInvalidVoucher, "%v: vouchers are signed by the stream's creator", err)
	}
	// a claim record from before covered was kept (nil, or 0 once exported) has no cap
	if !c.Covered.IsNil() && c.Covered.IsPositive() && v.Total.GT(c.Covered) {
		// funded since its collateral was locked: a replica that bonded enough since raises it now
		if _, i := s.ReplicaOf(c.Provider); i >= 0 {
			if err := k.raiseCollateral(ctx, &s, i); err != nil && !errors.Is(err, stakinggputypes.ErrInsufficientBond) {
				return math.Int{}, err
			}
			if c, err = k.StreamClaims.Get(ctx, key); err != nil {
				return math.Int{}, err
			}
		}
		if v.Total.GT(c.Covered) {
			return math.Int{}, errorsmod.Wrapf(types.ErrInvalidVoucher, "voucher.total %s: provider %s's collateral covers %s of the slot's share %s; it must bond enough to lock collateral_ratio × the share to redeem more", v.Total, c.Provider, c.Covered, s.SlotShare())
		}
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return math.Int{}, err
	}
	fee := params.ProtocolFee(delta)
	if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, provider, sdk.NewCoins(sdk.NewCoin(params.Denom, delta.Sub(fee)))); err != nil {
		return math.Int{}, errorsmod.Wrapf(err, "stream %d: pay %s to %s", s.Id, delta.Sub(fee), c.Provider)
	}
	if fee.IsPositive() {
		if err := k.providers.RecycleFee(ctx, types.ModuleName, fee); err != nil {
			return math.Int{}, err
		}
	}
	if err := k.providers.RecordStreamWork(ctx, provider, streamWorkUnits(s, c.Price, delta), fee); err != nil {
		return math.Int{}, err
	}
	s.Escrow = s.Escrow.Sub(delta)
	s.Claimed = s.Claimed.Add(delta)
	c.Claimed, c.Nonce = v.Total, v.Nonce
	if err := k.StreamClaims.Set(ctx, key, c); err != nil {
		return math.Int{}, err
	}
	if _, i := s.ReplicaOf(c.Provider); i >= 0 {
		s.Serving[i].Claimed, s.Serving[i].VoucherNonce = v.Total, v.Nonce
	} else {
		s.SlotClaimed[c.Slot] = s.SlotClaimed[c.Slot].Add(delta)
	}
	if s.LiveHeight > 0 {
		h := sdk.UnwrapSDKContext(ctx).BlockHeight()
		if s.ClosedHeight > 0 {
			h = min(h, s.ClosedHeight)
		}
		p := s.Period(min(h, s.EndHeight), params.Stream.ReceiptPeriod)
		ck := collections.Join3(s.Id, provider, p)
		rc, err := k.commitment(ctx, ck)
		if err != nil {
			return math.Int{}, err
		}
		rc.ClaimedInPeriod = rc.ClaimedInPeriod.Add(delta)
		if err := k.Commitments.Set(ctx, ck, rc); err != nil {
			return math.Int{}, err
		}
	}
	if err := k.saveStream(ctx, s, s.TimerHeight); err != nil {
		return math.Int{}, err
	}
	return delta, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStreamClaimed{
		StreamId: s.Id, Provider: c.Provider, Paid: delta.Sub(fee), Total: v.Total, Nonce: v.Nonce,
	})
}

// streamWorkUnits is the work a claim of paid pays for: the whole requests paid at price each,
// each credited as a request of the stream's most rows. The reward that work may earn is capped
// by the claim's protocol fee, so a replica that is its own client gains nothing by a low price.
func streamWorkUnits(s types.Stream, price, paid math.Int) math.Int {
	wp, ok := s.Workload.Params.(*types.Workload_InferMlpInt8)
	if !ok || wp.InferMlpInt8 == nil || price.IsNil() || !price.IsPositive() {
		return math.ZeroInt()
	}
	perRequest := workload.InferMlpInt8{Widths: wp.InferMlpInt8.Widths, Rows: wp.InferMlpInt8.Rows}.WorkUnits()
	return paid.Quo(price).Mul(math.NewIntFromUint64(perRequest))
}

// commitment returns the record at key, or a new one.
func (k Keeper) commitment(ctx context.Context, key commitmentKey) (types.ReceiptCommitment, error) {
	c, err := k.Commitments.Get(ctx, key)
	if errors.Is(err, collections.ErrNotFound) {
		return types.ReceiptCommitment{
			StreamId: key.K1(), Provider: k.str(key.K2()), Period: key.K3(), ClaimedInPeriod: math.ZeroInt(),
		}, nil
	}
	return c, err
}

// commitDeadline is the last height at which period p may be committed: reveal_window blocks
// after the period's end, or after the close when the stream closed in it.
func commitDeadline(p types.Params, s types.Stream, period uint64) int64 {
	end := s.PeriodEnd(period, p.Stream.ReceiptPeriod)
	if s.ClosedHeight > 0 {
		end = min(end, s.ClosedHeight)
	}
	return end + int64(p.Stream.RevealWindow)
}

// deadlineOf is the last height commitment c is taken: the one fixed when its period became
// due, or for a record from before that was kept, commitDeadline.
func deadlineOf(p types.Params, s types.Stream, c types.ReceiptCommitment) int64 {
	if c.CommitDeadline != 0 {
		return c.CommitDeadline
	}
	return commitDeadline(p, s, c.Period)
}

// periodDue requires every replica that served in period p to commit it by deadline.
func (k Keeper) periodDue(ctx context.Context, params types.Params, s types.Stream, p uint64, deadline int64) error {
	last := min(s.PeriodEnd(p, params.Stream.ReceiptPeriod), sdk.UnwrapSDKContext(ctx).BlockHeight())
	for _, r := range s.Serving {
		if r.SinceHeight > last {
			continue
		}
		addr, err := k.addressCodec.StringToBytes(r.Provider)
		if err != nil {
			return err
		}
		key := collections.Join3(s.Id, sdk.AccAddress(addr), p)
		c, err := k.commitment(ctx, key)
		if err != nil {
			return err
		}
		c.Required, c.CommitDeadline = true, deadline
		if err := k.Commitments.Set(ctx, key, c); err != nil {
			return err
		}
		if err := k.StreamDeadlines.Set(ctx, collections.Join(deadline, key)); err != nil {
			return err
		}
	}
	return nil
}

// clearDeadlines removes a commitment's pending draw and deadlines.
func (k Keeper) clearDeadlines(ctx context.Context, params types.Params, s types.Stream, key commitmentKey, c types.ReceiptCommitment) error {
	if err := k.StreamDeadlines.Remove(ctx, collections.Join(deadlineOf(params, s, c), key)); err != nil {
		return err
	}
	if c.CommittedHeight > 0 {
		if err := k.SampleDraws.Remove(ctx, collections.Join(c.CommittedHeight+1, key)); err != nil {
			return err
		}
	}
	if c.SampledHeight > 0 {
		return k.StreamDeadlines.Remove(ctx, collections.Join(c.SampledHeight+int64(params.Stream.RevealWindow), key))
	}
	return nil
}

// CommitReceipts records a replica's Merkle root and count of its receipts of a period that
// ended (or in which the stream closed), by the period's commit deadline; the samples are drawn
// in the next block. A count of 0 draws nothing.
func (k Keeper) CommitReceipts(ctx context.Context, provider sdk.AccAddress, msg *types.MsgCommitReceipts) error {
	s, err := k.GetStream(ctx, msg.StreamId)
	if err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	key := collections.Join3(s.Id, provider, msg.Period)
	c, err := k.Commitments.Get(ctx, key)
	if errors.Is(err, collections.ErrNotFound) || (err == nil && !c.Required) {
		if _, i := s.ReplicaOf(k.str(provider)); i < 0 {
			return errorsmod.Wrapf(types.ErrNotReplica, "provider %s does not serve stream %d", k.str(provider), s.Id)
		}
		return errorsmod.Wrapf(types.ErrInvalidCommitment, "period %d of stream %d is not due: a period is committed after it ends (live from height %d, receipt_period %d)", msg.Period, s.Id, s.LiveHeight, params.Stream.ReceiptPeriod)
	} else if err != nil {
		return err
	}
	if c.CommittedHeight != 0 {
		return errorsmod.Wrapf(types.ErrInvalidCommitment, "period %d of stream %d was committed at height %d", msg.Period, s.Id, c.CommittedHeight)
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if deadline := deadlineOf(params, s, c); h > deadline {
		return errorsmod.Wrapf(types.ErrInvalidCommitment, "period %d of stream %d had to be committed by height %d; this is %d", msg.Period, s.Id, deadline, h)
	}
	if err := k.earlierCommitted(ctx, s.Id, provider, msg.Period); err != nil {
		return err
	}
	claimKey := collections.Join(s.Id, provider)
	claim, err := k.StreamClaims.Get(ctx, claimKey)
	if err != nil {
		return errorsmod.Wrapf(err, "stream %d: the claim record of %s", s.Id, k.str(provider))
	}
	if err := k.StreamDeadlines.Remove(ctx, collections.Join(deadlineOf(params, s, c), key)); err != nil {
		return err
	}
	// the replica numbers its receipts of the stream from 0 and commits them period after period:
	// this period's run on from the earlier ones. A gap is allowed (a receipt dated in a period
	// the chain never required, e.g. served in the block a pause began); an overlap is not
	if msg.FirstSequence < claim.ReceiptsCommitted {
		return errorsmod.Wrapf(types.ErrInvalidCommitment, "first_sequence %d: the replica's earlier commitments of stream %d reach sequence %d", msg.FirstSequence, s.Id, claim.ReceiptsCommitted)
	}
	if msg.FirstSequence+msg.Count < msg.FirstSequence {
		return errorsmod.Wrapf(types.ErrInvalidCommitment, "first_sequence %d + count %d: overflows", msg.FirstSequence, msg.Count)
	}
	c.Root, c.Count, c.CommittedHeight = msg.Root, msg.Count, h
	c.FirstSequence = msg.FirstSequence
	claim.ReceiptsCommitted = msg.FirstSequence + msg.Count
	if err := k.StreamClaims.Set(ctx, claimKey, claim); err != nil {
		return err
	}
	if c.Count > 0 {
		if err := k.SampleDraws.Set(ctx, collections.Join(h+1, key)); err != nil {
			return err
		}
	}
	if err := k.Commitments.Set(ctx, key, c); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventReceiptsCommitted{
		StreamId: s.Id, Provider: c.Provider, Period: c.Period, Count: c.Count,
	})
}

// earlierCommitted refuses a commitment of period while an earlier period required of the
// provider is not committed: first_sequence counts the receipts of every earlier commitment.
// Commitments come in order, so the walk back stops at the first committed period.
func (k Keeper) earlierCommitted(ctx context.Context, id uint64, provider sdk.AccAddress, period uint64) error {
	rng := new(collections.Range[commitmentKey]).
		StartInclusive(collections.Join3(id, provider, uint64(0))).
		EndExclusive(collections.Join3(id, provider, period)).
		Descending()
	var pending []uint64
	err := k.Commitments.Walk(ctx, rng, func(_ commitmentKey, c types.ReceiptCommitment) (bool, error) {
		if c.CommittedHeight != 0 {
			return true, nil
		}
		if c.Required {
			pending = append(pending, c.Period)
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return errorsmod.Wrapf(types.ErrInvalidCommitment, "period %d of stream %d: period %d must be committed first (a replica commits its periods in order)", period, id, pending[len(pending)-1])
	}
	return nil
}

// sampleSeed is randomness nobody knew at the commitment: this block's header hash mixed with
// the stream, the replica and the period.
func sampleSeed(ctx sdk.Context, key commitmentKey) []byte {
	h := sha256.New()
	h.Write([]byte("ogpu/stream-samples/v1"))
	h.Write(ctx.HeaderHash())
	h.Write(ctx.HeaderInfo().Hash)
	h.Write(binary.BigEndian.AppendUint64(nil, key.K1()))
	h.Write(key.K2())
	h.Write(binary.BigEndian.AppendUint64(nil, key.K3()))
	return h.Sum(nil)
}

// drawSamples draws a commitment's sample indices in the block after it.
func (k Keeper) drawSamples(ctx context.Context, key commitmentKey) error {
	c, err := k.Commitments.Get(ctx, key)
	if errors.Is(err, collections.ErrNotFound) {
		return nil // pruned with its stream
	} else if err != nil {
		return err
	}
	if !c.Required || c.CommittedHeight == 0 || c.SampledHeight != 0 {
		return nil // dropped with its replica, or drawn already
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	c.Samples = types.SampleIndices(sampleSeed(sdkCtx, key), c.Count, params.Stream.StreamSamples)
	c.SampledHeight = sdkCtx.BlockHeight()
	revealEnd := c.SampledHeight + int64(params.Stream.RevealWindow)
	if err := k.StreamDeadlines.Set(ctx, collections.Join(revealEnd, key)); err != nil {
		return err
	}
	if err := k.Commitments.Set(ctx, key, c); err != nil {
		return err
	}
	return sdkCtx.EventManager().EmitTypedEvent(&types.EventSamplesDrawn{
		StreamId: c.StreamId, Provider: c.Provider, Period: c.Period, Samples: c.Samples, RevealEnd: revealEnd,
	})
}

// RevealSamples checks that the replica published exactly its drawn samples, in the drawn
// order, under its committed root, each a receipt of that period, and turns each into a check
// task whose committee fee comes out of the stream's committee fee. The bodies are served at
// uri_prefix + the lowercase hex sha256.
func (k Keeper) RevealSamples(ctx context.Context, provider sdk.AccAddress, msg *types.MsgRevealSamples) ([]uint64, error) {
	s, err := k.GetStream(ctx, msg.StreamId)
	if err != nil {
		return nil, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	key := collections.Join3(s.Id, provider, msg.Period)
	c, err := k.Commitments.Get(ctx, key)
	if errors.Is(err, collections.ErrNotFound) || (err == nil && (!c.Required || c.SampledHeight == 0)) {
		return nil, errorsmod.Wrapf(types.ErrInvalidSample, "period %d of stream %d: no samples drawn for %s", msg.Period, s.Id, k.str(provider))
	} else if err != nil {
		return nil, err
	}
	if c.Revealed {
		return nil, errorsmod.Wrapf(types.ErrInvalidSample, "period %d of stream %d: samples revealed already", msg.Period, s.Id)
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if end := c.SampledHeight + int64(params.Stream.RevealWindow); h > end {
		return nil, errorsmod.Wrapf(types.ErrInvalidSample, "period %d of stream %d: samples had to be revealed by height %d; this is %d", msg.Period, s.Id, end, h)
	}
	if len(msg.Samples) != len(c.Samples) {
		return nil, errorsmod.Wrapf(types.ErrInvalidSample, "samples: %d given, %d drawn (%v)", len(msg.Samples), len(c.Samples), c.Samples)
	}
	chainID := sdk.UnwrapSDKContext(ctx).ChainID()
	for i, sp := range msg.Samples {
		if sp.Index != c.Samples[i] {
			return nil, errorsmod.Wrapf(types.ErrInvalidSample, "samples[%d].index %d: receipt %d was drawn there", i, sp.Index, c.Samples[i])
		}
		if sp.Receipt.Height < s.LiveHeight || s.Period(sp.Receipt.Height, params.Stream.ReceiptPeriod) != msg.Period {
			return nil, errorsmod.Wrapf(types.ErrInvalidSample, "samples[%d].receipt.height %d: not in period %d", i, sp.Receipt.Height, msg.Period)
		}
		if err := types.VerifySample(chainID, c.Root, c.Count, sp); err != nil {
			return nil, errorsmod.Wrapf(err, "samples[%d]", i)
		}
		if want := c.FirstSequence + sp.Index; sp.Receipt.Sequence != want {
			return nil, errorsmod.Wrapf(types.ErrInvalidSample, "samples[%d].receipt.sequence %d: receipt %d of the period must be sequence first_sequence %d + %d = %d (a receipt left out of the commitments?)", i, sp.Receipt.Sequence, sp.Index, c.FirstSequence, sp.Index, want)
		}
		if _, err := checkSpec(s, sp.Receipt, revealBlobs(msg.UriPrefix, sp.Receipt)); err != nil {
			return nil, errorsmod.Wrapf(err, "samples[%d]", i)
		}
	}
	ids := make([]uint64, 0, len(msg.Samples))
	for i, sp := range msg.Samples {
		fee := checkFee(params, s)
		id, err := k.createCheck(ctx, &s, sp.Receipt, msg.Period, revealBlobs(msg.UriPrefix, sp.Receipt), fee, false)
		if err != nil {
			return nil, errorsmod.Wrapf(err, "samples[%d]", i)
		}
		s.CommitteeFee = s.CommitteeFee.Sub(fee)
		s.Escrow = s.Escrow.Sub(fee)
		ids = append(ids, id)
	}
	c.Revealed, c.CheckTasks = true, ids
	if err := k.StreamDeadlines.Remove(ctx, collections.Join(c.SampledHeight+int64(params.Stream.RevealWindow), key)); err != nil {
		return nil, err
	}
	if err := k.Commitments.Set(ctx, key, c); err != nil {
		return nil, err
	}
	if err := k.saveStream(ctx, s, s.TimerHeight); err != nil {
		return nil, err
	}
	return ids, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventSamplesRevealed{
		StreamId: s.Id, Provider: c.Provider, Period: c.Period, CheckTasks: ids,
	})
}

// revealBlobs are where a revealed sample's request and response are served: uri_prefix + the
// lowercase hex sha256 of each.
func revealBlobs(prefix string, r types.Receipt) [2]types.Blob {
	return [2]types.Blob{
		{Uri: prefix + r.InputSha256, Sha256: r.InputSha256, Size_: r.InputSize},
		{Uri: prefix + r.OutputSha256, Sha256: r.OutputSha256, Size_: r.OutputSize},
	}
}

// checkSpec checks what a check task of receipt r needs, before anything is written: the
// workload of its rows and the request and response blobs.
func checkSpec(s types.Stream, r types.Receipt, blobs [2]types.Blob) (types.Workload, error) {
	w, err := checkWorkload(s, r.InputSize, r.OutputSize)
	if err != nil {
		return w, err
	}
	for i, name := range []string{"input", "output"} {
		if err := blobs[i].Validate(); err != nil {
			return w, errorsmod.Wrapf(types.ErrInvalidInput, "%s: %v", name, err)
		}
	}
	return w, nil
}

// checkWorkload is the stream's workload for the rows of one request: the request body of
// inputSize bytes must be a rows blob of whole rows of the model's input width, at most the
// stream's rows, and the response an infer-mlp-int8/v1 result of exactly those rows.
func checkWorkload(s types.Stream, inputSize, outputSize uint64) (types.Workload, error) {
	wp, ok := s.Workload.Params.(*types.Workload_InferMlpInt8)
	if !ok || wp.InferMlpInt8 == nil || len(wp.InferMlpInt8.Widths) < 2 {
		return types.Workload{}, errorsmod.Wrapf(types.ErrInvalidWorkload, "stream %d has no infer_mlp_int8 parameters", s.Id)
	}
	widths, cols := wp.InferMlpInt8.Widths, uint64(wp.InferMlpInt8.Widths[0])
	header := workload.MlpRowsSize(0, wp.InferMlpInt8.Widths[0])
	if inputSize <= header || (inputSize-header)%cols != 0 || (inputSize-header)/cols > uint64(wp.InferMlpInt8.Rows) {
		return types.Workload{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "receipt.input_size %d: must be a rows blob of 1..%d rows of %d", inputSize, wp.InferMlpInt8.Rows, cols)
	}
	rows := uint32((inputSize - header) / cols)
	if want := workload.MlpInferResultSize(widths, rows); outputSize != want {
		return types.Workload{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "receipt.output_size %d: the result of %d rows is %d bytes", outputSize, rows, want)
	}
	return types.Workload{Name: s.Workload.Name, Params: &types.Workload_InferMlpInt8{
		InferMlpInt8: &types.InferMlpInt8Params{Widths: widths, Rows: rows},
	}}, nil
}

// createCheck creates a check task of receipt r: already SUBMITTED, its committee drawn in the
// next block through the task timers, the replica as its provider (never paid by it), fee as
// its escrow and committee fee. It emits no task events: provider sidecars must not run it.
func (k Keeper) createCheck(ctx context.Context, s *types.Stream, r types.Receipt, period uint64, blobs [2]types.Blob, fee math.Int, challenged bool) (uint64, error) {
	w, err := checkSpec(*s, r, blobs)
	if err != nil {
		return 0, err
	}
	input, output := blobs[0], blobs[1]
	price := s.MaxPricePerRequest
	if rep, i := s.ReplicaOf(r.Provider); i >= 0 {
		price = rep.Price
	}
	provider, err := k.addressCodec.StringToBytes(r.Provider)
	if err != nil {
		return 0, err
	}
	id, err := k.TaskSeq.Next(ctx)
	if err != nil {
		return 0, err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	task := types.Task{
		Id: id, Creator: s.Creator, Workload: w, Requirements: s.Requirements, MaxPrice: price,
		Payment: types.PaymentFunction{Kind: types.PAYMENT_KIND_FIXED}, Inputs: []types.Blob{s.Model, input},
		State: types.TASK_STATE_SUBMITTED, CreatedHeight: h, BidWindowEnd: h, DeadlineHeight: h,
		Escrow: fee, CommitteeFee: fee, SecurityDeposit: math.ZeroInt(),
		Provider: r.Provider, Price: price, AssignedHeight: h, AssignmentDeadline: h,
		Result: output, SubmittedHeight: h,
		Paid: math.ZeroInt(), Refunded: math.ZeroInt(), DisputeBond: math.ZeroInt(), CommitteePaid: math.ZeroInt(),
		ProtocolFee: math.ZeroInt(), Collateral: math.ZeroInt(),
		StreamId: s.Id, StreamPeriod: period, Challenged: challenged,
	}
	if err := k.ActiveByProvider.Set(ctx, collections.Join(sdk.AccAddress(provider), id)); err != nil {
		return 0, err
	}
	return id, k.awaitDraw(ctx, &task)
}

// ChallengeResponse is the client's claim that a replica's response was wrong: the replica's
// signed receipt becomes a check task judged as a sampled one, whose committee fee the client
// pays. A provider removed for fraud cannot be challenged again.
func (k Keeper) ChallengeResponse(ctx context.Context, creator sdk.AccAddress, msg *types.MsgChallengeResponse) (uint64, error) {
	r := msg.Receipt
	s, err := k.creatorStream(ctx, creator, r.StreamId)
	if err != nil {
		return 0, err
	}
	if s.Settled || s.LiveHeight == 0 {
		return 0, errorsmod.Wrapf(types.ErrStreamState, "stream %d is %s: responses are challenged from its live height until it settles", s.Id, s.State)
	}
	provider, err := k.addressCodec.StringToBytes(r.Provider)
	if err != nil {
		return 0, errorsmod.Wrapf(types.ErrInvalidAddress, "receipt.provider %q: %v", r.Provider, err)
	}
	c, err := k.StreamClaims.Get(ctx, collections.Join(s.Id, sdk.AccAddress(provider)))
	if errors.Is(err, collections.ErrNotFound) {
		return 0, errorsmod.Wrapf(types.ErrNotReplica, "receipt.provider %s never held a slot of stream %d", r.Provider, s.Id)
	} else if err != nil {
		return 0, err
	}
	if c.Fraud {
		return 0, errorsmod.Wrapf(types.ErrNotReplica, "receipt.provider %s was removed from stream %d for fraud already", r.Provider, s.Id)
	}
	last := min(s.EndHeight, sdk.UnwrapSDKContext(ctx).BlockHeight())
	if s.ClosedHeight > 0 {
		last = min(last, s.ClosedHeight)
	}
	if r.Height < s.LiveHeight || r.Height > last {
		return 0, errorsmod.Wrapf(types.ErrInvalidReceipt, "receipt.height %d: must be in [live_height %d, %d], a height the stream was served at, by now", r.Height, s.LiveHeight, last)
	}
	if err := k.verifySignature(ctx, "signature", r.Provider, types.ReceiptSignBytes(sdk.UnwrapSDKContext(ctx).ChainID(), r), msg.Signature); err != nil {
		return 0, errorsmod.Wrapf(types.ErrInvalidReceipt, "%v: receipts are signed by the replica", err)
	}
	blobs := [2]types.Blob{
		{Uri: msg.InputUri, Sha256: r.InputSha256, Size_: r.InputSize},
		{Uri: msg.OutputUri, Sha256: r.OutputSha256, Size_: r.OutputSize},
	}
	if _, err := checkSpec(s, r, blobs); err != nil {
		return 0, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	fee := fullCheckFee(params, s)
	if fee.IsPositive() {
		if err := k.bank.SendCoinsFromAccountToModule(ctx, creator, types.ModuleName, sdk.NewCoins(sdk.NewCoin(params.Denom, fee))); err != nil {
			return 0, errorsmod.Wrapf(err, "pay the check's committee fee of %s%s", fee, params.Denom)
		}
	}
	period := s.Period(r.Height, params.Stream.ReceiptPeriod)
	id, err := k.createCheck(ctx, &s, r, period, blobs, fee, true)
	if err != nil {
		return 0, err
	}
	// the commitment, with what was claimed in the period, is kept until the check is final
	key := collections.Join3(s.Id, sdk.AccAddress(provider), period)
	rc, err := k.commitment(ctx, key)
	if err != nil {
		return 0, err
	}
	rc.ChallengeTasks = append(rc.ChallengeTasks, id)
	return id, k.Commitments.Set(ctx, key, rc)
}
