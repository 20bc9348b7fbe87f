// Package client is a Go client of the Gatehouse signalling protocol
// (PROTOCOL.md) with real Pion peer connections. Tests use it to hold calls
// against a running server, and the loadtest tool builds on it.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtp"
	"github.com/pion/transport/v4"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
)

// ErrClosed is returned by calls on a closed client.
var ErrClosed = errors.New("client: closed")

// ErrDisconnected is returned by sends while the client has no signalling
// socket (it is reconnecting).
var ErrDisconnected = errors.New("client: not connected")

// Events the client adds to the server's messages on Events() when
// Options.Reconnect is set (see reconnect.go).
const (
	// EventReconnecting: the signalling socket or the media path was lost;
	// the client is redialling. Reason says which ("socket", "media").
	EventReconnecting = "reconnecting"
	// EventReconnected: the client is back in the call. The message is the
	// new welcome; Resumed says whether the media session was kept (ICE
	// restarted) rather than started afresh.
	EventReconnected = "reconnected"
	// EventReconnectFailed: the client gave up (Reason says why); Done is
	// closed after it.
	EventReconnectFailed = "reconnectFailed"
)

// RefusedError is the server's fatal error message in answer to a join.
type RefusedError struct {
	Code    string
	Message string
}

func (e *RefusedError) Error() string { return "join refused: " + e.Code + ": " + e.Message }

