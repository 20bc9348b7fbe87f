package booking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Recordings: the media server records social calls (and probation calls
// where the prison says so), one directory per call under
// Config.RecordingsDir holding a file per track and manifest.json, and
// reports to the app, which calls RecordingStarted, RecordingFinished and
// RecordingFailed. A legal call is never recorded: the service refuses and
// audits any attempt, and the database refuses a recording row for one.
// Security officers list, view and play recordings, download them with the
// downloadRecordings permission, and hold them past retention with a
// reason; PurgeRecordings deletes the rest after the prison's retention.
// Every access, hold and deletion is audited.

// ManifestName is the file name of a recording's manifest.
const ManifestName = "manifest.json"

// maxManifestBytes bounds the manifest a recording may have.
const maxManifestBytes = 1 << 20

// maxRecordingFileName bounds the name of a recording's file.
const maxRecordingFileName = 128

// errNoRecordingsDir means Config.RecordingsDir is not set.
var errNoRecordingsDir = errors.New("booking: no recordings directory configured")

// recordingSubject names a recording in the audit log.
func recordingSubject(id int64) string { return fmt.Sprintf("recording:%d", id) }

// recordingDir returns dir as a path relative to the recordings root,
// refusing a directory that is not strictly inside it. A relative dir is
// taken relative to the root.
func (s *Service) recordingDir(dir string) (string, error) {
	root := s.cfg.RecordingsDir
	if root == "" {
		return "", errNoRecordingsDir
	}
	if dir == "" || len(dir) > 4096 || strings.ContainsRune(dir, 0) {
		return "", refuse(ErrValidation, "a recording needs a directory")
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	rel, err := filepath.Rel(root, filepath.Clean(dir))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", refuse(ErrValidation, "the recording directory is not inside the recordings directory")
	}
	return filepath.ToSlash(rel), nil
}

// recordingRoot opens the recordings root: paths inside it cannot escape it
// (not through "..", not through a symbolic link).
func (s *Service) recordingRoot() (*os.Root, error) {
	if s.cfg.RecordingsDir == "" {
		return nil, errNoRecordingsDir
	}
	root, err := os.OpenRoot(s.cfg.RecordingsDir)
	if err != nil {
		return nil, fmt.Errorf("open recordings directory: %w", err)
	}
	return root, nil
}

// refuseRecording refuses to record booking b, and audits the attempt as
// recording.refused (by the system: the media server asked).
func (s *Service) refuseRecording(ctx context.Context, b Booking, via string) error {
	if b.CallType == CallLegal {
		s.auditPrivilegeRefusal(ctx, systemActor, "recording.refused", b, via)
		return fmt.Errorf("record booking %d: %w", b.ID, refuse(ErrLegalPrivilege, "a legal call is privileged: it is never recorded"))
	}
	if err := s.Audit(ctx, systemActor, "recording.refused", bookingSubject(b.ID), map[string]any{
		"bookingId": b.ID, "reference": b.Reference, "callType": b.CallType, "via": via,
		"reason": "the prison does not record this call type",
	}); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit refused recording", slog.String("error", err.Error()))
	}
	return refuse(ErrForbidden, "booking %d is not recorded: the prison does not record %s calls", b.ID, b.CallType)
}

