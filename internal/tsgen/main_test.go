package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// TestCommittedFilesAreCurrent fails when miniprogram/analysis.d.ts or
// rules.js is not what go generate would write from the Go code now.
func TestCommittedFilesAreCurrent(t *testing.T) {
	files, err := Generate()
	require.NoError(t, err)
	require.Len(t, files, 2)
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "miniprogram", name))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got),
			"miniprogram/%s is stale: run `go generate ./internal/tsgen` and commit it", name)
	}
}

// TestModelFollowsTheRegistry: every registry method, in order, with a
// typed result; the methods with periods are exactly those series accepts.
func TestModelFollowsTheRegistry(t *testing.T) {
	m, err := readModel()
	require.NoError(t, err)
	var names []string
	for _, me := range m.methods {
		names = append(names, me.Name)
		row, ok := openapi.Lookup(me.Name)
		require.True(t, ok)
		_, err := row.Periods("20240101", "20240101", 1)
		var e *openapi.Error
		noPeriods := errors.As(err, &e) && e.Code == openapi.CodeInvalidArgs
		assert.Equal(t, me.Span == "" || me.Span == "recent", noPeriods, "%s: has periods", me.Name)
		assert.NotEmpty(t, me.Doc, "%s: its typed method's doc", me.Name)
	}
	assert.Equal(t, openapi.Names(), names)
}

// TestFinalityIsReadNotAssumed: the rows come from cache.FinalAt, e.g.
// weekly retention 28 days after the Sunday plus 3 of settling.
func TestFinalityIsReadNotAssumed(t *testing.T) {
	m, err := readModel()
	require.NoError(t, err)
	got := map[string]*final{}
	for _, me := range m.methods {
		got[me.Name] = me.Final
	}
	assert.Equal(t, &final{MonthEnds: -1, Days: 31}, got["getWeeklyRetain"])
	assert.Equal(t, &final{MonthEnds: 1, Days: 3}, got["getMonthlyRetain"])
	assert.Equal(t, &final{MonthEnds: -1, Days: 3}, got["getDailyVisitTrend"])
	assert.Nil(t, got["getUserPortrait"])
	assert.Nil(t, got["getPerformanceData"])
}
