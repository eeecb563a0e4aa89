package link

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/host/xmpp/component"
)

// rosterWriter is how one host's rosters are written into, and read from,
// its XMPP server. It is chosen per host (newBridge): XEP-0356 privileged
// roster IQs over the component link (Prosody; an ejabberd whose privileged
// sets work), or ejabberd's admin API when the host has an ejabberd_api
// option (ejabberd 23.01, whose privileged sets all fail). The bridge decides
// what to write (mirror.go); a writer only carries it.
type rosterWriter interface {
	// name says which writer this is, for logs.
	name() string
	// ready says whether writes can be sent now; when not, the user is
	// marked unsynced and written once it is. canWrite and canRead say
	// whether the server lets modhost write / read rosters at all (a
	// missing grant, said once at connect). These three run on the loop.
	ready() bool
	canWrite() bool
	canRead() bool
	// stored is it as the server will hold it once written (ejabberd
	// rewrites a ';' in a group name), so an item already written compares
	// equal and is not written again at every login.
	stored(it component.RosterItem) component.RosterItem
	// write stores it in user's server roster, or removes it when its
	// subscription is "remove"; read returns user's server roster. Both
	// wait, and run off the loop.
	write(ctx context.Context, user string, it component.RosterItem) error
	read(ctx context.Context, user string) ([]component.RosterItem, error)
}

// pipelinedWriter is a rosterWriter whose writes can be sent before the
// answers to the ones before have come (writeRosters keeps several in
// flight): startWrite sends now, and its wait, called once, gives what
// write would.
type pipelinedWriter interface {
	startWrite(ctx context.Context, user string, it component.RosterItem) (wait func() error)
}

// errNotSet is a removal of an item the server did not hold.
var errNotSet = errors.New("no such roster item")

// privilegedWriter writes rosters with XEP-0356 privileged roster IQs (§5)
// over the bridge's component link.
type privilegedWriter struct {
	b *bridge
	// broken is set once the server showed it cannot carry privileged roster
	// requests (ejabberd 23.01, see brokenPrivilege): then nothing is retried.
	broken atomic.Bool
}

func (w *privilegedWriter) name() string { return "XEP-0356 privileged IQs" }

func (w *privilegedWriter) ready() bool {
	return w.b.link.State() == component.Online && w.b.privs.Server != "" && !w.broken.Load()
}

func (w *privilegedWriter) canWrite() bool { return w.b.privs.CanSetRoster() && !w.broken.Load() }
func (w *privilegedWriter) canRead() bool  { return w.b.privs.CanGetRoster() && !w.broken.Load() }

func (w *privilegedWriter) stored(it component.RosterItem) component.RosterItem { return it }

func (w *privilegedWriter) write(ctx context.Context, user string, it component.RosterItem) error {
	return w.startWrite(ctx, user, it)()
}

// startWrite sends the set now and returns the wait for its answer
// (pipelinedWriter): the sets go out on the one stream in the order they
// are started, and the server takes them in that order.
func (w *privilegedWriter) startWrite(ctx context.Context, user string, it component.RosterItem) func() error {
	wait := w.b.link.StartIQ(ctx, component.RosterSet(w.b.cfg.JID, user+"@"+w.b.host, it))
	return func() error { return w.answered(it, wait) }
}

// answered reads a set's answer as write returns it.
func (w *privilegedWriter) answered(it component.RosterItem, wait func() (*xmpp.Element, error)) error {
	reply, err := wait()
	if err == nil && attrOf(reply, "type") == "error" {
		err = component.ParseStanzaError(reply)
	}
	var refused *component.StanzaError
	if it.Subscription == "remove" && errors.As(err, &refused) && refused.Condition == "item-not-found" {
		return errNotSet
	}
	if w.brokenPrivilege(err) {
		w.broken.Store(true)
		w.b.log.Error(ejabberd2301Advice("refuses every privileged roster set (internal-server-error; ejabberd logs module_not_loaded, mod_roster: its issue 3942, fixed after 23.01)"),
			"error", err)
	}
	return err
}

func (w *privilegedWriter) read(ctx context.Context, user string) ([]component.RosterItem, error) {
	reply, err := w.b.link.SendIQ(ctx, component.RosterGet(w.b.cfg.JID, user+"@"+w.b.host))
	if err == nil && attrOf(reply, "type") == "error" {
		err = component.ParseStanzaError(reply)
	}
	if err != nil {
		return nil, err
	}
	return component.ParseRoster(reply), nil
}

// brokenPrivilege says whether a failed privileged set is ejabberd 23.01's:
// wait/internal-server-error from a server speaking urn:xmpp:privilege:1
// (Prosody's mod_privilege speaks :2 and answers its own errors).
func (w *privilegedWriter) brokenPrivilege(err error) bool {
	var refused *component.StanzaError
	return errors.As(err, &refused) && refused.Condition == "internal-server-error" &&
		w.b.privs.NS == component.NSPrivilege1
}

// delegatedBack handles a privileged roster IQ of modhost's own that the
// server sent back to it wrapped in <delegation/> (ejabberd 23.01 with
// jabber:iq:roster delegated, against XEP-0355 §4.3.1): nothing a
// privileged IQ asks can be answered there, so it is said once and the
// writer stops.
func (w *privilegedWriter) delegatedBack(iq *xmpp.Element) {
	if w.broken.Swap(true) {
		return
	}
	w.b.log.Error(ejabberd2301Advice("sends modhost's own privileged roster requests back to it as delegated ones (mod_delegation of jabber:iq:roster; XEP-0355 §4.3.1 forbids it): "+
		"remove jabber:iq:roster from mod_delegation's namespaces"), "id", attrOf(iq, "id"))
}

// ejabberd2301Advice is the operator's message when ejabberd 23.01's
// XEP-0356 cannot carry rosters: what to put in modhost's config and in
// ejabberd.yml instead.
func ejabberd2301Advice(what string) string {
	return "the server (ejabberd 23.01?) " + what + "; rosters are not written through XEP-0356 any more: " +
		`give the VirtualHost ejabberd_api = { url = "http://127.0.0.1:5281/api" } and open ejabberd's API to modhost ` +
		"(listen: an ejabberd_http listener on ip 127.0.0.1 with request_handlers: { /api: mod_http_api }, " +
		"an api_permissions rule for modhost, mod_admin_extra in modules: modhost prosody-snippet --server ejabberd prints them)"
}

// writeTimeout bounds one roster write or read, whichever writer carries it.
const writeTimeout = 15 * time.Second
