package client

import (
	"fmt"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// ReceivedExtensionID returns the id that the subscriber connection
// negotiated for the RTP header extension uri on media of kind, or 0 when
// there is no subscriber connection yet or the extension was not
// negotiated. Packets given to Options.OnRTP carry their extensions under
// these ids.
func (c *Client) ReceivedExtensionID(kind webrtc.RTPCodecType, uri string) uint8 {
	c.mu.Lock()
	sub := c.sub
	c.mu.Unlock()
	if sub == nil {
		return 0
	}
	for _, tx := range sub.GetTransceivers() {
		if tx.Kind() != kind || tx.Receiver() == nil {
			continue
		}
		for _, e := range tx.Receiver().GetParameters().HeaderExtensions {
			if e.URI == uri && e.ID > 0 && e.ID < 256 {
				return uint8(e.ID)
			}
		}
	}
	return 0
}

// RequestKeyframe sends a picture loss indication for the received stream
// ssrc on the subscriber connection, as a browser does when its decoder
// cannot go on. It returns ErrClosed when there is no subscriber connection.
func (c *Client) RequestKeyframe(ssrc uint32) error {
	c.mu.Lock()
	sub := c.sub
	c.mu.Unlock()
	if sub == nil {
		return ErrClosed
	}
	if err := sub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		return fmt.Errorf("send PLI: %w", err)
	}
	return nil
}
