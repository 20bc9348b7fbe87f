package booking

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// The monitoring and recordings part of the OpenAPI checks: their schemas
// match their Go types, and monitorFlow, run by TestOpenAPIConformance,
// drives every documented status of their operations.

func init() {
	// The document's media types of recording files, read as opaque bytes
	// when answers are validated.
	for _, mt := range []string{"video/webm", "video/x-matroska", "audio/ogg", "video/x-ivf"} {
		openapi3filter.RegisterBodyDecoder(mt, openapi3filter.FileBodyDecoder)
	}
}

func TestOpenAPIMonitorSchemasMatchGoTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	schemas := doc.Components.Schemas
	checkSchemas(t, schemas, []schemaCase{
		{"LiveParticipant", LiveParticipant{}, true},
		{"MonitorCall", MonitorCall{}, true},
		{"MonitorPrisoner", MonitorPrisoner{}, true},
		{"MonitorCalls", monitorCallsResponse{}, true},
		{"MonitorToken", MonitorToken{}, true},
		{"Ok", okResponse{}, true},
		{"Recording", RecordingView{}, true},
		{"Recordings", recordingsResponse{}, true},
		{"RecordingDetail", RecordingDetail{}, true},
		{"StaffActionView", StaffActionView{}, true},
		{"StaffActionRequest", StaffAction{}, false},
		{"SightOnlyRequest", SightOnlyRequest{}, false},
		{"RecordingHoldRequest", RecordingHoldRequest{}, false},
	})
	actions := []string{ActionPauseVideo, ActionResumeVideo, ActionMute, ActionUnmute, ActionEnd}
	for name, want := range map[string][]string{
		"RecordingStatus":           stringConstants(t)["RecordingStatus"],
		"StaffActionRequest.action": actions,
		"StaffActionView.action":    actions,
		"MonitorCall.recording":     {LiveRecordingOff, LiveRecordingOn, LiveRecordingFailed},
		"MonitorToken.wsUrl":        {MonitorWSURL},
	} {
		var got []string
		if schema, field, ok := strings.Cut(name, "."); ok {
			got = enumOf(schemas[schema].Value.Properties[field].Value)
		} else {
			got = enumOf(schemas[name].Value)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: openapi.json has %v, the code %v", name, got, want)
		}
	}
	if got := *schemas["Settings"].Value.Properties["recordingRetentionDays"].Value.Max; got != maxRetentionDays {
		t.Errorf("recordingRetentionDays maximum %v, the code %d", got, maxRetentionDays)
	}
}

