package mlp

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// TrainFloat32 is the float32 reference for the integer trainer: the same widths, batches
// (the same rows at each step), learning rate 2^−LRShift and He-uniform initialisation, plain
// SGD on the softmax cross-entropy, inputs x/128. It returns the test accuracy of the trained
// network. Floats are only for this reference, which tests and benchmarks compare the integer
// trainer with; no execution or verification of train-mlp-int8/v1 uses it.
func TrainFloat32(p TrainParams, train, test *Dataset) (correct, total int, err error) {
	if err := p.Validate(); err != nil {
		return 0, 0, err
	}
	if err := checkDataset(p, train); err != nil {
		return 0, 0, err
	}
	if err := checkDataset(p, test); err != nil {
		return 0, 0, fmt.Errorf("test %w", err)
	}
	layers := len(p.Widths) - 1
	rng := rand.New(rand.NewPCG(p.Seed, 0))
	ws, bs := make([][]float32, layers), make([][]float32, layers)
	for l := range layers {
		in, out := p.Widths[l], p.Widths[l+1]
		lim := float32(math.Sqrt(6 / float64(in)))
		ws[l], bs[l] = make([]float32, in*out), make([]float32, out)
		for i := range ws[l] {
			ws[l][i] = (2*rng.Float32() - 1) * lim
		}
	}
	lr := float32(math.Ldexp(1, -int(p.LRShift))) / float32(p.Batch)
	gw, gb := make([][]float32, layers), make([][]float32, layers)
	for l := range layers {
		gw[l], gb[l] = make([]float32, len(ws[l])), make([]float32, len(bs[l]))
	}
	for s := range p.Steps {
		for l := range layers {
			clear(gw[l])
			clear(gb[l])
		}
		for _, r := range batchRows(p, train.Rows, s) {
			acts := forwardFloat32(p.Widths, ws, bs, train.Features[r*train.Cols:(r+1)*train.Cols])
			// δ = softmax − onehot at the logits, then down through the layers
			delta := softmaxFloat32(acts[layers])
			delta[train.Labels[r]]--
			for l := layers - 1; l >= 0; l-- {
				in, out := p.Widths[l], p.Widths[l+1]
				x := acts[l]
				for i := range in {
					if x[i] == 0 {
						continue
					}
					row := gw[l][i*out : (i+1)*out]
					for j, d := range delta {
						row[j] += x[i] * d
					}
				}
				for j, d := range delta {
					gb[l][j] += d
				}
				if l == 0 {
					break
				}
				down := make([]float32, in)
				for i := range in {
					if x[i] <= 0 { // ReLU off
						continue
					}
					var sum float32
					for j, d := range delta {
						sum += ws[l][i*out+j] * d
					}
					down[i] = sum
				}
				delta = down
			}
		}
		for l := range layers {
			for i, g := range gw[l] {
				ws[l][i] -= lr * g
			}
			for j, g := range gb[l] {
				bs[l][j] -= lr * g
			}
		}
	}
	for r := range test.Rows {
		logits := forwardFloat32(p.Widths, ws, bs, test.Features[r*test.Cols:(r+1)*test.Cols])[layers]
		best := 0
		for j, v := range logits {
			if v > logits[best] {
				best = j
			}
		}
		if best == int(test.Labels[r]) {
			correct++
		}
	}
	return correct, test.Rows, nil
}

// forwardFloat32 is every layer's input and the logits for one row of features.
func forwardFloat32(widths []int, ws, bs [][]float32, features []int8) [][]float32 {
	acts := make([][]float32, len(widths))
	acts[0] = make([]float32, len(features))
	for i, v := range features {
		acts[0][i] = float32(v) / 128
	}
	for l := range ws {
		in, out := widths[l], widths[l+1]
		y := append([]float32(nil), bs[l]...)
		for i := range in {
			if x := acts[l][i]; x != 0 {
				for j, w := range ws[l][i*out : (i+1)*out] {
					y[j] += x * w
				}
			}
		}
		if l < len(ws)-1 {
			for j := range y {
				y[j] = max(y[j], 0)
			}
		}
		acts[l+1] = y
	}
	return acts
}

// softmaxFloat32 is the softmax of the logits.
func softmaxFloat32(z []float32) []float32 {
	m := z[0]
	for _, v := range z {
		m = max(m, v)
	}
	p := make([]float32, len(z))
	var sum float32
	for j, v := range z {
		p[j] = float32(math.Exp(float64(v - m)))
		sum += p[j]
	}
	for j := range p {
		p[j] /= sum
	}
	return p
}
