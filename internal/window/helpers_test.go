package window_test

import "github.com/logster/logster/internal/config"

func configRedis(addr string) config.Redis {
	c := config.Default().Redis
	c.Addr = addr
	return c
}