// monitorFlow exercises the monitoring and recordings operations, with a
// refusal of every documented status.
func (c *conformance) monitorFlow() {
	t, e := c.t, c.e
	t.Helper()
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	sec, clerk, admin := bearer(e.bearerOf("security")), bearer(e.bearerOf("clerk")), bearer(e.bearerOf("admin"))
	security := e.staff("security")
	social, legal, later := e.liveCall(CallSocial), e.liveCall(CallLegal), e.call(e.demo.PrisonID, CallSocial,
		e.clock.Now().Add(2*time.Hour), 30)
	e.live.connectAll(social)
	// big is a body over the size limit that the document would accept.
	big := func(fields string) string {
		return `{` + fields + strings.Repeat(" ", MaxBodyBytes) + `"reason":"why"}`
	}

	// The wall.
	c.run(exchange{name: "monitor calls", method: get, path: "/api/v1/monitor/calls", auth: sec, status: 200})
	c.run(exchange{name: "monitor calls as clerk", method: get, path: "/api/v1/monitor/calls", auth: clerk, status: 403, code: "forbidden"})

	// Watching.
	watch := func(id int64) string { return fmt.Sprintf("/api/v1/monitor/calls/%d/watch", id) }
	for _, x := range []exchange{
		{name: "watch", path: watch(social.ID), auth: sec, status: 200},
		{name: "watch bad id", path: "/api/v1/monitor/calls/x/watch", auth: sec, status: 400, code: "validation", docRejects: true},
		{name: "watch as clerk", path: watch(social.ID), auth: clerk, status: 403, code: "forbidden"},
		{name: "watch a legal call", path: watch(legal.ID), auth: sec, status: 403, code: "legal_privilege"},
		{name: "watch no booking", path: watch(999999), auth: sec, status: 404, code: "not_found"},
		{name: "watch not started", path: watch(later.ID), auth: sec, status: 409, code: "call_not_open"},
	} {
		x.method = post
		c.run(x)
	}

	// Acting.
	actions := func(id int64) string { return fmt.Sprintf("/api/v1/monitor/calls/%d/actions", id) }
	mute := StaffAction{Action: ActionMute, ParticipantID: social.Participants[1].ID, Reason: "shouting"}
	for _, x := range []exchange{
		{name: "mute", path: actions(social.ID), body: mute, status: 200},
		{name: "action no reason", path: actions(social.ID), body: StaffAction{Action: ActionMute, ParticipantID: mute.ParticipantID}, status: 400, code: "validation", docRejects: true},
		{name: "action bad kind", path: actions(social.ID), body: StaffAction{Action: "kick", Reason: "shouting"}, status: 400, code: "validation", docRejects: true},
		{name: "action unknown participant", path: actions(social.ID), body: StaffAction{Action: ActionMute, ParticipantID: "nobody", Reason: "shouting"}, status: 400, code: "validation"},
		{name: "action as clerk", path: actions(social.ID), auth: clerk, body: mute, status: 403, code: "forbidden"},
		{name: "action on a legal call", path: actions(legal.ID), body: StaffAction{Action: ActionEnd, Reason: "shouting"}, status: 403, code: "legal_privilege"},
		{name: "action no booking", path: actions(999999), body: StaffAction{Action: ActionEnd, Reason: "shouting"}, status: 404, code: "not_found"},
		{name: "action not started", path: actions(later.ID), body: StaffAction{Action: ActionEnd, Reason: "shouting"}, status: 409, code: "call_not_open"},
		{name: "action too large", path: actions(social.ID), body: big(`"action":"end",`), status: 413, code: "request_too_large"},
		{name: "end", path: actions(social.ID), body: StaffAction{Action: ActionEnd, Reason: "threats"}, status: 200},
		{name: "end again", path: actions(social.ID), body: StaffAction{Action: ActionEnd, Reason: "threats"}, status: 409, code: "call_not_open"},
	} {
		x.method = post
		if x.auth == nil {
			x.auth = sec
		}
		c.run(x)
	}

	// Sight-only supervision.
	sight := func(id int64) string { return fmt.Sprintf("/api/v1/bookings/%d/sight-only", id) }
	on := SightOnlyRequest{Enabled: ptr(true), Reason: "court order"}
	for _, x := range []exchange{
		{name: "sight-only on", path: sight(legal.ID), body: on, status: 200},
		{name: "sight-only off by admin", path: sight(legal.ID), auth: admin, body: SightOnlyRequest{Enabled: ptr(false), Reason: "order lifted"}, status: 200},
		{name: "sight-only no enabled", path: sight(legal.ID), body: map[string]string{"reason": "court order"}, status: 400, code: "validation", docRejects: true},
		{name: "sight-only short reason", path: sight(legal.ID), body: SightOnlyRequest{Enabled: ptr(true), Reason: "ab"}, status: 400, code: "validation", docRejects: true},
		{name: "sight-only as clerk", path: sight(legal.ID), auth: clerk, body: on, status: 403, code: "forbidden"},
		{name: "sight-only no booking", path: sight(999999), body: on, status: 404, code: "not_found"},
		{name: "sight-only social call", path: sight(later.ID), body: on, status: 422, code: "call_type_not_allowed"},
		{name: "sight-only too large", path: sight(legal.ID), body: big(`"enabled":true,`), status: 413, code: "request_too_large"},
	} {
		x.method = put
		if x.auth == nil {
			x.auth = sec
		}
		c.run(x)
	}
	if err := e.store.SetBookingStatus(e.ctx, legal.ID, StatusCompleted, "done"); err != nil {
		t.Fatal(err)
	}
	c.run(exchange{name: "sight-only finished call", method: put, path: sight(legal.ID), auth: sec, body: on, status: 409, code: "booking_not_active"})

	// Recordings.
	end := e.clock.Now().Add(-2 * time.Hour)
	r := e.recorded(end, recordingFiles{"p1-audio-0.webm": []byte(strings.Repeat("opus", 100))})
	damaged := e.recorded(end, recordingFiles{"p1-audio-0.webm": []byte("opus")})
	if err := e.store.UpdateRecording(e.ctx, func() Recording { damaged.ManifestSHA256 = strings.Repeat("0", 64); return damaged }()); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("/api/v1/recordings/%d", r.ID)
	today := e.clock.Now().Format(dateLayout)
	for _, x := range []exchange{
		{name: "recordings", path: "/api/v1/recordings", status: 200},
		{name: "recordings by date", path: "/api/v1/recordings?from=" + today + "&to=" + today, auth: admin, status: 200},
		{name: "recordings bad date", path: "/api/v1/recordings?from=23-11-2026", status: 400, code: "validation", docRejects: true},
		{name: "recordings range too long", path: "/api/v1/recordings?from=2026-01-01&to=2026-11-23", status: 400, code: "validation"},
		{name: "recordings as clerk", path: "/api/v1/recordings", auth: clerk, status: 403, code: "forbidden"},
		{name: "recordings other prison", path: "/api/v1/recordings?prisonId=999", status: 404, code: "not_found"},
		{name: "recording", path: base, status: 200},
		{name: "recording bad id", path: "/api/v1/recordings/0", status: 400, code: "validation", docRejects: true},
		{name: "recording as admin", path: base, auth: admin, status: 403, code: "forbidden"},
		{name: "recording unknown", path: "/api/v1/recordings/999999", status: 404, code: "not_found"},
		{name: "recording damaged", path: fmt.Sprintf("/api/v1/recordings/%d", damaged.ID), status: 409, code: "recording_damaged"},
		{name: "file", path: base + "/files/p1-audio-0.webm", status: 200},
		{name: "file bad id", path: "/api/v1/recordings/x1/files/p1-audio-0.webm", status: 400, code: "validation", docRejects: true},
		{name: "file bad download", path: base + "/files/p1-audio-0.webm?download=true", status: 400, code: "validation", docRejects: true},
		{name: "file download without permission", path: base + "/files/p1-audio-0.webm?download=1", status: 403, code: "forbidden"},
		{name: "file unknown", path: base + "/files/p9-audio-0.webm", status: 404, code: "not_found"},
		{name: "file hidden name", path: base + "/files/.p1-audio-0.webm", status: 404, code: "not_found", docRejects: true},
		{name: "file damaged", path: fmt.Sprintf("/api/v1/recordings/%d/files/p1-audio-0.webm", damaged.ID), status: 409, code: "recording_damaged"},
	} {
		x.method = get
		if x.auth == nil {
			x.auth = sec
		}
		c.run(x)
	}
	withRange := func(rng string) func(*http.Request) {
		return func(req *http.Request) { sec(req); req.Header.Set("Range", rng) }
	}
	c.run(exchange{name: "file range", method: get, path: base + "/files/p1-audio-0.webm", auth: withRange("bytes=10-19"), status: 206})
	c.run(exchange{name: "file bad range", method: get, path: base + "/files/p1-audio-0.webm", auth: withRange("bytes=9000-"),
		status: 416, code: "range_not_satisfiable"})
	if _, err := e.svc.updateStaff(e.ctx, e.staff("admin"), security.ID, staffUpdate{Name: security.Name, Role: StaffSecurity,
		PrisonID: security.PrisonID, DownloadRecordings: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	c.run(exchange{name: "file download", method: get, path: base + "/files/p1-audio-0.webm?download=1", auth: sec, status: 200})

	// Holds.
	hold := base + "/hold"
	for _, method := range []string{put, del} {
		for _, x := range []exchange{
			{name: "hold", path: hold, body: RecordingHoldRequest{Reason: "court case"}, status: 200},
			{name: "hold again", path: hold, body: RecordingHoldRequest{Reason: "court case"}, status: 409, code: "invalid_transition"},
			{name: "hold no reason", path: hold, body: RecordingHoldRequest{}, status: 400, code: "validation", docRejects: true},
			{name: "hold unknown field", path: hold, body: `{"reason":"court case","days":30}`, status: 400, code: "validation", docRejects: true},
			{name: "hold as clerk", path: hold, auth: clerk, body: RecordingHoldRequest{Reason: "court case"}, status: 403, code: "forbidden"},
			{name: "hold unknown", path: "/api/v1/recordings/999999/hold", body: RecordingHoldRequest{Reason: "court case"}, status: 404, code: "not_found"},
			{name: "hold too large", path: hold, body: big(""), status: 413, code: "request_too_large"},
		} {
			x.name, x.method = method+" "+x.name, method
			if x.auth == nil {
				x.auth = sec
			}
			c.run(x)
		}
	}
}
