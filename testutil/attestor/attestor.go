// Package attestor is a scripted sidecar Attestor for tests: a gRPC server that answers the
// node's Attestations call with whatever the test has set.
package attestor

import (
	"context"
	"net"
	"sync"

	"google.golang.org/grpc"

	ogpuabci "github.com/opengpu/ogpu/app/abci"
	sidecartypes "github.com/opengpu/ogpu/sidecar/types"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
)

// Scripted serves the attestations set with Set until they are changed.
type Scripted struct {
	mu     sync.Mutex
	atts   []committeetypes.Attestation
	calls  int
	server *grpc.Server
	addr   string
}

// Start serves on addr ("127.0.0.1:0" for any free port).
func Start(addr string) (*Scripted, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Scripted{server: grpc.NewServer(grpc.ForceServerCodec(ogpuabci.GRPCCodec())), addr: ln.Addr().String()}
	sidecartypes.RegisterAttestorServer(s.server, s)
	go func() { _ = s.server.Serve(ln) }()
	return s, nil
}

// Addr is host:port of the server, for app.toml's [sidecar] address.
func (s *Scripted) Addr() string { return s.addr }

// Set replaces the attestations served.
func (s *Scripted) Set(atts ...committeetypes.Attestation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.atts = atts
}

// Calls is how many times the node asked.
func (s *Scripted) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Stop stops serving.
func (s *Scripted) Stop() { s.server.Stop() }

// Attestations implements the Attestor service.
func (s *Scripted) Attestations(context.Context, *sidecartypes.AttestationsRequest) (*sidecartypes.AttestationsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return &sidecartypes.AttestationsResponse{Attestations: append([]committeetypes.Attestation(nil), s.atts...)}, nil
}
