package client

import (
	"fmt"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
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
	// priv is the key itself when the keyring holds it (not a Ledger or an offline key): read
	// once, so that a signature per stream request costs a signature, not a keyring read
	priv cryptotypes.PrivKey
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
	return KeyringSigner{kr: kr, name: name, addr: sdk.AccAddress(pk.Address()).String(), pub: pk.Bytes(), priv: LocalPrivKey(rec)}, nil
}

// LocalPrivKey is the private key a keyring record holds, or nil for a Ledger, offline or
// multisig record (those sign through the keyring).
func LocalPrivKey(rec *keyring.Record) cryptotypes.PrivKey {
	local := rec.GetLocal()
	if local == nil || local.PrivKey == nil {
		return nil
	}
	priv, _ := local.PrivKey.GetCachedValue().(cryptotypes.PrivKey)
	return priv
}

// Signer is the account address (ogpu1…).
func (s KeyringSigner) Signer() string { return s.addr }

// PubKey is the key's public key bytes.
func (s KeyringSigner) PubKey() []byte { return s.pub }

// Sign signs msg with the key (direct mode).
func (s KeyringSigner) Sign(msg []byte) ([]byte, error) {
	if s.priv != nil {
		return s.priv.Sign(msg)
	}
	sig, _, err := s.kr.Sign(s.name, msg, signing.SignMode_SIGN_MODE_DIRECT)
	return sig, err
}

// ContractReader reads for a contract that created tasks: the contract cannot sign, so its
// account key signs and the provider asks the contract (ERC-1271's isValidSignature) whether
// that signature stands for it.
type ContractReader struct {
	KeyringSigner
	contract string
}

var _ blobauth.Delegate = ContractReader{}

// ForContract is s reading for contract (its account address, ogpu1…).
func ForContract(s KeyringSigner, contract sdk.AccAddress) ContractReader {
	return ContractReader{KeyringSigner: s, contract: contract.String()}
}

// For is the contract's account address.
func (r ContractReader) For() string { return r.contract }
