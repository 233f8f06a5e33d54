package types

import (
	"crypto/sha256"
	"encoding/binary"
)

// SaltSize is the length of a reveal's salt.
const SaltSize = 16

// Commitment is what a member commits to before it reveals: sha256 over the task, the round,
// the result it judged, its verdict, its digest, its escalation findings, a salt and its own
// validator address. Bound to the member, a commitment copied from another member's extension
// never opens for the copier.
func Commitment(taskID uint64, round uint32, resultSHA256 []byte, verdict AttestedVerdict, digest []byte, wrongDigests uint64, salt, member []byte) []byte {
	h := sha256.New()
	h.Write([]byte("ogpu/attestation/v1"))
	var buf [8]byte
	h.Write(binary.BigEndian.AppendUint64(buf[:0], taskID))
	h.Write(binary.BigEndian.AppendUint32(buf[:0], round))
	for _, part := range [][]byte{resultSHA256, digest, salt, member} {
		h.Write(binary.BigEndian.AppendUint32(buf[:0], uint32(len(part))))
		h.Write(part)
	}
	h.Write(binary.BigEndian.AppendUint32(buf[:0], uint32(verdict)))
	h.Write(binary.BigEndian.AppendUint64(buf[:0], wrongDigests))
	return h.Sum(nil)
}

// ChallengeSeed is the seed of a member's Freivalds challenge vector: sha256 over the
// committee's draw seed and the member's validator address. Anyone can recompute it from chain
// data, and no two members share it, so a digest proves its member did the check.
func ChallengeSeed(drawSeed, member []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("ogpu/challenge/v1"))
	h.Write(drawSeed)
	h.Write(member)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// IsCommit reports whether the attestation is a commitment (else a reveal).
func (a Attestation) IsCommit() bool { return len(a.Commitment) != 0 }
