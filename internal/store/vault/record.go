package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// formatVersion is the first byte of every record and part of its associated
// data, so a record sealed under another format never opens as this one.
const formatVersion byte = 1

// keySize is the vault key length: AES-256.
const keySize = 32

// Domains separate the associated data of records from that of the key
// check value, so neither can be passed off as the other.
const (
	domainRecord   byte = 1
	domainKeyCheck byte = 2
)

// newAEAD returns AES-256-GCM with a random 96-bit nonce per Seal. It clears
// key, because the cipher keeps its own expanded copy.
//
// NOTE: with random nonces, one key must seal at most 2^32 records over the
// life of the vault (crypto/cipher documentation). Each item of a Put counts.
func newAEAD(key []byte) (cipher.AEAD, error) {
	defer clear(key)
	if len(key) != keySize {
		return nil, fmt.Errorf("vault key has %d bytes; want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// associatedData binds a record to the format version, its purpose, its
// service and its target. The service is length-prefixed so that the pairs
// ("a:b", "c") and ("a", "b:c") give different bytes.
func associatedData(domain byte, service, target string) []byte {
	ad := make([]byte, 0, 2+binary.MaxVarintLen64+len(service)+len(target))
	ad = append(ad, formatVersion, domain)
	ad = binary.AppendUvarint(ad, uint64(len(service)))
	ad = append(ad, service...)
	ad = append(ad, target...)
	return ad
}

// sealRecord encodes and seals one item for the given service and target.
func sealRecord(aead cipher.AEAD, service, target string, value []byte, attrs map[string]string) []byte {
	plain := encodePayload(value, attrs)
	defer clear(plain)

	out := make([]byte, 1, 1+len(plain)+aead.Overhead())
	out[0] = formatVersion
	return aead.Seal(out, nil, plain, associatedData(domainRecord, service, target))
}

// errAuth is the cause of every record that fails to open. The message
// names no value, because the record may hold a secret.
var errAuth = errors.New("record failed authentication: it was damaged, tampered with, or moved from another target")

// openRecord authenticates and decodes a record stored under service and target.
func openRecord(aead cipher.AEAD, service, target string, record []byte) (value []byte, attrs map[string]string, err error) {
	if len(record) == 0 {
		return nil, nil, errors.New("record is empty")
	}
	if record[0] != formatVersion {
		return nil, nil, fmt.Errorf("record has format version %d; this build reads version %d", record[0], formatVersion)
	}

	plain, err := aead.Open(nil, nil, record[1:], associatedData(domainRecord, service, target))
	if err != nil {
		return nil, nil, errAuth
	}
	return decodePayload(plain)
}

// sealKeyCheck returns the key check value: an empty record that only the
// right key opens.
func sealKeyCheck(aead cipher.AEAD) []byte {
	return aead.Seal([]byte{formatVersion}, nil, nil, associatedData(domainKeyCheck, "", ""))
}

// keyCheckOpens reports whether aead opens the key check value.
func keyCheckOpens(aead cipher.AEAD, check []byte) bool {
	if len(check) == 0 || check[0] != formatVersion {
		return false
	}
	_, err := aead.Open(nil, nil, check[1:], associatedData(domainKeyCheck, "", ""))
	return err == nil
}

// encodePayload writes the plaintext of a record: the number of attributes,
// each attribute as a length-prefixed key and value sorted by key, then the
// value up to the end.
func encodePayload(value []byte, attrs map[string]string) []byte {
	size := binary.MaxVarintLen64 + len(value)
	for k, v := range attrs {
		size += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}

	out := make([]byte, 0, size)
	out = binary.AppendUvarint(out, uint64(len(attrs)))
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
		out = binary.AppendUvarint(out, uint64(len(attrs[k])))
		out = append(out, attrs[k]...)
	}
	return append(out, value...)
}

// decodePayload reverses encodePayload. The value it returns is a fresh
// slice, never nil, so an empty stored value reads back as empty.
func decodePayload(plain []byte) (value []byte, attrs map[string]string, err error) {
	count, n := binary.Uvarint(plain)
	if n <= 0 || count > uint64(len(plain)) {
		return nil, nil, errors.New("record payload has an invalid attribute count")
	}
	rest := plain[n:]

	readString := func() (string, bool) {
		size, n := binary.Uvarint(rest)
		if n <= 0 || size > uint64(len(rest)-n) {
			return "", false
		}
		s := string(rest[n : n+int(size)])
		rest = rest[n+int(size):]
		return s, true
	}
	if count > 0 {
		attrs = make(map[string]string, count)
	}
	for range count {
		k, okKey := readString()
		v, okValue := readString()
		if !okKey || !okValue {
			return nil, nil, errors.New("record payload has a truncated attribute")
		}
		attrs[k] = v
	}
	return rest, attrs, nil
}
