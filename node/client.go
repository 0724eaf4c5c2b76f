package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Client is a Backend reached over a running node's HTTP API.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Dial returns a client for the node running on the repository at path, or
// an error wrapping os.ErrNotExist when no node runs there. A stale api file
// (left by a killed node) is detected because the repository is not locked.
func Dial(path string) (*Client, error) {
	addr, err := os.ReadFile(filepath.Join(path, apiFile))
	if err != nil {
		return nil, fmt.Errorf("no running node on %s: %w", path, os.ErrNotExist)
	}
	if !Locked(path) {
		return nil, fmt.Errorf("stale api file in %s: %w", path, os.ErrNotExist)
	}
	tok, err := os.ReadFile(filepath.Join(path, tokenFile))
	if err != nil {
		return nil, fmt.Errorf("read API token: %w", err)
	}
	return NewClient(strings.TrimSpace(string(addr)), strings.TrimSpace(string(tok))), nil
}

// NewClient returns a client for the API at addr (host:port).
func NewClient(addr, token string) *Client {
	return &Client{base: "http://" + addr + APIPrefix, token: token, http: &http.Client{Timeout: 10 * time.Minute}}
}

func (c *Client) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node API: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var e apiError
	json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e)
	switch resp.StatusCode {
	case http.StatusNotFound:
		return nil, fmt.Errorf("%s: %w", e.Error, ErrNotFound)
	case http.StatusBadRequest:
		return nil, fmt.Errorf("%s: %w", e.Error, ErrBadRequest)
	}
	return nil, fmt.Errorf("node API %s: %s: %s", path, resp.Status, e.Error)
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	resp, err := c.get(ctx, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("node API %s: decode: %w", path, err)
	}
	return nil
}

// ID implements Backend.
func (c *Client) ID(ctx context.Context) (IDInfo, error) {
	var v IDInfo
	return v, c.getJSON(ctx, "/id", &v)
}

// Peers implements Backend.
func (c *Client) Peers(ctx context.Context) ([]PeerInfo, error) {
	var v []PeerInfo
	return v, c.getJSON(ctx, "/peers", &v)
}

// Rounds implements Backend.
func (c *Client) Rounds(ctx context.Context) ([]RoundInfo, error) {
	var v []RoundInfo
	return v, c.getJSON(ctx, "/rounds", &v)
}

// Round implements Backend.
func (c *Client) Round(ctx context.Context, n int64) (RoundInfo, error) {
	var v RoundInfo
	return v, c.getJSON(ctx, "/rounds/"+strconv.FormatInt(n, 10), &v)
}

// Show implements Backend.
func (c *Client) Show(ctx context.Context, cid string) (Object, error) {
	var v Object
	return v, c.getJSON(ctx, "/show/"+url.PathEscape(cid), &v)
}

// Export implements Backend.
func (c *Client) Export(ctx context.Context, cid string, head HeadMode, w io.Writer) error {
	q := ""
	if v := head.query(); v != "" {
		q = "?head=" + v
	}
	resp, err := c.get(ctx, "/export/"+url.PathEscape(cid)+q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("export %s: %w", cid, err)
	}
	return nil
}

var _ Backend = (*Client)(nil)