// RecordingStarted records that the media server started recording booking
// bookingID's call at at, into dir (inside Config.RecordingsDir), and
// audits it (recording.start). A legal call is refused with an error
// wrapping ErrLegalPrivilege and the attempt audited (recording.refused);
// so is a call that is not recorded (ErrForbidden). A second start into the
// same directory while recording does nothing; any other second start is
// ErrAlreadyExists.
func (s *Service) RecordingStarted(ctx context.Context, bookingID int64, dir string, at time.Time) error {
	b, err := s.store.Booking(ctx, bookingID)
	if err != nil {
		return fmt.Errorf("recording started: booking %d: %w", bookingID, err)
	}
	if !b.Recorded {
		return s.refuseRecording(ctx, b, "start")
	}
	rel, err := s.recordingDir(dir)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(q Queries) error {
		cur, err := q.RecordingOfBooking(ctx, bookingID)
		switch {
		case err == nil && cur.Dir == rel && cur.Status == RecordingStatusRecording:
			return nil
		case err == nil:
			return refuse(ErrAlreadyExists, "booking %d already has a recording (%s)", bookingID, cur.Status)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		set, err := q.PrisonSettings(ctx, b.PrisonID)
		if err != nil {
			return err
		}
		r := Recording{BookingID: bookingID, PrisonID: b.PrisonID, Dir: rel, Status: RecordingStatusRecording,
			StartedAt: at, DeleteAfter: at.Add(set.retention())}
		if r.ID, err = q.CreateRecording(ctx, r); err != nil {
			return err
		}
		return appendAudit(ctx, q, s.clock.Now(), systemActor, "recording.start", recordingSubject(r.ID), map[string]any{
			"bookingId": bookingID, "reference": b.Reference, "callType": b.CallType, "dir": rel, "startedAt": r.StartedAt,
		})
	})
	if err != nil {
		return wrapUnlessRefused(err, fmt.Sprintf("recording of booking %d started", bookingID))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "recording started", slog.Int64("booking_id", bookingID), slog.String("dir", rel))
	return nil
}

// checkSHA256 checks a lower-case hex SHA-256.
func checkSHA256(h string) error {
	if len(h) != sha256.Size*2 || strings.ToLower(h) != h {
		return refuse(ErrValidation, "the manifest hash must be 64 lower-case hex digits")
	}
	if _, err := hex.DecodeString(h); err != nil {
		return refuse(ErrValidation, "the manifest hash must be 64 lower-case hex digits")
	}
	return nil
}

// RecordingFinished records that booking bookingID's recording ended at at
// with its manifest (manifest.json, whose hex SHA-256 is manifestSHA256),
// and audits it (recording.finish). A recording under way becomes
// complete; a failed one stays failed, with what it managed to write.
// Retention counts from at. No recording wraps ErrNotFound; one already
// finished or deleted is ErrInvalidTransition.
func (s *Service) RecordingFinished(ctx context.Context, bookingID int64, manifestSHA256 string, at time.Time) error {
	if err := checkSHA256(manifestSHA256); err != nil {
		return err
	}
	var r Recording
	err := s.store.InTx(ctx, func(q Queries) error {
		var err error
		if r, err = q.RecordingOfBooking(ctx, bookingID); err != nil {
			return err
		}
		if r.Status == RecordingStatusComplete || r.Status == RecordingStatusDeleted || r.ManifestSHA256 != "" {
			return refuse(ErrInvalidTransition, "the recording of booking %d has already finished (%s)", bookingID, r.Status)
		}
		set, err := q.PrisonSettings(ctx, r.PrisonID)
		if err != nil {
			return err
		}
		if r.Status == RecordingStatusRecording {
			r.Status = RecordingStatusComplete
		}
		r.ManifestSHA256, r.EndedAt, r.DeleteAfter = manifestSHA256, at, at.Add(set.retention())
		if err := q.UpdateRecording(ctx, r); err != nil {
			return err
		}
		return appendAudit(ctx, q, s.clock.Now(), systemActor, "recording.finish", recordingSubject(r.ID), map[string]any{
			"bookingId": bookingID, "status": r.Status, "manifestSha256": manifestSHA256, "endedAt": r.EndedAt,
			"deleteAfter": r.DeleteAfter,
		})
	})
	if err != nil {
		return wrapUnlessRefused(err, fmt.Sprintf("recording of booking %d finished", bookingID))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "recording finished", slog.Int64("booking_id", bookingID),
		slog.String("status", string(r.Status)))
	return nil
}

