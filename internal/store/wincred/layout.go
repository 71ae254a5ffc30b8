package wincred

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits of the Credential Manager (CRED_MAX_* in <wincred.h>).
const (
	// MaxBlobSize is CRED_MAX_CREDENTIAL_BLOB_SIZE, the largest blob of one
	// credential: 5*512 bytes.
	MaxBlobSize = 2560
	// maxAttributes is CRED_MAX_ATTRIBUTES.
	maxAttributes = 64
	// maxAttributeValue is CRED_MAX_VALUE_SIZE, the largest attribute value.
	maxAttributeValue = 256
	// maxNameLength is CRED_MAX_GENERIC_TARGET_NAME_LENGTH, in UTF-16 units.
	maxNameLength = 32767
)

// MaxValueSize is the largest value Put accepts: 1 MiB, the protocol's line
// limit, split into at most 410 credentials.
const MaxValueSize = 1 << 20

// Attribute keywords written on keychain-auth's credentials.
const (
	layoutKeyword     = "keychain-auth"
	attributesKeyword = "keychain-auth:attrs:"
)

// maxAttributesJSON is the room for the item's attributes: every credential
// attribute slot but the layout's.
const maxAttributesJSON = (maxAttributes - 1) * maxAttributeValue

// Comment is set on every credential keychain-auth writes, so a person
// browsing Credential Manager can tell where it comes from.
const Comment = "managed by keychain-auth"

// layout is the JSON in the layout attribute of a primary credential, and of
// each chunk credential with Index set.
type layout struct {
	Version    int    `json:"v"`
	Generation string `json:"gen"`
	Chunks     int    `json:"chunks"`
	Size       int    `json:"size"`
	// Index is the chunk number, 1-based, on chunk credentials only.
	Index int `json:"index,omitempty"`
}

// attribute is one credential attribute.
type attribute struct {
	Keyword string
	Value   []byte
}

// credential is the part of a Windows CREDENTIAL this package uses.
type credential struct {
	Name       string
	Comment    string
	Blob       []byte
	Attributes []attribute
}

// newGeneration returns a random generation tag for one written version.
func newGeneration() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate chunk generation: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// encodeItem returns the credentials that store value and attrs for target:
// the primary first, then the chunks in order.
func encodeItem(service, target string, value []byte, attrs map[string]string, generation string) ([]credential, error) {
	if len(value) > MaxValueSize {
		return nil, fmt.Errorf("value of %q is %d bytes; the Windows Credential Manager backend stores at most %d", target, len(value), MaxValueSize)
	}
	pieces := splitValue(value, MaxBlobSize)
	lay := layout{Version: 1, Generation: generation, Chunks: len(pieces) - 1, Size: len(value)}

	attrSlots, err := encodeAttributes(attrs)
	if err != nil {
		return nil, fmt.Errorf("attributes of %q: %w", target, err)
	}
	layoutJSON, err := json.Marshal(lay)
	if err != nil {
		return nil, err
	}
	primary := credential{
		Name:       primaryName(service, target),
		Comment:    Comment,
		Blob:       pieces[0],
		Attributes: append([]attribute{{Keyword: layoutKeyword, Value: layoutJSON}}, attrSlots...),
	}
	if err := checkName(primary.Name); err != nil {
		return nil, err
	}
	creds := []credential{primary}
	for i, p := range pieces[1:] {
		chunk := lay
		chunk.Index = i + 1
		chunkJSON, err := json.Marshal(chunk)
		if err != nil {
			return nil, err
		}
		creds = append(creds, credential{
			Name:       chunkName(service, target, generation, chunk.Index),
			Comment:    Comment,
			Blob:       p,
			Attributes: []attribute{{Keyword: layoutKeyword, Value: chunkJSON}},
		})
	}
	return creds, nil
}

