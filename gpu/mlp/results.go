package mlp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ResultArgmax reads the argmax of each row from an infer-mlp-int8/v1 result, checking its
// header and size; it is what a client scores against its labels.
func ResultArgmax(b []byte) ([]uint32, error) {
	if len(b) < 20 || [8]byte(b[:8]) != resultMagic {
		return nil, errors.New("infer result: magic: not an OGPUINFR blob")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		return nil, fmt.Errorf("infer result: version %d: must be %d", v, Version)
	}
	rows := int(binary.LittleEndian.Uint32(b[12:]))
	layers := int(binary.LittleEndian.Uint32(b[16:]))
	if layers < 1 || layers > MaxLayers || len(b) < 20+4*(layers+1) {
		return nil, fmt.Errorf("infer result: layer count %d: must be in 1..%d", layers, MaxLayers)
	}
	widths := make([]int, layers+1)
	for i := range widths {
		widths[i] = int(binary.LittleEndian.Uint32(b[20+4*i:]))
	}
	want := ResultSize(widths, rows)
	if want == 0 || uint64(len(b)) != want {
		return nil, fmt.Errorf("infer result: size %d bytes: want %d for %d rows of widths %v", len(b), want, rows, widths)
	}
	tail := b[len(b)-4*rows:]
	out := make([]uint32, rows)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(tail[4*i:])
	}
	return out, nil
}

// TrainedModel reads the trained model out of a train-mlp-int8/v1 result, checking its header,
// size and hash chain as DecodeResult does, with the parameters its header gives.
func TrainedModel(b []byte) (*Model, error) {
	if len(b) < 20 || [8]byte(b[:8]) != trainMagic {
		return nil, errors.New("train result: magic: not an OGPUTRAN blob")
	}
	steps := int(binary.LittleEndian.Uint32(b[12:]))
	layers := int(binary.LittleEndian.Uint32(b[16:]))
	if layers < 1 || layers > MaxLayers || len(b) < 20+4*(layers+1) {
		return nil, fmt.Errorf("train result: layer count %d: must be in 1..%d", layers, MaxLayers)
	}
	p := TrainParams{Steps: steps, Batch: 1, Widths: make([]int, layers+1)}
	for i := range p.Widths {
		p.Widths[i] = int(binary.LittleEndian.Uint32(b[20+4*i:]))
	}
	res, err := DecodeResult(p, b)
	if err != nil {
		return nil, err
	}
	return res.Model, nil
}
