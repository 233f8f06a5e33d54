package sidecar

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/device"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// ensureRegistered keeps the provider record in step with the local devices: it registers the
// provider (and bonds RegisterBond) when there is no record, and updates the GPU list when
// discovery finds another one. It reports whether the provider is registered, and keeps the
// record for the bids (which requirements the provider meets).
func (s *Sidecar) ensureRegistered(ctx context.Context) bool {
	inv, err := device.NewNVML().Discover()
	if err != nil {
		s.logger.Error("gpu discovery", "err", err)
	}
	var gpus []stakinggputypes.GPU
	for _, d := range inv.Devices {
		gpus = append(gpus, stakinggputypes.GPU{Uuid: d.UUID, Model: d.Name, VramMib: d.MemoryMiB, ComputeCapability: d.ComputeCapability})
	}
	q := stakinggputypes.NewQueryClient(s.conn)
	res, err := q.Provider(ctx, &stakinggputypes.QueryProviderRequest{Operator: s.provider.String()})
	switch {
	case status.Code(err) == codes.NotFound:
		if s.cfg.RegisterBond.IsNil() || !s.cfg.RegisterBond.IsPositive() {
			s.logger.Error("not a registered provider: register with `ogpud tx staking-gpu register-provider --auto` or set a bond to register with")
			return false
		}
		msgs := []sdk.Msg{
			&stakinggputypes.MsgRegisterProvider{
				Operator: s.provider.String(), Moniker: s.cfg.ProviderKey, Endpoint: s.cfg.PublicURL, Gpus: gpus, Workloads: workload.Names(),
			},
			&stakinggputypes.MsgBond{Operator: s.provider.String(), Amount: sdk.NewCoin("aogpu", s.cfg.RegisterBond)},
		}
		if _, err := s.chain.send(ctx, s.cfg.ProviderKey, 500_000, msgs...); err != nil {
			s.logger.Error("register provider", "err", err)
		}
		return false // registered once the tx is in a block
	case err != nil:
		return false
	}
	s.mu.Lock()
	s.self = res.Provider
	s.mu.Unlock()
	if len(res.Provider.Gpus) != len(gpus) || res.Provider.Endpoint != s.cfg.PublicURL {
		upd := &stakinggputypes.MsgUpdateProvider{
			Operator: s.provider.String(), Moniker: res.Provider.Moniker, Endpoint: s.cfg.PublicURL, Gpus: gpus, Workloads: res.Provider.Workloads,
		}
		if _, err := s.chain.send(ctx, s.cfg.ProviderKey, 300_000, upd); err != nil {
			s.logger.Error("update provider", "err", err)
		}
	}
	return true
}