// RecordingFailed records that booking bookingID's recording failed, and
// why (1 to 500 characters), and audits it (recording.failed): it is an
// alarm, logged as an error. A recording that failed before it started is
// recorded as failed with no directory. A legal call is refused as
// RecordingStarted refuses it.
func (s *Service) RecordingFailed(ctx context.Context, bookingID int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if !utf8.ValidString(reason) || reason == "" || utf8.RuneCountInString(reason) > MaxReasonLen {
		return refuse(ErrValidation, "the failure must be 1 to %d characters", MaxReasonLen)
	}
	b, err := s.store.Booking(ctx, bookingID)
	if err != nil {
		return fmt.Errorf("recording failed: booking %d: %w", bookingID, err)
	}
	if !b.Recorded {
		return s.refuseRecording(ctx, b, "failure")
	}
	now := s.clock.Now()
	err = s.store.InTx(ctx, func(q Queries) error {
		r, err := q.RecordingOfBooking(ctx, bookingID)
		switch {
		case errors.Is(err, ErrNotFound):
			set, err := q.PrisonSettings(ctx, b.PrisonID)
			if err != nil {
				return err
			}
			r = Recording{BookingID: bookingID, PrisonID: b.PrisonID, Status: RecordingStatusFailed, Failure: reason,
				StartedAt: now, DeleteAfter: now.Add(set.retention())}
			if r.ID, err = q.CreateRecording(ctx, r); err != nil {
				return err
			}
		case err != nil:
			return err
		case r.Status == RecordingStatusDeleted:
			return refuse(ErrInvalidTransition, "the recording of booking %d is deleted", bookingID)
		default:
			r.Status, r.Failure = RecordingStatusFailed, reason
			if err := q.UpdateRecording(ctx, r); err != nil {
				return err
			}
		}
		return appendAudit(ctx, q, now, systemActor, "recording.failed", recordingSubject(r.ID), map[string]any{
			"bookingId": bookingID, "reference": b.Reference, "reason": reason,
		})
	})
	if err != nil {
		return wrapUnlessRefused(err, fmt.Sprintf("recording of booking %d failed", bookingID))
	}
	s.log.LogAttrs(ctx, slog.LevelError, "recording failed", slog.Int64("booking_id", bookingID),
		slog.String("reason", reason))
	return nil
}

// RecordingView is a recording as the API lists it. EndedAt is null until
// it ends; HoldReason is "" unless Held.
type RecordingView struct {
	ID          int64           `json:"id"`
	BookingID   int64           `json:"bookingId"`
	Reference   string          `json:"reference"`
	CallType    CallType        `json:"callType"`
	StartedAt   time.Time       `json:"startedAt"`
	EndedAt     *time.Time      `json:"endedAt"`
	Status      RecordingStatus `json:"status"`
	Failure     string          `json:"failure,omitempty"`
	Held        bool            `json:"held"`
	HoldReason  string          `json:"holdReason"`
	DeleteAfter time.Time       `json:"deleteAfter"`
}

// view presents r.
func (r Recording) view() RecordingView {
	v := RecordingView{ID: r.ID, BookingID: r.BookingID, Reference: r.Reference, CallType: r.CallType,
		StartedAt: r.StartedAt, Status: r.Status, Failure: r.Failure, Held: r.Held(), HoldReason: r.HoldReason,
		DeleteAfter: r.DeleteAfter}
	if !r.EndedAt.IsZero() {
		ended := r.EndedAt
		v.EndedAt = &ended
	}
	return v
}

// RecordingDetail is one recording as GET /api/v1/recordings/{id} answers
// it: the listing's fields, its manifest (null while it has none) and the
// staff actions taken on its call, for the timeline.
type RecordingDetail struct {
	RecordingView
	Manifest json.RawMessage   `json:"manifest"`
	Actions  []StaffActionView `json:"actions"`
}

// StaffActionView is a staff action on the playback timeline.
type StaffActionView struct {
	At            time.Time `json:"at"`
	Action        string    `json:"action"`
	ParticipantID string    `json:"participantId"`
	Reason        string    `json:"reason"`
	StaffName     string    `json:"staffName"`
}

// recordingAccess checks that actor may reach recording r: a recording at a
// prison actor cannot see wraps ErrNotFound; then play (view, play,
// download) is for security officers, the rest (list, hold, release) for
// security officers and admins, else ErrForbidden.
func recordingAccess(actor Staff, prisonID int64, play bool) error {
	if !actor.canSeePrison(prisonID) {
		return notFoundf("recordings of prison %d", prisonID)
	}
	if actor.Role == StaffSecurity || actor.Role == StaffAdmin && !play {
		return nil
	}
	if play {
		return refuse(ErrForbidden, "only security officers may view and play recordings; a %s may not", actor.Role)
	}
	return refuse(ErrForbidden, "only security officers and admins may manage recordings; a %s may not", actor.Role)
}

