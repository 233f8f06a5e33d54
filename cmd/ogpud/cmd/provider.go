package cmd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/spf13/cobra"

	"github.com/opengpu/ogpu/gpu/device"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

const (
	flagMoniker   = "moniker"
	flagEndpoint  = "endpoint"
	flagGPU       = "gpu"
	flagWorkloads = "workloads"
	flagAuto      = "auto"
)

// stakingGPUTxCommand holds the provider commands that do more than one message's fields:
// --auto reads the GPU list from the local devices. autocli adds the other staking-gpu txs.
func stakingGPUTxCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        stakinggputypes.CLIName,
		Short:                      "GPU provider transactions: register, bond, unbond, unjail, withdraw rewards",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(
		providerSpecCmd("register-provider", "Register the signer as a GPU provider", func(op string, s providerSpec) sdk.Msg {
			return &stakinggputypes.MsgRegisterProvider{Operator: op, Moniker: s.moniker, Endpoint: s.endpoint, Gpus: s.gpus, Workloads: s.workloads}
		}),
		providerSpecCmd("update-provider", "Replace the moniker, endpoint, GPUs and workloads of the signer's provider record", func(op string, s providerSpec) sdk.Msg {
			return &stakinggputypes.MsgUpdateProvider{Operator: op, Moniker: s.moniker, Endpoint: s.endpoint, Gpus: s.gpus, Workloads: s.workloads}
		}),
	)
	return cmd
}

type providerSpec struct {
	moniker, endpoint string
	gpus              []stakinggputypes.GPU
	workloads         []string
}

func providerSpecCmd(use, short string, build func(operator string, s providerSpec) sdk.Msg) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use + " --moniker NAME --endpoint URL [--auto | --gpu UUID,MODEL,VRAM_MIB,CC ...]",
		Short: short,
		Long: short + `.

The GPU list comes from the local devices with --auto (through NVML; a machine without an NVIDIA
driver registers a CPU provider), or from --gpu flags, one per device:
  --gpu "GPU-8f6c…,NVIDIA H100 80GB HBM3,81920,9.0"
--workloads defaults to every registered workload (` + strings.Join(workload.Names(), ", ") + `).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			spec, err := readProviderSpec(cmd, device.NewNVML())
			if err != nil {
				return err
			}
			msg := build(clientCtx.GetFromAddress().String(), spec)
			if m, ok := msg.(sdk.HasValidateBasic); ok {
				if err := m.ValidateBasic(); err != nil {
					return err
				}
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	cmd.Flags().String(flagMoniker, "", "the provider's public name (required)")
	cmd.Flags().String(flagEndpoint, "", "http(s) URL of the provider's sidecar (required)")
	cmd.Flags().StringArray(flagGPU, nil, "a GPU as UUID,MODEL,VRAM_MIB,COMPUTE_CAPABILITY; repeat for each device")
	cmd.Flags().StringSlice(flagWorkloads, workload.Names(), "workloads the provider runs")
	cmd.Flags().Bool(flagAuto, false, "fill the GPU list from the local devices (NVML)")
	_ = cmd.MarkFlagRequired(flagMoniker)
	_ = cmd.MarkFlagRequired(flagEndpoint)
	cmd.MarkFlagsMutuallyExclusive(flagAuto, flagGPU)
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

func readProviderSpec(cmd *cobra.Command, discoverer device.Discoverer) (providerSpec, error) {
	var s providerSpec
	var err error
	if s.moniker, err = cmd.Flags().GetString(flagMoniker); err != nil {
		return s, err
	}
	if s.endpoint, err = cmd.Flags().GetString(flagEndpoint); err != nil {
		return s, err
	}
	if s.workloads, err = cmd.Flags().GetStringSlice(flagWorkloads); err != nil {
		return s, err
	}
	auto, err := cmd.Flags().GetBool(flagAuto)
	if err != nil {
		return s, err
	}
	if auto {
		inv, err := discoverer.Discover()
		if err != nil {
			return s, fmt.Errorf("--auto: %w", err)
		}
		if !inv.HasGPU() {
			cmd.PrintErrf("no GPU found (%s): registering a CPU provider\n", inv.NoGPU)
		}
		s.gpus = GPUsFromInventory(inv)
		return s, nil
	}
	specs, err := cmd.Flags().GetStringArray(flagGPU)
	if err != nil {
		return s, err
	}
	for i, spec := range specs {
		g, err := ParseGPUFlag(spec)
		if err != nil {
			return s, fmt.Errorf("--gpu #%d: %w", i+1, err)
		}
		s.gpus = append(s.gpus, g)
	}
	return s, nil
}

// GPUsFromInventory turns discovered devices into the provider record's GPU list.
func GPUsFromInventory(inv device.Inventory) []stakinggputypes.GPU {
	gpus := make([]stakinggputypes.GPU, 0, len(inv.Devices))
	for _, d := range inv.Devices {
		gpus = append(gpus, stakinggputypes.GPU{
			Uuid: d.UUID, Model: d.Name, VramMib: d.MemoryMiB, ComputeCapability: d.ComputeCapability,
		})
	}
	return gpus
}

// ParseGPUFlag parses UUID,MODEL,VRAM_MIB,COMPUTE_CAPABILITY.
func ParseGPUFlag(s string) (stakinggputypes.GPU, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return stakinggputypes.GPU{}, fmt.Errorf("%q: want UUID,MODEL,VRAM_MIB,COMPUTE_CAPABILITY", s)
	}
	vram, err := strconv.ParseUint(strings.TrimSpace(parts[2]), 10, 64)
	if err != nil {
		return stakinggputypes.GPU{}, fmt.Errorf("%q: VRAM_MIB %q is not a whole number", s, parts[2])
	}
	g := stakinggputypes.GPU{
		Uuid:              strings.TrimSpace(parts[0]),
		Model:             strings.TrimSpace(parts[1]),
		VramMib:           vram,
		ComputeCapability: strings.TrimSpace(parts[3]),
	}
	return g, g.Validate()
}
