package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	ogpuclient "github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// fetchTimeout caps every download of an input or a result, from the request to the last byte.
const fetchTimeout = 2 * time.Minute

// fetchPatience is how long a committee member keeps asking a provider that refuses or does not
// answer before it attests UNAVAILABLE: well inside commit_blocks.
const fetchPatience = 2 * time.Second

// errBlobUnavailable is a blob that could not be had as declared: refused, unreachable, cut
// short, too long, or not matching its sha256.
var errBlobUnavailable = errors.New("blob unavailable")

// errPrivateAddress is a fetch that would have connected to a non-public address.
var errPrivateAddress = errors.New("address refused")

// newFetchClient is the HTTP client of every fetch the sidecar makes (inputs, results, and the
// challenges of signed reads): it follows no redirect and uses no proxy, and unless
// allowPrivate it connects only to public addresses. The address is checked by the dialer on
// the connection being made, after the name is resolved, so a name that resolves to a public
// address once and to a private one when dialled (DNS rebinding) gets nowhere.
func newFetchClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = refusePrivate
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // a proxy would dial for us, past the check
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConns:          16,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("redirect to %s refused: a blob is fetched only from the address on chain", req.URL.Redacted())
		},
	}
}

// refusePrivate is the dialer's check of the address it is about to connect to.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q is not an address and port", errPrivateAddress, address)
	}
	if !publicAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s is a loopback, private, link-local or reserved address; fetches reach public addresses only (allow-private-fetch = true in [sidecar] of app.toml lifts this, for dev and test chains)", errPrivateAddress, ap.Addr())
	}
	return nil
}

// reserved are ranges that netip's predicates leave out and no public server lives in.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
}

// nat64 is the well-known NAT64 prefix: its last 32 bits are an IPv4 address.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// publicAddr reports whether a is an address of the public internet.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		return publicAddr(netip.AddrFrom4([4]byte(b[12:])))
	}
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// blobStream is a download being read, capped at its declared size and hashed as it passes
// (client.BlobReader).
type blobStream struct {
	*ogpuclient.BlobReader
	body   io.ReadCloser
	cancel context.CancelFunc
}

// finish reads what the consumer left and checks the size and the sha256.
func (b *blobStream) finish() error {
	if err := b.Finish(); err != nil {
		return fmt.Errorf("%w: %v", errBlobUnavailable, err)
	}
	return nil
}

func (b *blobStream) close() {
	b.body.Close()
	b.cancel()
}

// openBlob starts the download of b, refusing a declared size over maxSize. With a signer it
// proves who is reading (blobauth) to a provider's blob server, as a reader of task.
func (s *Sidecar) openBlob(ctx context.Context, b computetypes.Blob, task uint64, signer blobauth.Signer, maxSize uint64) (*blobStream, error) {
	if b.Size_ > maxSize {
		return nil, fmt.Errorf("%w: %s: declared size %d bytes: must be at most %d for this task", errBlobUnavailable, b.Uri, b.Size_, maxSize)
	}
	if u, err := url.Parse(b.Uri); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: uri %q: must be an http or https URL", errBlobUnavailable, b.Uri)
	}
	cctx, cancel := context.WithTimeout(ctx, s.fetchTimeout)
	var res *http.Response
	var err error
	if signer != nil {
		// the provider's node may be a block behind ours and not know the committee yet
		res, err = blobauth.GetRetrying(cctx, s.fetch, b.Uri, task, signer, fetchPatience)
	} else {
		var req *http.Request
		if req, err = http.NewRequestWithContext(cctx, http.MethodGet, b.Uri, nil); err == nil {
			res, err = s.fetch.Do(req)
		}
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%w: %v", errBlobUnavailable, err)
	}
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		res.Body.Close()
		cancel()
		return nil, fmt.Errorf("%w: %s: %s: %s", errBlobUnavailable, b.Uri, res.Status, strings.TrimSpace(string(msg)))
	}
	return &blobStream{BlobReader: ogpuclient.NewBlobReader(res.Body, b), body: res.Body, cancel: cancel}, nil
}

// streamBlob downloads b into consume, a piece at a time, and then checks that what consume read
// was all of b, with its declared size and sha256. An error that wraps errBlobUnavailable says
// the blob could not be had as declared, whatever consume found; any other is consume's, about
// the declared blob.
func (s *Sidecar) streamBlob(ctx context.Context, b computetypes.Blob, task uint64, signer blobauth.Signer, maxSize uint64, consume func(io.Reader) error) error {
	bs, err := s.openBlob(ctx, b, task, signer, maxSize)
	if err != nil {
		return err
	}
	defer bs.close()
	found := consume(bs)
	if err := bs.finish(); err != nil {
		return err
	}
	return found
}
