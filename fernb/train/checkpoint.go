package train

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// GoMLX writes a checkpoint in place (the data file, then the JSON that
// lists it), so a process killed while saving leaves a truncated latest
// checkpoint, and a crash before the OS flushed its pages an empty one.
// The functions here find such a checkpoint before GoMLX would load it,
// so that a resume falls back to the previous one instead of failing or
// reading half a state, and they sync every checkpoint Fit saves.

// checkpointPrefix and the suffixes are GoMLX's file naming.
const (
	checkpointPrefix = "checkpoint-"
	damagedSuffix    = ".damaged"
)

// listCheckpoints returns the base names of dir's checkpoints, oldest
// first, in the order GoMLX loads them (its names sort by a counter).
func listCheckpoints(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() && strings.HasPrefix(n, checkpointPrefix) && strings.HasSuffix(n, checkpoint.JsonNameSuffix) {
			out = append(out, strings.TrimSuffix(n, checkpoint.JsonNameSuffix))
		}
	}
	sort.Strings(out)
	return out, nil
}

// checkIntact reads checkpoint base of dir through: its JSON must decode
// and its data file must hold exactly the bytes the JSON lists (a gzip
// data file is decompressed whole, so its CRC and length trailer catch a
// cut or damaged file).
func checkIntact(dir, base string) error {
	jb, err := os.ReadFile(filepath.Join(dir, base+checkpoint.JsonNameSuffix))
	if err != nil {
		return err
	}
	var desc struct {
		Variables []struct{ Pos, Length int }
		BinFormat string
	}
	if err := json.Unmarshal(jb, &desc); err != nil {
		return fmt.Errorf("%s%s: %w", base, checkpoint.JsonNameSuffix, err)
	}
	want := int64(0)
	for _, v := range desc.Variables {
		want += int64(v.Length)
	}
	binName := base + checkpoint.BinDataSuffix
	f, err := os.Open(filepath.Join(dir, binName))
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if desc.BinFormat == "gzip" {
		// GoMLX's header: a magic string, a length byte and "gzip".
		const magic = "gomlx_checkpointss"
		head := make([]byte, len(magic)+1)
		if _, err := io.ReadFull(r, head); err != nil || string(head[:len(magic)]) != magic {
			return fmt.Errorf("%s: no checkpoint header", binName)
		}
		kind := make([]byte, head[len(magic)])
		if _, err := io.ReadFull(r, kind); err != nil || string(kind) != "gzip" {
			return fmt.Errorf("%s: bad compression header", binName)
		}
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%s: %w", binName, err)
		}
		defer zr.Close()
		r = zr
	}
	got, err := io.Copy(io.Discard, r)
	if err != nil {
		return fmt.Errorf("%s: %w", binName, err)
	}
	if got != want {
		return fmt.Errorf("%s holds %d bytes of variables, its JSON lists %d", binName, got, want)
	}
	return nil
}

// repairCheckpoints makes the latest checkpoint of dir an intact one: a
// damaged latest checkpoint is renamed aside (suffix .damaged, kept for a
// post-mortem) until an intact one is latest, and a data file left without
// its JSON by a save that was killed is removed. It returns one message
// per checkpoint set aside; it fails when checkpoints exist and none is
// intact.
func repairCheckpoints(dir string) (notes []string, err error) {
	list, err := listCheckpoints(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	if err := removeOrphans(dir, list); err != nil {
		return nil, err
	}
	for i := len(list) - 1; i >= 0; i-- {
		cerr := checkIntact(dir, list[i])
		if cerr == nil {
			return notes, nil
		}
		for _, suf := range []string{checkpoint.JsonNameSuffix, checkpoint.BinDataSuffix} {
			p := filepath.Join(dir, list[i]+suf)
			if err := os.Rename(p, p+damagedSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return notes, fmt.Errorf("setting aside damaged checkpoint: %w", err)
			}
		}
		next := "no earlier checkpoint"
		if i > 0 {
			next = "falling back to " + list[i-1]
		}
		notes = append(notes, fmt.Sprintf("checkpoint %s in %s is damaged (%v), set aside as %s%s; %s",
			list[i], dir, cerr, list[i], damagedSuffix, next))
	}
	if len(list) > 0 {
		return notes, fmt.Errorf("no intact checkpoint in %s (%d damaged, set aside as *%s): use a fresh directory", dir, len(list), damagedSuffix)
	}
	return notes, nil
}

// removeOrphans deletes data files whose JSON was never written: what a
// save killed midway leaves, which no loader lists and nothing else
// would ever remove.
func removeOrphans(dir string, listed []string) error {
	have := map[string]bool{}
	for _, b := range listed {
		have[b] = true
	}
	bins, err := filepath.Glob(filepath.Join(dir, checkpointPrefix+"*"+checkpoint.BinDataSuffix))
	if err != nil {
		return err
	}
	for _, p := range bins {
		if !have[strings.TrimSuffix(filepath.Base(p), checkpoint.BinDataSuffix)] {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("removing orphaned checkpoint data: %w", err)
			}
		}
	}
	return nil
}

// openCheckpoint returns the checkpoint handler of dir for store, after
// repairing the directory (see repairCheckpoints); the store gets the
// latest intact checkpoint's values.
func openCheckpoint(store *model.Store, dir string, keep int) (*checkpoint.Handler, []string, error) {
	notes, err := repairCheckpoints(dir)
	if err != nil {
		return nil, notes, err
	}
	h, err := checkpoint.Build(store).Dir(dir).Keep(keep).Done()
	return h, notes, err
}

// syncLatest flushes the newest checkpoint's files and the directory to
// disk, so a checkpoint that a save reported is not lost or emptied by a
// crash of the machine.
func syncLatest(dir string) error {
	list, err := listCheckpoints(dir)
	if err != nil || len(list) == 0 {
		return err
	}
	last := list[len(list)-1]
	for _, p := range []string{last + checkpoint.BinDataSuffix, last + checkpoint.JsonNameSuffix, "."} {
		f, err := os.Open(filepath.Join(dir, p))
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil && p != "." {
			return err
		}
	}
	return nil
}
