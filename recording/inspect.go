package recording

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/at-wat/ebml-go"
)

// FileInfo is what Inspect reads from a WebM/Matroska file.
type FileInfo struct {
	DocType      string // webm or matroska
	CodecID      string // Matroska codec id, e.g. V_VP8
	Codec        string // opus, vp8, vp9, h264, or "" for another
	CodecPrivate []byte
	Width        int // video
	Height       int
	Channels     int // audio
	SampleRate   float64

	Frames    int // blocks: video frames or audio packets
	Keyframes int
	Clusters  int
	CuePoints int
	Duration  time.Duration // the Info's Duration
	// First and Last are the first and last block timestamps.
	First, Last time.Duration

	// Problems lists what is wrong in the file's structure: a Segment
	// size left unknown or wrong, a SeekHead entry or cue point that
	// misses its element, timestamps that go back.
	Problems []string
}

// inspectDoc is what Inspect decodes. Cluster and SimpleBlock are single
// values, overwritten as the file is read, so a long file is read in
// constant memory; the hooks count them.
type inspectDoc struct {
	EBML struct {
		DocType string `ebml:"EBMLDocType"`
	} `ebml:"EBML"`
	Segment struct {
		SeekHead struct {
			Seek []struct {
				SeekID       []byte `ebml:"SeekID"`
				SeekPosition uint64 `ebml:"SeekPosition"`
			} `ebml:"Seek"`
		} `ebml:"SeekHead"`
		Info struct {
			TimecodeScale uint64  `ebml:"TimecodeScale"`
			Duration      float64 `ebml:"Duration"`
		} `ebml:"Info"`
		Tracks struct {
			TrackEntry []trackEntry `ebml:"TrackEntry"`
		} `ebml:"Tracks"`
		Cluster struct {
			Timecode    uint64     `ebml:"Timecode"`
			SimpleBlock ebml.Block `ebml:"SimpleBlock"`
		} `ebml:"Cluster"`
		Cues struct {
			CuePoint []cuePoint `ebml:"CuePoint"`
		} `ebml:"Cues"`
	} `ebml:"Segment"`
}

// Inspect reads a WebM/Matroska file of one track, as this package writes
// them: its codec, picture size, blocks, key frames, clusters, cues,
// duration and structural problems. Files that are not EBML, or hold no
// track, are ErrBadContainer.
func Inspect(path string) (FileInfo, error) {
	var fi FileInfo
	f, err := os.Open(path)
	if err != nil {
		return fi, fmt.Errorf("recording: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fi, fmt.Errorf("recording: %w", err)
	}

	var (
		doc       inspectDoc
		scale     = int64(time.Millisecond)
		clusterTC int64
		segData   = int64(-1)
		segSize   = uint64(ebml.SizeUnknown)
		level1    = map[int64]string{} // Segment children by offset
		last      = time.Duration(-1)
	)
	hook := func(e *ebml.Element) {
		if e.Parent != nil && e.Parent.Name == "Segment" {
			pos := int64(e.Position)
			level1[pos] = e.Name
			if segData < 0 || pos < segData {
				segData = pos
			}
		}
		switch e.Name {
		case "Segment":
			segSize = e.Size
		case "TimecodeScale", "TimestampScale":
			if v, ok := e.Value.(uint64); ok && v > 0 {
				scale = int64(v)
			}
		case "Cluster":
			fi.Clusters++
		case "Timecode", "Timestamp": // ebml-go names 0xE7 either way
			if v, ok := e.Value.(uint64); ok {
				clusterTC = int64(v)
			}
		case "SimpleBlock":
			b, ok := e.Value.(ebml.Block)
			if !ok {
				return
			}
			ts := time.Duration((clusterTC + int64(b.Timecode)) * scale)
			if fi.Frames == 0 {
				fi.First = ts
			}
			if ts < last {
				fi.Problems = append(fi.Problems, fmt.Sprintf("block %d at %v after %v", fi.Frames, ts, last))
			}
			last = ts
			fi.Last = ts
			fi.Frames++
			if b.Keyframe {
				fi.Keyframes++
			}
		}
	}
	if err := ebml.Unmarshal(bufio.NewReader(f), &doc, ebml.WithElementReadHooks(hook)); err != nil {
		return fi, fmt.Errorf("%w: %s: %w", ErrBadContainer, path, err)
	}
	seg := &doc.Segment
	if len(seg.Tracks.TrackEntry) == 0 {
		return fi, fmt.Errorf("%w: %s: no track", ErrBadContainer, path)
	}
	te := seg.Tracks.TrackEntry[0]
	fi.DocType = doc.EBML.DocType
	fi.CodecID = te.CodecID
	fi.CodecPrivate = te.CodecPrivate
	for _, mime := range []string{"audio/opus", "video/vp8", "video/vp9", "video/h264"} {
		if c, _ := codecFor(mime); c.codecID == te.CodecID {
			fi.Codec = c.name
		}
	}
	if te.Video != nil {
		fi.Width, fi.Height = int(te.Video.PixelWidth), int(te.Video.PixelHeight)
	}
	if te.Audio != nil {
		fi.Channels, fi.SampleRate = int(te.Audio.Channels), te.Audio.SamplingFrequency
	}
	fi.Duration = time.Duration(seg.Info.Duration * float64(scale))
	fi.CuePoints = len(seg.Cues.CuePoint)

	if segSize == ebml.SizeUnknown {
		fi.Problems = append(fi.Problems, "segment size unknown: not finalised")
	} else if segData+int64(segSize) != st.Size() {
		fi.Problems = append(fi.Problems, fmt.Sprintf("segment ends at %d, file at %d", segData+int64(segSize), st.Size()))
	}
	for _, s := range seg.SeekHead.Seek {
		name := level1[segData+int64(s.SeekPosition)]
		t, err := ebml.ElementTypeFromString(name)
		if err != nil || !bytes.Equal(t.Bytes(), s.SeekID) {
			fi.Problems = append(fi.Problems, fmt.Sprintf("seek entry %x at %d finds %q", s.SeekID, s.SeekPosition, name))
		}
	}
	for _, c := range seg.Cues.CuePoint {
		if name := level1[segData+int64(c.CueTrackPositions.CueClusterPosition)]; name != "Cluster" {
			fi.Problems = append(fi.Problems, fmt.Sprintf("cue at %d ms points at %q", c.CueTime, name))
		}
	}
	if fi.Frames > 0 && fi.Duration <= fi.Last {
		fi.Problems = append(fi.Problems, fmt.Sprintf("duration %v shorter than the blocks' %v", fi.Duration, fi.Last))
	}
	return fi, nil
}
