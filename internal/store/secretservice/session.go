package secretservice

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Session algorithms defined by the Secret Service API.
const (
	algorithmDH    = "dh-ietf1024-sha256-aes128-cbc-pkcs7"
	algorithmPlain = "plain"
)

// modp1024Hex is the 1024-bit MODP group of RFC 2409 section 6.2 (the
// "Second Oakley Group"), generator 2, which dh-ietf1024 uses.
const modp1024Hex = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1" +
	"29024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
	"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245" +
	"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381" +
	"FFFFFFFFFFFFFFFF"

func modp1024() *big.Int {
	p, ok := new(big.Int).SetString(modp1024Hex, 16)
	if !ok {
		panic("secretservice: invalid MODP prime constant")
	}
	return p
}

// dhKeyPair is the client half of a dh-ietf1024 key agreement.
type dhKeyPair struct {
	private *big.Int
	public  *big.Int
}

// newDHKeyPair picks a private exponent uniformly from [2, p-2].
func newDHKeyPair(random io.Reader) (dhKeyPair, error) {
	p := modp1024()
	limit := new(big.Int).Sub(p, big.NewInt(3))
	x, err := rand.Int(random, limit)
	if err != nil {
		return dhKeyPair{}, fmt.Errorf("generate dh private key: %w", err)
	}
	x.Add(x, big.NewInt(2))
	return dhKeyPair{private: x, public: new(big.Int).Exp(big.NewInt(2), x, p)}, nil
}

// sessionKey derives the AES-128 key from the service's public value: HKDF
// with SHA-256, no salt and no info, over the shared secret written as a
// 128-byte big-endian number. gnome-keyring 42.1 keeps leading zero bytes;
// TestKeyAgreementLeadingZero checks that against a real daemon.
func (kp dhKeyPair) sessionKey(servicePublic []byte) ([]byte, error) {
	p := modp1024()
	y := new(big.Int).SetBytes(servicePublic)
	pMinus1 := new(big.Int).Sub(p, big.NewInt(1))
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pMinus1) >= 0 {
		return nil, errors.New("derive session key: service public key is out of range")
	}
	shared := new(big.Int).Exp(y, kp.private, p).FillBytes(make([]byte, (p.BitLen()+7)/8))
	key, err := hkdf.Key(sha256.New, shared, nil, "", 16)
	if err != nil {
		return nil, fmt.Errorf("derive session key: %w", err)
	}
	return key, nil
}

// transportCipher encrypts secrets for one Secret Service session. A nil key
// means the plain algorithm: values cross the bus unencrypted.
type transportCipher struct {
	key []byte
}

// seal returns the parameters (the IV) and the AES-128-CBC ciphertext of
// plaintext padded with PKCS#7.
func (tc transportCipher) seal(plaintext []byte) (params, value []byte, err error) {
	if tc.key == nil {
		return []byte{}, append([]byte{}, plaintext...), nil
	}
	block, err := aes.NewCipher(tc.key)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypt secret: %w", err)
	}
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, nil, fmt.Errorf("encrypt secret: %w", err)
	}
	padLen := aes.BlockSize - len(plaintext)%aes.BlockSize
	padded := make([]byte, len(plaintext)+padLen)
	copy(padded, plaintext)
	for i := len(plaintext); i < len(padded); i++ {
		padded[i] = byte(padLen)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(padded, padded)
	return iv, padded, nil
}

// open reverses seal. Errors never include secret bytes.
func (tc transportCipher) open(params, value []byte) ([]byte, error) {
	if tc.key == nil {
		return append([]byte{}, value...), nil
	}
	if len(params) != aes.BlockSize {
		return nil, fmt.Errorf("decrypt secret: parameters are %d bytes; want a %d-byte IV", len(params), aes.BlockSize)
	}
	if len(value) == 0 || len(value)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("decrypt secret: ciphertext of %d bytes is not a whole number of blocks", len(value))
	}
	block, err := aes.NewCipher(tc.key)
	if err != nil {
		return nil, fmt.Errorf("decrypt secret: %w", err)
	}
	plain := make([]byte, len(value))
	cipher.NewCBCDecrypter(block, params).CryptBlocks(plain, value)
	padLen := int(plain[len(plain)-1])
	if padLen == 0 || padLen > aes.BlockSize {
		return nil, errors.New("decrypt secret: invalid padding")
	}
	for _, b := range plain[len(plain)-padLen:] {
		if int(b) != padLen {
			return nil, errors.New("decrypt secret: invalid padding")
		}
	}
	return plain[:len(plain)-padLen], nil
}
