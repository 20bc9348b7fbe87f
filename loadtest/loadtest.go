// Package loadtest drives a Gatehouse server the way real calls do and
// measures it. It books visits through the booking API (a prison of its
// own, one prisoner with approved contacts per call, a slot running now),
// joins every participant with a real Pion client through /ws, publishes the
// embedded VP8 simulcast and Opus clip (package media), subscribes to
// everyone else, and measures per call and in total: join time, end-to-end
// latency, loss, jitter, freezes, received bitrate per simulcast layer, and
// the server's CPU time and memory, from its /metrics and, when it runs on
// this machine, from /proc.
//
// The figure that matters for the media server is RTP packets sent per
// server CPU-second, from the server's own counters over a steady window
// that starts once every call is connected (so the join ramp is excluded).
//
// Run is the whole test; Spawn starts a server to test; WriteHTML draws the
// report. The command is loadtest/cmd/loadtest.
package loadtest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/loadtest/media"
)

// Errors of a load test run.
var (
	// ErrConfig is a configuration that cannot run.
	ErrConfig = errors.New("loadtest: bad configuration")
	// ErrSetup is a failure to prepare the calls through the booking API.
	ErrSetup = errors.New("loadtest: setup failed")
	// ErrSpawn is a failure to build or start a server.
	ErrSpawn = errors.New("loadtest: cannot start the server")
)

// Scenario names what a run sets up.
type Scenario string

// Scenarios.
const (
	// OneToOne is Calls visits of two (prisoner and one visitor), each side
	// publishing simulcast video and audio.
	OneToOne Scenario = "one-to-one"
	// Group is Calls calls of Participants people, everyone publishing.
	Group Scenario = "group"
	// Fanout is Calls calls of Participants people in which only the
	// prisoner publishes and everyone else watches.
	Fanout Scenario = "fanout"
	// TURN is OneToOne with every peer connection relayed through the
	// server's TURN relay (relay candidates only).
	TURN Scenario = "turn"
	// Mixed is Calls one-to-one visits plus GroupCalls calls of
	// Participants people: what CI runs.
	Mixed Scenario = "mixed"
)

// AllScenarios lists every scenario.
func AllScenarios() []Scenario { return []Scenario{OneToOne, Group, Fanout, TURN, Mixed} }

// maxParticipants is the most people in one booked call: the prisoner and
// the booking API's limit of 10 contacts.
const maxParticipants = 11

// Config is one run.
type Config struct {
	// URL is the server's base URL (http://host:port).
	URL string
	// User and Password are a staff administrator's login: the run creates
	// a prison, rooms, slot templates, prisoners and contacts.
	User, Password string
	Scenario       Scenario
	// Calls is the number of calls (one-to-one visits in Mixed); 0 takes
	// the scenario's default.
	Calls int
	// GroupCalls is the number of group calls in Mixed.
	GroupCalls int
	// Participants is the people per call in Group, Fanout and Mixed's
	// group calls; 0 takes the scenario's default.
	Participants int
	// Duration is the steady window, after every call has connected.
	Duration time.Duration
	// Ramp spreads the joins evenly over this time.
	Ramp time.Duration
	// JoinTimeout bounds how long after joining a participant may take to
	// receive a decodable frame from everyone else; a call where someone
	// does not counts as failed to connect.
	JoinTimeout time.Duration
	// Simulcast publishes three layers (q, h, f); otherwise only f.
	Simulcast bool
	// AudioOnly publishes audio only.
	AudioOnly bool
	// ServerPID is the server's process id on this machine (0: unknown),
	// for CPU and memory readings from /proc.
	ServerPID int
	// Clip is the media to publish; nil loads the embedded clip.
	Clip *media.Clip
	// SampleInterval is the time between two points of the time series;
	// 0 means a second.
	SampleInterval time.Duration
	// Log receives progress and problems; nil discards them.
	Log *slog.Logger
	// Progress, when set, receives a live one-line status, rewritten in
	// place (a terminal).
	Progress io.Writer
}

// Defaults returns the default number of calls and participants per call
// of scenario s.
func Defaults(s Scenario) (calls, participants int) {
	switch s {
	case OneToOne:
		return 10, 2
	case Group:
		return 2, 5
	case Fanout:
		return 1, maxParticipants
	case TURN:
		return 2, 2
	case Mixed:
		return 4, 3
	}
	return 0, 0
}

// callPlan is one call to set up.
type callPlan struct {
	Kind         string // one-to-one, group, fanout
	Participants int
	Publishers   int // the first Publishers participants publish
	RelayOnly    bool
}

// plan checks cfg, fills in defaults and returns the calls to make.
func (cfg *Config) plan() ([]callPlan, error) {
	calls, people := Defaults(cfg.Scenario)
	if calls == 0 {
		return nil, fmt.Errorf("%w: unknown scenario %q", ErrConfig, cfg.Scenario)
	}
	if cfg.Calls == 0 {
		cfg.Calls = calls
	}
	if cfg.Participants == 0 {
		cfg.Participants = people
	}
	if cfg.Calls < 0 || cfg.GroupCalls < 0 || cfg.Calls+cfg.GroupCalls > 10000 {
		return nil, fmt.Errorf("%w: calls must be 0 to 10000", ErrConfig)
	}
	if cfg.Participants < 2 || cfg.Participants > maxParticipants {
		return nil, fmt.Errorf("%w: participants per call must be 2 to %d (a prisoner and up to 10 contacts)", ErrConfig, maxParticipants)
	}
	if cfg.Duration <= 0 || cfg.JoinTimeout <= 0 || cfg.Ramp < 0 {
		return nil, fmt.Errorf("%w: duration and join timeout must be positive, ramp not negative", ErrConfig)
	}
	if cfg.URL == "" || cfg.User == "" {
		return nil, fmt.Errorf("%w: server URL and user are required", ErrConfig)
	}
	var out []callPlan
	add := func(n int, p callPlan) {
		for range n {
			out = append(out, p)
		}
	}
	switch cfg.Scenario {
	case OneToOne:
		add(cfg.Calls, callPlan{Kind: "one-to-one", Participants: 2, Publishers: 2})
	case TURN:
		add(cfg.Calls, callPlan{Kind: "one-to-one", Participants: 2, Publishers: 2, RelayOnly: true})
	case Group:
		add(cfg.Calls, callPlan{Kind: "group", Participants: cfg.Participants, Publishers: cfg.Participants})
	case Fanout:
		add(cfg.Calls, callPlan{Kind: "fanout", Participants: cfg.Participants, Publishers: 1})
	case Mixed:
		add(cfg.Calls, callPlan{Kind: "one-to-one", Participants: 2, Publishers: 2})
		add(cfg.GroupCalls, callPlan{Kind: "group", Participants: cfg.Participants, Publishers: cfg.Participants})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no calls to make", ErrConfig)
	}
	if cfg.SampleInterval <= 0 {
		cfg.SampleInterval = time.Second
	}
	return out, nil
}
