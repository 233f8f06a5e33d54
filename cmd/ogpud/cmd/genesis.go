package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/cosmos/gogoproto/proto"
	"github.com/spf13/cobra"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/server"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	genutilcli "github.com/cosmos/cosmos-sdk/x/genutil/client/cli"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"

	"github.com/opengpu/ogpu/app"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// blockMaxGas is the block gas limit every genesis we write sets (the EVM needs a finite one).
const blockMaxGas = 100_000_000

// InitCmd is the SDK's init, followed by the ogpu genesis defaults: aogpu everywhere, the EVM
// and ERC-20 set up for oGPU, vote extensions from height 2 and a finite block gas limit.
func InitCmd(tempApp *app.App) *cobra.Command {
	cmd := genutilcli.InitCmd(tempApp.BasicModuleManager, DefaultNodeHome)
	sdkRun := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := sdkRun(cmd, args); err != nil {
			return err
		}
		genFile := server.GetServerContextFromCmd(cmd).Config.GenesisFile()
		return rewriteGenesis(genFile, func(g *genutiltypes.AppGenesis) error {
			state, err := json.Marshal(app.DefaultGenesisState(tempApp.AppCodec(), tempApp.BasicModuleManager))
			if err != nil {
				return err
			}
			g.AppState = state
			g.Consensus.Params.ABCI.VoteExtensionsEnableHeight = app.VoteExtensionsEnableHeight
			g.Consensus.Params.Block.MaxGas = blockMaxGas
			return nil
		})
	}
	return cmd
}

// rewriteGenesis loads a genesis file, lets edit change it, validates and saves it.
func rewriteGenesis(genFile string, edit func(*genutiltypes.AppGenesis) error) error {
	g, err := genutiltypes.AppGenesisFromFile(genFile)
	if err != nil {
		return fmt.Errorf("read genesis %s: %w", genFile, err)
	}
	if err := edit(g); err != nil {
		return err
	}
	if err := g.ValidateAndComplete(); err != nil {
		return fmt.Errorf("genesis %s: %w", genFile, err)
	}
	return g.SaveAs(genFile)
}

// moduleStates is a genesis app state, read and written one module's genesis at a time.
type moduleStates map[string]json.RawMessage

var genesisCodec = codec.NewProtoCodec(codectypes.NewInterfaceRegistry())

func (s moduleStates) get(module string, gs proto.Message) error {
	if err := genesisCodec.UnmarshalJSON(s[module], gs); err != nil {
		return fmt.Errorf("genesis of %s: %w", module, err)
	}
	return nil
}

func (s moduleStates) set(module string, gs proto.Message) error {
	bz, err := genesisCodec.MarshalJSON(gs)
	if err != nil {
		return fmt.Errorf("genesis of %s: %w", module, err)
	}
	s[module] = bz
	return nil
}

// editAppState rewrites the app state of genFile with edit (which also sees the rest of the
// genesis), then validates and saves it.
func editAppState(genFile string, edit func(*genutiltypes.AppGenesis, moduleStates) error) error {
	return rewriteGenesis(genFile, func(g *genutiltypes.AppGenesis) error {
		var state moduleStates
		if err := json.Unmarshal(g.AppState, &state); err != nil {
			return fmt.Errorf("genesis app state: %w", err)
		}
		if err := edit(g, state); err != nil {
			return err
		}
		var err error
		g.AppState, err = json.Marshal(state)
		return err
	})
}

const (
	flagFile            = "file"
	flagTeam            = "team"
	flagEcosystem       = "ecosystem"
	flagCommunity       = "community"
	flagProviderRewards = "provider-rewards"
	flagReserve         = "reserve"
	flagVestingStart    = "vesting-start"
)

// allocationFile is the JSON form of an allocation; amounts are in OGPU.
type allocationFile struct {
	Ecosystem       string `json:"ecosystem"`
	Community       string `json:"community"`
	ProviderRewards string `json:"provider_rewards"`
	Reserve         string `json:"reserve"`
	Team            []struct {
		Address string `json:"address"`
		Amount  string `json:"amount"`
	} `json:"team"`
	VestingStart int64 `json:"vesting_start,omitempty"`
}

