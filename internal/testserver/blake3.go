package testserver

// BLAKE3-256, the hash of incremental snapshot manifests (hex, as in their hash field). A small, unkeyed,
// single-threaded implementation of the published algorithm: 1 KiB chunks of 64-byte blocks,
// a BLAKE2s-style compression function with 7 rounds, and a binary tree of parent nodes.
import (
	"encoding/binary"
	"math/bits"
)

const (
	b3ChunkLen   = 1024
	b3BlockLen   = 64
	b3ChunkStart = 1 << 0
	b3ChunkEnd   = 1 << 1
	b3Parent     = 1 << 2
	b3Root       = 1 << 3
)

var b3IV = [8]uint32{0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19}

var b3Perm = [16]int{2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8}

func b3G(s *[16]uint32, a, b, c, d int, mx, my uint32) {
	s[a] += s[b] + mx
	s[d] = bits.RotateLeft32(s[d]^s[a], -16)
	s[c] += s[d]
	s[b] = bits.RotateLeft32(s[b]^s[c], -12)
	s[a] += s[b] + my
	s[d] = bits.RotateLeft32(s[d]^s[a], -8)
	s[c] += s[d]
	s[b] = bits.RotateLeft32(s[b]^s[c], -7)
}

func b3Compress(cv [8]uint32, m [16]uint32, counter uint64, blockLen, flags uint32) [16]uint32 {
	s := [16]uint32{cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
		b3IV[0], b3IV[1], b3IV[2], b3IV[3], uint32(counter), uint32(counter >> 32), blockLen, flags}
	for r := 0; r < 7; r++ {
		b3G(&s, 0, 4, 8, 12, m[0], m[1])
		b3G(&s, 1, 5, 9, 13, m[2], m[3])
		b3G(&s, 2, 6, 10, 14, m[4], m[5])
		b3G(&s, 3, 7, 11, 15, m[6], m[7])
		b3G(&s, 0, 5, 10, 15, m[8], m[9])
		b3G(&s, 1, 6, 11, 12, m[10], m[11])
		b3G(&s, 2, 7, 8, 13, m[12], m[13])
		b3G(&s, 3, 4, 9, 14, m[14], m[15])
		if r < 6 {
			var p [16]uint32
			for i := range p {
				p[i] = m[b3Perm[i]]
			}
			m = p
		}
	}
	for i := 0; i < 8; i++ {
		s[i] ^= s[i+8]
		s[i+8] ^= cv[i]
	}
	return s
}

func b3Words(b []byte) (m [16]uint32) {
	var buf [64]byte
	copy(buf[:], b)
	for i := range m {
		m[i] = binary.LittleEndian.Uint32(buf[4*i:])
	}
	return m
}

func first8(s [16]uint32) (cv [8]uint32) {
	copy(cv[:], s[:8])
	return cv
}

// b3Node is a pending compression: the root output or a chaining value.
type b3Node struct {
	cv       [8]uint32
	block    [16]uint32
	counter  uint64
	blockLen uint32
	flags    uint32
}

func (n b3Node) chainingValue() [8]uint32 {
	return first8(b3Compress(n.cv, n.block, n.counter, n.blockLen, n.flags))
}

// chunkNode processes one chunk (≤ 1024 bytes) up to its last block.
func chunkNode(chunk []byte, counter uint64) b3Node {
	cv := b3IV
	flags := uint32(b3ChunkStart)
	for len(chunk) > b3BlockLen {
		cv = first8(b3Compress(cv, b3Words(chunk[:b3BlockLen]), counter, b3BlockLen, flags))
		chunk = chunk[b3BlockLen:]
		flags = 0
	}
	return b3Node{cv: cv, block: b3Words(chunk), counter: counter, blockLen: uint32(len(chunk)), flags: flags | b3ChunkEnd}
}

func parentNode(l, r [8]uint32) b3Node {
	var m [16]uint32
	copy(m[:8], l[:])
	copy(m[8:], r[:])
	return b3Node{cv: b3IV, block: m, blockLen: b3BlockLen, flags: b3Parent}
}

// blake3Sum256 is the 32-byte BLAKE3 hash of data.
func blake3Sum256(data []byte) [32]byte {
	var stack [][8]uint32
	var counter uint64
	for len(data) > b3ChunkLen {
		cv := chunkNode(data[:b3ChunkLen], counter).chainingValue()
		data = data[b3ChunkLen:]
		counter++
		for total := counter; total&1 == 0; total >>= 1 {
			cv = parentNode(stack[len(stack)-1], cv).chainingValue()
			stack = stack[:len(stack)-1]
		}
		stack = append(stack, cv)
	}
	n := chunkNode(data, counter)
	for i := len(stack) - 1; i >= 0; i-- {
		n = parentNode(stack[i], n.chainingValue())
	}
	out := b3Compress(n.cv, n.block, 0, n.blockLen, n.flags|b3Root)
	var sum [32]byte
	for i := 0; i < 8; i++ {
		binary.LittleEndian.PutUint32(sum[4*i:], out[i])
	}
	return sum
}
