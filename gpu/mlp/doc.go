// Package mlp implements the integer MLP workloads. infer-mlp-int8/v1 runs a quantized
// multilayer perceptron over a batch of int8 rows; train-mlp-int8/v1 trains one with integer
// arithmetic only (int32 master weights, int8 products, stochastic rounding drawn from the
// seed), keeping the hash of its state after every step. The package owns the byte layouts of
// the model, rows, dataset, state and result blobs (docs/workloads.md gives them byte by byte),
// the requantization rule, the forward pass and the training step on any gemm.Executor, and the
// committee's checks: Freivalds' check (gpu/gemm) on every layer's product with the elementwise
// parts recomputed exactly, in O(n²) instead of inference's O(n³); and a few training steps,
// sampled after the result is in, re-run from the states the provider serves.
package mlp
