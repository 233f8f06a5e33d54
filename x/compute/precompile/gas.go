package precompile

import "reflect"

// Base charges per method, on top of the metered KV access (see the package doc's table).
const (
	GasCreateTask       = 50_000
	GasPerInput         = 5_000
	GasPerParamsByte    = 16
	GasCancelTask       = 20_000
	GasAcceptResult     = 20_000
	GasDisputeResult    = 30_000
	GasGetTask          = 2_000
	GasTasksOf          = 2_000
	GasPerListedTask    = 500
	GasParams           = 1_000
	GasOpenStream       = 60_000
	GasFundStream       = 20_000
	GasCloseStream      = 20_000
	GasGetStream        = 2_000
	maxTasksOfLimit     = 100
	maxWorkloadParamLen = 4096
)

// baseGas is the method's explicit charge for the work the KV meter does not see: decoding and
// validating the workload's parameters and inputs, and the Cosmos tx's own overhead a write
// must not undercut. args are the decoded ABI arguments.
func baseGas(method string, args []interface{}) uint64 {
	switch method {
	case CreateTaskMethod:
		gas := uint64(GasCreateTask)
		if len(args) == 6 {
			if params, ok := args[1].([]byte); ok {
				gas += GasPerParamsByte * uint64(len(params))
			}
			// the ABI decoder gives the inputs as a slice of an unnamed struct type
			if inputs := reflect.ValueOf(args[2]); inputs.Kind() == reflect.Slice {
				gas += GasPerInput * uint64(inputs.Len())
			}
		}
		return gas
	case CancelTaskMethod:
		return GasCancelTask
	case AcceptResultMethod:
		return GasAcceptResult
	case DisputeResultMethod:
		return GasDisputeResult
	case GetTaskMethod:
		return GasGetTask
	case TasksOfMethod:
		gas := uint64(GasTasksOf)
		if len(args) == 3 {
			if limit, ok := args[2].(uint64); ok && limit <= maxTasksOfLimit {
				gas += GasPerListedTask * limit
			}
		}
		return gas
	case ParamsMethod:
		return GasParams
	case OpenStreamMethod:
		gas := uint64(GasOpenStream)
		if len(args) == 8 {
			if params, ok := args[1].([]byte); ok {
				gas += GasPerParamsByte * uint64(len(params))
			}
		}
		return gas
	case FundStreamMethod:
		return GasFundStream
	case CloseStreamMethod:
		return GasCloseStream
	case GetStreamMethod:
		return GasGetStream
	}
	return 0
}
