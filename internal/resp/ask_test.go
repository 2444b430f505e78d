package resp

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/internal/redistest"
)

// clusterNode is a node of CLUSTER NODES: its ID, address and slot ranges.
type clusterNode struct {
	id, addr string
	ranges   [][2]int
}

func (n clusterNode) serves(slot int) bool {
	for _, r := range n.ranges {
		if r[0] <= slot && slot <= r[1] {
			return true
		}
	}
	return false
}

// clusterNodes asks addr for the cluster's nodes.
func clusterNodes(t *testing.T, addr string) map[string]clusterNode {
	t.Helper()
	c := New(Options{Addr: addr})
	defer c.Close()
	v, err := c.Do(testCtx(t), "", "CLUSTER", "NODES")
	require.NoError(t, err)
	nodes := map[string]clusterNode{}
	for line := range strings.Lines(string(v.([]byte))) {
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 8, line)
		n := clusterNode{id: f[0], addr: strings.Split(f[1], "@")[0]}
		for _, r := range f[8:] {
			from, to, ok := strings.Cut(r, "-")
			if !ok {
				to = from
			}
			a, err1 := strconv.Atoi(from)
			b, err2 := strconv.Atoi(to)
			require.NoError(t, err1, r)
			require.NoError(t, err2, r)
			n.ranges = append(n.ranges, [2]int{a, b})
		}
		nodes[n.addr] = n
	}
	return nodes
}

// During a slot's migration, the node it leaves answers -ASK for a key it
// no longer has: the client asks the importing node once, with ASKING, and
// keeps routing the slot to its owner.
func TestAsk(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	const key = "ask:{migrating}"
	slot := Slot(key)
	nodes := clusterNodes(t, cl.Nodes[0].Addr())
	require.Len(t, nodes, 3)
	var owner, target, seed clusterNode
	for _, s := range cl.Nodes {
		switch n := nodes[s.Addr()]; {
		case n.serves(slot):
			owner = n
		case target.id == "":
			target = n
		default:
			seed = n
		}
	}
	require.NotEmpty(t, owner.id, "the slot's owner")
	admin := func(addr string, args ...any) any {
		t.Helper()
		c := New(Options{Addr: addr})
		defer c.Close()
		v, err := c.Do(testCtx(t), "", args...)
		require.NoError(t, err)
		return v
	}
	admin(target.addr, "CLUSTER", "SETSLOT", slot, "IMPORTING", owner.id)
	admin(owner.addr, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.id)

	c := New(Options{Addr: seed.addr})
	defer c.Close()
	v, err := c.Do(testCtx(t), key, "SET", key, "v")
	require.NoError(t, err)
	assert.Equal(t, []byte("OK"), v)
	v, err = c.Do(testCtx(t), key, "GET", key)
	require.NoError(t, err)
	assert.Equal(t, []byte("v"), v)

	assert.Equal(t, owner.addr, c.route(key), "MOVED learned, ASK not")
	assert.Equal(t, int64(0), admin(owner.addr, "CLUSTER", "COUNTKEYSINSLOT", slot), "on the owner")
	assert.Equal(t, int64(1), admin(target.addr, "CLUSTER", "COUNTKEYSINSLOT", slot), "on the importing node")
}
