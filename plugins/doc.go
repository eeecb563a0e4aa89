// Package plugins holds modhost's bundled Prosody plugins (mod_*.lua). They
// are written against Prosody 0.12's module API so that each also runs inside
// a real Prosody; the tests in this folder prove that against Prosody itself.
package plugins
