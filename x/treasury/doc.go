// Package treasury owns the governance-held pools of the genesis allocation (ecosystem,
// community and airdrop, reserve) and the provider rewards pool's account. Governance spends
// the first three with MsgSpend; nothing else can move their coins.
package treasury
