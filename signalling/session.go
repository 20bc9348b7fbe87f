package signalling

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/sfu"
)

// outQueue is how many messages may wait for a slow client before it is
// disconnected.
const outQueue = 128

// writeWait bounds every write to the socket.
const writeWait = 10 * time.Second

// session is one participant's WebSocket. Its reader runs on the HTTP
// handler's goroutine and owns the writer goroutine it starts.
type session struct {
	srv  *Server
	conn *websocket.Conn
	out  chan []byte // nil entry: close the socket
	log  *slog.Logger

	// Set once on admission, read-only afterwards.
	room        *room
	participant booking.Participant
	member      *member  // a participant's place
	watch       *watcher // or a monitor's

	mu           sync.Mutex
	closing      bool
	final        bool      // ended on purpose (ended, a fatal error): no place is held for it
	iceRefreshAt time.Time // when to send fresh ICE credentials; zero: never
}

func newSession(s *Server, conn *websocket.Conn) *session {
	return &session{srv: s, conn: conn, out: make(chan []byte, outQueue), log: s.log}
}

// serve reads the socket until it closes, then detaches from the room (which
// holds the participant's place for a reconnect unless the session ended on
// purpose) and waits for the writer to flush.
func (s *session) serve(ctx context.Context) {
	s.conn.SetPongHandler(func(string) error {
		return s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.PongWait))
	})
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); s.writeLoop() }()
	defer func() {
		if s.member != nil {
			s.room.detach(s)
		}
		if s.watch != nil {
			s.room.removeWatcher(s.watch, "disconnected")
		}
		s.queueClose()
		<-writerDone
	}()

	cfg := s.srv.cfg
	s.conn.SetReadLimit(cfg.MaxMessage)
	_ = s.conn.SetReadDeadline(time.Now().Add(cfg.JoinTimeout))
	bad := 0
	for {
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			var ne net.Error
			if s.room == nil && errors.As(err, &ne) && ne.Timeout() {
				s.fail(CodeJoinTimeout, "No join message arrived in time.")
			}
			return
		}
		if s.room != nil {
			_ = s.conn.SetReadDeadline(time.Now().Add(cfg.PongWait))
		}
		var msg inbound
		code, detail := "", ""
		if err := json.Unmarshal(data, &msg); err != nil || msg.Type == "" {
			code, detail = CodeBadMessage, "Messages must be JSON objects with a type."
		} else {
			code, detail = s.handle(ctx, msg)
		}
		switch code {
		case "":
			bad = 0
			continue
		case CodeBadMessage, CodeUnknownType, CodeNotJoined:
			bad++
		}
		if bad >= cfg.MaxBadMessages {
			s.fail(CodeTooManyErrors, "Too many bad messages.")
			return
		}
		s.sendError(code, detail, msg.Type, false)
		if s.isClosing() {
			return
		}
	}
}

// handle acts on one well-formed message, returning an error code and
// detail for a refusal.
func (s *session) handle(ctx context.Context, msg inbound) (string, string) {
	if msg.Type == msgJoin {
		if s.room != nil {
			return CodeAlreadyJoined, "This connection has already joined."
		}
		s.join(ctx, msg)
		return "", ""
	}
	if s.room == nil {
		switch msg.Type {
		case msgOffer, msgAnswer, msgCandidate, msgLeave, msgPing, msgRestart, msgQuality:
			return CodeNotJoined, "Send join first."
		}
		return CodeUnknownType, "Unknown message type."
	}
	if s.watch != nil {
		return s.handleMonitor(msg)
	}
	switch msg.Type {
	case msgPing:
		s.send(pongMsg{Type: msgPong, ServerTime: s.srv.clock.Now().UTC()})
	case msgLeave:
		s.room.leave(s)
	case msgRestart:
		if msg.Target != string(sfu.Subscriber) {
			return CodeBadMessage, `restart needs target "sub"; restart the publisher connection with an offer.`
		}
		return s.room.restart(s)
	case msgQuality:
		return s.room.setQuality(s, msg.ParticipantID, msg.MaxLayer)
	case msgOffer, msgAnswer:
		if msg.SDP == "" || len(msg.SDP) > int(s.srv.cfg.MaxMessage) {
			return CodeBadMessage, "sdp is required."
		}
		m := s.room.mediaFor(s)
		if m == nil {
			return CodeNotLive, "The call has not started yet."
		}
		var err error
		if msg.Type == msgOffer {
			err = m.HandleOffer(msg.SDP)
		} else {
			err = m.HandleAnswer(msg.SDP)
		}
		if err != nil {
			s.log.Info("negotiation failed", "type", msg.Type, "err", err)
			return CodeNegotiationFailed, "The session description could not be applied."
		}
	case msgCandidate:
		t := sfu.Target(msg.Target)
		if !t.Valid() || msg.Candidate == nil {
			return CodeBadMessage, `candidate needs target "pub" or "sub" and a candidate object.`
		}
		m := s.room.mediaFor(s)
		if m == nil {
			return CodeNotLive, "The call has not started yet."
		}
		if err := m.AddCandidate(t, *msg.Candidate); err != nil {
			return CodeNegotiationFailed, "The ICE candidate could not be added."
		}
	default:
		return CodeUnknownType, "Unknown message type."
	}
	return "", ""
}

