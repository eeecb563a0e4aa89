package xmpp

import (
	"encoding/xml"
	"strconv"
)

// Namespace scoping (Namespaces in XML 1.0, §3, §5, §6) for the readers that
// resolve prefixes themselves, because encoding/xml lets unbound prefixes and
// duplicate attributes through: util.xml's parser and the component stream
// decoder (host/xmpp/component). Each turns an NSError into its own error.

// NSBindings are the namespace bindings in force at an element.
type NSBindings struct {
	Default  string
	Prefixes map[string]string // shared with the parent until a declaration changes it
}

// NSErrorKind says which rule a start tag broke.
type NSErrorKind int

const (
	// ReservedPrefixBound: xmlns:xmlns, or xml bound to another namespace
	// or another prefix bound to XML's (§3).
	ReservedPrefixBound NSErrorKind = iota
	// EmptyNamespaceBound: xmlns:p="" (§3; undeclaring is XML 1.1 only).
	EmptyNamespaceBound
	// ReservedElementPrefix: an element named xml:… or xmlns:….
	ReservedElementPrefix
	// UnboundPrefix: a prefix no declaration in scope binds (§5).
	UnboundPrefix
	// InvalidName: a name the reader's own rule refuses.
	InvalidName
	// DuplicateAttribute: two attributes with one expanded name (§6.3).
	DuplicateAttribute
)

// NSError is a start tag's breach of the namespace rules; Name is the
// prefix or the local name concerned.
type NSError struct {
	Kind NSErrorKind
	Name string
}

// Error says it in util.xml's words.
func (e *NSError) Error() string {
	switch e.Kind {
	case ReservedPrefixBound:
		return "reserved prefix or namespace bound wrongly: xmlns:" + e.Name
	case EmptyNamespaceBound:
		return "prefix " + strconv.Quote(e.Name) + " bound to the empty namespace"
	case ReservedElementPrefix:
		return "reserved prefix on element " + e.Name
	case UnboundPrefix:
		return "unbound prefix " + strconv.Quote(e.Name)
	case InvalidName:
		return "invalid attribute name " + strconv.Quote(e.Name)
	}
	return "duplicate attribute"
}

// Enter returns the bindings inside a start tag with attrs: the tag's own
// xmlns and xmlns:p declarations over the parent's. The prefix map is copied
// only when the tag declares a prefix. A correct declaration of the xml
// prefix binds nothing new and is not recorded.
func (b NSBindings) Enter(attrs []xml.Attr) (NSBindings, *NSError) {
	copied := false
	for _, a := range attrs {
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			b.Default = a.Value
		case a.Name.Space == "xmlns":
			prefix := a.Name.Local
			switch {
			case prefix == "xmlns" || (prefix == "xml") != (a.Value == XMLNamespace):
				return b, &NSError{ReservedPrefixBound, prefix}
			case a.Value == "":
				return b, &NSError{EmptyNamespaceBound, prefix}
			case prefix == "xml":
				continue
			}
			if !copied {
				parent := b.Prefixes
				b.Prefixes = make(map[string]string, len(parent)+1)
				for k, v := range parent {
					b.Prefixes[k] = v
				}
				copied = true
			}
			b.Prefixes[prefix] = a.Value
		}
	}
	return b, nil
}

// ElementNS is the namespace of an element named name within b.
func (b NSBindings) ElementNS(name xml.Name) (string, *NSError) {
	switch name.Space {
	case "":
		return b.Default, nil
	case "xml", "xmlns":
		return "", &NSError{ReservedElementPrefix, name.Space + ":" + name.Local}
	}
	ns, ok := b.Prefixes[name.Space]
	if !ok {
		return "", &NSError{UnboundPrefix, name.Space}
	}
	return ns, nil
}

// ResolveAttrs returns the attributes of a start tag other than namespace
// declarations, each prefix replaced by its namespace (xml: by XML's own),
// in order. Unprefixed attributes have no namespace (§6.2). It refuses an
// unbound prefix, a local name valid refuses, and two attributes with one
// expanded name.
func (b NSBindings) ResolveAttrs(attrs []xml.Attr, valid func(string) bool) ([]xml.Attr, *NSError) {
	var out []xml.Attr
	seen := make(map[xml.Name]bool, len(attrs))
	for _, a := range attrs {
		name := a.Name
		switch {
		case name.Space == "" && name.Local == "xmlns", name.Space == "xmlns":
			continue
		case name.Space == "xml":
			name.Space = XMLNamespace
		case name.Space != "":
			ns, ok := b.Prefixes[name.Space]
			if !ok {
				return nil, &NSError{UnboundPrefix, name.Space}
			}
			name.Space = ns
		}
		if !valid(name.Local) {
			return nil, &NSError{InvalidName, name.Local}
		}
		if seen[name] {
			return nil, &NSError{DuplicateAttribute, name.Local}
		}
		seen[name] = true
		out = append(out, xml.Attr{Name: name, Value: a.Value})
	}
	return out, nil
}
