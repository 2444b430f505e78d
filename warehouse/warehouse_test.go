package warehouse_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/internal/mysqltest"
	"github.com/wxanalysis/wxanalysis/internal/pgtest"
	"github.com/wxanalysis/wxanalysis/warehouse"
	_ "github.com/wxanalysis/wxanalysis/warehouse/mysql"
	_ "github.com/wxanalysis/wxanalysis/warehouse/postgres"
	_ "github.com/wxanalysis/wxanalysis/warehouse/sqlite"
)

// backend is one of the three stores, with a fresh database per call.
type backend struct {
	name  string
	fresh func(t testing.TB) string
}

// backends starts a PostgreSQL and a MariaDB for the test; SQLite is a file.
func backends(t *testing.T) []backend {
	pg := pgtest.Start(t)
	my := mysqltest.Start(t)
	return []backend{
		{"postgres", pg.NewDatabase},
		{"mysql", my.NewDatabase},
		{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "w.db") }},
	}
}

func open(t *testing.T, url string, opts warehouse.Options) *warehouse.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := warehouse.Open(ctx, url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

const retainBody = `{"ref_date":"20240101","visit_uv_new":[{"key":0,"value":5},{"key":1,"value":2}],"visit_uv":[{"key":0,"value":50},{"key":1,"value":20}]}`

func period(appid string) warehouse.Period {
	return warehouse.Period{AppID: appid, Method: "getDailyRetain", BeginDate: "20240101", EndDate: "20240101"}
}

func count(t *testing.T, s *warehouse.Store, table, appid string) int {
	t.Helper()
	var n int
	q := "SELECT COUNT(*) FROM " + table + " WHERE appid = ?"
	if s.Dialect() == warehouse.Postgres {
		q = strings.Replace(q, "?", "$1", 1)
	}
	require.NoError(t, s.DB().QueryRow(q, appid).Scan(&n))
	return n
}

func put(t *testing.T, s *warehouse.Store, p warehouse.Period, body string, final bool) {
	t.Helper()
	a, err := warehouse.Decode(p, []byte(body))
	require.NoError(t, err)
	require.NoError(t, s.Put(context.Background(), a, "", final, time.Now()))
}

func TestStore(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Run("migrations from empty, twice at once", func(t *testing.T) {
				url := b.fresh(t)
				var wg sync.WaitGroup
				errs := make([]error, 4)
				for i := range errs {
					wg.Go(func() {
						ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
						defer cancel()
						s, err := warehouse.Open(ctx, url, warehouse.Options{})
						if err == nil {
							s.Close()
						}
						errs[i] = err
					})
				}
				wg.Wait()
				for _, err := range errs {
					require.NoError(t, err)
				}
				s := open(t, url, warehouse.Options{})
				v, err := s.Version(context.Background())
				require.NoError(t, err)
				all, _ := warehouse.Migrations(s.Dialect())
				assert.Equal(t, len(all), v)
				var n int
				require.NoError(t, s.DB().QueryRow("SELECT COUNT(*) FROM wxa_schema_migrations").Scan(&n))
				assert.Equal(t, len(all), n, "each migration recorded once")
				for _, table := range append(warehouse.Tables(), "wxa_sync_claim") {
					assert.Equal(t, 0, count(t, s, table, "wx1"), table)
				}
			})

			t.Run("migration from the previous version keeps the data", func(t *testing.T) {
				url := b.fresh(t)
				old := open(t, url, warehouse.Options{Version: 1})
				v, err := old.Version(context.Background())
				require.NoError(t, err)
				require.Equal(t, 1, v)
				put(t, old, period("wx1"), retainBody, true)
				_, err = old.Claim(context.Background(), period("wx1"), "a", time.Now().Add(time.Minute), time.Now())
				require.Error(t, err, "version 1 has no claims")

				s := open(t, url, warehouse.Options{})
				v, err = s.Version(context.Background())
				require.NoError(t, err)
				all, _ := warehouse.Migrations(s.Dialect())
				assert.Equal(t, len(all), v)
				body, ok, err := s.Final(context.Background(), period("wx1"))
				require.NoError(t, err)
				assert.True(t, ok)
				assert.Equal(t, retainBody, string(body))
				ok, err = s.Claim(context.Background(), period("wx1"), "a", time.Now().Add(time.Minute), time.Now())
				require.NoError(t, err)
				assert.True(t, ok)
			})

			t.Run("a period written, replaced, read back; AppIDs apart", func(t *testing.T) {
				s := open(t, b.fresh(t), warehouse.Options{})
				ctx := context.Background()
				put(t, s, period("wx1"), retainBody, false)
				_, ok, err := s.Final(ctx, period("wx1"))
				require.NoError(t, err)
				assert.False(t, ok, "not final: not served")
				assert.Equal(t, 4, count(t, s, "wxa_retain", "wx1"))

				// A later answer with fewer keys replaces the period's rows.
				later := `{"ref_date":"20240101","visit_uv_new":[{"key":0,"value":6}],"visit_uv":[{"key":0,"value":60}]}`
				put(t, s, period("wx1"), later, true)
				assert.Equal(t, 2, count(t, s, "wxa_retain", "wx1"))
				body, ok, err := s.Final(ctx, period("wx1"))
				require.NoError(t, err)
				assert.True(t, ok)
				assert.Equal(t, later, string(body))

				put(t, s, period("wx2"), retainBody, true)
				assert.Equal(t, 2, count(t, s, "wxa_retain", "wx1"))
				assert.Equal(t, 4, count(t, s, "wxa_retain", "wx2"))
				assert.Equal(t, 1, count(t, s, "wxa_raw_answer", "wx1"))
				finals, err := s.FinalPeriods(ctx, "wx1")
				require.NoError(t, err)
				assert.Equal(t, map[warehouse.Period]bool{period("wx1"): true}, finals)
				var value int
				q := "SELECT value FROM wxa_retain WHERE appid = 'wx1' AND granularity = 'day' AND cohort = 'active' AND key_no = 0 AND begin_date = '2024-01-01'"
				require.NoError(t, s.DB().QueryRow(q).Scan(&value))
				assert.Equal(t, 60, value)
			})

			t.Run("every kind decodes into its table", func(t *testing.T) {
				s := open(t, b.fresh(t), warehouse.Options{})
				for _, c := range kinds {
					p := warehouse.Period{AppID: "wx1", Method: c.method, BeginDate: c.begin, EndDate: c.end}
					put(t, s, p, c.body, true)
					assert.Equal(t, c.rows, count(t, s, c.table, "wx1"), c.method)
				}
				assert.Equal(t, len(kinds), count(t, s, "wxa_raw_answer", "wx1"))
			})

			t.Run("claims", func(t *testing.T) {
				s := open(t, b.fresh(t), warehouse.Options{})
				ctx := context.Background()
				start := time.Now()
				p := period("wx1")
				ok, err := s.Claim(ctx, p, "a", start.Add(time.Minute), start)
				require.NoError(t, err)
				require.True(t, ok)
				ok, err = s.Claim(ctx, p, "b", start.Add(time.Minute), start)
				require.NoError(t, err)
				assert.False(t, ok, "held by a")
				a, err := warehouse.Decode(p, []byte(retainBody))
				require.NoError(t, err)
				assert.ErrorIs(t, s.Put(ctx, a, "b", true, time.Now()), warehouse.ErrClaimLost)
				assert.Equal(t, 0, count(t, s, "wxa_raw_answer", "wx1"), "a lost claim writes nothing")
				require.NoError(t, s.Put(ctx, a, "a", false, time.Now()))
				ok, err = s.Claim(ctx, p, "b", start.Add(time.Minute), start)
				require.NoError(t, err)
				assert.False(t, ok, "written since b began: b leaves it")
				ok, err = s.Claim(ctx, p, "c", time.Now().Add(time.Minute), time.Now().Add(time.Second))
				require.NoError(t, err)
				assert.True(t, ok, "a sync that began after the write may fetch it again")
				require.NoError(t, s.Release(ctx, p, "c"))

				q := period("wx1")
				q.BeginDate, q.EndDate = "20240102", "20240102"
				ok, err = s.Claim(ctx, q, "crashed", time.Now().Add(-time.Second), start)
				require.NoError(t, err)
				require.True(t, ok)
				ok, err = s.Claim(ctx, q, "d", time.Now().Add(time.Minute), time.Now())
				require.NoError(t, err)
				assert.True(t, ok, "an expired claim is taken over")
			})

			t.Run("a dead run's claims lapse at its expiry, by the store's clock", func(t *testing.T) {
				// README, Faults: "claims of a run that died lapse a minute
				// after its deadline": the sync gives its deadline plus a
				// minute as the expiry (handler's TestSyncClaimsOfADeadRunLapse);
				// here the store honours it to the millisecond: held until
				// then, the claim and the run's record lapse together.
				var now atomic.Int64
				s := open(t, b.fresh(t), warehouse.Options{Now: func() time.Time { return time.UnixMilli(now.Load()) }})
				ctx := context.Background()
				start := time.Date(2024, 6, 15, 4, 0, 0, 0, time.UTC)
				expiry := start.Add(10*time.Minute + time.Minute)
				now.Store(start.UnixMilli())
				since, err := s.BeginRun(ctx, "wx1", "dead", start, expiry)
				require.NoError(t, err)
				require.Equal(t, start.UnixMilli(), since.UnixMilli())
				p := period("wx1")
				ok, err := s.Claim(ctx, p, "dead", expiry, since)
				require.NoError(t, err)
				require.True(t, ok)
				// It never releases anything: the next run's attempts, in order.
				for _, tc := range []struct {
					name  string
					at    time.Time
					taken bool
				}{
					{"at the deadline", start.Add(10 * time.Minute), false},
					{"a millisecond before the expiry", expiry.Add(-time.Millisecond), false},
					{"at the expiry", expiry, true},
				} {
					now.Store(tc.at.UnixMilli())
					since, err := s.BeginRun(ctx, "wx1", "next", tc.at, tc.at.Add(11*time.Minute))
					require.NoError(t, err, tc.name)
					if tc.taken {
						assert.Equal(t, tc.at.UnixMilli(), since.UnixMilli(), "%s: the dead run no longer counts as running", tc.name)
					} else {
						assert.Equal(t, start.UnixMilli(), since.UnixMilli(), "%s: the dead run still counts as running", tc.name)
					}
					ok, err := s.Claim(ctx, p, "next", tc.at.Add(11*time.Minute), since)
					require.NoError(t, err, tc.name)
					assert.Equal(t, tc.taken, ok, tc.name)
				}
			})

			t.Run("two writers of one period at once", func(t *testing.T) {
				s := open(t, b.fresh(t), warehouse.Options{})
				var wg sync.WaitGroup
				for range 8 {
					wg.Go(func() {
						a, _ := warehouse.Decode(period("wx1"), []byte(retainBody))
						assert.NoError(t, s.Put(context.Background(), a, "", true, time.Now()))
					})
				}
				wg.Wait()
				assert.Equal(t, 4, count(t, s, "wxa_retain", "wx1"))
				assert.Equal(t, 1, count(t, s, "wxa_raw_answer", "wx1"))
			})
		})
	}
}

