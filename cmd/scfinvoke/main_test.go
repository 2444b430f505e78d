package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/wxanalysis/wxanalysis/openapi"
)

func TestLastWeek(t *testing.T) {
	tests := []struct{ now, monday, sunday string }{
		{"2026-11-24 10:00", "20261116", "20261122"}, // Tuesday
		{"2026-11-23 00:00", "20261116", "20261122"}, // Monday: last week just ended
		{"2026-11-22 23:59", "20261109", "20261115"}, // Sunday: this week is not over
		{"2026-11-29 12:00", "20261116", "20261122"}, // the next Sunday
	}
	for _, tc := range tests {
		now, err := time.ParseInLocation("2006-01-02 15:04", tc.now, openapi.CST)
		if err != nil {
			t.Fatal(err)
		}
		monday, sunday := LastWeek(now.UTC()) // the machine's zone must not matter
		assert.Equal(t, tc.monday, monday, tc.now)
		assert.Equal(t, tc.sunday, sunday, tc.now)
	}
}
