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
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/transport/v4"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
)

// ErrClosed is returned by calls on a closed client.
var ErrClosed = errors.New("client: closed")

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
}

// Client is one participant connected to a call.
type Client struct {
	opts    Options
	conn    *websocket.Conn
	api     *webrtc.API
	log     *slog.Logger
	welcome Message

	wmu sync.Mutex // serialises socket writes

	mu       sync.Mutex
	pub      *webrtc.PeerConnection
	sub      *webrtc.PeerConnection
	pending  map[string][]webrtc.ICECandidateInit
	received map[string]*Counts
	live     chan struct{}
	isLive   bool

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
	api, err := newAPI(opts)
	if err != nil {
		return nil, err
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.DialContext(ctx, opts.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", opts.URL, err)
	}
	c := &Client{
		opts:     opts,
		conn:     conn,
		api:      api,
		log:      opts.Log,
		pending:  make(map[string][]webrtc.ICECandidateInit),
		received: make(map[string]*Counts),
		live:     make(chan struct{}),
		events:   make(chan Message, 1024),
		done:     make(chan struct{}),
	}
	if err := c.send(map[string]any{"type": "join", "version": 1, "token": opts.Token}); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(dl)
	}
	var first Message
	if err := conn.ReadJSON(&first); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("read welcome: %w", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	if first.Type == "error" {
		_ = conn.Close()
		return nil, &RefusedError{Code: first.Code, Message: first.Message}
	}
	if first.Type != "welcome" {
		_ = conn.Close()
		return nil, fmt.Errorf("expected welcome, got %q", first.Type)
	}
	c.welcome = first
	if first.Call.State == "live" {
		c.setLive()
	}
	go c.readLoop() // exits when the socket closes; Close waits on done
	return c, nil
}

func newAPI(opts Options) (*webrtc.API, error) {
	me, err := rtcconf.NewMediaEngine()
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("interceptors: %w", err)
	}
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

// Welcome returns the server's welcome message.
func (c *Client) Welcome() Message { return c.welcome }

// Events delivers every server message other than negotiation (offer,
// answer, candidate). Messages beyond its buffer are dropped.
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

// SendRaw writes a raw text frame, for tests of bad input.
func (c *Client) SendRaw(data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
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

// Leave hangs up politely.
func (c *Client) Leave() error { return c.send(map[string]string{"type": "leave"}) }

// Done is closed when the connection to the server has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close closes the socket and both peer connections and waits for the
// client's goroutines.
func (c *Client) Close() {
	_ = c.conn.Close()
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
