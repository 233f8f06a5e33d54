package abci

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"

	sidecartypes "github.com/opengpu/ogpu/sidecar/types"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
)

// GRPCCodec is the gRPC codec for our gogoproto messages, on both ends of the Attestor service.
func GRPCCodec() interface {
	Marshal(any) ([]byte, error)
	Unmarshal([]byte, any) error
	Name() string
} {
	return codec.NewProtoCodec(codectypes.NewInterfaceRegistry()).GRPCCodec()
}

// GRPCAttestor calls the sidecar's Attestor service over gRPC.
type GRPCAttestor struct {
	conn   *grpc.ClientConn
	client sidecartypes.AttestorClient
}

// DialAttestor connects to the sidecar at addr (host:port); the connection is made lazily.
func DialAttestor(addr string) (*GRPCAttestor, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(codec.NewProtoCodec(codectypes.NewInterfaceRegistry()).GRPCCodec())))
	if err != nil {
		return nil, fmt.Errorf("sidecar address %q: %w", addr, err)
	}
	return &GRPCAttestor{conn: conn, client: sidecartypes.NewAttestorClient(conn)}, nil
}

// Attestations implements Attestor.
func (a *GRPCAttestor) Attestations(ctx context.Context, height int64) (committeetypes.VoteExtension, error) {
	res, err := a.client.Attestations(ctx, &sidecartypes.AttestationsRequest{Height: height})
	if err != nil {
		return committeetypes.VoteExtension{}, err
	}
	return committeetypes.VoteExtension{Attestations: res.Attestations, Probes: res.Probes}, nil
}

// Close closes the connection.
func (a *GRPCAttestor) Close() error { return a.conn.Close() }
