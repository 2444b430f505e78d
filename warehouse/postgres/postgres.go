// Package postgres registers PostgreSQL for the warehouse: DATABASE_URLs
// postgres://user:password@host:port/database?sslmode=... (and postgresql://),
// through lib/pq, the smallest PostgreSQL driver in use (see README's "why
// these drivers"). Import it for its side effect.
package postgres

import (
	"database/sql/driver"
	"net/url"

	"github.com/lib/pq"

	"github.com/wxanalysis/wxanalysis/warehouse"
)

func init() {
	d := warehouse.Driver{Dialect: warehouse.Postgres, Connect: connect}
	warehouse.Register("postgres", d)
	warehouse.Register("postgresql", d)
}

func connect(u *url.URL) (driver.Connector, error) {
	u2 := *u
	u2.Scheme = "postgres"
	return pq.NewConnector(u2.String())
}
