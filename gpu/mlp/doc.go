// Package mlp implements the infer-mlp-int8/v1 workload: a quantized multilayer perceptron run
// over a batch of int8 rows. It owns the byte layouts of the model blob, the inputs blob and the
// result (docs/workloads.md describes them byte by byte), the requantization rule between
// layers, the forward pass on any gemm.Executor, and the committee's check of a result, which
// runs Freivalds' check (gpu/gemm) on every layer's product and recomputes the cheap elementwise
// parts exactly, in O(n²) instead of the O(n³) of inference. Everything is integer arithmetic.
package mlp
