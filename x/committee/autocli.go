package committee

import autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

// AutoCLIOptions generates the module's commands.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: "ogpu.committee.v1.Query",
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the module parameters"},
				{RpcMethod: "Verifiers", Use: "verifiers", Short: "List the registered verifiers"},
				{
					RpcMethod: "Committee", Use: "committee [task-id]", Short: "Show a task's committee and the attestations so far",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "task_id"}},
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: "ogpu.committee.v1.Msg",
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "RegisterVerifier", Use: "register-verifier", Short: "Register your validator as a verifier for task committees"},
				{RpcMethod: "DeregisterVerifier", Use: "deregister-verifier", Short: "Stop your validator being drawn into committees"},
				{RpcMethod: "UpdateParams", Skip: true},
			},
		},
	}
}
