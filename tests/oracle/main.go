// Command oracle checks a Zhonglian ledger's C2SP tlog-tiles with an independent
// implementation: golang.org/x/mod/sumdb/tlog and sumdb/note.
//
// It opens the log's checkpoint with the log's Ed25519 verifier key, reads the tree
// through tiles only, checks the tree hash against the checkpoint's root, proves and
// checks records and (with -previous) the consistency of an earlier checkpoint, and
// checks that the entry bundles hash to the level-0 tiles. It prints "ok" and exits 0
// when everything holds, and exits 1 naming the first failure otherwise.
//
// Build offline with Debian's sources:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o oracle .
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is fixed by tlog-tiles: 256 hashes per tile.
const tileHeight = 8

// tiles reads tiles over HTTP. Go names a tile tile/<H>/<L>/<N>; tlog-tiles leaves
// the height out (it is always 8): tile/<L>/<N>.
type tiles struct {
	prefix string
	mu     sync.Mutex
	saved  map[string][]byte
}

func (t *tiles) Height() int { return tileHeight }

func (t *tiles) ReadTiles(list []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(list))
	for i, tile := range list {
		path := strings.TrimPrefix(tile.Path(), fmt.Sprintf("tile/%d/", tileHeight))
		data, err := get(t.prefix + "tile/" + path)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (t *tiles) SaveTiles(list []tlog.Tile, data [][]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, tile := range list {
		t.saved[tile.Path()] = data[i]
	}
}

func get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body, nil
}

// cosigner verifies C2SP tlog-cosignature v1 lines (signature type 0x04) through
// sumdb/note's Verifier interface: note.Open matches the line by name and key hash and
// passes the note text and the signature after the key hash.
type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (c cosigner) Name() string    { return c.name }
func (c cosigner) KeyHash() uint32 { return c.hash }

// Verify checks an 8-byte big-endian timestamp and an Ed25519 signature over
// "cosignature/v1\ntime <timestamp>\n" followed by the note text.
func (c cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(c.key, signed, sig[8:])
}

// parseCosigner reads a witness's vkey: name+hex key hash+base64(0x04 || key).
func parseCosigner(vkey string) (cosigner, error) {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	if len(parts) != 3 {
		return cosigner{}, fmt.Errorf("%q is not name+hash+key", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 0x04 {
		return cosigner{}, fmt.Errorf("%q is not a cosignature key (type 0x04)", vkey)
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	hash := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", hash) != parts[1] {
		return cosigner{}, fmt.Errorf("%q: the key hash does not match", vkey)
	}
	return cosigner{name: parts[0], hash: hash, key: ed25519.PublicKey(raw[1:])}, nil
}

// witnessList is the repeatable -witness flag.
type witnessList []string

func (w *witnessList) String() string     { return strings.Join(*w, ",") }
func (w *witnessList) Set(v string) error { *w = append(*w, v); return nil }

// witnesses are the cosigners every checkpoint must carry a valid signature of.
var witnesses witnessList

// checkpoint opens a signed checkpoint note and parses its body
// (origin, size, base64 root). Every -witness must have cosigned it.
func checkpoint(text []byte, verifier note.Verifier) (tlog.Tree, error) {
	list := []note.Verifier{verifier}
	for _, w := range witnesses {
		c, err := parseCosigner(w)
		if err != nil {
			return tlog.Tree{}, err
		}
		list = append(list, c)
	}
	n, err := note.Open(text, note.VerifierList(list...))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("opening the checkpoint: %w", err)
	}
	for _, w := range list[1:] {
		found := false
		for _, sig := range n.Sigs {
			found = found || (sig.Name == w.Name() && sig.Hash == w.KeyHash())
		}
		if !found {
			return tlog.Tree{}, fmt.Errorf("no valid cosignature by %s", w.Name())
		}
		fmt.Printf("cosigned by %s\n", w.Name())
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		return tlog.Tree{}, errors.New("a checkpoint body has origin, size and root lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return tlog.Tree{}, fmt.Errorf("bad size line %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return tlog.Tree{}, fmt.Errorf("bad root line %q", lines[2])
	}
	var tree tlog.Tree
	tree.N = size
	copy(tree.Hash[:], root)
	return tree, nil
}

// bundle splits an entry bundle into its uint16-length-prefixed entries.
func bundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("a bundle ends inside a length")
		}
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		if len(data) < n {
			return nil, errors.New("a bundle ends inside an entry")
		}
		entries = append(entries, data[:n])
		data = data[n:]
	}
	return entries, nil
}

