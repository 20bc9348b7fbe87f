package app

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// keyFile is the join-token key's file name inside the data directory.
const keyFile = "join-token.key"

// joinKey returns the configured secret, or the key kept in dataDir,
// creating it on first start.
func joinKey(secret, dataDir string) ([]byte, error) {
	if secret != "" {
		if len(secret) < 32 {
			return nil, errors.New("secret must be at least 32 characters")
		}
		return []byte(secret), nil
	}
	path := filepath.Join(dataDir, keyFile)
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) < 32 {
			return nil, fmt.Errorf("%s holds %d bytes, need 32", keyFile, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read join key: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make join key: %w", err)
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write join key: %w", err)
	}
	return key, nil
}
