package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/metrics"
)

// DefaultPublicURL is Config.PublicURL's default.
const DefaultPublicURL = "http://localhost:8080"

// Config are the booking settings of one deployment. The booking rules'
// numbers are per prison: see Settings.
type Config struct {
	// PublicURL is where participants reach Gatehouse, e.g.
	// http://localhost:8080. Join links are PublicURL+"/join#token="+token.
	PublicURL string
	// Sessions are the staff login throttling and session limits (see
	// SessionPolicy; zero fields take their defaults).
	Sessions SessionPolicy
	// RecordingsDir is the root under which calls are recorded, one
	// directory per recording. Recordings are served and deleted only inside
	// it. Empty: no recordings (RecordingStarted and PurgeRecordings fail).
	RecordingsDir string
}

func (c Config) withDefaults() Config {
	c.Sessions = c.Sessions.withDefaults()
	if c.RecordingsDir != "" {
		if abs, err := filepath.Abs(c.RecordingsDir); err == nil {
			c.RecordingsDir = abs
		}
	}
	if c.PublicURL == "" {
		c.PublicURL = DefaultPublicURL
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c
}

// Service applies the booking rules over a Store. It is safe for concurrent
// use.
type Service struct {
	store   Store
	signer  *auth.JoinSigner
	clock   clock.Clock
	metrics *metrics.Metrics // may be nil
	log     *slog.Logger
	cfg     Config
	ender   CallEnder // may be nil: no live calls to end
	live    LiveCalls // may be nil: no live calls to watch or moderate
	// accesses remembers the audited accesses of recordings' files.
	accesses fileAccesses
}

// CallEnder ends a booking's call if it is live. The signalling server is
// one; the booking service uses it so that a cancelled call does not go on.
type CallEnder interface {
	EndCall(ctx context.Context, bookingID int64, reason string) bool
}

// SetCallEnder makes s end live calls through e when their booking is
// cancelled. Call it while wiring, before serving requests.
func (s *Service) SetCallEnder(e CallEnder) { s.ender = e }

// NewService returns a Service. A nil clk is the real clock, a nil m counts
// nothing and a nil log discards; zero Config fields take their defaults.
func NewService(store Store, signer *auth.JoinSigner, clk clock.Clock, m *metrics.Metrics, log *slog.Logger, cfg Config) *Service {
	if clk == nil {
		clk = clock.Real{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, signer: signer, clock: clk, metrics: m, log: log, cfg: cfg.withDefaults()}
}

// Booking returns a booking with its participants (without join links). It
// wraps ErrNotFound when there is none.
func (s *Service) Booking(ctx context.Context, id int64) (Booking, error) {
	b, err := s.store.Booking(ctx, id)
	if err != nil {
		return Booking{}, fmt.Errorf("booking %d: %w", id, err)
	}
	return b, nil
}

// JoinURL returns the join link of participant p of booking b: a signed
// token naming both, valid from the waiting room's opening (StartsAt-10min)
// to EndsAt.
func (s *Service) JoinURL(b Booking, p Participant) (string, error) {
	tok, err := s.signer.Issue(auth.JoinClaims{
		BookingID:     b.ID,
		ParticipantID: p.ID,
		Role:          string(p.Role),
		NotBefore:     b.OpensAt(),
		ExpiresAt:     b.EndsAt,
	})
	if err != nil {
		return "", fmt.Errorf("join link for booking %d participant %s: %w", b.ID, p.ID, err)
	}
	return s.cfg.PublicURL + "/join#token=" + tok, nil
}

// withJoinURLs fills in every participant's join link.
func (s *Service) withJoinURLs(b Booking) (Booking, error) {
	ps := make([]Participant, len(b.Participants))
	for i, p := range b.Participants {
		u, err := s.JoinURL(b, p)
		if err != nil {
			return Booking{}, err
		}
		p.JoinURL = u
		ps[i] = p
	}
	b.Participants = ps
	return b, nil
}

// RecordOutcome ends an active booking with status st (completed, no_show,
// terminated, failed or cancelled) and a reason, and audits it as done by
// the system. Signalling calls it when a call ends. It wraps ErrNotFound
// for a missing booking, and returns a *Refusal with ErrNotActive when the
// booking already has an outcome, or ErrValidation for a bad status or
// reason.
func (s *Service) RecordOutcome(ctx context.Context, id int64, st Status, reason string) error {
	if st.Active() || !validStatus(st) {
		return refuse(ErrValidation, "%q is not an outcome", st)
	}
	if !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > MaxReasonLen {
		return refuse(ErrValidation, "the reason must be valid text of at most %d characters", MaxReasonLen)
	}
	now := s.clock.Now()
	err := s.store.InTx(ctx, func(q Queries) error {
		cur, err := q.Booking(ctx, id)
		if err != nil {
			return err
		}
		if err := q.SetBookingStatus(ctx, id, st, reason); err != nil {
			return err
		}
		return appendAudit(ctx, q, now, systemActor, "booking.outcome", bookingSubject(id), map[string]any{
			"status": st, "reason": reason,
			"before": outcomeState{cur.Status, cur.StatusReason, cur.RebookOffered},
			"after":  outcomeState{st, reason, cur.RebookOffered},
		})
	})
	if err != nil {
		var r *Refusal
		if !errors.As(err, &r) {
			err = fmt.Errorf("record outcome of booking %d: %w", id, err)
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "booking outcome not recorded", slog.Int64("booking_id", id),
			slog.String("status", string(st)), slog.String("error", err.Error()))
		return err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "booking outcome recorded", slog.Int64("booking_id", id),
		slog.String("status", string(st)))
	return nil
}

// validStatus reports whether st is a known status.
func validStatus(st Status) bool {
	switch st {
	case StatusRequested, StatusBooked, StatusCompleted, StatusCancelled, StatusNoShow, StatusTerminated, StatusFailed:
		return true
	}
	return false
}

// refused counts a refusal in the metrics.
func (s *Service) refused(code Code) {
	if s.metrics != nil {
		s.metrics.BookingsRefused.WithLabelValues(string(code)).Inc()
	}
}

// created counts a confirmed booking.
func (s *Service) created() {
	if s.metrics != nil {
		s.metrics.BookingsCreated.Inc()
	}
}
