package main

import (
	"testing"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

func TestEnumChoices(t *testing.T) {
	t.Parallel()
	if got, want := runStatusChoices, "queued, running, succeeded, failed, cancelled, scheduled, waiting, skipped or paused"; got != want {
		t.Errorf("run statuses = %q, want %q", got, want)
	}
	if got, want := runTriggerChoices, "event, cron, manual or replay"; got != want {
		t.Errorf("run triggers = %q, want %q", got, want)
	}
	for _, in := range []string{"replay", "REPLAY", "RUN_TRIGGER_REPLAY", "Replay"} {
		if v, ok := parseEnum(in, "RUN_TRIGGER_", switchyardv1.RunTrigger_value); !ok || switchyardv1.RunTrigger(v) != switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY {
			t.Errorf("parseEnum(%q) = %d, %v; want RUN_TRIGGER_REPLAY", in, v, ok)
		}
	}
	for _, in := range []string{"", "unspecified", "RUN_TRIGGER_UNSPECIFIED", "webhook"} {
		if v, ok := parseEnum(in, "RUN_TRIGGER_", switchyardv1.RunTrigger_value); ok {
			t.Errorf("parseEnum(%q) = %d, true; want false", in, v)
		}
	}
}