// Recordings lists the recordings of a prison started in [from, to), for
// a security officer or an admin who can see it.
func (s *Service) Recordings(ctx context.Context, actor Staff, prisonID int64, from, to time.Time) ([]RecordingView, error) {
	if err := recordingAccess(actor, prisonID, false); err != nil {
		return nil, err
	}
	if _, err := s.store.Prison(ctx, prisonID); err != nil {
		return nil, err
	}
	list, err := s.store.Recordings(ctx, prisonID, from, to)
	if err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	out := make([]RecordingView, len(list))
	for i, r := range list {
		out[i] = r.view()
	}
	return out, nil
}

// visibleRecording reads recording id for actor (see recordingAccess).
func (s *Service) visibleRecording(ctx context.Context, actor Staff, id int64, play bool) (Recording, error) {
	r, err := s.store.Recording(ctx, id)
	if err != nil {
		return Recording{}, err
	}
	if err := recordingAccess(actor, r.PrisonID, play); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Recording{}, notFoundf("recording %d", id)
		}
		return Recording{}, err
	}
	return r, nil
}

// manifest reads recording r's manifest and checks it against the hash
// recorded when r finished. A recording without one (under way, failed
// early or deleted) has none: nil. A manifest missing or not matching is
// ErrRecordingDamaged, and audited as recording.damaged.
func (s *Service) manifest(ctx context.Context, actor Staff, r Recording) (json.RawMessage, error) {
	if r.ManifestSHA256 == "" || r.Dir == "" || r.Status == RecordingStatusDeleted {
		return nil, nil
	}
	raw, err := s.readManifest(r)
	if err == nil {
		sum := sha256.Sum256(raw)
		if hex.EncodeToString(sum[:]) == r.ManifestSHA256 && json.Valid(raw) {
			return raw, nil
		}
		err = errors.New("the manifest does not match the hash recorded when the recording finished")
	}
	if errors.Is(err, errNoRecordingsDir) {
		return nil, err
	}
	if aerr := s.Audit(ctx, staffActor(actor), "recording.damaged", recordingSubject(r.ID), map[string]any{
		"bookingId": r.BookingID, "error": err.Error(),
	}); aerr != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit damaged recording", slog.String("error", aerr.Error()))
	}
	s.log.LogAttrs(ctx, slog.LevelError, "recording damaged", slog.Int64("recording_id", r.ID),
		slog.String("error", err.Error()))
	return nil, refuse(ErrRecordingDamaged, "recording %d is damaged: its manifest is missing or was changed", r.ID)
}

