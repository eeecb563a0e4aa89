package main

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// The admin page does what the JSON API does, with plain forms: HTML forms
// can only GET and POST, so every change is a POST /admin with an action.
var adminTemplate = template.Must(template.New("admin").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Contacts admin</title>
<style>body{font-family:sans-serif;max-width:60em;margin:1em auto}li{margin:.3em 0}
.msg{background:#eef;padding:.5em}</style></head><body>
<h1>Contacts</h1>
{{with .Message}}<p class="msg">{{.}}</p>{{end}}
{{range .Users}}
<h2>{{.Name}}</h2>
<ul>
{{$user := .Name}}{{range .Contacts}}
<li><form method="post" action="/admin">
<input type="hidden" name="user" value="{{$user}}"><input type="hidden" name="jid" value="{{.JID}}">
<b>{{.JID}}</b>
<label>Name <input name="name" value="{{.Name}}"></label>
<label>Groups (comma-separated) <input name="groups" value="{{.Groups}}"></label>
<button name="action" value="update">Save</button> <button name="action" value="remove">Remove</button>
</form></li>
{{end}}</ul>
{{end}}
<h2>Add a contact</h2>
<form method="post" action="/admin">
<input type="hidden" name="action" value="add">
<label>User <input name="user" required></label>
<label>Contact JID <input name="jid" required></label>
<label>Name <input name="name"></label>
<label>Groups <input name="groups"></label>
<button>Add</button>
</form>
</body></html>
`))

type pageContact struct{ JID, Name, Groups string }

type pageUser struct {
	Name     string
	Contacts []pageContact
}

func (a *App) adminPage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	data := struct {
		Message string
		Users   []pageUser
	}{Message: r.URL.Query().Get("msg")}
	for _, user := range a.Store.Users() {
		pu := pageUser{Name: user}
		for jid, c := range a.Store.Roster(user) {
			pu.Contacts = append(pu.Contacts, pageContact{JID: jid, Name: c.Name, Groups: strings.Join(c.Groups, ", ")})
		}
		sort.Slice(pu.Contacts, func(i, j int) bool { return pu.Contacts[i].JID < pu.Contacts[j].JID })
		data.Users = append(data.Users, pu)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := adminTemplate.Execute(w, data); err != nil {
		a.Log.Error("render admin page", "error", err)
	}
}

func (a *App) adminForm(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "bad form: "+err.Error())
		return
	}
	user, jid := strings.TrimSpace(r.PostForm.Get("user")), strings.TrimSpace(r.PostForm.Get("jid"))
	name := r.PostForm.Get("name")
	groups := cleanGroups(strings.Split(r.PostForm.Get("groups"), ","))
	var err error
	var done string
	switch r.PostForm.Get("action") {
	case "add":
		if msg := validate(user, jid); msg != "" {
			a.redirect(w, r, msg)
			return
		}
		err, done = a.Store.Add(user, jid, Contact{Name: name, Groups: groups}), "added"
	case "update":
		err, done = a.Store.Update(user, jid, &name, groups), "updated"
	case "remove":
		err, done = a.Store.Remove(user, jid), "removed"
	default:
		a.redirect(w, r, "unknown action")
		return
	}
	if err != nil {
		a.redirect(w, r, "could not change "+jid+" for "+user+": "+err.Error())
		return
	}
	a.Log.Info("contact "+done+" from the admin page", "user", user, "jid", jid)
	msg := jid + " " + done + " for " + user
	if res := a.Refresher.Refresh(r.Context(), user); res != nil {
		if res.Error != "" {
			msg += "; refresh failed: " + res.Error
		} else {
			msg += "; modhost answered " + res.Body
		}
	}
	a.redirect(w, r, msg)
}

func (a *App) redirect(w http.ResponseWriter, r *http.Request, msg string) {
	http.Redirect(w, r, "/admin?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}
