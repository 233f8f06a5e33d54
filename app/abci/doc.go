// Package abci holds the ABCI++ handlers through which committees attest: ExtendVote and
// VerifyVoteExtension (ve.go), PrepareProposal and ProcessProposal (proposals.go), the
// PreBlocker that records attestations (preblock.go), and the wire format (codec.go). Each
// handler is a small type with its dependencies passed in; app.go only wires them.
package abci