// readManifest reads r's manifest.json, at most maxManifestBytes.
func (s *Service) readManifest(r Recording) ([]byte, error) {
	root, err := s.recordingRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(filepath.Join(filepath.FromSlash(r.Dir), ManifestName))
	if err != nil {
		return nil, fmt.Errorf("open manifest: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if len(raw) > maxManifestBytes {
		return nil, errors.New("the manifest is too large")
	}
	return raw, nil
}

// manifestFiles lists the file names a manifest names: the "name" of each
// object of its "files" array.
func manifestFiles(raw json.RawMessage) []string {
	var m struct {
		Files []struct {
			Name string `json:"name"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	out := make([]string, 0, len(m.Files))
	for _, f := range m.Files {
		if recordingFileName(f.Name) {
			out = append(out, f.Name)
		}
	}
	return out
}

// recordingFileName reports whether name may be a recording's file: 1 to
// 128 bytes of letters, digits, '-', '_', '.' and ':', not starting with
// '.', naming no directory.
func recordingFileName(name string) bool {
	if name == "" || len(name) > maxRecordingFileName || name[0] == '.' || name == ManifestName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return !strings.Contains(name, "..")
}

// RecordingDetail returns recording id with its manifest and the staff
// actions of its call, for a security officer of its prison, and audits
// the view (recording.view). Refusals: recordingAccess's,
// ErrRecordingDamaged.
func (s *Service) RecordingDetail(ctx context.Context, actor Staff, id int64) (RecordingDetail, error) {
	r, err := s.visibleRecording(ctx, actor, id, true)
	if err != nil {
		return RecordingDetail{}, err
	}
	manifest, err := s.manifest(ctx, actor, r)
	if err != nil {
		return RecordingDetail{}, err
	}
	actions, err := s.store.StaffActions(ctx, r.BookingID)
	if err != nil {
		return RecordingDetail{}, fmt.Errorf("recording %d: %w", id, err)
	}
	if err := s.Audit(ctx, staffActor(actor), "recording.view", recordingSubject(id), map[string]any{
		"bookingId": r.BookingID, "reference": r.Reference,
	}); err != nil {
		return RecordingDetail{}, err
	}
	d := RecordingDetail{RecordingView: r.view(), Manifest: manifest, Actions: []StaffActionView{}}
	if d.Manifest == nil {
		d.Manifest = json.RawMessage("null")
	}
	for _, a := range actions {
		d.Actions = append(d.Actions, StaffActionView{At: a.At, Action: a.Action, ParticipantID: a.ParticipantID,
			Reason: a.Reason, StaffName: a.StaffName})
	}
	return d, nil
}

// RecordingFile is an open file of a recording, to serve.
type RecordingFile struct {
	*os.File
	Name    string
	Size    int64
	ModTime time.Time
}

// FileAccess is how a recording's file is asked for.
type FileAccess struct {
	// Download asks for it as an attachment, which needs the
	// downloadRecordings permission.
	Download bool
	// Range is the request's Range header ("" for the whole file).
	Range string
	// HeadOnly: the headers only; nothing of the file is sent, nothing is
	// audited.
	HeadOnly bool
}

// fromStart reports whether a asks for the file from its first byte.
func (a FileAccess) fromStart() bool {
	r := strings.TrimSpace(a.Range)
	return r == "" || strings.HasPrefix(r, "bytes=0-")
}

// replayWindow is how long after an audited access of a file its other
// parts (the rest of a playback's ranges) are not audited again.
const replayWindow = 10 * time.Minute

// fileAccesses remembers when each staff member's access of each file was
// last audited, so that a playback is audited once, not per range, and yet
// no one reads a file in ranges that avoid its first byte unaudited. It is
// per process: another node audits again, which is harmless.
type fileAccesses struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// maxFileAccesses bounds fileAccesses; past it, entries out of their
// window are forgotten.
const maxFileAccesses = 10000

// audit reports whether an access of key at now must be audited: one from
// the start of the file always is, any other when the last audited one is
// older than replayWindow. It records the audited ones.
func (f *fileAccesses) audit(key string, now time.Time, fromStart bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		f.last = map[string]time.Time{}
	}
	if last, ok := f.last[key]; !fromStart && ok && now.Sub(last) < replayWindow && !now.Before(last) {
		return false
	}
	if len(f.last) >= maxFileAccesses {
		for k, t := range f.last {
			if now.Sub(t) >= replayWindow {
				delete(f.last, k)
			}
		}
	}
	f.last[key] = now
	return true
}

// OpenRecordingFile opens file name of recording id for a security officer
// of its prison: only a file its manifest names, inside its directory. It
// audits the access as recording.play, or recording.download with
// a.Download, when it reads from the start of the file, and when it reads
// any other part without an audited access of that file by that staff
// member in the last replayWindow; a HEAD is not audited. The caller closes
// the file. Refusals: recordingAccess's, ErrForbidden (no permission to
// download), ErrRecordingDamaged; no such file wraps ErrNotFound.
func (s *Service) OpenRecordingFile(ctx context.Context, actor Staff, id int64, name string, a FileAccess) (RecordingFile, error) {
	if !recordingFileName(name) {
		return RecordingFile{}, notFoundf("recording %d file %q", id, name)
	}
	r, err := s.visibleRecording(ctx, actor, id, true)
	if err != nil {
		return RecordingFile{}, err
	}
	if a.Download && !actor.DownloadRecordings {
		return RecordingFile{}, refuse(ErrForbidden, "downloading recordings needs the downloadRecordings permission, which an admin gives")
	}
	manifest, err := s.manifest(ctx, actor, r)
	if err != nil {
		return RecordingFile{}, err
	}
	listed := false
	for _, f := range manifestFiles(manifest) {
		listed = listed || f == name
	}
	if !listed {
		return RecordingFile{}, notFoundf("recording %d file %q", id, name)
	}
	root, err := s.recordingRoot()
	if err != nil {
		return RecordingFile{}, err
	}
	defer root.Close()
	f, err := root.Open(filepath.Join(filepath.FromSlash(r.Dir), name))
	if err != nil {
		// Missing, or a link out of the recordings directory: either way
		// there is no such file to serve.
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.LogAttrs(ctx, slog.LevelWarn, "recording file not served", slog.Int64("recording_id", id),
				slog.String("file", name), slog.String("error", err.Error()))
		}
		return RecordingFile{}, notFoundf("recording %d file %q", id, name)
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		_ = f.Close()
		return RecordingFile{}, notFoundf("recording %d file %q", id, name)
	}
	action := "recording.play"
	if a.Download {
		action = "recording.download"
	}
	key := fmt.Sprintf("%d/%d/%s/%s", actor.ID, id, name, action)
	if !a.HeadOnly && s.accesses.audit(key, s.clock.Now(), a.fromStart()) {
		if err := s.Audit(ctx, staffActor(actor), action, recordingSubject(id), map[string]any{
			"bookingId": r.BookingID, "reference": r.Reference, "file": name,
		}); err != nil {
			_ = f.Close()
			return RecordingFile{}, err
		}
	}
	return RecordingFile{File: f, Name: name, Size: info.Size(), ModTime: info.ModTime()}, nil
}

// RecordingHoldRequest is the body of PUT and DELETE /api/v1/recordings/{id}/hold.
type RecordingHoldRequest struct {
	Reason string `json:"reason"`
}

// HoldRecording puts a legal hold on recording id, with a reason: it is
// kept past its retention until released. For security officers and admins
// who can see its prison; audited (recording.hold). A recording already
// held or deleted is ErrInvalidTransition.
func (s *Service) HoldRecording(ctx context.Context, actor Staff, id int64, req RecordingHoldRequest) (RecordingView, error) {
	return s.changeHold(ctx, actor, id, req, true)
}

// ReleaseRecording lifts recording id's hold, with a reason; retention
// then deletes it when it is due (at once, if it is past due). Audited
// (recording.release). A recording not held is ErrInvalidTransition.
func (s *Service) ReleaseRecording(ctx context.Context, actor Staff, id int64, req RecordingHoldRequest) (RecordingView, error) {
	return s.changeHold(ctx, actor, id, req, false)
}

// changeHold places (hold) or lifts a recording's hold.
func (s *Service) changeHold(ctx context.Context, actor Staff, id int64, req RecordingHoldRequest, hold bool) (RecordingView, error) {
	reason, err := checkStaffReason(req.Reason)
	if err != nil {
		return RecordingView{}, err
	}
	action := "recording.release"
	if hold {
		action = "recording.hold"
	}
	now := s.clock.Now()
	var after Recording
	err = s.store.InTx(ctx, func(q Queries) error {
		r, err := q.Recording(ctx, id)
		if err != nil {
			return err
		}
		if err := recordingAccess(actor, r.PrisonID, false); err != nil {
			if errors.Is(err, ErrNotFound) {
				return notFoundf("recording %d", id)
			}
			return err
		}
		switch {
		case r.Status == RecordingStatusDeleted:
			return refuse(ErrInvalidTransition, "recording %d is deleted", id)
		case hold && r.Held():
			return refuse(ErrInvalidTransition, "recording %d is already held", id)
		case !hold && !r.Held():
			return refuse(ErrInvalidTransition, "recording %d is not held", id)
		}
		after = r
		if hold {
			after.HoldReason, after.HeldBy, after.HeldAt = reason, actor.ID, now.UTC().Truncate(time.Second)
		} else {
			after.HoldReason, after.HeldBy, after.HeldAt = "", 0, time.Time{}
		}
		if err := q.UpdateRecording(ctx, after); err != nil {
			return err
		}
		return appendAudit(ctx, q, now, staffActor(actor), action, recordingSubject(id), map[string]any{
			"bookingId": r.BookingID, "reference": r.Reference, "reason": reason,
			"before": r.view(), "after": after.view(),
		})
	})
	if err != nil {
		return RecordingView{}, wrapUnlessRefused(err, action)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "recording hold changed", slog.Int64("recording_id", id),
		slog.Int64("staff_id", actor.ID), slog.Bool("held", hold))
	return after.view(), nil
}

// purgePage is how many due recordings PurgeRecordings reads at a time.
const purgePage = 100

// PurgeRecordings deletes every recording past its retention (the prison's
// recordingRetentionDays after the call's end) that is not held: its
// directory is removed and it is marked deleted, audited per recording as
// recording.delete by the system. It returns how many it deleted, and the
// failures joined (the others are still deleted).
func (s *Service) PurgeRecordings(ctx context.Context) (int, error) {
	root, err := s.recordingRoot()
	if err != nil {
		return 0, err
	}
	defer root.Close()
	now := s.clock.Now()
	var (
		n      int
		errs   []error
		failed = map[int64]bool{}
	)
	for {
		due, err := s.store.DueRecordings(ctx, now, purgePage)
		if err != nil {
			return n, errors.Join(append(errs, fmt.Errorf("purge recordings: %w", err))...)
		}
		progress := false
		for _, r := range due {
			if failed[r.ID] {
				continue
			}
			deleted, err := s.purgeOne(ctx, root, r.ID, now)
			switch {
			case err != nil:
				failed[r.ID] = true
				errs = append(errs, err)
				s.log.LogAttrs(ctx, slog.LevelError, "recording not deleted", slog.Int64("recording_id", r.ID),
					slog.String("error", err.Error()))
			case deleted:
				n++
				progress = true
			}
		}
		if !progress || len(due) < purgePage {
			break
		}
	}
	if n > 0 {
		s.log.LogAttrs(ctx, slog.LevelInfo, "recordings deleted by retention", slog.Int("count", n))
	}
	return n, errors.Join(errs...)
}

// purgeOne deletes recording id if it is still due at now and not held.
// The files go inside the transaction that marks it deleted, while the
// recording is locked, so that a hold placed meanwhile is honoured.
// Removing a directory again is harmless, so a transaction run again
// removes nothing it should not; and a failure to commit leaves the
// recording due, for the next purge to finish.
func (s *Service) purgeOne(ctx context.Context, root *os.Root, id int64, now time.Time) (bool, error) {
	deleted := false
	err := s.store.InTx(ctx, func(q Queries) error {
		deleted = false
		r, err := q.Recording(ctx, id)
		if err != nil {
			return err
		}
		if r.Held() || r.Status == RecordingStatusDeleted || r.DeleteAfter.After(now) {
			return nil
		}
		if r.Dir != "" {
			if err := root.RemoveAll(filepath.FromSlash(r.Dir)); err != nil {
				return fmt.Errorf("remove the files: %w", err)
			}
		}
		before := r.view()
		r.Status, r.DeletedAt = RecordingStatusDeleted, now.UTC().Truncate(time.Second)
		if err := q.UpdateRecording(ctx, r); err != nil {
			return err
		}
		deleted = true
		return appendAudit(ctx, q, now, systemActor, "recording.delete", recordingSubject(id), map[string]any{
			"bookingId": r.BookingID, "reference": r.Reference, "startedAt": r.StartedAt,
			"deleteAfter": r.DeleteAfter, "statusBefore": before.Status, "dir": r.Dir,
		})
	})
	if err != nil {
		return false, fmt.Errorf("delete recording %d: %w", id, err)
	}
	return deleted, nil
}
