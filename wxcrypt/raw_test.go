package wxcrypt_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
)

// rawCBC encrypts an already framed and padded plaintext, so that tests can
// sign ciphertexts whose padding or length is wrong.
func rawCBC(encodingAESKey string, plain []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		return "", err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out), nil
}
