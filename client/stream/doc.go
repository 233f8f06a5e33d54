// Package stream is the client side of a streaming task (docs/streams.md): it calls the
// replicas of a LIVE stream directly over HTTP and pays them per request with signed cumulative
// vouchers.
//
// What it owns:
//   - the replicas as the chain has them, refreshed every few seconds and after a failure, so a
//     standby the chain promoted is used as soon as it serves;
//   - the choice of replica: the fastest healthy one by an EWMA of its latency and the requests
//     of ours it has queued; one that fails is skipped for a back-off that doubles;
//   - each replica's vouchers: the cumulative total grows by its price and the nonce by one per
//     request, never beyond its slot's share less what the slot's earlier replicas claimed; a
//     replica gets one request of ours at a time, so its vouchers reach it in nonce order;
//   - the check of every response: the receipt signed by the replica's key, naming this stream,
//     that replica, the request's and the response's sha256 and sizes, with a sequence that
//     grows; a failed request or a bad response is tried again on another replica, a bounded
//     number of times;
//   - the receipts of the last responses, for MsgChallengeResponse (Challenge), and, given the
//     model (WithModel), a spot-check that recomputes a fraction of the responses locally;
//   - inclusion checks (CheckInclusion, WithInclusionChecks): a receipt's proof from the replica
//     against its commitment on chain, at the index its sequence less first_sequence, so a
//     replica that leaves a wrong answer's receipt out of its commitments is caught without
//     recomputing.
//
// A sketch:
//
//	s, err := stream.New(ctx, c, kr, "alice", id, stream.WithModel(model), stream.WithSpotCheck(0.01))
//	res, err := s.Infer(ctx, [][]int8{row})
//	fmt.Println(res.Argmax, res.Receipt.Receipt.Sequence, res.Replica, res.Latency)
//	if errors.Is(err, stream.ErrWrongResponse) { checkTask, err := s.Challenge(ctx, res.Receipt, inURI, outURI) }
package stream
