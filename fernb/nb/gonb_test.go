//go:build linux || darwin

package nb

import (
	"bytes"
	"encoding/gob"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// TestGoNBProtocol runs this test binary as a "cell program" with GoNB's
// pipe environment, the way the GoNB kernel does, and decodes what nb
// sends through the real gonbui: a PNG display, an HTML table, progress
// updates on one display id, and Markdown.
func TestGoNBProtocol(t *testing.T) {
	if os.Getenv("FERNB_NB_CELL") == "1" {
		return // in the child, TestGoNBCell does the work
	}
	dir := t.TempDir()
	toKernel, fromKernel := filepath.Join(dir, "pipe"), filepath.Join(dir, "pipe_back")
	for _, p := range []string{toKernel, fromKernel} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skipf("no named pipes here: %v", err)
		}
	}
	// O_RDWR opens a FIFO without waiting for the other end, and keeps it
	// from seeing EOF; a read deadline ends the reading instead.
	in, err := os.OpenFile(toKernel, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	back, err := os.OpenFile(fromKernel, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()

	msgs := make(chan *protocol.DisplayData, 100)
	go func() {
		defer close(msgs)
		dec := gob.NewDecoder(in)
		for {
			m := &protocol.DisplayData{}
			if err := dec.Decode(m); err != nil {
				return
			}
			msgs <- m
		}
	}()

	cmd := exec.Command(os.Args[0], "-test.run=^TestGoNBCell$", "-test.v")
	cmd.Env = append(os.Environ(), "FERNB_NB_CELL=1",
		protocol.GONB_PIPE_ENV+"="+toKernel, protocol.GONB_PIPE_BACK_ENV+"="+fromKernel)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cell program failed: %v\n%s", err, out)
	}
	if err := in.SetReadDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}

	var got []*protocol.DisplayData
	for m := range msgs {
		got = append(got, m)
	}
	if len(got) < 4 {
		t.Fatalf("received %d displays, want at least 4; cell output:\n%s", len(got), out)
	}
	// 1: the plot as PNG of the requested size.
	b, ok := got[0].Data[protocol.MIMEImagePNG].([]byte)
	if !ok {
		t.Fatalf("first display is not a PNG: %v", keys(got[0]))
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != 320 || cfg.Height != 200 {
		t.Errorf("PNG %dx%d, %v; want 320x200", cfg.Width, cfg.Height, err)
	}
	// 2: the table as HTML.
	if h, _ := got[1].Data[protocol.MIMETextHTML].(string); !strings.Contains(h, "<th>accuracy</th>") {
		t.Errorf("second display is not the table: %v", got[1].Data)
	}
	// 3..: progress on one display id, ending with Done's summary.
	var ids []string
	var final string
	for _, m := range got[2:] {
		if m.DisplayID != "" {
			ids = append(ids, m.DisplayID)
			final, _ = m.Data[protocol.MIMETextHTML].(string)
		}
	}
	if len(ids) < 2 {
		t.Errorf("progress used %d display updates, want the update and the summary", len(ids))
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("progress used display ids %v, want one", ids)
			break
		}
	}
	if !strings.Contains(final, "cell: done in") {
		t.Errorf("last progress update %q is not Done's summary", final)
	}
	last := got[len(got)-1]
	if md, _ := last.Data[protocol.MIMETextMarkdown].(string); md != "**ok**" {
		t.Errorf("last display %v, want the Markdown", last.Data)
	}
}

func keys(m *protocol.DisplayData) []protocol.MIMEType {
	var k []protocol.MIMEType
	for key := range m.Data {
		k = append(k, key)
	}
	return k
}

// TestGoNBCell is the cell program of TestGoNBProtocol.
func TestGoNBCell(t *testing.T) {
	if os.Getenv("FERNB_NB_CELL") != "1" {
		t.Skip("only run as the child of TestGoNBProtocol")
	}
	d := Default()
	if !d.InNotebook() {
		t.Fatal("gonbui does not see the notebook environment")
	}
	check := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	check(d.ShowPlot(curves(t), 320, 200))
	check(d.ShowTable([]string{"model", "accuracy"}, [][]string{{"fer-cnn", "81.0"}}))
	p := d.NewProgress("cell")
	p.Update("step", 1, 2)
	p.Update("step", 2, 2)
	check(p.Done(""))
	check(d.ShowMarkdown("**ok**"))
	check(p.Err())
}
