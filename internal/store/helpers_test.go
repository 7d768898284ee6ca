package store_test

import "time"

func timeAt(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
