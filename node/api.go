package node

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// APIPrefix is the path prefix of the JSON API.
const APIPrefix = "/api/v0"

// API serves a Backend over HTTP on a loopback listener. Every /api/ request
// needs "Authorization: Bearer <token>"; /metrics is open (it carries no
// secrets and Prometheus scrapers rarely send tokens).
type API struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
}

// ListenAPI binds addr; a busy port is an error naming the address.
func ListenAPI(addr string, b Backend, token string, reg *prometheus.Registry, log *slog.Logger) (*API, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("API address %s: %w (is another node running? choose another with --api)", addr, err)
	}
	mux := http.NewServeMux()
	h := &apiHandler{b: b}
	mux.Handle("GET "+APIPrefix+"/id", auth(token, h.id))
	mux.Handle("GET "+APIPrefix+"/peers", auth(token, h.peers))
	mux.Handle("GET "+APIPrefix+"/rounds", auth(token, h.rounds))
	mux.Handle("GET "+APIPrefix+"/rounds/{n}", auth(token, h.round))
	mux.Handle("GET "+APIPrefix+"/show/{cid}", auth(token, h.show))
	mux.Handle("GET "+APIPrefix+"/export/{cid}", auth(token, h.export))
	if reg != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return &API{srv: srv, ln: ln, log: log}, nil
}

// Addr is the bound address (host:port).
func (a *API) Addr() string { return a.ln.Addr().String() }

// Serve serves until ctx ends, then shuts down and returns.
func (a *API) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- a.srv.Serve(a.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("API: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := a.srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

func auth(token string, next http.HandlerFunc) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong bearer token (see api.token in the repository)"))
			return
		}
		next(w, r)
	})
}

type apiHandler struct{ b Backend }

func (h *apiHandler) id(w http.ResponseWriter, r *http.Request) {
	v, err := h.b.ID(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) peers(w http.ResponseWriter, r *http.Request) {
	v, err := h.b.Peers(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) rounds(w http.ResponseWriter, r *http.Request) {
	v, err := h.b.Rounds(r.Context())
	reply(w, v, err)
}

func (h *apiHandler) round(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("round %q is not a number", r.PathValue("n")))
		return
	}
	v, err := h.b.Round(r.Context(), n)
	reply(w, v, err)
}

func (h *apiHandler) show(w http.ResponseWriter, r *http.Request) {
	v, err := h.b.Show(r.Context(), r.PathValue("cid"))
	reply(w, v, err)
}

func (h *apiHandler) export(w http.ResponseWriter, r *http.Request) {
	head, err := headModeOf(r.URL.Query().Get("head"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	pw := &pendingWriter{w: w}
	err = h.b.Export(r.Context(), r.PathValue("cid"), head, pw)
	if err != nil && !pw.started {
		writeError(w, statusOf(err), err)
	}
}

// pendingWriter sets the content type on the first write, so an error before
// any byte can still be sent as a JSON error.
type pendingWriter struct {
	w       http.ResponseWriter
	started bool
}

func (p *pendingWriter) Write(b []byte) (int, error) {
	if !p.started {
		p.w.Header().Set("Content-Type", "application/octet-stream")
		p.started = true
	}
	return p.w.Write(b)
}

func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(apiError{Error: err.Error()})
}
