package cache

import (
	"context"
	"time"

	"github.com/wxanalysis/wxanalysis/internal/resp"
)

// A Budget is a source of force refreshes of a stable token; the token
// cache's ForceBudget interface (openapi) is this method.
type Budget interface {
	Take(ctx context.Context) (ok bool, next time.Time)
}

// takeForce spends one force refresh if the day's count allows it and the
// last one is far enough behind: the first at once, the next after base,
// each later one after twice as long, at most max. Atomic on the server, so
// that instances never spend one twice. Its two keys share a hash tag, the
// AppID, so that they are in one slot of a Redis Cluster.
var takeForce = resp.NewScript(`
local gap = redis.call('PTTL', KEYS[2])
if gap > 0 then return {0, gap} end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return {0, -1} end
n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 172800)
redis.call('SET', KEYS[2], '1', 'PX', math.min(tonumber(ARGV[2]) * 2 ^ (n - 1), tonumber(ARGV[3])))
return {1, 0}
`)

// sharedBudget counts force refreshes on Redis, for every instance of one
// AppID, and falls back to a budget of the instance's own when Redis fails.
type sharedBudget struct {
	r        *Redis
	appID    string
	perDay   int
	base     time.Duration
	max      time.Duration
	fallback Budget
}

// ForceBudget returns a budget of perDay force refreshes a day (China
// Standard Time, as WeChat counts) shared by every instance of appID that
// uses this Redis, base apart at first and twice as long after each, at most
// max. While Redis fails, fallback decides.
func (r *Redis) ForceBudget(appID string, perDay int, base, max time.Duration, fallback Budget) Budget {
	return &sharedBudget{r: r, appID: appID, perDay: perDay, base: base, max: max, fallback: fallback}
}

func (b *sharedBudget) Take(ctx context.Context) (bool, time.Time) {
	if !b.r.ready() {
		return b.fallback.Take(ctx)
	}
	now := b.r.now()
	day := now.In(cst)
	today := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, cst)
	prefix := b.r.prefix + keyPrefix + "force:{" + b.appID + "}:"
	opCtx, cancel := context.WithTimeout(ctx, b.r.timeout)
	defer cancel()
	reply, err := b.r.client.Run(opCtx, takeForce, []string{prefix + today.Format("20060102"), prefix + "gap"},
		b.perDay, b.base.Milliseconds(), b.max.Milliseconds())
	res, _ := reply.([]any)
	if err := b.r.done(ctx, "force budget", err); err != nil || len(res) != 2 {
		return b.fallback.Take(ctx)
	}
	took, _ := res[0].(int64)
	wait, _ := res[1].(int64)
	switch {
	case took == 1:
		return true, time.Time{}
	case wait > 0:
		return false, now.Add(time.Duration(wait) * time.Millisecond)
	}
	return false, today.AddDate(0, 0, 1)
}
