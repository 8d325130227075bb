package testserver

import (
	"encoding/hex"
	"testing"
)

// TestBlake3 checks the hash against the published test vectors, across the chunk and block
// boundaries.
func TestBlake3(t *testing.T) {
	t.Parallel()
	// Inputs are bytes i%251 of the given length, as in the official test vectors; the hashes
	// were cross-checked against an independent implementation.
	tests := []struct {
		name string
		n    int
		want string
	}{
		{name: "empty", n: 0, want: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
		{name: "1 byte", n: 1, want: "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
		{name: "64 bytes", n: 64, want: "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98"},
		{name: "65 bytes", n: 65, want: "de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee"},
		{name: "1024 bytes", n: 1024, want: "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
		{name: "1025 bytes", n: 1025, want: "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
		{name: "2048 bytes", n: 2048, want: "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
		{name: "3073 bytes", n: 3073, want: "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
		{name: "8193 bytes", n: 8193, want: "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"},
		{name: "102400 bytes", n: 102400, want: "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := make([]byte, tt.n)
			for i := range in {
				in[i] = byte(i % 251)
			}
			sum := blake3Sum256(in)
			if got := hex.EncodeToString(sum[:]); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}
