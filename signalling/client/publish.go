package client

import (
	"context"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Frame pacing of the synthetic media.
const (
	audioFrame = 20 * time.Millisecond
	videoFrame = time.Second / 30
)

// opusSilence is one 20 ms Opus frame of silence (RFC 6716 TOC byte for
// CELT fullband, 20 ms, mono, followed by an empty frame).
const opusSilence = "\xf8\xff\xfe"

// Publish waits for the call to go live, then offers a publisher connection
// carrying one Opus and one VP8 track and sends synthetic frames on them
// until the client closes: enough for the SFU to forward and for receivers
// to count packets.
func (c *Client) Publish(ctx context.Context) error {
	if err := c.WaitLive(ctx); err != nil {
		return err
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "self")
	if err != nil {
		return fmt.Errorf("audio track: %w", err)
	}
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "self")
	if err != nil {
		return fmt.Errorf("video track: %w", err)
	}
	pub, err := c.newPC("pub")
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.pub = pub
	c.mu.Unlock()
	for _, t := range []webrtc.TrackLocal{audio, video} {
		if _, err := pub.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			return fmt.Errorf("add track: %w", err)
		}
	}
	offer, err := pub.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	if err := pub.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	if err := c.send(map[string]string{"type": "offer", "sdp": offer.SDP}); err != nil {
		return err
	}
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.pump(audio, video) }()
	return nil
}

// pump writes paced synthetic frames until the client is done.
func (c *Client) pump(audio, video *webrtc.TrackLocalStaticSample) {
	at := time.NewTicker(audioFrame)
	defer at.Stop()
	vt := time.NewTicker(videoFrame)
	defer vt.Stop()
	frame := make([]byte, 1200)
	var n byte
	for {
		select {
		case <-c.done:
			return
		case <-at.C:
			_ = audio.WriteSample(media.Sample{Data: []byte(opusSilence), Duration: audioFrame})
		case <-vt.C:
			n++
			frame[0] = n // vary the payload so frames differ
			_ = video.WriteSample(media.Sample{Data: frame, Duration: videoFrame})
		}
	}
}
