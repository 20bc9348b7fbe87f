package recording

import "strings"

// codec is how one RTP codec is recorded: its container and Matroska codec
// id, and how its packets become frames.
type codec struct {
	name    string // short name in the manifest: opus, vp8, vp9, h264
	kind    string // "audio" or "video"
	codecID string // Matroska CodecID
	ext     string // file name extension
	docType string // EBML DocType
	clock   uint32 // RTP clock rate when the caller gives none
}

// Track kinds, as AddTrack takes them.
const (
	KindAudio = "audio"
	KindVideo = "video"
)

// codecFor maps a MIME type (as Pion names codecs, any case) to its codec.
func codecFor(mimeType string) (codec, bool) {
	switch strings.ToLower(mimeType) {
	case "audio/opus":
		return codec{name: "opus", kind: KindAudio, codecID: "A_OPUS", ext: ".webm", docType: "webm", clock: 48000}, true
	case "video/vp8":
		return codec{name: "vp8", kind: KindVideo, codecID: "V_VP8", ext: ".webm", docType: "webm", clock: 90000}, true
	case "video/vp9":
		return codec{name: "vp9", kind: KindVideo, codecID: "V_VP9", ext: ".webm", docType: "webm", clock: 90000}, true
	case "video/h264":
		return codec{name: "h264", kind: KindVideo, codecID: "V_MPEG4/ISO/AVC", ext: ".mkv", docType: "matroska", clock: 90000}, true
	}
	return codec{}, false
}

// newAssembler returns the frame assembler of c.
func (c codec) newAssembler() assembler {
	switch c.name {
	case "vp8":
		return newVideoAssembler(&vp8Unpacker{})
	case "vp9":
		return newVideoAssembler(&vp9Unpacker{})
	case "h264":
		return newVideoAssembler(&h264Unpacker{})
	}
	return &opusAssembler{}
}
