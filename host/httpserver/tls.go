package httpserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// tlsSetup decides the HTTPS ports and loads their certificates. With
// HTTPSPorts unset, HTTPS runs on 5281 only if a certificate is found; with
// HTTPSPorts set, a missing or broken certificate is an error.
func (s *Server) tlsSetup() (*tls.Config, []int, error) {
	ports := s.cfg.HTTPSPorts
	explicit := ports != nil
	if explicit && len(ports) == 0 {
		return nil, nil, nil
	}
	certs, err := s.loadCertificates()
	if err != nil {
		if explicit || s.cfg.CertFile != "" {
			return nil, nil, fmt.Errorf("https: %w", err)
		}
		s.log.Debug("no HTTPS: no certificate", "reason", err)
		return nil, nil, nil
	}
	if !explicit {
		ports = []int{defaultHTTPSPort}
	}
	cfg := &tls.Config{
		Certificates: certs,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
	return cfg, ports, nil
}

// loadCertificates finds the certificate(s) as Prosody's certmanager finds a
// service certificate, in the order given in Config.CertDir's comment.
func (s *Server) loadCertificates() ([]tls.Certificate, error) {
	if s.cfg.CertFile != "" {
		key := s.cfg.KeyFile
		if key == "" {
			key = matchingKey(s.cfg.CertFile)
		}
		c, err := tls.LoadX509KeyPair(s.cfg.CertFile, key)
		if err != nil {
			return nil, fmt.Errorf("load certificate %s with key %s: %w", s.cfg.CertFile, key, err)
		}
		return []tls.Certificate{c}, nil
	}
	if s.cfg.CertDir == "" {
		return nil, errors.New("no https_certificate and no certificates folder")
	}
	for _, try := range [][2]string{
		{"https.crt", "https.key"},
		{"https/fullchain.pem", "https/privkey.pem"},
		{"https.pem", "https.pem"},
	} {
		crt, key := filepath.Join(s.cfg.CertDir, try[0]), filepath.Join(s.cfg.CertDir, try[1])
		if isFile(crt) && isFile(key) {
			c, err := tls.LoadX509KeyPair(crt, key)
			if err != nil {
				return nil, fmt.Errorf("load certificate %s: %w", crt, err)
			}
			return []tls.Certificate{c}, nil
		}
	}
	certs := indexCertificates(s.cfg.CertDir, 3, time.Now())
	if len(certs) == 0 {
		return nil, fmt.Errorf("no usable certificate with its key in %s", s.cfg.CertDir)
	}
	return certs, nil
}

// indexCertificates loads every unexpired certificate under dir (to depth)
// that has its key beside it; Go's TLS picks among them by SNI.
func indexCertificates(dir string, depth int, now time.Time) []tls.Certificate {
	var paths []string
	base := strings.Count(filepath.Clean(dir), string(filepath.Separator))
	// The walk skips what it cannot read, so WalkDir has no error to return.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(d.Name(), ".") || strings.Count(p, string(filepath.Separator))-base >= depth) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".crt") || strings.Contains(d.Name(), "fullchain") {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	var out []tls.Certificate
	for _, p := range paths {
		key := matchingKey(p)
		if !isFile(key) {
			continue
		}
		c, err := tls.LoadX509KeyPair(p, key)
		if err != nil {
			continue
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil || now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
			continue
		}
		c.Leaf = leaf
		out = append(out, c)
	}
	return out
}

// matchingKey is where Prosody expects a certificate's key.
func matchingKey(cert string) string {
	key := strings.TrimSuffix(cert, ".crt")
	if key != cert {
		key += ".key"
	}
	dir, name := filepath.Split(key)
	return dir + strings.ReplaceAll(name, "fullchain", "privkey")
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
