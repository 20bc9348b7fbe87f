package recording

// bitReader reads big-endian bit fields and the Exp-Golomb codes of H.264
// (ITU-T H.264 section 9.1). Reading past the end yields zeros and sets
// short.
type bitReader struct {
	b     []byte
	pos   int // in bits
	short bool
}

// u reads an n-bit unsigned field, n <= 32.
func (r *bitReader) u(n int) uint32 {
	var v uint32
	for range n {
		i := r.pos >> 3
		if i >= len(r.b) {
			r.short = true
			return 0
		}
		v = v<<1 | uint32(r.b[i]>>(7-r.pos&7))&1
		r.pos++
	}
	return v
}

// ue reads an unsigned Exp-Golomb code.
func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.u(1) == 0 {
		if r.short || zeros == 31 {
			r.short = true
			return 0
		}
		zeros++
	}
	return (1<<zeros - 1) + r.u(zeros)
}

// se reads a signed Exp-Golomb code.
func (r *bitReader) se() int32 {
	k := r.ue()
	if k&1 == 1 {
		return int32((k + 1) / 2)
	}
	return -int32(k / 2)
}
