package alerting

import (
	"testing"

	"go.uber.org/goleak"
)

// Every component a test starts (consumers, producers, servers, pools) must
// be gone when the tests end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
