package compute

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
)

// AutoCLIOptions generates the queries and the provider txs. create-task (typed workload
// parameters, --wait), result (download and check), the client's stream txs (open-stream,
// fund-stream, close-stream, challenge-response) and the stream queries (stream, streams) are
// written by hand in the ogpud command.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: "ogpu.compute.v1.Query",
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the module parameters"},
				{
					RpcMethod: "Task", Use: "task [id]", Short: "Show a task with its escrow and bids",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "task_id"}},
				},
				{RpcMethod: "Stream", Skip: true},
				{RpcMethod: "Streams", Skip: true},
				{
					RpcMethod: "Tasks", Use: "tasks", Short: "List tasks by --state, --creator or --provider",
					FlagOptions: map[string]*autocliv1.FlagOptions{
						"state": {Usage: "open, assigned, submitted, completed, failed, cancelled or expired"},
					},
				},
			},
			EnhanceCustomCommand: true,
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: "ogpu.compute.v1.Msg",
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "CreateTask", Skip: true},
				{RpcMethod: "UpdateParams", Skip: true}, // governance only
				{RpcMethod: "OpenStream", Skip: true},
				{RpcMethod: "FundStream", Skip: true},
				{RpcMethod: "CloseStream", Skip: true},
				{RpcMethod: "ChallengeResponse", Skip: true},
				{
					RpcMethod: "Subscribe", Use: "subscribe [stream-id] [price] [endpoint]",
					Short:          "Offer to serve an OPEN stream at a price per request (aogpu) from your sidecar's base URL",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "stream_id"}, {ProtoField: "price"}, {ProtoField: "endpoint"}},
				},
				{RpcMethod: "ClaimStream", Short: "Redeem a stream creator's voucher (the sidecar sends this)"},
				{RpcMethod: "CommitReceipts", Short: "Commit the Merkle root of a period's receipts (the sidecar sends this)"},
				{RpcMethod: "RevealSamples", Short: "Publish a period's sampled receipts with their proofs (the sidecar sends this)"},
				{
					RpcMethod: "CancelTask", Use: "cancel-task [id]", Short: "Cancel your OPEN task and get the escrow back",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "task_id"}},
				},
				{
					RpcMethod: "Bid", Use: "bid [task-id] [price]", Short: "Bid a price in aogpu on an OPEN task",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "task_id"}, {ProtoField: "price"}},
				},
				{
					RpcMethod: "WithdrawBid", Use: "withdraw-bid [task-id]", Short: "Withdraw your bid while the task is OPEN",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "task_id"}},
				},
				{
					RpcMethod: "SubmitResult", Use: "submit-result [task-id] [sha256] [size] [uri]", Short: "Submit the result of a task assigned to you",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "task_id"}, {ProtoField: "sha256"}, {ProtoField: "size"}, {ProtoField: "uri"}},
				},
				{
					RpcMethod: "ReportInputUnavailable", Use: "report-input-unavailable [task-id]", Short: "Report that a task's inputs cannot be fetched",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "task_id"}},
				},
				{
					RpcMethod: "AcceptResult", Use: "accept-result [task-id]", Short: "Accept your VERIFIED task's result: the provider is paid now",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "task_id"}},
				},
				{
					RpcMethod: "DisputeResult", Use: "dispute-result [task-id]",
					Short:          "Dispute your VERIFIED task's result: lock dispute_bond_ratio × price and send it to an escalation committee",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "task_id"}},
				},
			},
			EnhanceCustomCommand: true,
		},
	}
}
