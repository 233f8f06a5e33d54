// Package sidecar will own the daemon that runs beside a node: the provider role (bid, run,
// serve results) and the verifier role (check results, answer the node's attestation call).
// It is empty until the sidecar issue lands; it talks to the chain only through public APIs.
package sidecar
