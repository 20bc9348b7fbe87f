// Package rtcconf holds the WebRTC settings that the media server and the Go
// client must agree on: the codecs with their feedback, and the RTP header
// extensions that are negotiated and forwarded.
package rtcconf
