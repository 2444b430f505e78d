package warehouse_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/internal/mysqltest"
	"github.com/wxanalysis/wxanalysis/internal/pgtest"
	"github.com/wxanalysis/wxanalysis/warehouse"
)

// readmeQueries are the SQL blocks of the README's warehouse section.
func readmeQueries(t *testing.T) []string {
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	text := string(b)
	start := strings.Index(text, "## Your analytics history in SQL")
	require.GreaterOrEqual(t, start, 0)
	text = text[start:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	var out []string
	for _, block := range strings.Split(text, "```sql\n")[1:] {
		q, _, ok := strings.Cut(block, "```")
		require.True(t, ok)
		out = append(out, strings.TrimSuffix(strings.TrimSpace(q), ";"))
	}
	return out
}

// TestREADMEQueries runs the README's example queries, unchanged, on
// PostgreSQL and MariaDB holding a few weeks of data, and checks that each
// returns rows.
func TestREADMEQueries(t *testing.T) {
	queries := readmeQueries(t)
	require.Len(t, queries, 3)
	pg := pgtest.Start(t)
	my := mysqltest.Start(t)
	for name, url := range map[string]string{"postgres": pg.NewDatabase(t), "mysql": my.NewDatabase(t)} {
		t.Run(name, func(t *testing.T) {
			s := open(t, url, warehouse.Options{})
			const app = "wx00000000emulator"
			today := time.Now().UTC().Truncate(24 * time.Hour)
			for d := 1; d <= 20; d++ {
				day := today.AddDate(0, 0, -d).Format("20060102")
				for _, c := range []struct{ method, body string }{
					{"getDailyVisitTrend", `{"list":[{"ref_date":"` + day + `","session_cnt":10,"visit_pv":30,"visit_uv":5,"visit_uv_new":1,"stay_time_session":12.5,"visit_depth":2.1}]}`},
					{"getVisitPage", `{"ref_date":"` + day + `","list":[{"page_path":"pages/a","page_visit_pv":9,"page_visit_uv":3,"page_staytime_pv":1.5,"entrypage_pv":1,"exitpage_pv":1,"page_share_pv":1,"page_share_uv":1}]}`},
				} {
					put(t, s, warehouse.Period{AppID: app, Method: c.method, BeginDate: day, EndDate: day}, c.body, true)
				}
			}
			monday := today.AddDate(0, 0, -int(today.Weekday()+6)%7-14)
			put(t, s, warehouse.Period{AppID: app, Method: "getWeeklyRetain", BeginDate: monday.Format("20060102"),
				EndDate: monday.AddDate(0, 0, 6).Format("20060102")},
				`{"ref_date":"x","visit_uv_new":[{"key":0,"value":10}],"visit_uv":[{"key":0,"value":100},{"key":1,"value":50}]}`, true)
			for i, q := range queries {
				rows, err := s.DB().QueryContext(context.Background(), q)
				require.NoError(t, err, q)
				n := 0
				for rows.Next() {
					n++
				}
				require.NoError(t, rows.Err())
				rows.Close()
				assert.Positive(t, n, "query %d returns rows", i+1)
			}
		})
	}
}
