package bench

import (
	"slices"

	"github.com/opengpu/ogpu/testutil/network"
)

// processes are the ogpud processes a benchmark started, each a testutil/network Node.
type processes []*network.Node

// start starts ogpud with args for the node of home on host, its output going to logPath.
func (p *processes) start(bin, home, host, logPath string, args ...string) (*network.Node, error) {
	n := network.NewNode(bin, home, host, args...)
	n.LogPath = logPath
	if err := n.Launch(); err != nil {
		return nil, err
	}
	*p = append(*p, n)
	return n, nil
}

// stop ends them all, the last started first, each with SIGTERM (SIGKILL after 30 s).
func (p processes) stop() {
	for _, n := range slices.Backward(p) {
		_ = n.Shutdown()
	}
}
