package recording

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/at-wat/ebml-go"
)

// Cluster limits: a new cluster at every video key frame, and at the
// latest after maxClusterMs (block timecodes are 16-bit offsets from
// their cluster's) or maxClusterBytes. A crash loses at most the open
// cluster, which is kept in memory and written whole.
const (
	maxClusterMs    = 5000
	maxClusterBytes = 8 << 20
	opusSeekPreRoll = 80 * time.Millisecond // WebM's value for Opus
)

// Element ids written directly rather than through ebml.Marshal.
const (
	idCluster     = "\x1f\x43\xb6\x75"
	idSimpleBlock = 0xa3
)

// muxer writes a one-track WebM or Matroska file (see the package
// documentation for the layout).
type muxer struct {
	f       *os.File
	c       codec
	started bool
	size    int64 // bytes in the file

	segment  int64 // offset of the Segment element
	segData  int64 // offset of its first child, the SeekHead
	seekLen  int   // bytes reserved for the SeekHead (with its Void)
	infoAt   int64 // offset of Info
	infoLen  int
	tracksAt int64
	info     segmentInfo

	clu    bytes.Buffer // the open cluster's blocks
	cluMs  int64
	cluKey bool
	open   bool
	cues   []cuePoint

	blk     ebml.Block
	blkData [1][]byte
	scratch [16]byte
}

func newMuxer(f *os.File, c codec) *muxer {
	return &muxer{f: f, c: c}
}

// headerDoc is what start writes: the EBML header and the Segment's
// first children, the Segment's size left unknown until finish.
type headerDoc struct {
	EBML    ebmlHeader    `ebml:"EBML"`
	Segment headerSegment `ebml:"Segment,size=unknown"`
}

type headerSegment struct {
	SeekHead seekHead    `ebml:"SeekHead"`
	Void     []byte      `ebml:"Void"` // room for the Cues entry
	Info     segmentInfo `ebml:"Info"`
	Tracks   tracks      `ebml:"Tracks"`
}

// start writes the file header for a track described by info, whose time
// 0 is the wall time date.
func (m *muxer) start(info trackInfo, date time.Time) error {
	entry := trackEntry{
		TrackNumber:  1,
		TrackUID:     rand.Uint64() | 1,
		CodecID:      m.c.codecID,
		CodecPrivate: info.private,
	}
	if m.c.kind == KindVideo {
		entry.TrackType = trackTypeVideo
		entry.Video = &trackVideo{PixelWidth: uint64(info.width), PixelHeight: uint64(info.height)}
	} else {
		entry.TrackType = trackTypeAudio
		entry.Audio = &trackAudio{SamplingFrequency: 48000, Channels: uint64(max(info.channels, 1))}
		entry.SeekPreRoll = uint64(opusSeekPreRoll.Nanoseconds())
	}
	m.info = segmentInfo{
		TimecodeScale: uint64(time.Millisecond.Nanoseconds()),
		MuxingApp:     "gatehouse",
		WritingApp:    "gatehouse recording",
		DateUTC:       date.UTC(),
	}
	short, full, err := seekHeadSizes()
	if err != nil {
		return err
	}
	doc := headerDoc{
		EBML: ebmlHeader{
			EBMLVersion: 1, EBMLReadVersion: 1, EBMLMaxIDLength: 4, EBMLMaxSizeLength: 8,
			DocType: m.c.docType, DocTypeVersion: 4, DocTypeReadVersion: 2,
		},
		Segment: headerSegment{
			SeekHead: seekHead{Seek: []seekEntry{
				{SeekID: ebml.ElementInfo.Bytes()},
				{SeekID: ebml.ElementTracks.Bytes()},
			}},
			Void:   make([]byte, full-short-2), // a Void of 1-byte id and size
			Info:   m.info,
			Tracks: tracks{TrackEntry: []trackEntry{entry}},
		},
	}
	// Lay out once to learn the offsets, then write with the SeekHead
	// pointing at them (its positions have a fixed size).
	pos := map[string]int64{}
	hook := func(e *ebml.Element) {
		if e.Name == "Segment" || (e.Parent != nil && e.Parent.Name == "Segment") {
			pos[e.Name] = int64(e.Position)
		}
	}
	var buf bytes.Buffer
	if err := ebml.Marshal(&doc, &buf, ebml.WithElementWriteHooks(hook)); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	m.segment, m.segData = pos["Segment"], pos["SeekHead"]
	m.infoAt, m.tracksAt = pos["Info"], pos["Tracks"]
	m.infoLen = int(m.tracksAt - m.infoAt)
	m.seekLen = full
	doc.Segment.SeekHead.Seek[0].SeekPosition = uint64(m.infoAt - m.segData)
	doc.Segment.SeekHead.Seek[1].SeekPosition = uint64(m.tracksAt - m.segData)
	buf.Reset()
	if err := ebml.Marshal(&doc, &buf); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if err := m.append(buf.Bytes()); err != nil {
		return err
	}
	m.started = true
	return nil
}

// seekHeadSizes returns the encoded length of a SeekHead of two entries
// and of three.
func seekHeadSizes() (short, full int, err error) {
	size := func(n int) (int, error) {
		var buf bytes.Buffer
		h := struct {
			SeekHead seekHead `ebml:"SeekHead"`
		}{seekHead{Seek: make([]seekEntry, n)}}
		for i := range h.SeekHead.Seek {
			h.SeekHead.Seek[i].SeekID = ebml.ElementCues.Bytes()
		}
		err := ebml.Marshal(&h, &buf)
		return buf.Len(), err
	}
	if short, err = size(2); err == nil {
		full, err = size(3)
	}
	return short, full, err
}

