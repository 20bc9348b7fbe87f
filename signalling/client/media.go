package client

import (
	"errors"
	"time"
)

// Errors of media publishing.
var (
	// ErrAlreadyPublishing is returned when the client already has a
	// publisher connection (from Publish or PublishMedia).
	ErrAlreadyPublishing = errors.New("client: already publishing")
	// ErrNoMedia is returned when PublishOptions hold nothing to send.
	ErrNoMedia = errors.New("client: nothing to publish")
	// ErrBadMedia is returned for media the publisher cannot send: a video
	// layer without a key frame, or without a rid when simulcasting.
	ErrBadMedia = errors.New("client: unusable media")
)

// Simulcast rids, lowest first, as PROTOCOL.md names them.
const (
	RIDQuarter = "q"
	RIDHalf    = "h"
	RIDFull    = "f"
)

// Frame durations the publisher uses when PublishOptions leave them zero.
const (
	DefaultVideoFrame = time.Second / 30
	DefaultAudioFrame = 20 * time.Millisecond
)

// VideoFrame is one encoded VP8 frame.
type VideoFrame struct {
	Data     []byte
	Keyframe bool
}

// VideoLayer is one simulcast encoding: the frames of a clip at one size,
// sent in a loop.
type VideoLayer struct {
	// RID is the layer's RTP stream id: RIDQuarter, RIDHalf or RIDFull.
	RID           string
	Width, Height int
	Frames        []VideoFrame
}

// AudioFrame is one encoded Opus frame with its RFC 6464 level (dBov below
// the overload point, 0 loudest to 127 silence).
type AudioFrame struct {
	Data  []byte
	Level uint8
}

// PublishOptions describe what PublishMedia sends. The frame slices are
// only read, so one clip can be shared by any number of publishers.
type PublishOptions struct {
	// Layers are the video encodings, lowest first. With Simulcast all are
	// sent, each as an RTP stream with its rid; without it only the last
	// (largest) is sent, as a plain track. Empty: no video.
	Layers []VideoLayer
	// Simulcast sends every layer of Layers with its rid.
	Simulcast bool
	// Audio is the Opus clip, looped. Empty: no audio.
	Audio []AudioFrame
	// VideoFrame and AudioFrame are the frame durations; zero means
	// DefaultVideoFrame and DefaultAudioFrame.
	VideoFrame, AudioFrame time.Duration
	// StreamID is the media stream id of the tracks; empty means "self".
	StreamID string
}

// LayerStats count what a publisher sent on one video layer (RID "" for
// a plain track) or on audio (RID "audio").
type LayerStats struct {
	RID      string `json:"rid"`
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
	Frames   uint64 `json:"frames"`
	Paused   bool   `json:"paused"`
	PLIs     uint64 `json:"plis"`     // picture loss indications and FIRs received
	Jumps    uint64 `json:"jumps"`    // key frames sent early because of them
	NACKed   uint64 `json:"nacked"`   // sequence numbers the server asked for again
	Skipped  uint64 `json:"skipped"`  // frame times missed because the pacer ran late
	Failures uint64 `json:"failures"` // packets the track refused
}