func run() error {
	server := flag.String("server", "", "base URL of the server")
	key := flag.String("key", "", "the log's verifier key (name+id+key)")
	previous := flag.String("previous", "", "file holding an earlier checkpoint of the same log")
	flag.Var(&witnesses, "witness", "a witness's cosignature vkey that must have cosigned (repeatable)")
	flag.Parse()
	if *server == "" || *key == "" {
		return errors.New("usage: oracle -server URL -key VKEY [-previous FILE]")
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(*key))
	if err != nil {
		return fmt.Errorf("the key: %w", err)
	}
	prefix := strings.TrimSuffix(*server, "/") + "/ledger/tlog/"
	text, err := get(prefix + "checkpoint")
	if err != nil {
		return err
	}
	tree, err := checkpoint(text, verifier)
	if err != nil {
		return err
	}
	if tree.N == 0 {
		return errors.New("the log is empty")
	}
	reader := &tiles{prefix: prefix, saved: map[string][]byte{}}
	hashes := tlog.TileHashReader(tree, reader)

	th, err := tlog.TreeHash(tree.N, hashes)
	if err != nil {
		return fmt.Errorf("tree hash from tiles: %w", err)
	}
	if th != tree.Hash {
		return fmt.Errorf("the tiles hash to %v, the checkpoint says %v", th, tree.Hash)
	}

	// Every leaf hash, from the level-0 tiles, against the entry bundles.
	indexes := make([]int64, tree.N)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, int64(i))
	}
	leaves, err := hashes.ReadHashes(indexes)
	if err != nil {
		return fmt.Errorf("leaf hashes: %w", err)
	}
	for start := int64(0); start < tree.N; start += 256 {
		width := tree.N - start
		path := fmt.Sprintf("tile/entries/%s", tileIndex(start/256))
		if width < 256 {
			path += fmt.Sprintf(".p/%d", width)
		} else {
			width = 256
		}
		data, err := get(prefix + path)
		if err != nil {
			return err
		}
		entries, err := bundle(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if int64(len(entries)) != width {
			return fmt.Errorf("%s has %d entries, not %d", path, len(entries), width)
		}
		for i, entry := range entries {
			if tlog.RecordHash(entry) != leaves[start+int64(i)] {
				return fmt.Errorf("entry %d does not hash to its leaf", start+int64(i))
			}
		}
	}

	// Records at the edges and inside, proved and checked.
	for _, n := range []int64{0, 1, tree.N / 3, tree.N / 2, tree.N - 2, tree.N - 1} {
		if n < 0 || n >= tree.N {
			continue
		}
		proof, err := tlog.ProveRecord(tree.N, n, hashes)
		if err != nil {
			return fmt.Errorf("proving record %d: %w", n, err)
		}
		if err := tlog.CheckRecord(proof, tree.N, tree.Hash, n, leaves[n]); err != nil {
			return fmt.Errorf("checking record %d: %w", n, err)
		}
		wrong := leaves[n]
		wrong[0] ^= 1
		if tlog.CheckRecord(proof, tree.N, tree.Hash, n, wrong) == nil {
			return fmt.Errorf("a wrong leaf %d was accepted", n)
		}
	}

	if *previous != "" {
		old, err := os.ReadFile(*previous)
		if err != nil {
			return err
		}
		before, err := checkpoint(old, verifier)
		if err != nil {
			return fmt.Errorf("the previous checkpoint: %w", err)
		}
		proof, err := tlog.ProveTree(tree.N, before.N, hashes)
		if err != nil {
			return fmt.Errorf("proving the tree of %d in %d: %w", before.N, tree.N, err)
		}
		if err := tlog.CheckTree(proof, tree.N, tree.Hash, before.N, before.Hash); err != nil {
			return fmt.Errorf("consistency of %d with %d: %w", before.N, tree.N, err)
		}
		fmt.Printf("consistent: %d -> %d\n", before.N, tree.N)
	}
	fmt.Printf("ok: %d leaves, root %v\n", tree.N, tree.Hash)
	return nil
}

// tileIndex writes a tile index in x-prefixed groups of three digits.
func tileIndex(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
}
