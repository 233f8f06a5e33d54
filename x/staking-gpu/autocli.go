package stakinggpu

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
)

// AutoCLIOptions generates the queries and most txs. register-provider and update-provider are
// written by hand in the ogpud command, because --auto reads the GPUs from the local devices.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: "ogpu.stakinggpu.v1.Query",
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the module parameters"},
				{
					RpcMethod: "Provider", Use: "provider [operator]", Short: "Show a provider",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "operator"}},
				},
				{
					RpcMethod: "Providers", Use: "providers", Short: "List providers, filtered by --gpu-model, --min-vram-mib, --workload, --jailed",
					FlagOptions: map[string]*autocliv1.FlagOptions{
						"jailed": {Usage: "any, jailed or not-jailed"},
					},
				},
				{
					RpcMethod: "Stake", Use: "stake [operator]", Short: "Show a provider's bonded stake and unbonding entries",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "operator"}},
				},
				{
					RpcMethod: "Rewards", Use: "rewards [operator]", Short: "Show a provider's accrued rewards",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "operator"}},
				},
				{RpcMethod: "RewardPool", Use: "reward-pool", Short: "Show the provider rewards pool: released, remaining, carried, next epoch"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: "ogpu.stakinggpu.v1.Msg",
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "RegisterProvider", Skip: true},
				{RpcMethod: "UpdateProvider", Skip: true},
				{RpcMethod: "UpdateParams", Skip: true}, // governance only
				{
					RpcMethod: "DeregisterProvider", Use: "deregister-provider", Short: "Remove your provider record (nothing bonded or unbonding, no open work)"},
				{
					RpcMethod: "Bond", Use: "bond [amount]", Short: "Bond stake to your provider, e.g. 1000000000000000000000aogpu",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "amount"}},
				},
				{
					RpcMethod: "Unbond", Use: "unbond [amount]", Short: "Start unbonding stake; it is paid out after unbonding_time",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "amount"}},
				},
				{RpcMethod: "Unjail", Use: "unjail", Short: "Let your jailed provider bid again after its jail time"},
				{RpcMethod: "WithdrawRewards", Use: "withdraw-rewards", Short: "Withdraw your provider rewards"},
			},
			// ogpud adds register-provider and update-provider to the same command
			EnhanceCustomCommand: true,
		},
	}
}
