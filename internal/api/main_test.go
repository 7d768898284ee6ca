package api

import (
	"testing"

	"go.uber.org/goleak"
)

// closingM closes what the load benchmarks keep open across runs before
// goleak looks for leftovers.
type closingM struct{ m *testing.M }

func (c closingM) Run() int {
	code := c.m.Run()
	loadMu.Lock()
	defer loadMu.Unlock()
	for k, st := range loadStores {
		st.Close()
		delete(loadStores, k)
	}
	return code
}

// Every component a test starts (consumers, producers, servers, pools) must
// be gone when the tests end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(closingM{m}) }