// write adds one frame at ms milliseconds from the file's time 0;
// timestamps never decrease.
func (m *muxer) write(ms int64, key bool, data []byte) error {
	if m.open && (ms-m.cluMs >= maxClusterMs || m.clu.Len() >= maxClusterBytes || (key && m.c.kind == KindVideo)) {
		if err := m.flushCluster(); err != nil {
			return err
		}
	}
	if !m.open {
		m.open, m.cluMs, m.cluKey = true, ms, key
		m.clu.Reset()
	}
	// SimpleBlock: id, size, then the block (track number, 16-bit
	// timecode relative to the cluster, flags, data) as ebml-go encodes it.
	m.clu.WriteByte(idSimpleBlock)
	m.clu.Write(vint(m.scratch[:0], uint64(4+len(data))))
	m.blkData[0] = data
	m.blk = ebml.Block{TrackNumber: 1, Timecode: int16(ms - m.cluMs), Keyframe: key, Data: m.blkData[:]}
	err := ebml.MarshalBlock(&m.blk, &m.clu)
	m.blkData[0] = nil
	return err
}

// flushCluster writes the open cluster with its size and notes a cue
// point for it when it starts with a key frame.
func (m *muxer) flushCluster() error {
	if !m.open {
		return nil
	}
	m.open = false
	var tc bytes.Buffer
	if err := ebml.Marshal(&struct {
		Timecode uint64 `ebml:"Timecode"`
	}{uint64(m.cluMs)}, &tc); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	at := m.size
	hdr := append(append(m.scratch[:0], idCluster...), vint8(uint64(tc.Len()+m.clu.Len()))...)
	hdr = append(hdr, tc.Bytes()...)
	if err := m.append(hdr); err != nil {
		return err
	}
	if err := m.append(m.clu.Bytes()); err != nil {
		return err
	}
	if m.cluKey {
		m.cues = append(m.cues, cuePoint{
			CueTime:           uint64(m.cluMs),
			CueTrackPositions: cueTrackPositions{CueTrack: 1, CueClusterPosition: uint64(at - m.segData)},
		})
	}
	return nil
}

func (m *muxer) append(b []byte) error {
	n, err := m.f.Write(b)
	m.size += int64(n)
	if err != nil {
		return fmt.Errorf("write %s: %w", m.f.Name(), err)
	}
	return nil
}

// finish writes the open cluster and the Cues, then the final Duration
// (milliseconds), SeekHead and Segment size over the reserved bytes, and
// syncs the file. It does not close it.
func (m *muxer) finish(durationMs float64) error {
	if !m.started {
		return nil
	}
	if err := m.flushCluster(); err != nil {
		return err
	}
	if len(m.cues) > 0 {
		cuesAt := m.size
		var buf bytes.Buffer
		if err := ebml.Marshal(&struct {
			Cues struct {
				CuePoint []cuePoint `ebml:"CuePoint"`
			} `ebml:"Cues"`
		}{struct {
			CuePoint []cuePoint `ebml:"CuePoint"`
		}{m.cues}}, &buf); err != nil {
			return fmt.Errorf("cues: %w", err)
		}
		if err := m.append(buf.Bytes()); err != nil {
			return err
		}
		head := struct {
			SeekHead seekHead `ebml:"SeekHead"`
		}{seekHead{Seek: []seekEntry{
			{SeekID: ebml.ElementInfo.Bytes(), SeekPosition: uint64(m.infoAt - m.segData)},
			{SeekID: ebml.ElementTracks.Bytes(), SeekPosition: uint64(m.tracksAt - m.segData)},
			{SeekID: ebml.ElementCues.Bytes(), SeekPosition: uint64(cuesAt - m.segData)},
		}}}
		if err := m.rewrite(&head, m.segData, m.seekLen); err != nil {
			return err
		}
	}
	m.info.Duration = durationMs
	info := struct {
		Info segmentInfo `ebml:"Info"`
	}{m.info}
	if err := m.rewrite(&info, m.infoAt, m.infoLen); err != nil {
		return err
	}
	if _, err := m.f.WriteAt(vint8(uint64(m.size-m.segData)), m.segment+int64(len(ebml.ElementSegment.Bytes()))); err != nil {
		return fmt.Errorf("segment size %s: %w", m.f.Name(), err)
	}
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", m.f.Name(), err)
	}
	return nil
}

// rewrite encodes v and writes it at off over exactly n reserved bytes.
func (m *muxer) rewrite(v any, off int64, n int) error {
	var buf bytes.Buffer
	if err := ebml.Marshal(v, &buf); err != nil {
		return fmt.Errorf("rewrite: %w", err)
	}
	if buf.Len() != n {
		return fmt.Errorf("rewrite %s: %d bytes for %d reserved", m.f.Name(), buf.Len(), n)
	}
	if _, err := m.f.WriteAt(buf.Bytes(), off); err != nil {
		return fmt.Errorf("rewrite %s: %w", m.f.Name(), err)
	}
	return nil
}

// vint appends v as an EBML variable-size integer in its shortest form
// (all value bits set is reserved for "unknown").
func vint(dst []byte, v uint64) []byte {
	n := 1
	for n < 8 && v >= 1<<(7*n)-1 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		b := byte(v >> (8 * i))
		if i == n-1 {
			b |= 0x80 >> (n - 1)
		}
		dst = append(dst, b)
	}
	return dst
}

// vint8 returns v as an 8-byte EBML variable-size integer, the width the
// header reserves for sizes written later.
func vint8(v uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i > 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	b[0] = 0x01
	return b
}
