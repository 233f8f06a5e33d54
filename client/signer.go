package client

import (
	"fmt"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"

	"github.com/opengpu/ogpu/sidecar/blobauth"
)

// KeyringSigner signs blob reads (blobauth) with an account key of a keyring: how a task's
// creator proves who it is to read its result.
type KeyringSigner struct {
	kr   keyring.Keyring
	name string
	addr string
	pub  []byte
}

var _ blobauth.Signer = KeyringSigner{}

// NewKeyringSigner is the signer of key name in kr.
func NewKeyringSigner(kr keyring.Keyring, name string) (KeyringSigner, error) {
	rec, err := kr.Key(name)
	if err != nil {
		return KeyringSigner{}, fmt.Errorf("key %s: %w", name, err)
	}
	pk, err := rec.GetPubKey()
	if err != nil {
		return KeyringSigner{}, fmt.Errorf("key %s: %w", name, err)
	}
	return KeyringSigner{kr: kr, name: name, addr: sdk.AccAddress(pk.Address()).String(), pub: pk.Bytes()}, nil
}

// Signer is the account address (ogpu1…).
func (s KeyringSigner) Signer() string { return s.addr }

// PubKey is the key's public key bytes.
func (s KeyringSigner) PubKey() []byte { return s.pub }

// Sign signs msg with the key (direct mode).
func (s KeyringSigner) Sign(msg []byte) ([]byte, error) {
	sig, _, err := s.kr.Sign(s.name, msg, signing.SignMode_SIGN_MODE_DIRECT)
	return sig, err
}
