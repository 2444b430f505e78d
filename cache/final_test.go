package cache

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// methods are the analysis methods the finality table must cover.
var methods = []string{
	"getDailyRetain", "getWeeklyRetain", "getMonthlyRetain", "getDailySummary", "getDailyVisitTrend",
	"getWeeklyVisitTrend", "getMonthlyVisitTrend", "getVisitDistribution", "getVisitPage", "getUserPortrait",
	"getPerformanceData",
}

func TestFinalityTableCoversEveryMethod(t *testing.T) {
	assert.ElementsMatch(t, methods, slices.Collect(maps.Keys(finality)))
}

// TestFinalAt checks both sides of every boundary: one second before the
// final instant (23:59:59 China Standard Time) the answer may still change,
// at it (00:00 CST, 16:00 UTC the day before) it no longer does.
func TestFinalAt(t *testing.T) {
	for _, tc := range []struct {
		method, begin, end string
		final              string // 00:00 CST, written in CST
	}{
		// The period's last day, then the day after it published, then the margin.
		{"getDailySummary", "20240228", "20240228", "2024-03-02T00:00:00+08:00"},
		{"getDailyVisitTrend", "20240229", "20240229", "2024-03-03T00:00:00+08:00"}, // leap day
		{"getDailyVisitTrend", "20231231", "20231231", "2024-01-03T00:00:00+08:00"}, // year end
		{"getVisitDistribution", "20230228", "20230228", "2023-03-03T00:00:00+08:00"},
		{"getVisitPage", "20240131", "20240131", "2024-02-03T00:00:00+08:00"},
		{"getWeeklyVisitTrend", "20240226", "20240303", "2024-03-06T00:00:00+08:00"}, // across a leap February
		{"getWeeklyVisitTrend", "20231225", "20231231", "2024-01-03T00:00:00+08:00"},
		{"getMonthlyVisitTrend", "20240201", "20240229", "2024-03-03T00:00:00+08:00"},
		{"getMonthlyVisitTrend", "20230201", "20230228", "2023-03-03T00:00:00+08:00"},
		{"getMonthlyVisitTrend", "20231201", "20231231", "2024-01-03T00:00:00+08:00"},
		// Daily retention: key 30 is the day 30 days after.
		{"getDailyRetain", "20240131", "20240131", "2024-03-04T00:00:00+08:00"}, // key 30 on 20240301
		{"getDailyRetain", "20230131", "20230131", "2023-03-05T00:00:00+08:00"}, // key 30 on 20230302
		{"getDailyRetain", "20231215", "20231215", "2024-01-17T00:00:00+08:00"}, // key 30 on 20240114
		// Weekly retention: key 4 is the fourth week after, ending 28 days after.
		{"getWeeklyRetain", "20240205", "20240211", "2024-03-13T00:00:00+08:00"}, // key 4 ends 20240310
		{"getWeeklyRetain", "20231225", "20231231", "2024-01-31T00:00:00+08:00"}, // key 4 ends 20240128
		// Monthly retention: key 1 is the next month, to its last day.
		{"getMonthlyRetain", "20240101", "20240131", "2024-03-03T00:00:00+08:00"}, // key 1 ends 20240229
		{"getMonthlyRetain", "20230101", "20230131", "2023-03-03T00:00:00+08:00"}, // key 1 ends 20230228
		{"getMonthlyRetain", "20240201", "20240229", "2024-04-03T00:00:00+08:00"}, // key 1 ends 20240331
		{"getMonthlyRetain", "20240301", "20240331", "2024-05-03T00:00:00+08:00"}, // key 1 ends 20240430
		{"getMonthlyRetain", "20231201", "20231231", "2024-02-03T00:00:00+08:00"}, // key 1 ends 20240131
	} {
		t.Run(tc.method+"/"+tc.begin+"-"+tc.end, func(t *testing.T) {
			want, err := time.Parse(time.RFC3339, tc.final)
			require.NoError(t, err)
			got, ok := FinalAt(tc.method, tc.begin, tc.end)
			require.True(t, ok)
			assert.True(t, want.Equal(got), "FinalAt = %v, want %v", got, want)

			before := want.Add(-time.Second)
			assert.Equal(t, "23:59:59", before.Format(time.TimeOnly), "the last second of a CST day")
			for _, zone := range []*time.Location{want.Location(), time.UTC} {
				assert.False(t, IsFinal(tc.method, tc.begin, tc.end, before.In(zone)), "at %v", before.In(zone))
				assert.True(t, IsFinal(tc.method, tc.begin, tc.end, want.In(zone)), "at %v", want.In(zone))
			}
			// Midnight UTC of the final day is 08:00 CST: final since 8 hours.
			assert.True(t, IsFinal(tc.method, tc.begin, tc.end, want.UTC().Truncate(24*time.Hour).Add(24*time.Hour)))
		})
	}
}

func TestFinalAtUTCBoundary(t *testing.T) {
	// getDailyVisitTrend of 20240229 is final at 2024-03-03 00:00 CST,
	// which is 2024-03-02 16:00 UTC.
	for _, tc := range []struct {
		at    string
		final bool
	}{
		{"2024-03-02T15:59:59Z", false},
		{"2024-03-02T16:00:00Z", true},
		{"2024-03-02T23:59:59Z", true}, // still March 2 in UTC
		{"2024-03-02T23:59:59+08:00", false},
		{"2024-03-03T00:00:00+08:00", true},
	} {
		at, err := time.Parse(time.RFC3339, tc.at)
		require.NoError(t, err)
		assert.Equal(t, tc.final, IsFinal("getDailyVisitTrend", "20240229", "20240229", at), tc.at)
	}
}

func TestFinalAtNever(t *testing.T) {
	for _, tc := range []struct{ method, begin, end string }{
		{"getUserPortrait", "20240101", "20240101"},
		{"getUserPortrait", "20240101", "20240130"},
		{"getPerformanceData", "20240101", "20240101"},
		{"getPerformanceData", "", ""},
		{"getUnknown", "20240101", "20240101"},
		{"", "20240101", "20240101"},
		{"getDailyVisitTrend", "20240230", "20240230"}, // not a calendar date
		{"getDailyVisitTrend", "20230229", "20230229"}, // not a leap year
		{"getDailyVisitTrend", "2024-01-01", "2024-01-01"},
		{"getDailyVisitTrend", "20240101", ""},
		{"getDailyVisitTrend", "", "20240101"},
		{"getWeeklyVisitTrend", "20240108", "20240107"}, // endDate before beginDate
	} {
		t.Run(tc.method+"/"+tc.begin+"-"+tc.end, func(t *testing.T) {
			_, ok := FinalAt(tc.method, tc.begin, tc.end)
			assert.False(t, ok)
			assert.False(t, IsFinal(tc.method, tc.begin, tc.end, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)))
		})
	}
}
