//go:build sqlite

package main

// The local build (make sync, go build -tags sqlite) adds SQLite, DATABASE_URL
// sqlite:PATH: its driver is too big for the deployed function's size budget.
import _ "github.com/wxanalysis/wxanalysis/warehouse/sqlite"
