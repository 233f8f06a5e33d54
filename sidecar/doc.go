// Package sidecar is the daemon that runs beside a node. As a provider it keeps its provider
// record, bids on the tasks it can run at its configured prices, runs the ones it wins on the
// best executor, keeps the results in a content-addressed store and serves them over HTTP, and
// submits them. As a verifier it checks the results of the tasks its validator is drawn to verify
// and answers the node's Attestor call with the verdicts. It talks to the chain only through the
// node's public gRPC API and signed transactions.
package sidecar