// kinds are one answer of each kind WeChat sends, and the rows it makes.
var kinds = []struct {
	method, begin, end, table, body string
	rows                            int
}{
	{"getDailyRetain", "20240101", "20240101", "wxa_retain", retainBody, 4},
	{"getWeeklyRetain", "20240101", "20240107", "wxa_retain", `{"ref_date":"20240101-20240107","visit_uv_new":[{"key":0,"value":5}],"visit_uv":[{"key":0,"value":50}]}`, 6},
	{"getDailySummary", "20240101", "20240101", "wxa_daily_summary", `{"list":[{"ref_date":"20240101","visit_total":391,"share_pv":572,"share_uv":383}]}`, 1},
	{"getDailyVisitTrend", "20240101", "20240101", "wxa_visit_trend", `{"list":[{"ref_date":"20240101","session_cnt":142549,"visit_pv":472351,"visit_uv":55500,"visit_uv_new":5464,"stay_time_session":0,"visit_depth":1.9838}]}`, 1},
	{"getMonthlyVisitTrend", "20240101", "20240131", "wxa_visit_trend", `{"list":[{"ref_date":"202401","session_cnt":1,"visit_pv":2,"visit_uv":3,"visit_uv_new":4,"stay_time_uv":5.5,"stay_time_session":6.5,"visit_depth":1.5}]}`, 2},
	{"getVisitDistribution", "20240101", "20240101", "wxa_visit_distribution", `{"ref_date":"20240101","list":[{"index":"access_source_session_cnt","item_list":[{"key":10,"value":5},{"key":8,"value":687}]},{"index":"access_staytime_info","item_list":[{"key":8,"value":201}]}]}`, 3},
	{"getVisitPage", "20240101", "20240101", "wxa_visit_page", `{"ref_date":"20240101","list":[{"page_path":"pages\/main\/main.html","page_visit_pv":213429,"page_visit_uv":55423,"page_staytime_pv":8.139198,"entrypage_pv":117922,"exitpage_pv":61304,"page_share_pv":180,"page_share_uv":166},{"page_path":"pages\/a.html","page_visit_pv":1,"page_visit_uv":1,"page_staytime_pv":1,"entrypage_pv":1,"exitpage_pv":1,"page_share_pv":0,"page_share_uv":0}]}`, 2},
	{"getUserPortrait", "20231226", "20240101", "wxa_user_portrait", `{"ref_date":"20231226-20240101","visit_uv_new":{"province":[{"id":31,"name":"广东省","value":215}],"city":[],"genders":[{"id":1,"name":"男","value":2146}],"platforms":[],"devices":[{"name":"OPPO R9","value":61}],"ages":[]},"visit_uv":{"province":[],"city":[],"genders":[],"platforms":[{"id":1,"name":"iPhone","value":7}],"devices":[],"ages":[{"id":1,"name":"17岁以下","value":151}]}}`, 5},
}

