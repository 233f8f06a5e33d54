package blobauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/sidecar/blobauth"
)

func TestChallengesAreSingleUseAndExpire(t *testing.T) {
	c := blobauth.NewChallenges(2)
	now := time.Unix(1_000, 0)
	a, err := c.New(now)
	require.NoError(t, err)
	b, err := c.New(now)
	require.NoError(t, err)
	_, err = c.New(now)
	require.ErrorIs(t, err, blobauth.ErrBusy, "bounded")
	require.True(t, c.Take(a, now))
	require.False(t, c.Take(a, now), "single use")
	require.False(t, c.Take(b, now.Add(blobauth.ChallengeTTL+time.Second)), "expired")
	require.False(t, c.Take("never issued", now))
	_, err = c.New(now.Add(2 * blobauth.ChallengeTTL))
	require.NoError(t, err, "expired ones make room")
}

// FuzzParseRequest: any query and headers give a request or a clear error, never a panic.
func FuzzParseRequest(f *testing.F) {
	f.Add("4", "00ff", "ogpu1abc", "0a0b", "0c0d")
	f.Add("", "", "", "", "")
	f.Add("18446744073709551616", "zz", "x", "not hex", "")
	f.Fuzz(func(t *testing.T, task, challenge, signer, pub, sig string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/blobs/ab", nil)
		q := r.URL.Query()
		q.Set("task", task)
		r.URL.RawQuery = q.Encode()
		r.Header.Set(blobauth.HeaderChallenge, challenge)
		r.Header.Set(blobauth.HeaderSigner, signer)
		r.Header.Set(blobauth.HeaderPubKey, pub)
		r.Header.Set(blobauth.HeaderSignature, sig)
		req, ch, err := blobauth.ParseRequest(r, "ab")
		if err == nil {
			require.Equal(t, challenge, ch)
			require.NotEmpty(t, req.PubKey)
			require.Equal(t, blobauth.Message(challenge, req.Task, "ab"), req.Message)
		}
	})
}
