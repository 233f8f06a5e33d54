package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opengpu/ogpu/sidecar/blobauth"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// ErrBlobMismatch is a download whose size or sha256 is not the one on chain.
var ErrBlobMismatch = errors.New("downloaded blob does not match")

// signedReadPatience is how long a signed read is asked again while the provider's node catches
// up with the verdict that lets the reader in.
const signedReadPatience = 5 * time.Second

// Download streams blob b into w, reading at most its declared size + 1 bytes, and says whether
// it was exactly that size with the declared sha256 (an error wrapping ErrBlobMismatch if not;
// w has then seen bytes that are not the blob). With a signer it proves who reads to the
// provider's blob server (blobauth) as a reader of task, as a creator reads its result.
func (c *Client) Download(ctx context.Context, b computetypes.Blob, task uint64, signer blobauth.Signer, w io.Writer) error {
	return c.streamBlob(ctx, b, task, signer, func(r io.Reader) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// DownloadFile is Download into the file path, which is written only if the blob matches.
func (c *Client) DownloadFile(ctx context.Context, b computetypes.Blob, task uint64, signer blobauth.Signer, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".result-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = c.Download(ctx, b, task, signer, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// streamBlob feeds blob b to consume as it downloads, then reads what consume left and checks
// the size and sha256. A mismatch (ErrBlobMismatch) or a failed download wins over what consume
// found, which is about the declared blob only if the download matched.
func (c *Client) streamBlob(ctx context.Context, b computetypes.Blob, task uint64, signer blobauth.Signer, consume func(io.Reader) error) error {
	resp, err := c.get(ctx, b.Uri, task, signer)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", b.Uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("fetch %s: %s", b.Uri, strings.TrimSpace(resp.Status+": "+strings.TrimSpace(string(msg))))
	}
	br := NewBlobReader(resp.Body, b)
	found := consume(br)
	if err := br.Finish(); err != nil {
		return err
	}
	return found
}

// BlobReader reads a download of a blob: it stops one byte past the declared size and hashes
// what passes, so the bytes can go straight into a check and be known to be the declared blob,
// or not, at the end (Finish).
type BlobReader struct {
	want computetypes.Blob
	r    io.Reader
	h    hash.Hash
	n    uint64
	err  error // the first read error other than EOF
}

// NewBlobReader reads body as the download of want.
func NewBlobReader(body io.Reader, want computetypes.Blob) *BlobReader {
	return &BlobReader{want: want, r: io.LimitReader(body, int64(want.Size_)+1), h: sha256.New()}
}

func (b *BlobReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.n += uint64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// Finish reads what the consumer left, so that all of it is hashed, and checks the size and the
// sha256: the download's read error, or an error wrapping ErrBlobMismatch if the bytes are not
// the declared blob.
func (b *BlobReader) Finish() error {
	if _, err := io.Copy(io.Discard, b); err != nil && b.err == nil {
		b.err = err
	}
	switch {
	case b.err != nil:
		return fmt.Errorf("fetch %s: %w", b.want.Uri, b.err)
	case b.n > b.want.Size_:
		return fmt.Errorf("%w: %s: more than the declared %d bytes", ErrBlobMismatch, b.want.Uri, b.want.Size_)
	case b.n < b.want.Size_:
		return fmt.Errorf("%w: %s: %d bytes, declared %d", ErrBlobMismatch, b.want.Uri, b.n, b.want.Size_)
	case hex.EncodeToString(b.h.Sum(nil)) != b.want.Sha256:
		return fmt.Errorf("%w: %s: sha256 does not match the declared %s", ErrBlobMismatch, b.want.Uri, b.want.Sha256)
	}
	return nil
}

// get fetches uri, proving who reads it when signer is not nil (and asking again for a few
// seconds while the provider's node catches up with the verdict).
func (c *Client) get(ctx context.Context, uri string, task uint64, signer blobauth.Signer) (*http.Response, error) {
	if signer != nil {
		return blobauth.GetRetrying(ctx, c.http, uri, task, signer, signedReadPatience)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	return c.http.Do(req)
}

// DescribeBlob fetches uri once and names it by its sha256 and size for a task's inputs,
// refusing one over maxSize bytes.
func (c *Client) DescribeBlob(ctx context.Context, uri string, maxSize uint64) (computetypes.Blob, error) {
	res, err := c.fetchInput(ctx, uri)
	if err != nil {
		return computetypes.Blob{}, err
	}
	defer res.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(res.Body, int64(maxSize)+1))
	if err != nil {
		return computetypes.Blob{}, fmt.Errorf("fetch %s: %w", uri, err)
	}
	if uint64(n) > maxSize {
		return computetypes.Blob{}, fmt.Errorf("%s: larger than the %d bytes an input can have", uri, maxSize)
	}
	return computetypes.Blob{Uri: uri, Sha256: hex.EncodeToString(h.Sum(nil)), Size_: uint64(n)}, nil
}

// fetchInput GETs an input's uri, which must answer 200.
func (c *Client) fetchInput(ctx context.Context, uri string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", uri, err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("fetch %s: %s", uri, res.Status)
	}
	return res, nil
}

// FetchBlob is DescribeBlob that also returns the bytes, for a caller that reads what it names
// (a model or dataset whose shape goes into the task).
func (c *Client) FetchBlob(ctx context.Context, uri string, maxSize uint64) (computetypes.Blob, []byte, error) {
	res, err := c.fetchInput(ctx, uri)
	if err != nil {
		return computetypes.Blob{}, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, int64(maxSize)+1))
	if err != nil {
		return computetypes.Blob{}, nil, fmt.Errorf("fetch %s: %w", uri, err)
	}
	if uint64(len(b)) > maxSize {
		return computetypes.Blob{}, nil, fmt.Errorf("%s: larger than the %d bytes an input can have", uri, maxSize)
	}
	sum := sha256.Sum256(b)
	return computetypes.Blob{Uri: uri, Sha256: hex.EncodeToString(sum[:]), Size_: uint64(len(b))}, b, nil
}