func TestCredentialsNeverShown(t *testing.T) {
	pg := pgtest.Start(t)
	my := mysqltest.Start(t)
	wrong := func(u, right string) string { return strings.Replace(u, right, "Wrong-"+right, 1) }
	pgURL, myURL := pg.NewDatabase(t), my.NewDatabase(t)
	secrets := []string{pgtest.Password, mysqltest.Password, "Wrong-"}
	cases := map[string]string{
		"postgres wrong password": wrong(pgURL, pgtest.Password),
		"mysql wrong password":    wrong(myURL, mysqltest.Password),
		"postgres unknown db":     strings.Replace(pgURL, "/t_", "/nodb_", 1),
		"mysql unknown db":        strings.Replace(myURL, "/t_", "/nodb_", 1),
		"mysql unknown parameter": myURL + "?password=" + mysqltest.Password,
		"postgres bad parameter":  pgURL + "&connect_timeout=" + pgtest.Password,
		"postgres query secret":   pgURL + "&sslpassword=Wrong-key-1&connect_timeout=Wrong-key-1",
		"not a URL":               "postgres://u:" + pgtest.Password + "@host:port:x/db",
		"no host":                 "mysql://u:" + mysqltest.Password + "@/db",
	}
	for name, url := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := warehouse.Open(ctx, url, warehouse.Options{})
			require.Error(t, err)
			for _, s := range secrets {
				assert.NotContains(t, err.Error(), s)
			}
			assert.Contains(t, err.Error(), "DATABASE_URL")
		})
	}
	t.Run("the server gone", func(t *testing.T) {
		s := open(t, pgURL, warehouse.Options{})
		pg.Stop()
		_, _, err := s.Final(context.Background(), period("wx1"))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), pgtest.Password)
		_, err = warehouse.Open(context.Background(), pgURL, warehouse.Options{})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), pgtest.Password)
		assert.Contains(t, err.Error(), "does not answer")
	})
}
