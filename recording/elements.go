package recording

import "time"

// EBML element structures for github.com/at-wat/ebml-go, which encodes and
// decodes them by their tags (Matroska element names). Fixed sizes
// (size=8, float64, dates) keep an element's length the same when Close
// writes it again with final values.

type ebmlHeader struct {
	EBMLVersion        uint64 `ebml:"EBMLVersion"`
	EBMLReadVersion    uint64 `ebml:"EBMLReadVersion"`
	EBMLMaxIDLength    uint64 `ebml:"EBMLMaxIDLength"`
	EBMLMaxSizeLength  uint64 `ebml:"EBMLMaxSizeLength"`
	DocType            string `ebml:"EBMLDocType"`
	DocTypeVersion     uint64 `ebml:"EBMLDocTypeVersion"`
	DocTypeReadVersion uint64 `ebml:"EBMLDocTypeReadVersion"`
}

type seekEntry struct {
	SeekID       []byte `ebml:"SeekID"`
	SeekPosition uint64 `ebml:"SeekPosition,size=8"`
}

type seekHead struct {
	Seek []seekEntry `ebml:"Seek"`
}

type segmentInfo struct {
	TimecodeScale uint64    `ebml:"TimecodeScale"`
	MuxingApp     string    `ebml:"MuxingApp"`
	WritingApp    string    `ebml:"WritingApp"`
	Duration      float64   `ebml:"Duration"`
	DateUTC       time.Time `ebml:"DateUTC"`
}

type trackVideo struct {
	PixelWidth  uint64 `ebml:"PixelWidth"`
	PixelHeight uint64 `ebml:"PixelHeight"`
}

type trackAudio struct {
	SamplingFrequency float64 `ebml:"SamplingFrequency"`
	Channels          uint64  `ebml:"Channels"`
}

type trackEntry struct {
	TrackNumber  uint64      `ebml:"TrackNumber"`
	TrackUID     uint64      `ebml:"TrackUID"`
	TrackType    uint64      `ebml:"TrackType"`
	FlagLacing   uint64      `ebml:"FlagLacing"`
	CodecID      string      `ebml:"CodecID"`
	CodecPrivate []byte      `ebml:"CodecPrivate,omitempty"`
	SeekPreRoll  uint64      `ebml:"SeekPreRoll,omitempty"`
	Video        *trackVideo `ebml:"Video"`
	Audio        *trackAudio `ebml:"Audio"`
}

type tracks struct {
	TrackEntry []trackEntry `ebml:"TrackEntry"`
}

type cueTrackPositions struct {
	CueTrack           uint64 `ebml:"CueTrack"`
	CueClusterPosition uint64 `ebml:"CueClusterPosition"`
}

type cuePoint struct {
	CueTime           uint64            `ebml:"CueTime"`
	CueTrackPositions cueTrackPositions `ebml:"CueTrackPositions"`
}

// Matroska track types.
const (
	trackTypeVideo = 1
	trackTypeAudio = 2
)
