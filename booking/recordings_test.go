package booking

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// recordingRows counts the recordings table.
func (e *env) recordingRows() int {
	e.t.Helper()
	var n int
	if err := e.store.db.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM recordings`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestRecordingLifecycle: the media server's reports make a recording
// under way, complete or failed, each audited; a legal call is never
// recorded (refused, audited, no row), nor a call the prison does not
// record; directories must be inside the recordings root.
func TestRecordingLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	ctx := e.ctx
	now := e.clock.Now()
	social := e.liveCall(CallSocial)
	dir := filepath.Join(e.recordings, fmt.Sprint(social.ID))

	// Directories outside the root are refused.
	for _, bad := range []string{"", "/etc", e.recordings, filepath.Join(e.recordings, ".."), "../elsewhere",
		filepath.Join(e.recordings, "a", "..", "..", "b"), "a\x00b"} {
		wantRefusal(t, e.svc.RecordingStarted(ctx, social.ID, bad, now), ErrValidation)
	}
	if n := e.recordingRows(); n != 0 {
		t.Fatalf("%d recordings after refusals", n)
	}

	mark := e.lastAuditID()
	if err := e.svc.RecordingStarted(ctx, social.ID, dir, now); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RecordingStarted(ctx, social.ID, fmt.Sprint(social.ID), now); err != nil {
		t.Errorf("the same start again: %v", err)
	}
	wantRefusal(t, e.svc.RecordingStarted(ctx, social.ID, dir+"-b", now), ErrAlreadyExists)
	r, err := e.store.RecordingOfBooking(ctx, social.ID)
	if err != nil || r.Status != RecordingStatusRecording || r.Dir != fmt.Sprint(social.ID) || !r.StartedAt.Equal(now.Truncate(time.Second)) ||
		!r.DeleteAfter.Equal(now.Add(90*24*time.Hour).Truncate(time.Second)) || r.Reference != social.Reference || r.Held() {
		t.Fatalf("recording %+v %v", r, err)
	}
	if got := e.auditActions(mark); !slices.Equal(got, []string{"recording.start"}) {
		t.Errorf("audited %v", got)
	}

	// Finishing.
	wantRefusal(t, e.svc.RecordingFinished(ctx, social.ID, "abc", now), ErrValidation)
	wantRefusal(t, e.svc.RecordingFinished(ctx, social.ID, strings.Repeat("A", 64), now), ErrValidation)
	wantRefusal(t, e.svc.RecordingFinished(ctx, social.ID, strings.Repeat("g", 64), now), ErrValidation)
	if err := e.svc.RecordingFinished(ctx, 999999, strings.Repeat("a", 64), now); !errors.Is(err, ErrNotFound) {
		t.Errorf("finish without a recording: %v", err)
	}
	end := now.Add(25 * time.Minute)
	if err := e.svc.RecordingFinished(ctx, social.ID, strings.Repeat("a", 64), end); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, e.svc.RecordingFinished(ctx, social.ID, strings.Repeat("b", 64), end), ErrInvalidTransition)
	r, _ = e.store.RecordingOfBooking(ctx, social.ID)
	if r.Status != RecordingStatusComplete || r.ManifestSHA256 != strings.Repeat("a", 64) || !r.EndedAt.Equal(end.Truncate(time.Second)) ||
		!r.DeleteAfter.Equal(end.Add(90*24*time.Hour).Truncate(time.Second)) {
		t.Errorf("finished %+v", r)
	}

	// Legal calls: refused and audited, whatever the report; no row, even
	// written directly to the store.
	legal := e.liveCall(CallLegal)
	mark, rows := e.lastAuditID(), e.recordingRows()
	for _, err := range []error{
		e.svc.RecordingStarted(ctx, legal.ID, filepath.Join(e.recordings, fmt.Sprint(legal.ID)), now),
		e.svc.RecordingFailed(ctx, legal.ID, "no packets"),
	} {
		if !errors.Is(err, ErrLegalPrivilege) {
			t.Errorf("legal call: %v", err)
		}
	}
	if got := e.auditActions(mark); !slices.Equal(got, []string{"recording.refused", "recording.refused"}) {
		t.Errorf("legal refusals audited as %v", got)
	}
	if _, err := e.store.CreateRecording(ctx, Recording{BookingID: legal.ID, PrisonID: legal.PrisonID, Dir: "x",
		Status: RecordingStatusRecording, StartedAt: now, DeleteAfter: now}); err == nil || !strings.Contains(err.Error(), "never recorded") {
		t.Errorf("the store accepted a recording of a legal call: %v", err)
	}
	if e.recordingRows() != rows {
		t.Error("a legal call has a recording row")
	}
	if _, err := os.Stat(filepath.Join(e.recordings, fmt.Sprint(legal.ID))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a directory exists for the legal call: %v", err)
	}

	// Probation calls: only where the prison records them.
	probation := e.liveCall(CallProbation)
	pdir := filepath.Join(e.recordings, fmt.Sprint(probation.ID))
	mark = e.lastAuditID()
	wantRefusal(t, e.svc.RecordingStarted(ctx, probation.ID, pdir, now), ErrForbidden)
	if got := e.auditActions(mark); !slices.Equal(got, []string{"recording.refused"}) {
		t.Errorf("unrecorded probation call audited as %v", got)
	}
	set := Defaults()
	set.RecordProbationCalls = true
	if _, err := e.svc.SetPrisonSettings(ctx, e.staff("admin"), e.demo.PrisonID, set); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RecordingStarted(ctx, probation.ID, pdir, now); err != nil {
		t.Fatal(err)
	}

	// Failures: an alarm, audited; before a start, a row without files.
	wantRefusal(t, e.svc.RecordingFailed(ctx, probation.ID, "  "), ErrValidation)
	mark = e.lastAuditID()
	if err := e.svc.RecordingFailed(ctx, probation.ID, "disk full"); err != nil {
		t.Fatal(err)
	}
	r, _ = e.store.RecordingOfBooking(ctx, probation.ID)
	if r.Status != RecordingStatusFailed || r.Failure != "disk full" {
		t.Errorf("failed %+v", r)
	}
	// What it wrote is kept, with its manifest.
	if err := e.svc.RecordingFinished(ctx, probation.ID, strings.Repeat("c", 64), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if r, _ = e.store.RecordingOfBooking(ctx, probation.ID); r.Status != RecordingStatusFailed || r.ManifestSHA256 == "" {
		t.Errorf("failed then finished %+v", r)
	}
	early := e.liveCall(CallSocial)
	if err := e.svc.RecordingFailed(ctx, early.ID, "no media server"); err != nil {
		t.Fatal(err)
	}
	if r, err := e.store.RecordingOfBooking(ctx, early.ID); err != nil || r.Dir != "" || r.Status != RecordingStatusFailed {
		t.Errorf("failed before it started: %+v %v", r, err)
	}
	if got := e.auditActions(mark); !slices.Equal(got, []string{"recording.failed", "recording.finish", "recording.failed"}) {
		t.Errorf("audited %v", got)
	}

	// Without a recordings directory nothing is recorded.
	bare := NewService(e.store, e.signer, e.clock, nil, nil, Config{})
	if err := bare.RecordingStarted(ctx, e.liveCall(CallSocial).ID, "/x", now); !errors.Is(err, errNoRecordingsDir) {
		t.Errorf("no recordings directory: %v", err)
	}
	if _, err := bare.PurgeRecordings(ctx); !errors.Is(err, errNoRecordingsDir) {
		t.Errorf("purge without a recordings directory: %v", err)
	}
	if n, err := VerifyAudit(ctx, e.store); err != nil || n == 0 {
		t.Errorf("verify %d %v", n, err)
	}
}

// TestRecordingAccess drives the recordings API: listing, viewing with
// the manifest and the timeline, playing with ranges, downloading with the
// permission, holds; every access is audited, names outside the manifest
// and tampered manifests are refused, and refusals change nothing.
func TestRecordingAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	audio := bytes.Repeat([]byte("opus"), 500)
	files := recordingFiles{"p1-audio-0.webm": audio, "p1-video-0.mkv": []byte("matroska"), "extra.bin": []byte("x"),
		"tail.webm": []byte("0123456789")}
	end := e.clock.Now().Add(-24 * time.Hour)
	r := e.recorded(end, files)
	if err := os.WriteFile(filepath.Join(e.recordings, r.Dir, "not-listed.webm"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A listed name that links out of the recordings directory.
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	sec := e.bearerOf("security")
	security := e.staff("security")
	if _, err := e.store.AddStaffAction(e.ctx, StaffActionRecord{BookingID: r.BookingID, At: end.Add(-10 * time.Minute),
		StaffID: security.ID, Action: ActionMute, ParticipantID: "abc", Reason: "shouting"}); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("/api/v1/recordings/%d", r.ID)
	_, otherSec := e.otherPrison()
	otherTok, _ := e.session(otherSec)

	// Listing.
	var list recordingsResponse
	e.as(sec, http.MethodGet, "/api/v1/recordings", nil).decode(t, http.StatusOK, &list)
	if len(list.Recordings) != 1 || list.Recordings[0].ID != r.ID || list.Recordings[0].Status != RecordingStatusComplete ||
		list.Recordings[0].EndedAt == nil || list.Recordings[0].Held {
		t.Fatalf("list %+v", list)
	}
	list = recordingsResponse{}
	e.as(e.bearerOf("admin"), http.MethodGet, fmt.Sprintf("/api/v1/recordings?prisonId=%d&from=2026-11-22&to=2026-11-22", e.demo.PrisonID), nil).
		decode(t, http.StatusOK, &list)
	if len(list.Recordings) != 1 {
		t.Errorf("admin's list %+v", list)
	}
	list = recordingsResponse{}
	e.as(sec, http.MethodGet, "/api/v1/recordings?from=2026-11-23", nil).decode(t, http.StatusOK, &list)
	if len(list.Recordings) != 0 {
		t.Errorf("list from today %+v", list)
	}

	before := e.counts()
	for _, c := range []struct {
		token, path string
		status      int
		code        string
	}{
		{e.bearerOf("clerk"), "/api/v1/recordings", 403, "forbidden"},
		{otherTok, fmt.Sprintf("/api/v1/recordings?prisonId=%d", e.demo.PrisonID), 404, "not_found"},
		{sec, "/api/v1/recordings?from=2026-01-01&to=2026-11-23", 400, "validation"},
		{sec, "/api/v1/recordings?to=2026-11-01&from=2026-11-02", 400, "validation"},
		{sec, "/api/v1/recordings?from=yesterday", 400, "validation"},
		{sec, "/api/v1/recordings?prisonId=0", 400, "validation"},
		{e.bearerOf("admin"), base, 403, "forbidden"},
		{e.bearerOf("clerk"), base, 403, "forbidden"},
		{otherTok, base, 404, "not_found"},
		{sec, "/api/v1/recordings/999999", 404, "not_found"},
		{sec, base + "/files/...", 404, "not_found"},
		{sec, base + "/files/.hidden", 404, "not_found"},
		{sec, base + "/files/manifest.json", 404, "not_found"},
		{sec, base + "/files/not-listed.webm", 404, "not_found"},
		{sec, base + "/files/..%2F..%2Fetc%2Fpasswd", 404, "not_found"},
		{sec, base + "/files/%2Fetc%2Fpasswd", 404, "not_found"},
		{sec, base + "/files/p1-audio-0.webm?download=yes", 400, "validation"},
		{sec, base + "/files/p1-audio-0.webm?download=1", 403, "forbidden"},
		{e.bearerOf("admin"), base + "/files/p1-audio-0.webm", 403, "forbidden"},
		{otherTok, base + "/files/p1-audio-0.webm", 404, "not_found"},
	} {
		res := e.as(c.token, http.MethodGet, c.path, nil)
		if res.status != c.status {
			t.Errorf("GET %s: %d %.200s", c.path, res.status, res.body)
			continue
		}
		res.wantProblem(t, c.status, c.code)
	}
	if after := e.counts(); after != before {
		t.Fatalf("refusals changed counts %+v -> %+v", before, after)
	}

	// Viewing: the manifest as written, the timeline; audited.
	mark := e.lastAuditID()
	var d RecordingDetail
	e.as(sec, http.MethodGet, base, nil).decode(t, http.StatusOK, &d)
	raw, _ := os.ReadFile(filepath.Join(e.recordings, r.Dir, ManifestName))
	if d.ID != r.ID || !bytes.Equal(d.Manifest, raw) || len(d.Actions) != 1 || d.Actions[0].StaffName != security.Name ||
		d.Actions[0].Reason != "shouting" || d.Actions[0].Action != ActionMute {
		t.Fatalf("detail %+v", d)
	}
	if got := e.auditActions(mark); !slices.Equal(got, []string{"recording.view"}) {
		t.Errorf("view audited as %v", got)
	}

	// Playing: the whole file, then ranges; only a request from the start
	// is audited.
	file := base + "/files/p1-audio-0.webm"
	mark = e.lastAuditID()
	res := e.as(sec, http.MethodGet, file, nil)
	if res.status != 200 || !bytes.Equal(res.body, audio) || res.header.Get("Content-Type") != "video/webm" ||
		res.header.Get("Content-Disposition") != `inline; filename=p1-audio-0.webm` || res.header.Get("Accept-Ranges") != "bytes" ||
		res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("file: %d %v", res.status, res.header)
	}
	ranged := func(rng string) response {
		return e.send(http.MethodGet, file, nil, func(r *http.Request) {
			bearer(sec)(r)
			r.Header.Set("Range", rng)
		})
	}
	res = ranged("bytes=0-9")
	if res.status != 206 || string(res.body) != string(audio[:10]) || res.header.Get("Content-Range") != "bytes 0-9/2000" {
		t.Errorf("first range: %d %q %v", res.status, res.body, res.header)
	}
	res = ranged("bytes=100-199")
	if res.status != 206 || string(res.body) != string(audio[100:200]) {
		t.Errorf("later range: %d", res.status)
	}
	ranged("bytes=5000-").wantProblem(t, http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable")
	if res := e.send(http.MethodHead, file, nil, bearer(sec)); res.status != 200 {
		t.Errorf("HEAD: %d", res.status)
	}
	if res := e.as(sec, http.MethodGet, base+"/files/p1-video-0.mkv", nil); res.status != 200 ||
		res.header.Get("Content-Type") != "video/x-matroska" {
		t.Errorf("mkv: %d %v", res.status, res.header)
	}
	if got := e.auditActions(mark); !slices.Equal(got, []string{"recording.play", "recording.play", "recording.play"}) {
		t.Errorf("playing audited as %v", got)
	}
	// Reading a file in parts that avoid its first byte is audited too:
	// the first part, and again once the last audited access is ten
	// minutes old.
	mark = e.lastAuditID()
	tail := func(rng string) {
		t.Helper()
		res := e.send(http.MethodGet, base+"/files/tail.webm", nil, func(r *http.Request) {
			bearer(sec)(r)
			r.Header.Set("Range", rng)
		})
		if res.status != 206 {
			t.Fatalf("tail %s: %d", rng, res.status)
		}
	}
	tail("bytes=5-")
	tail("bytes=6-")
	e.clock.Advance(replayWindow + time.Second)
	tail("bytes=7-")
	ranged("bytes=100-199")
	if got := e.auditActions(mark); !slices.Equal(got, []string{"recording.play", "recording.play", "recording.play"}) {
		t.Errorf("reading in parts audited as %v", got)
	}

	// Downloading needs the permission an admin gives (to security
	// officers only); it is audited.
	admin := e.bearerOf("admin")
	e.as(admin, http.MethodPut, fmt.Sprintf("/api/v1/staff/%d", e.staff("clerk").ID),
		staffUpdate{Name: "Clerk", Role: StaffClerk, PrisonID: e.demo.PrisonID, DownloadRecordings: ptr(true)}).
		wantProblem(t, http.StatusBadRequest, "validation")
	var st Staff
	e.as(admin, http.MethodPut, fmt.Sprintf("/api/v1/staff/%d", security.ID),
		staffUpdate{Name: security.Name, Role: StaffSecurity, PrisonID: e.demo.PrisonID, DownloadRecordings: ptr(true)}).
		decode(t, http.StatusOK, &st)
	if !st.DownloadRecordings {
		t.Fatalf("staff after update %+v", st)
	}
	mark = e.lastAuditID()
	res = e.as(sec, http.MethodGet, file+"?download=1", nil)
	if res.status != 200 || res.header.Get("Content-Disposition") != `attachment; filename=p1-audio-0.webm` || !bytes.Equal(res.body, audio) {
		t.Errorf("download: %d %v", res.status, res.header)
	}
	if got := e.auditActions(mark); !slices.Equal(got, []string{"recording.download"}) {
		t.Errorf("download audited as %v", got)
	}
	// An update that leaves the permission out keeps it; a change of role
	// takes it away.
	e.as(admin, http.MethodPut, fmt.Sprintf("/api/v1/staff/%d", security.ID),
		staffUpdate{Name: "Renamed", Role: StaffSecurity, PrisonID: e.demo.PrisonID}).decode(t, http.StatusOK, &st)
	if !st.DownloadRecordings {
		t.Error("an update without the permission took it away")
	}
	e.as(admin, http.MethodPut, fmt.Sprintf("/api/v1/staff/%d", security.ID),
		staffUpdate{Name: "Renamed", Role: StaffClerk, PrisonID: e.demo.PrisonID}).decode(t, http.StatusOK, &st)
	if st.DownloadRecordings {
		t.Error("a clerk kept the permission to download")
	}
	e.as(admin, http.MethodPut, fmt.Sprintf("/api/v1/staff/%d", security.ID),
		staffUpdate{Name: security.Name, Role: StaffSecurity, PrisonID: e.demo.PrisonID}).decode(t, http.StatusOK, &st)

	// A link out of the directory is not followed, even when listed.
	link := e.recorded(end, recordingFiles{"ok.webm": []byte("ok")})
	if err := os.Symlink(secret, filepath.Join(e.recordings, link.Dir, "link.webm")); err != nil {
		t.Fatal(err)
	}
	manifest := []byte(`{"files":[{"name":"ok.webm"},{"name":"link.webm"}]}`)
	if err := os.WriteFile(filepath.Join(e.recordings, link.Dir, ManifestName), manifest, 0o600); err != nil {
		t.Fatal(err)
	}
	link.ManifestSHA256 = sha256Hex(manifest)
	if err := e.store.UpdateRecording(e.ctx, link); err != nil {
		t.Fatal(err)
	}
	e.as(sec, http.MethodGet, fmt.Sprintf("/api/v1/recordings/%d/files/link.webm", link.ID), nil).
		wantProblem(t, http.StatusNotFound, "not_found")

	// A tampered manifest: refused, audited.
	if err := os.WriteFile(filepath.Join(e.recordings, link.Dir, ManifestName), []byte(`{"files":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	mark = e.lastAuditID()
	e.as(sec, http.MethodGet, fmt.Sprintf("/api/v1/recordings/%d", link.ID), nil).wantProblem(t, http.StatusConflict, "recording_damaged")
	e.as(sec, http.MethodGet, fmt.Sprintf("/api/v1/recordings/%d/files/ok.webm", link.ID), nil).
		wantProblem(t, http.StatusConflict, "recording_damaged")
	if got := e.auditActions(mark); !slices.Equal(got, []string{"recording.damaged", "recording.damaged"}) {
		t.Errorf("damage audited as %v", got)
	}
	if err := os.Remove(filepath.Join(e.recordings, link.Dir, ManifestName)); err != nil {
		t.Fatal(err)
	}
	e.as(sec, http.MethodGet, fmt.Sprintf("/api/v1/recordings/%d", link.ID), nil).wantProblem(t, http.StatusConflict, "recording_damaged")

	// Holds.
	hold := base + "/hold"
	before = e.counts()
	for _, c := range []struct {
		token, method string
		body          any
		status        int
		code          string
	}{
		{sec, http.MethodPut, RecordingHoldRequest{}, 400, "validation"},
		{sec, http.MethodPut, RecordingHoldRequest{Reason: "no"}, 400, "validation"},
		{sec, http.MethodPut, `{"reason":"court case","until":"2030-01-01"}`, 400, "validation"},
		{e.bearerOf("clerk"), http.MethodPut, RecordingHoldRequest{Reason: "court case"}, 403, "forbidden"},
		{otherTok, http.MethodPut, RecordingHoldRequest{Reason: "court case"}, 404, "not_found"},
		{sec, http.MethodDelete, RecordingHoldRequest{Reason: "case closed"}, 409, "invalid_transition"},
	} {
		res := e.as(c.token, c.method, hold, c.body)
		if res.status != c.status {
			t.Errorf("%s hold %v: %d %s", c.method, c.body, res.status, res.body)
			continue
		}
		res.wantProblem(t, c.status, c.code)
	}
	if after := e.counts(); after != before {
		t.Fatalf("hold refusals changed counts %+v -> %+v", before, after)
	}
	mark = e.lastAuditID()
	var v RecordingView
	e.as(sec, http.MethodPut, hold, RecordingHoldRequest{Reason: " court case 42 "}).decode(t, http.StatusOK, &v)
	if !v.Held || v.HoldReason != "court case 42" {
		t.Fatalf("held %+v", v)
	}
	e.as(sec, http.MethodPut, hold, RecordingHoldRequest{Reason: "again"}).wantProblem(t, http.StatusConflict, "invalid_transition")
	v = RecordingView{}
	e.as(admin, http.MethodDelete, hold, RecordingHoldRequest{Reason: "case closed"}).decode(t, http.StatusOK, &v)
	if v.Held || v.HoldReason != "" {
		t.Fatalf("released %+v", v)
	}
	entries := e.auditSince(mark)
	if len(entries) != 2 || entries[0].Action != "recording.hold" || entries[1].Action != "recording.release" ||
		entries[0].Actor != staffActor(security) || !strings.Contains(string(entries[1].Detail), `"reason":"case closed"`) {
		t.Errorf("holds audited as %v", e.auditActions(mark))
	}
}

// sha256Hex is the hex SHA-256 of data.
func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestPurgeRecordings moves the clock: a recording 91 days after its call
// is deleted (its directory removed, marked deleted, audited by the
// system) unless held; one 89 days old is kept; the prison's retention is
// honoured, also for recordings made before it changed. Both stores.
func TestPurgeRecordings(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			e := k.newEnv(t, defaultNow())
			ctx := context.Background()
			t0 := e.clock.Now()
			day := 24 * time.Hour
			files := recordingFiles{"a.webm": []byte("audio")}
			old := e.recorded(t0, files)
			held := e.recorded(t0, files)
			younger := e.recorded(t0.Add(2*day), files)
			// A recording that never finished counts from its start.
			unfinished := e.call(e.demo.PrisonID, CallSocial, t0, 30)
			if err := e.svc.RecordingStarted(ctx, unfinished.ID, fmt.Sprint(unfinished.ID), t0); err != nil {
				t.Fatal(err)
			}
			e.writeRecording(fmt.Sprint(unfinished.ID), files)
			if _, err := e.svc.HoldRecording(ctx, e.staff("security"), held.ID, RecordingHoldRequest{Reason: "appeal pending"}); err != nil {
				t.Fatal(err)
			}
			dirOf := func(r Recording) string { return filepath.Join(e.recordings, r.Dir) }
			exists := func(r Recording) bool {
				_, err := os.Stat(dirOf(r))
				return err == nil
			}
			status := func(r Recording) RecordingStatus {
				t.Helper()
				got, err := e.store.Recording(ctx, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				return got.Status
			}

			e.clock.Set(t0.Add(89 * day))
			if n, err := e.svc.PurgeRecordings(ctx); err != nil || n != 0 {
				t.Fatalf("purge at 89 days: %d %v", n, err)
			}
			for _, r := range []Recording{old, held, younger} {
				if !exists(r) || status(r) != RecordingStatusComplete {
					t.Fatalf("recording %d gone at 89 days", r.ID)
				}
			}

			e.clock.Set(t0.Add(91 * day))
			mark := e.lastAuditID()
			n, err := e.svc.PurgeRecordings(ctx)
			if err != nil || n != 2 {
				t.Fatalf("purge at 91 days: %d %v", n, err)
			}
			if exists(old) || status(old) != RecordingStatusDeleted || exists(Recording{Dir: fmt.Sprint(unfinished.ID)}) {
				t.Error("the 91-day-old recordings are still there")
			}
			if !exists(held) || status(held) != RecordingStatusComplete {
				t.Error("the held recording was deleted")
			}
			if !exists(younger) || status(younger) != RecordingStatusComplete {
				t.Error("the 89-day-old recording was deleted")
			}
			entries := e.auditSince(mark)
			if len(entries) != 2 {
				t.Fatalf("audited %v", e.auditActions(mark))
			}
			for _, en := range entries {
				if en.Action != "recording.delete" || en.Actor != systemActor || !strings.HasPrefix(en.Subject, "recording:") {
					t.Errorf("entry %+v", en)
				}
			}
			if got, _ := e.store.Recording(ctx, old.ID); got.DeletedAt.Before(t0.Add(91 * day).Add(-time.Second)) {
				t.Errorf("deleted at %v", got.DeletedAt)
			}
			// Nothing more to do; a deleted recording shows no files.
			if n, err := e.svc.PurgeRecordings(ctx); err != nil || n != 0 {
				t.Errorf("second purge: %d %v", n, err)
			}
			sec := e.staff("security")
			if d, err := e.svc.RecordingDetail(ctx, sec, old.ID); err != nil || string(d.Manifest) != "null" {
				t.Errorf("deleted recording: %s %v", d.Manifest, err)
			}
			if _, err := e.svc.OpenRecordingFile(ctx, sec, old.ID, "a.webm", FileAccess{}); !errors.Is(err, ErrNotFound) {
				t.Errorf("file of a deleted recording: %v", err)
			}
			wantRefusal(t, func() error {
				_, err := e.svc.HoldRecording(ctx, sec, old.ID, RecordingHoldRequest{Reason: "too late"})
				return err
			}(), ErrInvalidTransition)

			// Released, the held one goes at the next purge.
			if _, err := e.svc.ReleaseRecording(ctx, sec, held.ID, RecordingHoldRequest{Reason: "appeal dismissed"}); err != nil {
				t.Fatal(err)
			}
			if n, err := e.svc.PurgeRecordings(ctx); err != nil || n != 1 || exists(held) {
				t.Errorf("purge after release: %d %v", n, err)
			}

			// A shorter retention applies to the recordings already made.
			set := Defaults()
			set.RecordingRetentionDays = 30
			if _, err := e.svc.SetPrisonSettings(ctx, e.staff("admin"), e.demo.PrisonID, set); err != nil {
				t.Fatal(err)
			}
			r, _ := e.store.Recording(ctx, younger.ID)
			if !r.DeleteAfter.Equal(r.EndedAt.Add(30 * day)) {
				t.Errorf("delete after %v, ended %v", r.DeleteAfter, r.EndedAt)
			}
			fresh := e.recorded(t0.Add(91*day-time.Hour), files)
			if n, err := e.svc.PurgeRecordings(ctx); err != nil || n != 1 || exists(younger) || !exists(fresh) {
				t.Errorf("purge at 30 days' retention: %d %v", n, err)
			}
			e.clock.Set(t0.Add(91*day + 29*day))
			if n, err := e.svc.PurgeRecordings(ctx); err != nil || n != 0 {
				t.Errorf("purge of a 29-day-old recording: %d %v", n, err)
			}
			e.clock.Set(t0.Add(91*day + 31*day))
			if n, err := e.svc.PurgeRecordings(ctx); err != nil || n != 1 || exists(fresh) {
				t.Errorf("purge of a 31-day-old recording: %d %v", n, err)
			}
			if n, err := VerifyAudit(ctx, e.store); err != nil || n == 0 {
				t.Errorf("verify %d %v", n, err)
			}
		})
	}
}
