// Package blobauth is how a reader proves who it is to a provider's blob server. Results (and
// the inputs a provider keeps for its committee) are not public: the server hands out
// single-use challenges, the reader signs one together with the task and the blob it wants, and
// the server serves the blob only if the signer may read it (x/compute decides: the task's
// committee, and its creator once the verdict is in).
//
// A committee member signs with its validator's consensus key (ed25519) and names itself by
// its operator address (ogpuvaloper…); a creator signs with its account key (eth_secp256k1)
// and names itself by its account address (ogpu1…). A creator that is a contract cannot sign:
// an account it approves signs and names the contract in the For header, and the server asks
// the contract, by ERC-1271's isValidSignature, whether the signature stands for it.
package blobauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request headers of a signed read.
const (
	HeaderChallenge = "Ogpu-Challenge"
	HeaderSigner    = "Ogpu-Signer"
	HeaderPubKey    = "Ogpu-Pubkey"
	HeaderSignature = "Ogpu-Signature"
	// HeaderFor names the contract (ogpu1…) an account reads for; absent when it reads for itself.
	HeaderFor = "Ogpu-For"
)

// ChallengePath is where a blob server hands out challenges; ChallengeTTL how long one lasts.
const (
	ChallengePath = "/v1/challenge"
	ChallengeTTL  = time.Minute
	blobsPath     = "/v1/blobs/"
)

// Message is what a reader signs to read blob sha of task with challenge. It is longer than a
// hash on purpose: account keys hash what they sign.
func Message(challenge string, task uint64, sha string) []byte {
	return []byte("ogpu blob read v1\nchallenge " + challenge + "\ntask " + strconv.FormatUint(task, 10) + "\nblob " + sha + "\n")
}

// Signer proves who a reader is.
type Signer interface {
	// Signer is the reader's address: an account (ogpu1…) or a validator operator (ogpuvaloper…).
	Signer() string
	PubKey() []byte
	Sign(msg []byte) ([]byte, error)
}

// Delegate is a Signer that reads for a contract: For is the contract's account address.
type Delegate interface {
	Signer
	For() string
}

// Request is a signed read as the server sees it.
type Request struct {
	Task      uint64
	SHA       string
	Signer    string
	PubKey    []byte
	Signature []byte
	Message   []byte
	// For is the contract the signer reads for, or "".
	For string
}

// Get fetches the blob at uri (…/v1/blobs/<sha256>) of task, signing the server's challenge
// with s.
func Get(ctx context.Context, client *http.Client, uri string, task uint64, s Signer) (*http.Response, error) {
	i := strings.LastIndex(uri, blobsPath)
	if i < 0 {
		return nil, fmt.Errorf("blob uri %q: no %s in it", uri, blobsPath)
	}
	sha := uri[i+len(blobsPath):]
	challenge, err := fetchChallenge(ctx, client, uri[:i]+ChallengePath)
	if err != nil {
		return nil, err
	}
	sig, err := s.Sign(Message(challenge, task, sha))
	if err != nil {
		return nil, fmt.Errorf("sign the challenge of %s: %w", uri, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri+"?task="+strconv.FormatUint(task, 10), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(HeaderChallenge, challenge)
	req.Header.Set(HeaderSigner, s.Signer())
	req.Header.Set(HeaderPubKey, hex.EncodeToString(s.PubKey()))
	req.Header.Set(HeaderSignature, hex.EncodeToString(sig))
	if d, ok := s.(Delegate); ok && d.For() != "" {
		req.Header.Set(HeaderFor, d.For())
	}
	return client.Do(req)
}

func fetchChallenge(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	res, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("challenge from %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("challenge from %s: %s", url, res.Status)
	}
	var v struct {
		Challenge string `json:"challenge"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, res.Body, 1024)).Decode(&v); err != nil {
		return "", fmt.Errorf("challenge from %s: %w", url, err)
	}
	return v.Challenge, nil
}

// ParseRequest reads a signed read of blob sha from r, or says which part is missing.
func ParseRequest(r *http.Request, sha string) (Request, string, error) {
	task, err := strconv.ParseUint(r.URL.Query().Get("task"), 10, 64)
	if err != nil {
		return Request{}, "", errors.New("query parameter task: required, the id of the task the blob belongs to")
	}
	challenge := r.Header.Get(HeaderChallenge)
	signer := r.Header.Get(HeaderSigner)
	if challenge == "" || signer == "" {
		return Request{}, "", fmt.Errorf("headers %s and %s: required (get a challenge at %s and sign it)", HeaderChallenge, HeaderSigner, ChallengePath)
	}
	pub, err := hex.DecodeString(r.Header.Get(HeaderPubKey))
	if err != nil || len(pub) == 0 {
		return Request{}, "", fmt.Errorf("header %s: hex public key required", HeaderPubKey)
	}
	sig, err := hex.DecodeString(r.Header.Get(HeaderSignature))
	if err != nil || len(sig) == 0 {
		return Request{}, "", fmt.Errorf("header %s: hex signature required", HeaderSignature)
	}
	return Request{
		Task: task, SHA: sha, Signer: signer, PubKey: pub, Signature: sig, Message: Message(challenge, task, sha),
		For: r.Header.Get(HeaderFor),
	}, challenge, nil
}

// Challenges hands out single-use challenges that expire after ChallengeTTL, at most max at a
// time, so a flood of requests cannot grow the server's memory.
type Challenges struct {
	mu  sync.Mutex
	out map[string]time.Time
	max int
}

// NewChallenges keeps at most max outstanding challenges.
func NewChallenges(max int) *Challenges {
	return &Challenges{out: map[string]time.Time{}, max: max}
}

// ErrBusy is a server with max challenges outstanding.
var ErrBusy = errors.New("too many outstanding challenges; retry in a moment")

// New issues a challenge.
func (c *Challenges) New(now time.Time) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.out) >= c.max {
		for k, exp := range c.out {
			if now.After(exp) {
				delete(c.out, k)
			}
		}
		if len(c.out) >= c.max {
			return "", ErrBusy
		}
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	ch := hex.EncodeToString(b[:])
	c.out[ch] = now.Add(ChallengeTTL)
	return ch, nil
}

// Take uses up a challenge: true if it was issued here, unused and unexpired.
func (c *Challenges) Take(ch string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.out[ch]
	delete(c.out, ch)
	return ok && !now.After(exp)
}

// GetRetrying is Get tried again, twice a second for up to wait, while the server refuses
// or cannot be reached: the provider's node may not yet have the block that lets the reader in
// (the draw, the verdict). It returns the last answer.
func GetRetrying(ctx context.Context, client *http.Client, uri string, task uint64, s Signer, wait time.Duration) (*http.Response, error) {
	deadline := time.Now().Add(wait)
	for {
		res, err := Get(ctx, client, uri, task, s)
		if err == nil && res.StatusCode == http.StatusOK {
			return res, nil
		}
		if time.Now().After(deadline) {
			return res, err
		}
		if err == nil {
			res.Body.Close()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
