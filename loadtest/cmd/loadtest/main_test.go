package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/loadtest"
)

func TestParse(t *testing.T) {
	o, err := parse([]string{"--scenario", "mixed", "--calls", "4", "--group-calls", "2", "--participants", "3",
		"--duration", "15s", "--no-simulcast", "--sweep", "5, 10,20"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.Scenario != loadtest.Mixed || c.Calls != 4 || c.GroupCalls != 2 || c.Participants != 3 ||
		c.Duration != 15*time.Second || c.Simulcast || !slices.Equal(o.sweep, []int{5, 10, 20}) {
		t.Errorf("parsed %+v sweep %v", c, o.sweep)
	}
	if o, _ := parse([]string{"--scenario", "group", "--group-calls", "3"}, io.Discard); o.cfg.GroupCalls != 0 || !o.cfg.Simulcast {
		t.Errorf("group calls %d outside mixed, simulcast %v", o.cfg.GroupCalls, o.cfg.Simulcast)
	}
	for _, bad := range [][]string{{"--sweep", "5,x"}, {"--sweep", "0"}, {"extra"}, {"--calls", "many"}} {
		if _, err := parse(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	var out strings.Builder
	if code := run([]string{"--help"}, &out, &out); code != 0 || !strings.Contains(out.String(), "--scenario") && !strings.Contains(out.String(), "-scenario") {
		t.Errorf("--help: exit %d, %q", code, out.String())
	}
	if code := run([]string{"--scenario", "nope", "--url", "http://127.0.0.1:1"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("unknown scenario: exit %d, want 2", code)
	}
	if code := run([]string{"--log-level", "loud"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("bad log level: exit %d, want 2", code)
	}
}
