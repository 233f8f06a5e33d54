// Package committee is the x/committee module: validators register as verifiers, a committee is
// drawn by stake for each assigned task, members attest to results in their vote extensions,
// and the tally hands the verdict to x/compute and benches members that attested against it or
// kept missing.
package committee
