package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// App is the contacts web application: the roster source modhost fetches
// from, an admin JSON API and an admin page that change it, and the
// refresher that tells modhost after every change.
type App struct {
	Store     *Store
	Refresher *Refresher
	Log       *slog.Logger
	// ObjectGroups lists the users whose rosters are served with groups in
	// the shape the original mod_http_roster_admin reads, an object whose
	// keys are the group names ({"Friends": true}); everyone else gets the
	// array form (["Friends"]). modhost accepts both.
	ObjectGroups map[string]bool
}

const maxRequestBody = 64 << 10

// Handler routes the app's endpoints.
func (a *App) Handler() http.Handler {
	r := httprouter.New()
	r.GET("/contacts/:user", a.getContacts)
	r.GET("/admin/api/users", a.listUsers)
	r.GET("/admin/api/users/:user/contacts", a.getContacts)
	r.POST("/admin/api/users/:user/contacts", a.addContact)
	r.PUT("/admin/api/users/:user/contacts/:jid", a.updateContact)
	r.DELETE("/admin/api/users/:user/contacts/:jid", a.removeContact)
	r.GET("/admin", a.adminPage)
	r.POST("/admin", a.adminForm)
	r.GET("/", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
	})
	return r
}

// getContacts answers the roster-admin fetch contract: 200 with a JSON
// object of contact JID → {name, groups}; an unknown user gets {}.
func (a *App) getContacts(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	user := p.ByName("user")
	roster := a.Store.Roster(user)
	if !a.ObjectGroups[user] {
		writeJSON(w, http.StatusOK, roster)
		return
	}
	type objectContact struct {
		Name   string          `json:"name,omitempty"`
		Groups map[string]bool `json:"groups"`
	}
	out := make(map[string]objectContact, len(roster))
	for jid, c := range roster {
		groups := make(map[string]bool, len(c.Groups))
		for _, g := range c.Groups {
			groups[g] = true
		}
		out[jid] = objectContact{Name: c.Name, Groups: groups}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *App) listUsers(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	writeJSON(w, http.StatusOK, map[string]any{"users": a.Store.Users()})
}

// changeResult is what the admin API answers after a change.
type changeResult struct {
	User    string         `json:"user"`
	JID     string         `json:"jid"`
	Contact *Contact       `json:"contact,omitempty"`
	Refresh *RefreshResult `json:"refresh"`
}

func (a *App) addContact(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	var in struct {
		JID    string   `json:"jid"`
		Name   string   `json:"name"`
		Groups []string `json:"groups"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	user, jid := p.ByName("user"), strings.TrimSpace(in.JID)
	if msg := validate(user, jid); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	c := Contact{Name: in.Name, Groups: cleanGroups(in.Groups)}
	if err := a.Store.Add(user, jid, c); err != nil {
		a.storeError(w, err)
		return
	}
	a.Log.Info("contact added", "user", user, "jid", jid)
	writeJSON(w, http.StatusCreated, changeResult{User: user, JID: jid, Contact: &c, Refresh: a.Refresher.Refresh(r.Context(), user)})
}

func (a *App) updateContact(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	var in struct {
		Name   *string   `json:"name"`
		Groups *[]string `json:"groups"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	user, jid := p.ByName("user"), p.ByName("jid")
	var groups []string
	if in.Groups != nil {
		groups = cleanGroups(*in.Groups)
	}
	if err := a.Store.Update(user, jid, in.Name, groups); err != nil {
		a.storeError(w, err)
		return
	}
	c := a.Store.Roster(user)[jid]
	a.Log.Info("contact updated", "user", user, "jid", jid)
	writeJSON(w, http.StatusOK, changeResult{User: user, JID: jid, Contact: &c, Refresh: a.Refresher.Refresh(r.Context(), user)})
}

func (a *App) removeContact(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	user, jid := p.ByName("user"), p.ByName("jid")
	if err := a.Store.Remove(user, jid); err != nil {
		a.storeError(w, err)
		return
	}
	a.Log.Info("contact removed", "user", user, "jid", jid)
	writeJSON(w, http.StatusOK, changeResult{User: user, JID: jid, Refresh: a.Refresher.Refresh(r.Context(), user)})
}

func (a *App) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errNoContact):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, errExists):
		writeError(w, http.StatusConflict, err.Error())
	default:
		a.Log.Error("store change failed", "error", err)
		writeError(w, http.StatusInternalServerError, "could not save the change")
	}
}

// validate checks a username and contact JID well enough to keep obvious
// mistakes out of rosters; the XMPP server has the last word on JIDs.
func validate(user, jid string) string {
	switch {
	case user == "" || strings.ContainsAny(user, "@/ \t\r\n"):
		return "user must be a bare username (no @, / or spaces)"
	case jid == "" || strings.ContainsAny(jid, " \t\r\n"):
		return "jid must be a JID without spaces"
	}
	return ""
}

// cleanGroups trims group names and drops empty ones and repeats, so the
// roster never holds a group twice.
func cleanGroups(groups []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, g := range groups {
		g = strings.TrimSpace(g)
		if g != "" && !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "body must be a JSON object: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the status is sent: a failed write is a client gone away
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
