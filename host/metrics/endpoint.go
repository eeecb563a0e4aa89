package metrics

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// AllowList is who may read the metrics: mod_http_openmetrics'
// openmetrics_allow_ips (exact addresses) and openmetrics_allow_cidr (one
// network).
type AllowList struct {
	ips  []netip.Addr
	cidr netip.Prefix // invalid when unset
}

// NewAllowList parses the two options. ips nil means mod_http_openmetrics'
// default, loopback only: "::1" and "127.0.0.1".
func NewAllowList(ips []string, cidr string) (*AllowList, error) {
	if ips == nil {
		ips = []string{"::1", "127.0.0.1"}
	}
	a := &AllowList{}
	for _, s := range ips {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("openmetrics_allow_ips: %q is not an IP address", s)
		}
		a.ips = append(a.ips, ip.Unmap())
	}
	if cidr != "" {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, fmt.Errorf("openmetrics_allow_cidr: %q is not a network (address/bits)", cidr)
		}
		a.cidr = p.Masked()
	}
	return a, nil
}

// Allows reports whether a client at ip may read the metrics.
func (a *AllowList) Allows(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, allowed := range a.ips {
		if allowed == addr {
			return true
		}
	}
	if a.cidr.IsValid() {
		if a.cidr.Addr().Is4() == addr.Is4() && a.cidr.Contains(addr) {
			return true
		}
	}
	return false
}

// Handler serves the registry to scrapers: OpenMetrics 1.0 to those that
// ask for it (Prometheus does), the classic text format otherwise, with
// the created timestamps Prosody's own exposition has.
func (r *Registry) Handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		ErrorLog:                            slogPrintln{log},
		ErrorHandling:                       promhttp.ContinueOnError,
		EnableOpenMetrics:                   true,
		EnableOpenMetricsTextCreatedSamples: true,
	})
}

// OpenMetrics renders the registry in the OpenMetrics text format, for Lua
// code that asks core.statsmanager for its registry's rendering.
func (r *Registry) OpenMetrics() (string, error) {
	mfs, err := r.reg.Gather()
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeOpenMetrics), expfmt.WithCreatedLines())
	for _, mf := range mfs {
		if eerr := enc.Encode(mf); eerr != nil && err == nil {
			err = eerr
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		c.Close()
	}
	return buf.String(), err
}

// slogPrintln lets promhttp log through slog.
type slogPrintln struct{ log *slog.Logger }

func (l slogPrintln) Println(v ...any) {
	if l.log != nil {
		l.log.Warn(fmt.Sprint(v...))
	}
}
