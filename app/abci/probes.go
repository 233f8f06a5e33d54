package abci

import (
	"bytes"
	"cmp"
	"context"
	"slices"

	"cosmossdk.io/core/address"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// ProbeSink is what the PreBlocker needs from x/compute: the verdict of the validators on one
// replica's probe round.
type ProbeSink interface {
	ApplyProbeRound(ctx context.Context, streamID uint64, provider string, round uint64, ok bool) error
}

// Quorum reads the share of the extended commit's power a probe round's verdict needs: the
// committee's quorum.
type Quorum func(ctx sdk.Context) math.LegacyDec

// probeRound is one replica's probe round, as the reports name it.
type probeRound struct {
	stream   uint64
	provider string // canonical bech32
	round    uint64
}

func compareRounds(a, b probeRound) int {
	return cmp.Or(cmp.Compare(a.stream, b.stream), cmp.Compare(a.provider, b.provider), cmp.Compare(a.round, b.round))
}

// probePower is the power of the validators that reported a round ok, and failed.
type probePower struct{ ok, failed int64 }

// probeTally adds up the reports of a block's extended commit, per replica and round.
type probeTally struct {
	accounts address.Codec
	power    map[probeRound]*probePower
	rounds   []probeRound // the keys of power, in the order first reported
}

func newProbeTally(accounts address.Codec) *probeTally {
	return &probeTally{accounts: accounts, power: map[probeRound]*probePower{}}
}

// add counts the reports of one validator (operator address bytes val) with power. A report on
// the validator's own account, or naming no account, does not count. The extension was decoded
// by DecodeExtension, so it holds at most one report per replica.
func (t *probeTally) add(val []byte, power int64, reports []computetypes.ProbeReport) {
	for _, p := range reports {
		acc, err := t.accounts.StringToBytes(p.Provider)
		if err != nil || len(acc) == 0 || bytes.Equal(acc, val) {
			continue
		}
		// the same account however it was spelled (bech32 also reads upper case)
		provider, err := t.accounts.BytesToString(acc)
		if err != nil {
			continue
		}
		key := probeRound{stream: p.StreamId, provider: provider, round: p.Round}
		pw, ok := t.power[key]
		if !ok {
			pw = &probePower{}
			t.power[key] = pw
			t.rounds = append(t.rounds, key)
		}
		if p.Ok {
			pw.ok += power
		} else {
			pw.failed += power
		}
	}
}

// verdicts are the rounds decided, in (stream, provider, round) order: failed when the power
// that reported them failed is at least quorum × total, else ok when the power that reported
// them ok is.
func (t *probeTally) verdicts(quorum math.LegacyDec, total int64) []probeVerdict {
	if total <= 0 || quorum.IsNil() || !quorum.IsPositive() {
		return nil
	}
	need := quorum.MulInt64(total)
	rounds := slices.Clone(t.rounds)
	slices.SortFunc(rounds, compareRounds)
	var out []probeVerdict
	for _, key := range rounds {
		pw := t.power[key]
		switch {
		case math.LegacyNewDec(pw.failed).GTE(need):
			out = append(out, probeVerdict{probeRound: key, ok: false})
		case math.LegacyNewDec(pw.ok).GTE(need):
			out = append(out, probeVerdict{probeRound: key, ok: true})
		}
	}
	return out
}

// probeVerdict is a decided round.
type probeVerdict struct {
	probeRound
	ok bool
}
