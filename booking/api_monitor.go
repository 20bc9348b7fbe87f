package booking

import (
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/problem"
)

// The monitoring wall and recordings API (monitor.go, recordings.go):
// security officers only, but for sight-only supervision, the recordings
// list and holds, which admins may use too.

// monitorCallsResponse is the answer of GET /api/v1/monitor/calls.
type monitorCallsResponse struct {
	Calls []MonitorCall `json:"calls"`
}

// okResponse is the answer of an action with nothing else to say.
type okResponse struct {
	OK bool `json:"ok"`
}

// recordingsResponse is the answer of GET /api/v1/recordings.
type recordingsResponse struct {
	Recordings []RecordingView `json:"recordings"`
}

// monitorCalls serves GET /api/v1/monitor/calls.
func (a *api) monitorCalls() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) (monitorCallsResponse, error) {
		calls, err := a.svc.MonitorCalls(r.Context(), who.staff)
		return monitorCallsResponse{Calls: calls}, err
	})
}

// watchCall serves POST /api/v1/monitor/calls/{id}/watch.
func (a *api) watchCall() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) (MonitorToken, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return MonitorToken{}, err
		}
		return a.svc.IssueMonitorToken(r.Context(), who.staff, id)
	})
}

// callAction serves POST /api/v1/monitor/calls/{id}/actions.
func (a *api) callAction() authedHandler {
	return jsonHandler(a, http.StatusOK, func(r *http.Request, who principal, req StaffAction) (okResponse, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return okResponse{}, err
		}
		if err := a.svc.StaffAction(r.Context(), who.staff, id, req); err != nil {
			return okResponse{}, err
		}
		return okResponse{OK: true}, nil
	})
}

// setSightOnly serves PUT /api/v1/bookings/{id}/sight-only.
func (a *api) setSightOnly() authedHandler {
	return jsonHandler(a, http.StatusOK, func(r *http.Request, who principal, req SightOnlyRequest) (Booking, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return Booking{}, err
		}
		b, err := a.svc.SetSightOnly(r.Context(), who.staff, id, req)
		if err != nil {
			return Booking{}, err
		}
		return a.present(who, b)
	})
}

// listRecordings serves GET /api/v1/recordings?prisonId=&from=&to=: the
// recordings started on the dates from to to (inclusive, prison time; by
// default the 31 days to today) of prisonId (by default the staff
// member's prison).
func (a *api) listRecordings() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) (recordingsResponse, error) {
		prisonID, err := prisonParam(r, who)
		if err != nil {
			return recordingsResponse{}, err
		}
		if err := recordingAccess(who.staff, prisonID, false); err != nil {
			return recordingsResponse{}, err
		}
		prison, err := a.visiblePrison(r, who, prisonID)
		if err != nil {
			return recordingsResponse{}, err
		}
		loc, err := loadLocation(prison)
		if err != nil {
			return recordingsResponse{}, err
		}
		q := r.URL.Query()
		y, m, d := a.svc.clock.Now().In(loc).Date()
		to := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		if s := q.Get("to"); s != "" {
			if to, err = ParseDate(s); err != nil {
				return recordingsResponse{}, err
			}
		}
		from := to.AddDate(0, 0, -(MaxSlotRangeDays - 1))
		if s := q.Get("from"); s != "" {
			if from, err = ParseDate(s); err != nil {
				return recordingsResponse{}, err
			}
		}
		if err := checkDateRange(from, to); err != nil {
			return recordingsResponse{}, err
		}
		start, end := localDayBounds(loc, from, to)
		list, err := a.svc.Recordings(r.Context(), who.staff, prisonID, start, end)
		return recordingsResponse{Recordings: list}, err
	})
}

// prisonParam reads the optional prisonId query parameter; it defaults to
// the staff member's prison.
func prisonParam(r *http.Request, who principal) (int64, error) {
	id := who.staff.PrisonID
	if s := r.URL.Query().Get("prisonId"); s != "" {
		if !allDigits(s) || len(s) > 15 || s[0] == '0' {
			return 0, refuse(ErrValidation, "prisonId must be a positive integer")
		}
		id, _ = strconv.ParseInt(s, 10, 64)
	}
	if id == 0 {
		return 0, refuse(ErrValidation, "prisonId is required")
	}
	return id, nil
}

// getRecording serves GET /api/v1/recordings/{id}.
func (a *api) getRecording() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) (RecordingDetail, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return RecordingDetail{}, err
		}
		return a.svc.RecordingDetail(r.Context(), who.staff, id)
	})
}

// holdRecording serves PUT /api/v1/recordings/{id}/hold.
func (a *api) holdRecording() authedHandler {
	return jsonHandler(a, http.StatusOK, func(r *http.Request, who principal, req RecordingHoldRequest) (RecordingView, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return RecordingView{}, err
		}
		return a.svc.HoldRecording(r.Context(), who.staff, id, req)
	})
}

// releaseRecording serves DELETE /api/v1/recordings/{id}/hold.
func (a *api) releaseRecording() authedHandler {
	return jsonHandler(a, http.StatusOK, func(r *http.Request, who principal, req RecordingHoldRequest) (RecordingView, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return RecordingView{}, err
		}
		return a.svc.ReleaseRecording(r.Context(), who.staff, id, req)
	})
}

// recordingContentType is the media type of a recording's file, by its
// extension.
func recordingContentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".webm":
		return "video/webm"
	case ".mkv":
		return "video/x-matroska"
	case ".ogg", ".opus":
		return "audio/ogg"
	case ".ivf":
		return "video/x-ivf"
	}
	return "application/octet-stream"
}

// recordingFile serves GET /api/v1/recordings/{id}/files/{name}, with
// ranges (for <video> and <audio>), and ?download=1 as an attachment; the
// service audits it (see OpenRecordingFile).
func (a *api) recordingFile(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	download := false
	switch r.URL.Query().Get("download") {
	case "":
	case "1":
		download = true
	default:
		a.fail(w, r, refuse(ErrValidation, "download must be 1 or left out"))
		return
	}
	name := r.PathValue("name")
	f, err := a.svc.OpenRecordingFile(r.Context(), who.staff, id, name,
		FileAccess{Download: download, Range: r.Header.Get("Range"), HeadOnly: r.Method == http.MethodHead})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer f.Close()
	disposition := "inline"
	if download {
		disposition = "attachment"
	}
	w.Header().Set("Content-Type", recordingContentType(name))
	w.Header().Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(&rangeProblems{ResponseWriter: w}, r, name, f.ModTime, f)
}

// rangeProblems turns http.ServeContent's plain-text refusal of a range
// (416) into a problem document, as every error of the API is.
type rangeProblems struct {
	http.ResponseWriter
	refused bool
}

// WriteHeader writes a problem document instead of a 416's text.
func (w *rangeProblems) WriteHeader(status int) {
	if status != http.StatusRequestedRangeNotSatisfiable {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.refused = true
	// ServeContent clears Cache-Control on an error; every answer is
	// no-store.
	w.Header().Del("Content-Disposition")
	w.Header().Set("Cache-Control", "no-store")
	problem.Error(w.ResponseWriter, status, string(ErrRangeNotSatisfiable), "the requested range is outside the file")
}

// Write drops the text that follows a refused range.
func (w *rangeProblems) Write(b []byte) (int, error) {
	if w.refused {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}
