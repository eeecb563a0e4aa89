package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Contact is one entry of a user's roster as modhost's roster-admin port
// reads it (the contract in plugins/mod_http_roster_admin/README.md): an optional display name and a list of groups.
type Contact struct {
	Name   string   `json:"name,omitempty"`
	Groups []string `json:"groups"`
}

// Roster maps contact JIDs to contacts.
type Roster map[string]Contact

var (
	errNoContact = errors.New("no such contact")
	errExists    = errors.New("contact already exists")
)

// Store keeps every user's roster in memory and in one JSON file, rewritten
// atomically (temporary file, then rename) after each change so a crash
// leaves either the old or the new file, never half of one.
type Store struct {
	path string // "" keeps the rosters in memory only

	mu    sync.Mutex
	users map[string]Roster
}

// OpenStore loads path if it exists; a missing file is an empty store.
func OpenStore(path string) (*Store, error) {
	s := &Store{path: path, users: map[string]Roster{}}
	if path == "" {
		return s, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read contacts %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &s.users); err != nil {
		return nil, fmt.Errorf("parse contacts %s: %w", path, err)
	}
	if s.users == nil {
		s.users = map[string]Roster{}
	}
	return s, nil
}

// Roster returns a copy of user's roster; an unknown user has an empty one.
func (s *Store) Roster(user string) Roster {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Roster{}
	for jid, c := range s.users[user] {
		out[jid] = c.clone()
	}
	return out
}

// Users returns the users that have a roster, sorted.
func (s *Store) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	users := make([]string, 0, len(s.users))
	for u := range s.users {
		users = append(users, u)
	}
	sort.Strings(users)
	return users
}

// Add adds a contact to user's roster; it fails if the JID is already there.
func (s *Store) Add(user, jid string, c Contact) error {
	return s.change(func() error {
		if _, ok := s.users[user][jid]; ok {
			return errExists
		}
		if s.users[user] == nil {
			s.users[user] = Roster{}
		}
		s.users[user][jid] = c.clone()
		return nil
	})
}

// Update renames and/or regroups a contact: a nil name or groups leaves
// that part as it is.
func (s *Store) Update(user, jid string, name *string, groups []string) error {
	return s.change(func() error {
		c, ok := s.users[user][jid]
		if !ok {
			return errNoContact
		}
		if name != nil {
			c.Name = *name
		}
		if groups != nil {
			c.Groups = append([]string{}, groups...)
		}
		s.users[user][jid] = c
		return nil
	})
}

// Remove removes a contact; a user left without contacts is forgotten.
func (s *Store) Remove(user, jid string) error {
	return s.change(func() error {
		if _, ok := s.users[user][jid]; !ok {
			return errNoContact
		}
		delete(s.users[user], jid)
		if len(s.users[user]) == 0 {
			delete(s.users, user)
		}
		return nil
	})
}

// Replace sets user's whole roster (used by -seed).
func (s *Store) Replace(user string, r Roster) error {
	return s.change(func() error {
		copied := Roster{}
		for jid, c := range r {
			copied[jid] = c.clone()
		}
		s.users[user] = copied
		return nil
	})
}

// change applies edit and saves; if saving fails the edit is rolled back so
// memory and disk agree.
func (s *Store) change(edit func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	before := s.snapshot()
	if err := edit(); err != nil {
		return err
	}
	if err := s.save(); err != nil {
		s.users = before
		return err
	}
	return nil
}

func (s *Store) snapshot() map[string]Roster {
	out := make(map[string]Roster, len(s.users))
	for u, r := range s.users {
		copied := make(Roster, len(r))
		for jid, c := range r {
			copied[jid] = c.clone()
		}
		out[u] = copied
	}
	return out
}

func (s *Store) save() error {
	if s.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(s.users, "", "\t")
	if err != nil {
		return fmt.Errorf("encode contacts: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), "."+filepath.Base(s.path)+".*")
	if err != nil {
		return fmt.Errorf("save contacts: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save contacts: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save contacts: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save contacts: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("save contacts: %w", err)
	}
	return nil
}

func (c Contact) clone() Contact {
	groups := make([]string, len(c.Groups))
	copy(groups, c.Groups)
	return Contact{Name: c.Name, Groups: groups}
}

// seedRosters are the demo users -seed creates: alice, bob and carol know
// each other, with names and groups to show renames and regrouping.
func seedRosters(domain string) map[string]Roster {
	jid := func(user string) string { return user + "@" + domain }
	return map[string]Roster{
		"alice": {
			jid("bob"):   {Name: "Bob", Groups: []string{"Friends"}},
			jid("carol"): {Name: "Carol", Groups: []string{"Friends", "Work"}},
		},
		"bob": {
			jid("alice"): {Name: "Alice", Groups: []string{"Friends"}},
		},
		"carol": {
			jid("alice"): {Name: "Alice", Groups: []string{"Work"}},
			jid("bob"):   {Groups: []string{}},
		},
	}
}
