// Package stakinggpu is the x/staking-gpu module: GPU providers register their hardware and the
// workloads they run, bond stake that backs their bids, are slashed and jailed for fraud or
// timeouts, and earn the provider_rewards pool, released linearly over ten years and split by
// verified work.
package stakinggpu
