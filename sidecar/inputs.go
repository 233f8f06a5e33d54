package sidecar

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// fetchPatience is how long a committee member keeps asking a provider that refuses or does not
// answer before it attests UNAVAILABLE: well inside commit_blocks.
const fetchPatience = 2 * time.Second

// errInputUnavailable is a task input that could not be fetched with its declared size and hash.
var errInputUnavailable = errors.New("input unavailable")

// fetch downloads a blob, reading no more than its declared size, and checks its sha256. With a
// signer it proves who is reading (blobauth) to a provider's blob server, as a reader of task.
func fetch(ctx context.Context, b computetypes.Blob, task uint64, signer blobauth.Signer) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var res *http.Response
	var err error
	if signer != nil {
		// the provider's node may be a block behind ours and not know the committee yet
		res, err = blobauth.GetRetrying(cctx, http.DefaultClient, b.Uri, task, signer, fetchPatience)
	} else {
		var req *http.Request
		if req, err = http.NewRequestWithContext(cctx, http.MethodGet, b.Uri, nil); err != nil {
			return nil, err
		}
		res, err = http.DefaultClient.Do(req)
	}
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return nil, fmt.Errorf("%s: %s: %s", b.Uri, res.Status, strings.TrimSpace(string(msg)))
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, int64(b.Size_)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(body)) != b.Size_ {
		return nil, fmt.Errorf("%s: %d bytes or more, declared %d", b.Uri, len(body), b.Size_)
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != b.Sha256 {
		return nil, fmt.Errorf("%s: sha256 does not match", b.Uri)
	}
	return body, nil
}

// matrices returns a gemm task's A and B: generated from the seeds, or fetched from its two
// inputs (A then B, int8 row-major) and checked against their declared sizes and hashes. An
// input the client no longer serves is fetched from the provider's blob server, which keeps the
// inputs it ran on (content-addressed): once a result is in, the client cannot take its inputs
// away from the committee (signer proves the reader is on it). keep, when not nil, is given
// every input fetched.
func matrices(ctx context.Context, t computetypes.Task, keep func([]byte), signer blobauth.Signer) (gemm.Shape, []int8, []int8, error) {
	g := t.Workload.GetGemmInt8()
	if g == nil {
		return gemm.Shape{}, nil, nil, fmt.Errorf("task %d: not a gemm-int8 task", t.Id)
	}
	s := gemm.Shape{M: int(g.M), N: int(g.N), K: int(g.K)}
	if len(t.Inputs) == 0 {
		seedA, seedB, _ := t.GemmInputSeeds()
		return s, gemm.Generate(seedA, s.M, s.K), gemm.Generate(seedB, s.K, s.N), nil
	}
	if len(t.Inputs) != 2 {
		return s, nil, nil, fmt.Errorf("task %d: %d inputs, want A and B", t.Id, len(t.Inputs))
	}
	var m [2][]int8
	for i, in := range t.Inputs {
		body, err := fetch(ctx, in, t.Id, nil)
		if err != nil && t.Result.Uri != "" && !t.InputUnavailable && signer != nil {
			if mirror, ok := providerCopy(t.Result.Uri, in.Sha256); ok {
				body, err = fetch(ctx, computetypes.Blob{Uri: mirror, Sha256: in.Sha256, Size_: in.Size_}, t.Id, signer)
			}
		}
		if err != nil {
			return s, nil, nil, fmt.Errorf("%w: %v", errInputUnavailable, err)
		}
		if keep != nil {
			keep(body)
		}
		m[i] = make([]int8, len(body))
		for j, v := range body {
			m[i][j] = int8(v)
		}
	}
	if len(m[0]) != s.M*s.K || len(m[1]) != s.K*s.N {
		return s, nil, nil, fmt.Errorf("%w: input sizes do not fit %dx%dx%d", errInputUnavailable, s.M, s.N, s.K)
	}
	return s, m[0], m[1], nil
}

// providerCopy is where the provider that served resultURI (…/v1/blobs/<sha256>) serves the
// blob named sha.
func providerCopy(resultURI, sha string) (string, bool) {
	i := strings.LastIndex(resultURI, "/v1/blobs/")
	if i < 0 {
		return "", false
	}
	return resultURI[:i] + "/v1/blobs/" + sha, true
}