// join admits the participant or refuses them and closes.
func (s *session) join(ctx context.Context, msg inbound) {
	m := s.srv.m
	if msg.Version != 0 && msg.Version != ProtocolVersion {
		m.Admissions.WithLabelValues(CodeVersionUnsupported).Inc()
		s.fail(CodeVersionUnsupported, "This server speaks protocol version 1.")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	claims, aerr := s.srv.verify(msg.Token)
	if aerr == nil && claims.Role == RoleMonitor {
		s.joinMonitor(ctx, claims)
		return
	}
	var b booking.Booking
	var p booking.Participant
	if aerr == nil {
		b, p, aerr = s.srv.admit(ctx, claims)
	}
	if aerr != nil {
		m.Admissions.WithLabelValues(aerr.Code).Inc()
		s.log.Info("join refused", "code", aerr.Code, "booking", b.ID, "err", aerr.Err)
		s.fail(aerr.Code, aerr.Message)
		return
	}
	r, err := s.srv.roomFor(b)
	if err != nil {
		m.Admissions.WithLabelValues(CodeInternal).Inc()
		s.fail(CodeInternal, "The server is not taking calls now.")
		return
	}
	s.room = r
	s.participant = p
	s.log = r.log.With("participant", p.ID, "role", string(p.Role))
	if aerr := r.admit(s, msg.Resume); aerr != nil {
		s.room = nil
		m.Admissions.WithLabelValues(aerr.Code).Inc()
		s.log.Info("join refused", "code", aerr.Code)
		s.fail(aerr.Code, aerr.Message)
		return
	}
	m.Admissions.WithLabelValues("admitted").Inc()
}

func (s *session) peer() peerInfo {
	return peerInfo{ID: s.participant.ID, Name: s.participant.Name, Role: string(s.participant.Role)}
}

// writeLoop sends queued messages and keep-alive pings until told to close
// or the socket fails.
func (s *session) writeLoop() {
	defer s.conn.Close()
	ping := time.NewTicker(s.srv.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case b := <-s.out:
			if b == nil {
				_ = s.conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				return
			}
			_ = s.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := s.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				return
			}
		case <-ping.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		}
	}
}

// send queues v for the client. A client too slow to drain its queue is
// disconnected rather than allowed to hold memory.
func (s *session) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("marshal message", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	select {
	case s.out <- b:
	default:
		s.log.Warn("client too slow; disconnecting")
		s.closing = true
		_ = s.conn.Close()
	}
}

func (s *session) sendError(code, msg, ref string, fatal bool) {
	s.srv.m.SignallingErrors.WithLabelValues(code).Inc()
	s.send(errorMsg{Type: msgError, Code: code, Message: msg, Fatal: fatal, Ref: ref})
}

// queueClose asks the writer to close the socket after what is queued.
func (s *session) queueClose() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	s.closing = true
	select {
	case s.out <- nil:
	default:
		_ = s.conn.Close()
	}
}

func (s *session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// isFinal reports whether the session ended on purpose (fail or end).
func (s *session) isFinal() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final
}

func (s *session) setFinal() {
	s.mu.Lock()
	s.final = true
	s.mu.Unlock()
}

// fail sends a fatal error and closes. No place is held for the session.
func (s *session) fail(code, msg string) {
	s.setFinal()
	s.sendError(code, msg, "", true)
	s.queueClose()
}

// end tells the client the call is over for it, and closes. No place is
// held for the session; the room closes its media.
func (s *session) end(reason string) {
	s.setFinal()
	s.send(endedMsg{Type: msgEnded, Reason: reason})
	s.queueClose()
}

// SendAnswer implements sfu.Signaller.
func (s *session) SendAnswer(sdp string) { s.send(sdpMsg{Type: msgAnswer, SDP: sdp}) }

// SendOffer implements sfu.Signaller.
func (s *session) SendOffer(sdp string) { s.send(sdpMsg{Type: msgOffer, SDP: sdp}) }

// SendCandidate implements sfu.Signaller.
func (s *session) SendCandidate(t sfu.Target, c webrtc.ICECandidateInit) {
	s.send(candidateMsg{Type: msgCandidate, Target: string(t), Candidate: c})
}

// Notify implements sfu.Signaller.
func (s *session) Notify(msg any) { s.send(msg) }