// AllocateCmd writes the fixed 21,000,000 OGPU allocation into the genesis.
func AllocateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "allocate",
		Short: "Write the 21,000,000 OGPU genesis allocation into genesis.json",
		Long: `Write the fixed-supply allocation into genesis.json: ecosystem 10%, community and airdrop 15%,
team and advisors 15% (continuous vesting over 3 years from the genesis time), GPU provider rewards 50%
(module account provider_rewards), reserve 10%. Ecosystem, community and reserve are module accounts only
governance can spend from. Accounts already funded in the genesis (validators, faucets) are paid from the
community share. Amounts are in OGPU. The shares must add up to exactly 21,000,000 OGPU.

Team members come from --team ADDRESS=AMOUNT (repeatable; with no amounts the team share is split
equally) or from --file, a JSON file:
  {"ecosystem":"2100000","community":"3150000","provider_rewards":"10500000","reserve":"2100000",
   "team":[{"address":"ogpu1...","amount":"3150000"}]}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx := client.GetClientContextFromCmd(cmd)
			genFile := server.GetServerContextFromCmd(cmd).Config.GenesisFile()
			return editAppState(genFile, func(g *genutiltypes.AppGenesis, state moduleStates) error {
				alloc, err := allocationFromFlags(cmd, g.GenesisTime.Unix())
				if err != nil {
					return err
				}
				return app.ApplyAllocation(clientCtx.Codec, state, alloc)
			})
		},
	}
	cmd.Flags().String(flagFile, "", "JSON allocation file (amounts in OGPU), instead of the share and team flags")
	cmd.Flags().StringArray(flagTeam, nil, "team member as ADDRESS or ADDRESS=AMOUNT in OGPU (repeatable)")
	cmd.Flags().String(flagEcosystem, "", "ecosystem share in OGPU (default 10% of the supply)")
	cmd.Flags().String(flagCommunity, "", "community and airdrop share in OGPU (default 15%)")
	cmd.Flags().String(flagProviderRewards, "", "GPU provider rewards share in OGPU (default 50%)")
	cmd.Flags().String(flagReserve, "", "reserve share in OGPU (default 10%)")
	cmd.Flags().Int64(flagVestingStart, 0, "unix time team vesting starts (default: the genesis time)")
	cmd.Flags().String(flags.FlagHome, DefaultNodeHome, "The application home directory")
	return cmd
}

func allocationFromFlags(cmd *cobra.Command, genesisTime int64) (app.Allocation, error) {
	var file allocationFile
	if path, _ := cmd.Flags().GetString(flagFile); path != "" {
		for _, f := range []string{flagTeam, flagEcosystem, flagCommunity, flagProviderRewards, flagReserve, flagVestingStart} {
			if cmd.Flags().Changed(f) {
				return app.Allocation{}, fmt.Errorf("--%s and --%s: give the allocation either in the file or in flags, not both", flagFile, f)
			}
		}
		bz, err := os.ReadFile(path)
		if err != nil {
			return app.Allocation{}, fmt.Errorf("--%s: %w", flagFile, err)
		}
		if err := json.Unmarshal(bz, &file); err != nil {
			return app.Allocation{}, fmt.Errorf("--%s %s: %w", flagFile, path, err)
		}
	} else {
		file.Ecosystem, _ = cmd.Flags().GetString(flagEcosystem)
		file.Community, _ = cmd.Flags().GetString(flagCommunity)
		file.ProviderRewards, _ = cmd.Flags().GetString(flagProviderRewards)
		file.Reserve, _ = cmd.Flags().GetString(flagReserve)
		team, _ := cmd.Flags().GetStringArray(flagTeam)
		for _, t := range team {
			addr, amt, _ := strings.Cut(t, "=")
			file.Team = append(file.Team, struct {
				Address string `json:"address"`
				Amount  string `json:"amount"`
			}{Address: strings.TrimSpace(addr), Amount: amt})
		}
		file.VestingStart, _ = cmd.Flags().GetInt64(flagVestingStart)
	}

	start := genesisTime
	if file.VestingStart != 0 {
		start = file.VestingStart
	}
	addrs := make([]string, len(file.Team))
	for i, m := range file.Team {
		addrs[i] = m.Address
	}
	alloc := app.DefaultAllocation(addrs, start)

	for _, share := range []struct {
		name, value string
		dst         *sdkmath.Int
	}{
		{app.ShareEcosystem, file.Ecosystem, &alloc.Ecosystem},
		{app.ShareCommunity, file.Community, &alloc.Community},
		{app.ShareProviderRewards, file.ProviderRewards, &alloc.ProviderRewards},
		{app.ShareReserve, file.Reserve, &alloc.Reserve},
	} {
		if share.value == "" {
			continue
		}
		amt, err := app.ParseOGPU(share.value)
		if err != nil {
			return app.Allocation{}, fmt.Errorf("share %s: %w", share.name, err)
		}
		*share.dst = amt
	}

	// explicit member amounts replace the equal split
	explicit := false
	for _, m := range file.Team {
		explicit = explicit || m.Amount != ""
	}
	if explicit {
		for i, m := range file.Team {
			if m.Amount == "" {
				return app.Allocation{}, fmt.Errorf("share %s: member %s has no amount; give every member one, or none", app.ShareTeam, m.Address)
			}
			amt, err := app.ParseOGPU(m.Amount)
			if err != nil {
				return app.Allocation{}, fmt.Errorf("share %s: member %s: %w", app.ShareTeam, m.Address, err)
			}
			alloc.Team[i].Amount = amt
		}
	}
	return alloc, nil
}

// registerGenesisVerifiers makes the validators operated by these accounts verifiers from
// genesis, so committees can be drawn from the first task on.
func registerGenesisVerifiers(genFile string, operators []string) error {
	return editAppState(genFile, func(_ *genutiltypes.AppGenesis, state moduleStates) error {
		var gs committeetypes.GenesisState
		if err := state.get(committeetypes.ModuleName, &gs); err != nil {
			return err
		}
		for _, op := range operators {
			acc, err := sdk.AccAddressFromBech32(op)
			if err != nil {
				return err
			}
			gs.Verifiers = append(gs.Verifiers, committeetypes.Verifier{Validator: sdk.ValAddress(acc).String()})
		}
		return state.set(committeetypes.ModuleName, &gs)
	})
}

// registerGenesisProvider makes operator a CPU provider from genesis with bond moved from its
// balance into the staking-gpu module account, so the dev sidecar can bid from the first block.
func registerGenesisProvider(genFile, operator, moniker, endpoint string, bond sdkmath.Int) error {
	return editAppState(genFile, func(_ *genutiltypes.AppGenesis, state moduleStates) error {
		var bank banktypes.GenesisState
		if err := state.get(banktypes.ModuleName, &bank); err != nil {
			return err
		}
		moved := false
		for i, b := range bank.Balances {
			if b.Address != operator {
				continue
			}
			coin := sdk.NewCoin(app.BaseDenom, bond)
			if !b.Coins.IsAllGTE(sdk.NewCoins(coin)) {
				return fmt.Errorf("provider %s holds %s, less than the bond %s", operator, b.Coins, coin)
			}
			bank.Balances[i].Coins = b.Coins.Sub(coin)
			moved = true
			break
		}
		// into the module account's balance, adding to it if an earlier provider made one
		pool := authtypes.NewModuleAddress(stakinggputypes.ModuleName).String()
		coin := sdk.NewCoin(app.BaseDenom, bond)
		if j := slices.IndexFunc(bank.Balances, func(b banktypes.Balance) bool { return b.Address == pool }); j >= 0 {
			bank.Balances[j].Coins = bank.Balances[j].Coins.Add(coin)
		} else {
			bank.Balances = append(bank.Balances, banktypes.Balance{Address: pool, Coins: sdk.NewCoins(coin)})
		}
		if !moved {
			return fmt.Errorf("provider %s has no genesis balance", operator)
		}
		bank.Balances = banktypes.SanitizeGenesisBalances(bank.Balances)
		var sg stakinggputypes.GenesisState
		if err := state.get(stakinggputypes.ModuleName, &sg); err != nil {
			return err
		}
		sg.Providers = append(sg.Providers, stakinggputypes.Provider{
			Operator: operator, Moniker: moniker, Endpoint: endpoint, Workloads: workload.Names(),
			Bonded: bond, WorkUnits: sdkmath.ZeroInt(), Locked: sdkmath.ZeroInt(),
		})
		if err := state.set(banktypes.ModuleName, &bank); err != nil {
			return err
		}
		return state.set(stakinggputypes.ModuleName, &sg)
	})
}