// checkName rejects a credential name above the Credential Manager limit.
// Chunk names are longer than the primary by a fixed 20 characters at most.
func checkName(name string) error {
	if n := utf16Len(name) + 20; n > maxNameLength {
		return fmt.Errorf("credential name of %d characters exceeds the limit of %d; use a shorter service or target", n, maxNameLength)
	}
	return nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// splitValue cuts value into pieces of at most size bytes. An empty value is
// one empty piece.
func splitValue(value []byte, size int) [][]byte {
	if len(value) == 0 {
		return [][]byte{{}}
	}
	var pieces [][]byte
	for len(value) > 0 {
		n := min(size, len(value))
		pieces = append(pieces, value[:n:n])
		value = value[n:]
	}
	return pieces
}

// encodeAttributes returns attrs as JSON split across attribute slots. No
// attributes means no slot.
func encodeAttributes(attrs map[string]string) ([]attribute, error) {
	if len(attrs) == 0 {
		return nil, nil
	}
	data, err := json.Marshal(attrs)
	if err != nil {
		return nil, err
	}
	if len(data) > maxAttributesJSON {
		return nil, fmt.Errorf("%d bytes as JSON; the Windows Credential Manager backend stores at most %d", len(data), maxAttributesJSON)
	}
	var slots []attribute
	for i, p := range splitValue(data, maxAttributeValue) {
		slots = append(slots, attribute{Keyword: attributesKeyword + strconv.Itoa(i), Value: p})
	}
	return slots, nil
}

// errCorrupt reports credentials whose layout does not add up.
var errCorrupt = errors.New("inconsistent keychain-auth credential")

// decodePrimary returns the layout and attributes of a primary credential.
// A credential without a layout attribute is a single-piece value written
// by another program.
func decodePrimary(c *credential) (layout, map[string]string, error) {
	var (
		lay      layout
		found    bool
		attrData = map[int][]byte{}
	)
	for _, a := range c.Attributes {
		switch {
		case a.Keyword == layoutKeyword:
			if err := json.Unmarshal(a.Value, &lay); err != nil {
				return layout{}, nil, fmt.Errorf("%w %q: layout attribute: %v", errCorrupt, c.Name, err)
			}
			found = true
		case strings.HasPrefix(a.Keyword, attributesKeyword):
			i, err := strconv.Atoi(strings.TrimPrefix(a.Keyword, attributesKeyword))
			if err != nil || i < 0 || i >= maxAttributes {
				return layout{}, nil, fmt.Errorf("%w %q: attribute keyword %q", errCorrupt, c.Name, a.Keyword)
			}
			attrData[i] = a.Value
		}
	}
	if !found {
		return layout{Chunks: 0, Size: len(c.Blob)}, nil, nil
	}
	if lay.Version != 1 || lay.Chunks < 0 || lay.Index != 0 || lay.Size < len(c.Blob) || lay.Size > MaxValueSize {
		return layout{}, nil, fmt.Errorf("%w %q: layout %+v", errCorrupt, c.Name, lay)
	}
	if lay.Chunks > 0 && lay.Generation == "" {
		return layout{}, nil, fmt.Errorf("%w %q: chunks without a generation", errCorrupt, c.Name)
	}

	var attrs map[string]string
	if len(attrData) > 0 {
		var joined []byte
		for i := range len(attrData) {
			p, ok := attrData[i]
			if !ok {
				return layout{}, nil, fmt.Errorf("%w %q: attribute slot %d missing", errCorrupt, c.Name, i)
			}
			joined = append(joined, p...)
		}
		if err := json.Unmarshal(joined, &attrs); err != nil {
			return layout{}, nil, fmt.Errorf("%w %q: attributes: %v", errCorrupt, c.Name, err)
		}
	}
	return lay, attrs, nil
}

// checkChunk confirms that c is chunk index of the version described by lay.
func checkChunk(c *credential, lay layout, index int) error {
	for _, a := range c.Attributes {
		if a.Keyword != layoutKeyword {
			continue
		}
		var got layout
		if err := json.Unmarshal(a.Value, &got); err != nil {
			return fmt.Errorf("%w %q: layout attribute: %v", errCorrupt, c.Name, err)
		}
		if got.Generation != lay.Generation || got.Index != index || got.Chunks != lay.Chunks || got.Size != lay.Size {
			return fmt.Errorf("%w %q: chunk layout %+v does not match %+v", errCorrupt, c.Name, got, lay)
		}
		return nil
	}
	return fmt.Errorf("%w %q: chunk without a layout attribute", errCorrupt, c.Name)
}
