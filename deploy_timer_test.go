package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// dailySync is the timer's cron line, the same in every deployment file:
// 11:30 every day (China Standard Time, the platforms' default zone), in
// the 7-field form SCF and CloudBase both take.
const dailySync = "0 30 11 * * * *"

// TestTimerTrigger checks the daily timer that runs the sync in
// template.yaml (SCF), cloudbaserc.json (the tcb CLI) and the function's
// config.json (WeChat DevTools).
func TestTimerTrigger(t *testing.T) {
	b, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var tmpl struct {
		Resources map[string]struct {
			Analysis struct {
				Properties struct {
					Events map[string]struct {
						Type       string `yaml:"Type"`
						Properties struct {
							CronExpression string `yaml:"CronExpression"`
							Enable         bool   `yaml:"Enable"`
							Message        string `yaml:"Message"`
						} `yaml:"Properties"`
					} `yaml:"Events"`
				} `yaml:"Properties"`
			} `yaml:"analysis"`
		} `yaml:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(b, &tmpl))
	events := tmpl.Resources["default"].Analysis.Properties.Events
	require.Len(t, events, 1, "one event: the daily sync")
	ev := events["daily-sync"]
	assert.Equal(t, "Timer", ev.Type)
	assert.Equal(t, dailySync, ev.Properties.CronExpression)
	assert.True(t, ev.Properties.Enable)
	assert.Len(t, strings.Fields(dailySync), 7, "SCF's cron has seconds and a year")

	type trigger struct{ Name, Type, Config string }
	var rc struct {
		FunctionRoot string `json:"functionRoot"`
		Functions    []struct {
			Name     string    `json:"name"`
			Triggers []trigger `json:"triggers"`
		} `json:"functions"`
	}
	b, err = os.ReadFile("cloudbaserc.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rc))
	want := []trigger{{"daily-sync", "timer", dailySync}}
	assert.Equal(t, want, rc.Functions[0].Triggers, "cloudbaserc.json")
	var cfg struct{ Triggers []trigger }
	b, err = os.ReadFile(filepath.Join(rc.FunctionRoot, rc.Functions[0].Name, "config.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &cfg))
	assert.Equal(t, want, cfg.Triggers, "config.json")
}