// Peer is another participant as the server describes them.
type Peer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// Call describes the booked call in a welcome.
type Call struct {
	BookingID int64     `json:"bookingId"`
	Reference string    `json:"reference"`
	CallType  string    `json:"callType"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	State     string    `json:"state"`
	Recorded  bool      `json:"recorded"`
}

// Message is any server message; which fields are set depends on Type.
type Message struct {
	Type          string                   `json:"type"`
	Version       int                      `json:"version"`
	Participant   Peer                     `json:"participant"`
	Participants  []Peer                   `json:"participants"`
	Call          Call                     `json:"call"`
	ICEServers    []webrtc.ICEServer       `json:"iceServers"`
	State         string                   `json:"state"`
	ParticipantID string                   `json:"participantId"`
	SDP           string                   `json:"sdp"`
	Target        string                   `json:"target"`
	Candidate     *webrtc.ICECandidateInit `json:"candidate"`
	MinutesLeft   int                      `json:"minutesLeft"`
	Reason        string                   `json:"reason"`
	Code          string                   `json:"code"`
	Message       string                   `json:"message"`
	Fatal         bool                     `json:"fatal"`
	Ref           string                   `json:"ref"`
	TrackID       string                   `json:"trackId"`
	Active        []string                 `json:"active"`
	// Resumed is set in a welcome (and EventReconnected) when the server
	// kept the participant's media session from an earlier connection.
	Resumed bool `json:"resumed"`
	// VideoPaused and Muted are a moderation message's staff measures.
	VideoPaused bool `json:"videoPaused"`
	Muted       bool `json:"muted"`
	// Monitor is set in a hidden monitor's welcome.
	Monitor *struct {
		VideoOnly bool `json:"videoOnly"`
	} `json:"monitor"`
}

// Options configure a client.
type Options struct {
	// URL is the signalling endpoint, for example ws://127.0.0.1:8080/ws.
	URL string
	// Token is the join token from the participant's join link.
	Token string
	// LoopbackOnly gathers only loopback candidates (tests).
	LoopbackOnly bool
	// Log receives debug output; nil discards it.
	Log *slog.Logger
	// Net replaces the operating system's network for the peer connections
	// (pion's vnet, in tests of bad networks). The WebSocket is unaffected.
	Net transport.Net
	// RelayOnly makes the peer connections use TURN relay candidates only.
	RelayOnly bool
	// OnRTP, if set, sees every RTP packet received on the subscriber
	// connection, with the publishing participant's id and the arrival
	// time. It runs on the track's reader goroutine and must not keep pkt.
	OnRTP func(participantID string, kind webrtc.RTPCodecType, pkt *rtp.Packet, at time.Time)
	// Reconnect makes the client survive a lost network (PROTOCOL.md,
	// Reconnection): when the socket drops it redials and resumes its media
	// session with ICE restarts, and when a peer connection fails with the
	// socket up it restarts ICE. See reconnect.go.
	Reconnect bool
	// ReconnectTimeout bounds one recovery: the client gives up when it is
	// not back in the call this long after the loss (default 20 s, the
	// server's grace).
	ReconnectTimeout time.Duration
	// NetDial, if set, opens the WebSocket's TCP connections (tests cut
	// the signalling path with it). Nil: the operating system's dialer.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client is one participant connected to a call.
type Client struct {
	opts   Options
	api    *webrtc.API // the subscriber connection's
	pubAPI *webrtc.API // the publisher connection's: what Go clients send, no RTX
	log    *slog.Logger

	// ctx ends when Close is called; it bounds redials.
	ctx    context.Context
	cancel context.CancelFunc

	wmu  sync.Mutex      // serialises socket writes; guards conn
	conn *websocket.Conn // the current socket; nil while reconnecting

	negMu sync.Mutex // serialises publisher offers and answers after Publish

	mu       sync.Mutex
	welcome  Message
	pub      *webrtc.PeerConnection
	sub      *webrtc.PeerConnection
	pending  map[string][]webrtc.ICECandidateInit // remote candidates waiting for their description
	holding  map[string]bool                      // local candidates of target wait for its SDP to be sent
	held     map[string][]webrtc.ICECandidateInit
	received map[string]*Counts
	live     chan struct{}
	isLive   bool

	final        atomic.Bool  // the server ended the session, we left, or gave up: no reconnect
	closing      atomic.Bool  // Close was called
	reconnecting atomic.Bool  // between losing the socket and resuming
	lastRecv     atomic.Int64 // unix nanoseconds of the last server message
	subRTCPAt    atomic.Int64 // unix nanoseconds of the last RTCP on the subscriber connection
	subReaders   atomic.Int32 // received tracks whose RTCP is being read
	subUpAt      atomic.Int64 // unix nanoseconds the subscriber connection last became connected
	pcChanged    chan struct{}

	events    chan Message
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Counts are RTP packets received from one participant.
type Counts struct {
	Audio, Video uint64
}

// Dial connects, joins and waits for the welcome. A refusal is returned as
// a *RefusedError.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.ReconnectTimeout <= 0 {
		opts.ReconnectTimeout = defaultReconnectTimeout
	}
	api, err := newAPI(opts, rtcconf.NewMediaEngine)
	if err != nil {
		return nil, err
	}
	pubAPI, err := newAPI(opts, rtcconf.NewSendMediaEngine)
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:      opts,
		api:       api,
		pubAPI:    pubAPI,
		log:       opts.Log,
		pending:   make(map[string][]webrtc.ICECandidateInit),
		holding:   make(map[string]bool),
		held:      make(map[string][]webrtc.ICECandidateInit),
		received:  make(map[string]*Counts),
		live:      make(chan struct{}),
		pcChanged: make(chan struct{}, 1),
		events:    make(chan Message, 1024),
		done:      make(chan struct{}),
	}
	conn, first, err := c.dialJoin(ctx, false)
	if err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.conn = conn
	c.welcome = first
	c.lastRecv.Store(time.Now().UnixNano())
	if first.Call.State == "live" {
		c.setLive()
	}
	go c.run(conn) // exits when the session is over; Close waits on done
	if opts.Reconnect {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.watch() }()
	}
	return c, nil
}

// dialJoin opens a socket, sends join (asking to resume with resume) and
// reads the welcome. A refusal is returned as a *RefusedError.
func (c *Client) dialJoin(ctx context.Context, resume bool) (*websocket.Conn, Message, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, NetDialContext: c.opts.NetDial}
	conn, _, err := d.DialContext(ctx, c.opts.URL, nil)
	if err != nil {
		return nil, Message{}, fmt.Errorf("dial %s: %w", c.opts.URL, err)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(10 * time.Second)
	}
	_ = conn.SetWriteDeadline(dl)
	join := map[string]any{"type": "join", "version": 1, "token": c.opts.Token}
	if resume {
		join["resume"] = true
	}
	if err := conn.WriteJSON(join); err != nil {
		_ = conn.Close()
		return nil, Message{}, fmt.Errorf("send join: %w", err)
	}
	_ = conn.SetReadDeadline(dl)
	var first Message
	if err := conn.ReadJSON(&first); err != nil {
		_ = conn.Close()
		return nil, Message{}, fmt.Errorf("read welcome: %w", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	_ = conn.SetWriteDeadline(time.Time{})
	if first.Type == "error" {
		_ = conn.Close()
		return nil, first, &RefusedError{Code: first.Code, Message: first.Message}
	}
	if first.Type != "welcome" {
		_ = conn.Close()
		return nil, first, fmt.Errorf("expected welcome, got %q", first.Type)
	}
	return conn, first, nil
}

// newAPI returns an API whose connections use newEngine's codecs.
func newAPI(opts Options, newEngine func() (*webrtc.MediaEngine, error)) (*webrtc.API, error) {
	me, err := newEngine()
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("interceptors: %w", err)
	}
	// Number sent packets for transport-wide feedback, as browsers do, so
	// that the media server does for this client what it does for them.
	tcc, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, fmt.Errorf("interceptors: %w", err)
	}
	ir.Add(tcc)
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if opts.LoopbackOnly {
		rtcconf.RestrictToLoopback(&se)
	}
	if opts.Net != nil {
		se.SetNet(opts.Net)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// Welcome returns the server's latest welcome message (a reconnection
// brings a new one).
func (c *Client) Welcome() Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome
}

// Events delivers every server message other than negotiation (offer,
// answer, candidate) and pong, and the client's own reconnection events
// (EventReconnecting and the others). Messages beyond its buffer are
// dropped.
func (c *Client) Events() <-chan Message { return c.events }

// Next waits for the next event of type typ, discarding others.
func (c *Client) Next(ctx context.Context, typ string) (Message, error) {
	for {
		select {
		case m := <-c.events:
			if m.Type == typ {
				return m, nil
			}
		case <-ctx.Done():
			return Message{}, fmt.Errorf("waiting for %s: %w", typ, ctx.Err())
		}
	}
}

// WaitLive waits until the call is live.
func (c *Client) WaitLive(ctx context.Context) error {
	select {
	case <-c.live:
		return nil
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("waiting for live: %w", ctx.Err())
	}
}

// Received returns the RTP packets received so far from participant pid.
func (c *Client) Received(pid string) Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.received[pid]; n != nil {
		return *n
	}
	return Counts{}
}

// SendRaw writes a raw text frame, for tests of bad input. It returns
// ErrDisconnected while the client is reconnecting.
func (c *Client) SendRaw(data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.conn == nil {
		return ErrDisconnected
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.conn.WriteMessage(websocket.TextMessage, data)
}

func (c *Client) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	return c.SendRaw(b)
}

// Leave hangs up politely. The client does not reconnect after it.
func (c *Client) Leave() error {
	c.final.Store(true)
	return c.send(map[string]string{"type": "leave"})
}

// Done is closed when the session with the server has ended: the call
// ended, the client left or was refused, or (with Options.Reconnect) it
// gave up reconnecting. Without Reconnect, a lost socket ends it too.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close closes the socket and both peer connections and waits for the
// client's goroutines.
func (c *Client) Close() {
	c.closing.Store(true)
	c.cancel() // stops a redial in progress
	c.wmu.Lock()
	conn := c.conn
	c.wmu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
	<-c.done // the reader has stopped: no connection is created after this
	c.closePeers()
	c.wg.Wait()
}

func (c *Client) closePeers() {
	c.mu.Lock()
	pub, sub := c.pub, c.sub
	c.mu.Unlock()
	for _, pc := range []*webrtc.PeerConnection{pub, sub} {
		if pc != nil {
			_ = pc.Close()
		}
	}
}

func (c *Client) setLive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isLive {
		c.isLive = true
		close(c.live)
	}
}
